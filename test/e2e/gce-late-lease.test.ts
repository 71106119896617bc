/**
 * End to end on GCE with slow operations: a lease that appears while the cold-start pass is still
 * waiting for its operations is created by that pass, not after it. The call log shows the order:
 * the new lease's insert went out while cold-start operations were still being waited for, and
 * before the next pass listed the routes.
 */
import { describe, expect, it } from 'vitest';
import { useEtcdSuite } from '../helpers/suite.js';
import { putLease, waitFor } from '../helpers/etcd.js';
import { gceClusterArgs, startGceCluster, writeGceFlannel } from '../helpers/gce-cluster.js';
import { startRoutesync } from '../helpers/routesync.js';

const suite = useEtcdSuite();

describe('routesync --provider gce: a lease during a long cold start', () => {
  it('is routed by the running pass, ahead of its end', async () => {
    // Operations of 4 s: the cold start's pass is still waiting when the new lease comes.
    const cluster = suite.closeAfterTest(await startGceCluster({ nodes: 20, operationLatencyMs: 4000 }));
    const prefix = '/gce-late/coreos.com/network';
    await writeGceFlannel(suite.etcd.client, prefix, cluster.nodes);
    const proc = startRoutesync(gceClusterArgs(cluster, suite.etcd.endpoint, prefix, ['--resync-interval', '1h']));
    await waitFor(() => cluster.world.calls('routes.insert').length === 20, { timeoutMs: 20_000, message: `no cold start:\n${proc.stderr().slice(-3000)}` });

    const node = cluster.addNode();
    await putLease(suite.etcd.client, prefix, node.subnet, node.ip);
    await waitFor(() => cluster.flannelRoutes().size === 21, { timeoutMs: 30_000, message: `not converged:\n${proc.stderr().slice(-3000)}` });

    const calls = cluster.world.calls();
    const lateInsert = calls.findIndex((c) => c.method === 'routes.insert' && (c.body as { destRange?: string }).destRange === node.subnet);
    const listings = calls.flatMap((c, i) => (c.method === 'routes.list' ? [i] : []));
    expect(lateInsert).toBeGreaterThan(0);
    // Sent before the pass after the cold start listed anything …
    expect(listings.filter((i) => i < lateInsert)).toHaveLength(1);
    // … and while that pass still waited for its own operations: cold-start routes appeared after it.
    const coldAdded = cluster.world.routeHistory().filter((e) => e.event === 'added' && e.destRange !== node.subnet && e.name.startsWith('routesync-'));
    expect(coldAdded).toHaveLength(20);
    expect(Math.max(...coldAdded.map((e) => e.time))).toBeGreaterThan(calls[lateInsert]?.time ?? Infinity);
    // One insert per destination: no second writer.
    const inserts = calls.filter((c) => c.method === 'routes.insert').map((c) => (c.body as { destRange?: string }).destRange);
    expect(new Set(inserts).size).toBe(inserts.length);
    const { code } = await proc.stop('SIGTERM');
    expect(code).toBe(0);
  });
});
