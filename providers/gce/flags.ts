/**
 * The gce provider's declaration: its flags, its defaults, and the one place its settings are
 * checked. Kept free of the Compute client so that --help loads none of it.
 */
import { UsageError } from '../../src/config-types.js';
import { bad, matching, url } from '../../src/flags/checks.js';
import type { ProviderDeclaration } from '../declaration.js';
import type { GceSettings } from './from-config.js';

const PROJECT = '--gce-project';
const NETWORK = '--gce-network';
const ENDPOINT = '--gce-endpoint';
const ROUTE_LIMIT_FALLBACK = 100;

export const declaration: ProviderDeclaration<GceSettings> = {
  name: 'gce',
  // Only when projects.get cannot be read: 100 was the ROUTES quota of a new project in flannel's
  // day (250 is common now), so a project rarely holds fewer.
  routeLimitFallback: ROUTE_LIMIT_FALLBACK,
  // The Compute client keeps large API descriptors alive; a small heap would slow every pass (src/heap-tuning.ts).
  smallHeap: false,
  flags: [
    {
      flag: PROJECT,
      arg: 'id',
      help: 'project whose routes are managed (required for gce)',
      check: matching(/^[a-z][-a-z0-9]{4,28}[a-z0-9]$/, 'expected a project id such as my-project-123'),
    },
    {
      flag: NETWORK,
      arg: 'name',
      help: 'VPC network of the routes',
      default: 'default',
      check: matching(/^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/, 'expected a network name such as default'),
    },
    {
      flag: ENDPOINT,
      arg: 'url',
      help: 'Compute API endpoint override, e.g. http://127.0.0.1:8085 (an http:// endpoint uses no Google auth)',
      check: (value, label) => {
        const { pathname } = new URL(url(label, value));
        // The client adds the /compute/v1 paths itself.
        if (pathname !== '/' && pathname !== '') throw bad(label, value, 'give scheme, host and port only, e.g. http://127.0.0.1:8085');
      },
    },
  ],

  parse(values) {
    const project = values.text(PROJECT);
    const network = values.text(NETWORK) ?? 'default';
    const endpoint = values.text(ENDPOINT);
    if (project === undefined) throw new UsageError('--provider gce needs --gce-project');
    return { project, network, ...(endpoint !== undefined ? { endpoint } : {}) };
  },

  create: async (context) => (await import('./from-config.js')).createFromConfig(context, ROUTE_LIMIT_FALLBACK),
};
