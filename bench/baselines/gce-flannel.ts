/**
 * Baseline 1 on GCE, from flannel's published gce backend (backend/gce, RegisterNetwork, before
 * v0.20): every node's flanneld, at start, reads its instance and network, looks for a route with
 * its subnet's name (routes.get; another next hop: delete it and wait), inserts its route and polls
 * the operation every second (globalOperations.get, at most 100 times). Any error exits flanneld;
 * the kubelet restarts it after its CrashLoopBackOff (10 s doubling to 300 s). google-api-go-client
 * does not retry. Every wait is divided by the simulator's time scale.
 */
import { runMain, sleep } from './common.js';
import { dashed, gceRest, GceHttpError, type GceBaselineConfig } from './gce-common.js';

runMain(async (generic, stopping) => {
  const config = generic as unknown as GceBaselineConfig;
  const api = gceRest(config);
  const scaled = (ms: number): number => ms / config.timeScale;
  let restarts = 0;
  const agent = async (node: GceBaselineConfig['nodes'][number]): Promise<boolean> => {
    let backoff = 10_000;
    const name = `flannel-${dashed(node.subnet)}`;
    while (!stopping.aborted) {
      try {
        const instance = await api.getInstance(node.zone, node.name);
        const network = await api.getNetwork();
        let found = false;
        try {
          const route = await api.getRoute(name);
          found = route.nextHopInstance === instance.selfLink;
          if (!found) throw new Error('a conflicting route (not expected in a cold start)');
        } catch (err) {
          if (!(err instanceof GceHttpError && err.status === 404)) throw err;
        }
        if (!found) {
          const op = await api.insertRoute({ name, network: network.selfLink, destRange: node.subnet, nextHopInstance: instance.selfLink, priority: 1000 });
          await api.pollOperation(op.name, scaled(1000), 100);
        }
        return true;
      } catch {
        if (stopping.aborted) return false;
        await sleep(scaled(backoff));
        backoff = Math.min(300_000, backoff * 2);
        restarts += 1;
      }
    }
    return false;
  };
  const done = await Promise.all(config.nodes.map(agent));
  const succeeded = done.filter(Boolean).length;
  return { converged: succeeded === config.nodes.length, detail: { succeeded, restarts } };
});
