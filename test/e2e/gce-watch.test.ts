/**
 * End to end on GCE, long-running: routesync as a process watching a real etcd and reconciling the
 * GCE simulator. Waits are conditions with deadlines; the call log proves what caused each change.
 */
import { describe, expect, it } from 'vitest';
import { useEtcdSuite } from '../helpers/suite.js';
import { putLease, waitFor } from '../helpers/etcd.js';
import { gceClusterArgs, startGceCluster, writeGceFlannel, type GceCluster } from '../helpers/gce-cluster.js';
import { startRoutesync, type RoutesyncProcess } from '../helpers/routesync.js';

const suite = useEtcdSuite();
let prefixCounter = 0;

function freshPrefix(): string {
  prefixCounter += 1;
  return `/gce-watch${prefixCounter}/coreos.com/network`;
}

async function converged(c: GceCluster, expected: number, proc: RoutesyncProcess): Promise<void> {
  await waitFor(() => c.flannelRoutes().size === expected, {
    timeoutMs: 20_000,
    message: `expected ${expected} routes; routesync said:\n${proc.stderr().slice(-3000)}`,
  });
}

describe('routesync --provider gce watching etcd', () => {
  it('routes a new lease from its watch event, without waiting for a resync', async () => {
    const cluster = suite.closeAfterTest(await startGceCluster({ nodes: 3 }));
    const prefix = freshPrefix();
    await writeGceFlannel(suite.etcd.client, prefix, cluster.nodes);
    const proc = startRoutesync(gceClusterArgs(cluster, suite.etcd.endpoint, prefix, ['--resync-interval', '1h']));
    await converged(cluster, 3, proc);
    const listingsBefore = cluster.world.calls('routes.list').length;

    const node = cluster.addNode();
    await putLease(suite.etcd.client, prefix, node.subnet, node.ip);
    await converged(cluster, 4, proc);
    expect(cluster.flannelRoutes().get(node.subnet)).toBe(node.instancePath);
    expect(cluster.world.calls('routes.list').length).toBe(listingsBefore + 1);
  });

  it('cleans the route to a deleted instance at the next resync and gives its place to a waiting lease', async () => {
    const cluster = suite.closeAfterTest(await startGceCluster({ nodes: 4, routeQuota: 4 }));
    const prefix = freshPrefix();
    await writeGceFlannel(suite.etcd.client, prefix, cluster.nodes);
    const proc = startRoutesync(gceClusterArgs(cluster, suite.etcd.endpoint, prefix, ['--resync-interval', '1s', '--route-limit', '4']));
    await converged(cluster, 3, proc);
    const waiting = cluster.nodes[3]!;
    expect(cluster.flannelRoutes().has(waiting.subnet)).toBe(false);

    const gone = cluster.nodes[0]!;
    cluster.world.deleteInstance(gone.name, gone.zone);
    await waitFor(() => !cluster.flannelRoutes().has(gone.subnet) && cluster.flannelRoutes().get(waiting.subnet) === waiting.instancePath, {
      timeoutMs: 20_000,
      message: `the route to the deleted instance was not replaced; routesync said:\n${proc.stderr().slice(-3000)}`,
    });
    // Never beyond the quota: no operation failed.
    expect(cluster.world.operationsList().filter((op) => op.error !== undefined)).toEqual([]);
    const { code } = await proc.stop('SIGTERM');
    expect(code).toBe(0);
  });
});
