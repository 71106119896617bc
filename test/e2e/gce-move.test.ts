/**
 * End to end on GCE: a lease that moves to another node keeps a route with a live next hop at
 * every moment. GCE routes cannot be changed in place, so routesync inserts the new route beside
 * the old one (its other name, a priority that wins) and deletes the old one once the insert is
 * DONE. Proven from the simulator's timeline of routes (each added or removed at its operation's
 * DONE time), not from timing.
 */
import { describe, expect, it } from 'vitest';
import { useEtcdSuite } from '../helpers/suite.js';
import { putLease, waitFor } from '../helpers/etcd.js';
import { gceClusterArgs, startGceCluster, writeGceFlannel } from '../helpers/gce-cluster.js';
import { startRoutesync } from '../helpers/routesync.js';
import type { RouteEvent } from '../sim/gce/world.js';

const suite = useEtcdSuite();

/** For each moment of the destination's timeline after its first route, the routes that exist. */
function alive(events: readonly RouteEvent[]): Array<{ time: number; routes: RouteEvent[] }> {
  const now = new Map<string, RouteEvent>();
  const moments: Array<{ time: number; routes: RouteEvent[] }> = [];
  for (const event of events) {
    if (event.event === 'added') now.set(event.name, event);
    else now.delete(event.name);
    moments.push({ time: event.time, routes: [...now.values()] });
  }
  return moments;
}

describe('routesync --provider gce moving a lease', () => {
  it('makes before it breaks: the destination always has a route to a live instance', async () => {
    // Operations of 300 ms: long enough that a delete-then-insert would leave a visible gap.
    const cluster = suite.closeAfterTest(await startGceCluster({ nodes: 2, operationLatencyMs: 300 }));
    const prefix = '/gce-move/coreos.com/network';
    await writeGceFlannel(suite.etcd.client, prefix, cluster.nodes);
    const proc = startRoutesync(gceClusterArgs(cluster, suite.etcd.endpoint, prefix, ['--resync-interval', '1h']));
    const moving = cluster.nodes[0]!;
    await waitFor(() => cluster.flannelRoutes().size === 2, { timeoutMs: 20_000, message: `not converged:\n${proc.stderr().slice(-3000)}` });

    // Twice: away from the canonical name and back to it, each time winning on priority.
    const targets = [cluster.addNode(), cluster.addNode()];
    for (const target of targets) {
      await putLease(suite.etcd.client, prefix, moving.subnet, target.ip);
      await waitFor(
        () => {
          const routes = cluster.world.routes().filter((r) => r.destRange === moving.subnet);
          return routes.length === 1 && (routes[0]?.nextHopInstance ?? '').endsWith(`/${target.name}`);
        },
        { timeoutMs: 20_000, message: `the route did not move to ${target.name}:\n${proc.stderr().slice(-3000)}` },
      );
    }

    const events = cluster.world.routeHistory().filter((e) => e.destRange === moving.subnet);
    expect(events.map((e) => `${e.event} ${e.name} ${e.priority} ${e.nextHopInstance ?? ''}`)).toEqual([
      `added routesync-10-1-1-0-24 1000 ${moving.zone}/${moving.name}`,
      `added routesync-10-1-1-0-24-b 999 ${targets[0]!.zone}/${targets[0]!.name}`,
      `removed routesync-10-1-1-0-24 1000 ${moving.zone}/${moving.name}`,
      `added routesync-10-1-1-0-24 998 ${targets[1]!.zone}/${targets[1]!.name}`,
      `removed routesync-10-1-1-0-24-b 999 ${targets[0]!.zone}/${targets[0]!.name}`,
    ]);
    const instances = new Set(cluster.world.instancesList().map((i) => `${i.zone.split('/').pop() ?? ''}/${i.name}`));
    for (const moment of alive(events)) {
      // Never without a route, and every route's next hop is an instance that exists.
      expect(moment.routes.length).toBeGreaterThan(0);
      expect(moment.routes.every((r) => instances.has(r.nextHopInstance ?? ''))).toBe(true);
      // While two exist, the new one (lower priority value) is the one GCE selects.
      if (moment.routes.length === 2) {
        const [older, newer] = moment.routes;
        expect(newer!.priority).toBeLessThan(older!.priority);
      }
    }
    expect(proc.stderr()).not.toContain('deletes it before inserting');
    const { code } = await proc.stop('SIGTERM');
    expect(code).toBe(0);
  });
});
