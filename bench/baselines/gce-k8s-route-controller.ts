/**
 * Baseline 2 on GCE, from the Kubernetes route controller (reconcile every 10 s, at most 200
 * CreateRoute in flight) over the legacy GCE cloud provider's CreateRoute: read the node's instance
 * (instances.get), routes.insert, then wait for the operation polling globalOperations.get every
 * second. A failed create waits for the next pass. Every wait is divided by the time scale.
 */
import { routeControllerLoop, runMain } from './common.js';
import { dashed, gceRest, type GceBaselineConfig } from './gce-common.js';

runMain(async (generic, stopping) => {
  const config = generic as unknown as GceBaselineConfig;
  const api = gceRest(config);
  const network = `projects/${config.project}/global/networks/${config.network}`;
  return routeControllerLoop({
    periodMs: 10_000 / config.timeScale,
    concurrency: 200,
    stopping,
    missing: async () => {
      const existing = new Set((await api.listRoutes()).map((r) => r.destRange));
      return config.nodes.filter((node) => !existing.has(node.subnet));
    },
    create: async (node) => {
      const instance = await api.getInstance(node.zone, node.name);
      const op = await api.insertRoute({ name: `k8s-${dashed(node.subnet)}`, network, destRange: node.subnet, nextHopInstance: instance.selfLink, priority: 1000, description: 'k8s-node-route' });
      await api.pollOperation(op.name, 1000 / config.timeScale, 3600);
    },
  });
});
