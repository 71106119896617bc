/** gce on the GCE simulator in the conformance suite: instance next hops, delete + insert, canIpForward. */
import { createGceProvider } from '../../providers/gce/index.js';
import { startGceSimulator } from '../sim/gce/server.js';
import type { ConformanceHarness, ConformanceWorld, WorldSpec } from './suite.js';

const CLUSTER = 'conformance';

export const gceHarness: ConformanceHarness = {
  name: 'gce (GCE simulator)',
  rules: { callsPerReplace: 2, forwardingOff: 'skipped', baselineCounted: 1 },
  createWorld: async (spec: WorldSpec): Promise<ConformanceWorld> => {
    // The ROUTES quota is the limit; the network's default internet route counts toward it.
    const sim = await startGceSimulator({ project: 'conformance-project', routeQuota: spec.limit, operationLatencyMs: 10 });
    const world = sim.world;
    world.createNetwork({ name: 'default', ipv4Range: '10.240.0.0/16' });
    // Dual-stack instances: each interface has an internal IPv6 address too.
    const ip4 = (i: number): string => `10.240.0.${10 + i}`;
    const ip6 = (i: number): string => `fd20::${(10 + i).toString(16)}`;
    const ip = spec.family === 'ipv6' ? ip6 : ip4;
    const instances = new Map<number, { name: string; zone: string }>();
    for (let i = 1; i <= spec.nodes; i += 1) {
      const zone = i % 2 === 0 ? 'us-central1-b' : 'us-central1-a';
      world.createInstance({ name: `node-${i}`, zone, networkIP: ip4(i), ipv6Address: ip6(i), canIpForward: spec.forwardingOff?.includes(i) !== true });
      instances.set(i, { name: `node-${i}`, zone });
    }
    const provider = await createGceProvider({
      project: world.project,
      network: 'default',
      clusterName: CLUSTER,
      routeLimit: spec.limit,
      endpoint: sim.url,
    });
    const description = `routesync:${CLUSTER}`;
    const path = (url: string | undefined): string => (url === undefined ? '' : url.slice(url.indexOf('projects/')));
    let foreignCount = 0;
    return {
      provider,
      nodeIp: ip,
      targetOf: (i) => {
        const instance = instances.get(i);
        return instance === undefined ? '' : world.instancePath(instance.zone, instance.name);
      },
      ownedRoutes: async () =>
        new Map(
          world
            .routes()
            .filter((r) => r.description === description)
            .map((r) => [r.destRange, path(r.nextHopInstance)]),
        ),
      foreignSnapshot: async () => JSON.stringify(world.routes().filter((r) => r.description !== description)),
      addForeignRoute: async (destination) => {
        foreignCount += 1;
        const hop = destination.includes(':') ? { nextHopGateway: 'default-internet-gateway' } : { nextHopIp: '10.240.0.250' };
        world.addForeignRoute({ name: `foreign-${foreignCount}`, destRange: destination, ...hop, description: 'made elsewhere' });
      },
      removeNode: async (i) => {
        const instance = instances.get(i);
        if (instance !== undefined) world.deleteInstance(instance.name, instance.zone);
      },
      mutatingCalls: async () => world.mutatingCalls().length,
      resetCalls: async () => world.clearCalls(),
      failNextCreate: async () =>
        world.failNextOperation({ method: 'routes.insert', code: 'RESOURCE_NOT_FOUND', httpErrorStatusCode: 404, message: 'injected: the next hop instance was not found' }),
      close: () => sim.close(),
    };
  },
};
