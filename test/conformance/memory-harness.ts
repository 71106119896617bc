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
    provider.addTable(TABLE, spec.limit, [
      { destination: '172.31.0.0/16', target: null, blackhole: false, ...TABLE_DEFAULT, via: 'local' },
      { destination: '2600:1f18::/56', target: null, blackhole: false, ...TABLE_DEFAULT, family: 'ipv6', via: 'local' },
    ]);
    // Each node holds an address of each family on its one interface.
    const ip4 = (i: number): string => `172.31.0.${i}`;
    const ip6 = (i: number): string => `2600:1f18::${i.toString(16)}`;
    const ip = spec.family === 'ipv6' ? ip6 : ip4;
    for (let i = 1; i <= spec.nodes; i += 1) {
      const forwarding = spec.forwardingOff?.includes(i) === true ? 'fixable' : 'enabled';
      provider.addNode(ip4(i), `eni-${i}`, forwarding);
      provider.addNode(ip6(i), `eni-${i}`, forwarding);
    }
    const mutating = new Set(['create', 'replace', 'delete', 'enable-forwarding']);
    return {
      provider,
      nodeIp: ip,
      targetOf: (i) => `eni-${i}`,
      ownedRoutes: async () => new Map(provider.routes(TABLE).filter((r) => r.bearsOwnerMarks).map((r) => [r.destination, r.target ?? ''])),
      foreignSnapshot: async () => JSON.stringify(provider.routes(TABLE).filter((r) => !r.bearsOwnerMarks)),
      addForeignRoute: async (destination) => {
        const table = provider.tables.get(TABLE);
        table?.routes.push({ destination, target: null, blackhole: false, ...FOREIGN, ...(destination.includes(':') ? { family: 'ipv6' as const } : {}), via: 'igw-foreign' });
      },
      removeNode: async (i) => {
        provider.removeNode(ip4(i));
        provider.removeNode(ip6(i));
      },
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
