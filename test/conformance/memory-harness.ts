/** The in-memory provider in the conformance suite: the reference behaviour (AWS-like rules). */
import { MemoryCloudError, MemoryProvider } from '../../providers/memory/memory-provider.js';
import type { ConformanceHarness, ConformanceWorld, WorldSpec } from './suite.js';
import { FOREIGN, TABLE_DEFAULT } from '../helpers/route-facts.js';

const TABLE = 'rtb-memory';

export const memoryHarness: ConformanceHarness = {
  name: 'memory',
  rules: { callsPerReplace: 1, forwardingOff: 'fixed', baselineCounted: 1 },
  createWorld: async (spec: WorldSpec): Promise<ConformanceWorld> => {
    const provider = new MemoryProvider();
    provider.addTable(TABLE, spec.limit, [{ destination: '172.31.0.0/16', target: null, blackhole: false, ...TABLE_DEFAULT, via: 'local' }]);
    const ip = (i: number): string => `172.31.0.${i}`;
    for (let i = 1; i <= spec.nodes; i += 1) provider.addNode(ip(i), `eni-${i}`, spec.forwardingOff?.includes(i) === true ? 'fixable' : 'enabled');
    const mutating = new Set(['create', 'replace', 'delete', 'enable-forwarding']);
    return {
      provider,
      nodeIp: ip,
      targetOf: (i) => `eni-${i}`,
      ownedRoutes: async () => new Map(provider.routes(TABLE).filter((r) => r.bearsOwnerMarks).map((r) => [r.destination, r.target ?? ''])),
      foreignSnapshot: async () => JSON.stringify(provider.routes(TABLE).filter((r) => !r.bearsOwnerMarks)),
      addForeignRoute: async (destination) => {
        const table = provider.tables.get(TABLE);
        table?.routes.push({ destination, target: null, blackhole: false, ...FOREIGN, via: 'igw-foreign' });
      },
      removeNode: async (i) => provider.removeNode(ip(i)),
      mutatingCalls: async () => provider.calls.filter((c) => mutating.has(c)).length,
      resetCalls: async () => {
        provider.calls.length = 0;
      },
      failNextCreate: async () => {
        provider.failNext.set('create', [new MemoryCloudError('InvalidNetworkInterfaceID.NotFound', 'injected: the ENI does not exist')]);
      },
      close: async () => undefined,
    };
  },
};
