/**
 * The memory provider's declaration. Hidden: a reference and test provider, absent from --help, yet
 * registered like any cloud, which shows that a provider is one folder plus one registry line.
 */
import { UsageError } from '../../src/config-types.js';
import { matching } from '../../src/flags/checks.js';
import type { ProviderDeclaration } from '../declaration.js';
import type { MemorySettings } from './from-config.js';

const TABLES = '--memory-tables';
const ROUTE_LIMIT_FALLBACK = 10;

export const declaration: ProviderDeclaration<MemorySettings> = {
  name: 'memory',
  hidden: true,
  // The memory provider has no quota to read: auto means this.
  routeLimitFallback: ROUTE_LIMIT_FALLBACK,
  smallHeap: false,
  flags: [
    {
      flag: TABLES,
      arg: 'ids',
      help: 'tables of the in-memory cloud; repeatable or comma list',
      list: true,
      check: matching(/^[a-z0-9][-a-z0-9]{0,62}$/, 'expected a table name such as table-1'),
    },
  ],

  parse(values) {
    const tables = values.list(TABLES);
    if (tables.length === 0) throw new UsageError('--provider memory needs --memory-tables');
    return { tables };
  },

  create: async (context) => (await import('./from-config.js')).createFromConfig(context, ROUTE_LIMIT_FALLBACK),
};
