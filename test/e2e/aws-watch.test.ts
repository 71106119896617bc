/**
 * End to end, long-running: routesync as a process watching a real etcd and reconciling the EC2
 * simulator. Waits are conditions with deadlines; the call log proves what caused each change.
 */
import { describe, expect, it } from 'vitest';
import { useEtcdSuite } from '../helpers/suite.js';
import { putLease, deleteLease, waitFor } from '../helpers/etcd.js';
import { clusterArgs, startAwsCluster, writeFlannel, type AwsCluster } from '../helpers/aws-cluster.js';
import { startRoutesync, type RoutesyncProcess } from '../helpers/routesync.js';

const suite = useEtcdSuite();
let prefixCounter = 0;

function freshPrefix(): string {
  prefixCounter += 1;
  return `/watch${prefixCounter}/coreos.com/network`;
}

async function converged(c: AwsCluster, expected: number, proc: RoutesyncProcess): Promise<void> {
  await waitFor(() => c.flannelRoutes().size === expected, {
    timeoutMs: 20_000,
    message: `expected ${expected} routes; routesync said:\n${proc.stderr().slice(-3000)}`,
  });
}

describe('routesync watching etcd', () => {
  it('routes a new lease from its watch event, without waiting for a resync', async () => {
    const cluster = suite.closeAfterTest(await startAwsCluster({ nodes: 3 }));
    const prefix = freshPrefix();
    await writeFlannel(suite.etcd.client, prefix, cluster.nodes);
    const proc = startRoutesync(clusterArgs(cluster, suite.etcd.endpoint, prefix, ['--resync-interval', '1h']));
    await converged(cluster, 3, proc);
    const listingsBefore = cluster.world.calls('DescribeRouteTables').length;

    const node = cluster.addNode();
    await putLease(suite.etcd.client, prefix, node.subnet, node.ip);
    await converged(cluster, 4, proc);
    expect(cluster.flannelRoutes().get(node.subnet)).toBe(node.eniId);
    // One more listing: the pass the watch event triggered (the resync is an hour away).
    expect(cluster.world.calls('DescribeRouteTables').length).toBe(listingsBefore + 1);
  });

  it('removes the route of a deleted lease and of an expired one (etcd lease TTL)', async () => {
    const cluster = suite.closeAfterTest(await startAwsCluster({ nodes: 3 }));
    const prefix = freshPrefix();
    const [first, second, third] = cluster.nodes;
    await writeFlannel(suite.etcd.client, prefix, [first!, second!]);
    await putLease(suite.etcd.client, prefix, third!.subnet, third!.ip, { ttlSeconds: 3 });
    const proc = startRoutesync(clusterArgs(cluster, suite.etcd.endpoint, prefix, ['--resync-interval', '1h', '--max-deletes-per-pass', '100%']));
    await converged(cluster, 3, proc);

    await deleteLease(suite.etcd.client, prefix, first!.subnet);
    await waitFor(() => !cluster.flannelRoutes().has(first!.subnet), { timeoutMs: 10_000, message: 'deleted lease kept its route' });

    // The third lease was written with a 3 s etcd lease that nobody renews: etcd expires it.
    await waitFor(() => !cluster.flannelRoutes().has(third!.subnet), { timeoutMs: 20_000, message: 'expired lease kept its route' });
    expect([...cluster.flannelRoutes().keys()]).toEqual([second!.subnet]);
    const deletes = cluster.world.calls('DeleteRoute').filter((c) => c.httpStatus === 200).map((c) => c.params['DestinationCidrBlock']);
    expect(deletes.sort()).toEqual([first!.subnet, third!.subnet].sort());
  });

  it('restores a route deleted behind its back at the next resync', async () => {
    const cluster = suite.closeAfterTest(await startAwsCluster({ nodes: 3 }));
    const prefix = freshPrefix();
    await writeFlannel(suite.etcd.client, prefix, cluster.nodes);
    const proc = startRoutesync(clusterArgs(cluster, suite.etcd.endpoint, prefix, ['--resync-interval', '2s']));
    await converged(cluster, 3, proc);

    const victim = cluster.nodes[1]!;
    cluster.world.deleteRoute(cluster.tableId, victim.subnet);
    const deletedAt = cluster.world.calls().at(-1)?.seq ?? 0;
    await waitFor(() => cluster.flannelRoutes().get(victim.subnet) === victim.eniId, { timeoutMs: 15_000, message: 'route not restored' });

    // The very first listing after the deletion led to the restoring CreateRoute.
    const after = cluster.world.calls().filter((c) => c.seq > deletedAt);
    const firstListing = after.findIndex((c) => c.action === 'DescribeRouteTables');
    const restore = after.findIndex((c) => c.action === 'CreateRoute' && c.params['DestinationCidrBlock'] === victim.subnet && c.httpStatus === 200);
    expect(firstListing).toBeGreaterThanOrEqual(0);
    expect(restore).toBeGreaterThan(firstListing);
    expect(after.slice(firstListing + 1, restore).filter((c) => c.action === 'DescribeRouteTables')).toEqual([]);
  });

  it('gives a waiting lease the place a leaving node frees', async () => {
    const cluster = suite.closeAfterTest(await startAwsCluster({ nodes: 5, routeLimit: 4 }));
    const prefix = freshPrefix();
    await writeFlannel(suite.etcd.client, prefix, cluster.nodes);
    const proc = startRoutesync(clusterArgs(cluster, suite.etcd.endpoint, prefix, ['--resync-interval', '1h']));
    await converged(cluster, 3, proc);
    expect(cluster.flannelRoutes().has(cluster.nodes[4]!.subnet)).toBe(false);

    await deleteLease(suite.etcd.client, prefix, cluster.nodes[0]!.subnet);
    await waitFor(() => cluster.flannelRoutes().has(cluster.nodes[3]!.subnet), { timeoutMs: 10_000, message: 'waiting lease not routed' });
    expect([...cluster.flannelRoutes().keys()].sort()).toEqual([1, 2, 3].map((i) => cluster.nodes[i]!.subnet).sort());
  });

  it('on SIGTERM resigns leadership and exits 0', async () => {
    const cluster = suite.closeAfterTest(await startAwsCluster({ nodes: 1 }));
    const prefix = freshPrefix();
    await writeFlannel(suite.etcd.client, prefix, cluster.nodes);
    const proc = startRoutesync(clusterArgs(cluster, suite.etcd.endpoint, prefix));
    await converged(cluster, 1, proc);
    const election = suite.etcd.client.election(`/routesync-test${prefix}/leader`);
    expect(await election.leader()).toBeDefined();

    const { code } = await proc.stop('SIGTERM');
    expect(code).toBe(0);
    expect(await election.leader()).toBeUndefined();
    expect(cluster.flannelRoutes().size).toBe(1);
  });
});
