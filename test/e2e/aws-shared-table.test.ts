/**
 * End to end: route tables shared by clusters. Two routesync processes for two clusters with
 * disjoint flannel Networks (two etcd prefixes) on one EC2 simulator and one table tagged
 * `routesync.io/cluster/<name>=shared` for both; and the deprecated `routesync/cluster` tag.
 */
import { describe, expect, it } from 'vitest';
import { useEtcdSuite } from '../helpers/suite.js';
import { deleteLease, putLease, putNetworkConfig, waitFor } from '../helpers/etcd.js';
import { clusterArgs, startAwsCluster, writeFlannel, type AwsCluster } from '../helpers/aws-cluster.js';
import { runRoutesync, startRoutesync, type RoutesyncProcess } from '../helpers/routesync.js';
import type { Ec2Call } from '../sim/ec2/world.js';

const suite = useEtcdSuite();

/** Destinations routesync changed (create, replace, delete) in calls made by one process (its user agent names its pid). */
function changedBy(calls: readonly Ec2Call[], proc: RoutesyncProcess): string[] {
  const pid = `-${proc.child.pid ?? 0}-`;
  return calls
    .filter((c) => ['CreateRoute', 'ReplaceRoute', 'DeleteRoute'].includes(c.action) && (c.userAgent ?? '').includes(pid))
    .map((c) => c.params['DestinationCidrBlock'] ?? '');
}

function routesIn(c: AwsCluster, prefix: string): string[] {
  return c.world
    .routes(c.tableId)
    .map((r) => r.destinationCidrBlock ?? '')
    .filter((d) => d.startsWith(prefix))
    .sort();
}

describe('one route table shared by two clusters', () => {
  it('each cluster manages only its own routes and counts the other\'s as foreign', async () => {
    const cluster = suite.closeAfterTest(await startAwsCluster({ nodes: 3, clusterName: 'alpha' }));
    cluster.world.setTags(cluster.tableId, { 'routesync.io/cluster/alpha': 'shared', 'routesync.io/cluster/beta': 'shared' });
    const betaNodes = [cluster.addNode(), cluster.addNode(), cluster.addNode()];
    const prefixA = '/shared-alpha/coreos.com/network';
    const prefixB = '/shared-beta/coreos.com/network';
    await writeFlannel(suite.etcd.client, prefixA, cluster.nodes.slice(0, 3)); // 10.1.0.0/16
    await putNetworkConfig(suite.etcd.client, prefixB, { Network: '10.2.0.0/16', SubnetLen: 24, Backend: { Type: 'alloc' } });
    for (const [i, node] of betaNodes.entries()) await putLease(suite.etcd.client, prefixB, `10.2.${i + 1}.0/24`, node.ip);

    const argsA = clusterArgs(cluster, suite.etcd.endpoint, prefixA, ['--resync-interval', '1h', '--max-deletes-per-pass', '100%']);
    const argsB = clusterArgs(cluster, suite.etcd.endpoint, prefixB, ['--cluster-name', 'beta', '--resync-interval', '1h', '--max-deletes-per-pass', '100%']);
    const alpha = startRoutesync(argsA);
    const beta = startRoutesync(argsB);
    const both = (): string => `alpha:\n${alpha.stderr().slice(-2000)}\nbeta:\n${beta.stderr().slice(-2000)}`;
    await waitFor(() => routesIn(cluster, '10.1.').length === 3 && routesIn(cluster, '10.2.').length === 3, {
      timeoutMs: 20_000,
      message: `both clusters' routes; ${both()}`,
    });

    // alpha's lease goes: alpha deletes its route; beta's routes, outside alpha's Network, stay.
    await deleteLease(suite.etcd.client, prefixA, '10.1.1.0/24');
    await waitFor(() => routesIn(cluster, '10.1.').length === 2, { timeoutMs: 10_000, message: `alpha's delete; ${both()}` });
    // beta's lease goes: the same the other way round.
    await deleteLease(suite.etcd.client, prefixB, '10.2.3.0/24');
    await waitFor(() => routesIn(cluster, '10.2.').length === 2, { timeoutMs: 10_000, message: `beta's delete; ${both()}` });
    expect(routesIn(cluster, '10.1.')).toEqual(['10.1.2.0/24', '10.1.3.0/24']);
    expect(routesIn(cluster, '10.2.')).toEqual(['10.2.1.0/24', '10.2.2.0/24']);
    await Promise.all([alpha.stop(), beta.stop()]);

    const calls = cluster.world.calls();
    const byAlpha = changedBy(calls, alpha);
    const byBeta = changedBy(calls, beta);
    expect(byAlpha.sort()).toEqual(['10.1.1.0/24', '10.1.1.0/24', '10.1.2.0/24', '10.1.3.0/24']); // 3 creates, 1 delete
    expect(byBeta.sort()).toEqual(['10.2.1.0/24', '10.2.2.0/24', '10.2.3.0/24', '10.2.3.0/24']);

    // Each counts the other's two routes and the local route as foreign (capacity 50 - 3), and has nothing to do.
    cluster.world.clearCalls();
    const onceA = await runRoutesync([...argsA, '--once']);
    const onceB = await runRoutesync([...argsB, '--once']);
    expect(onceA.code, onceA.stderr).toBe(0);
    expect(onceB.code, onceB.stderr).toBe(0);
    expect(onceA.stdout).toMatch(new RegExp(`table ${cluster.tableId}: 2/47 routesync routes \\(limit 50[^,]*, 3 foreign counted\\)`));
    expect(onceB.stdout).toMatch(new RegExp(`table ${cluster.tableId}: 2/47 routesync routes \\(limit 50[^,]*, 3 foreign counted\\)`));
    expect(cluster.world.mutatingCalls()).toEqual([]);
  });

  it('a table tagged with an unknown value is not managed, and says why', async () => {
    const cluster = suite.closeAfterTest(await startAwsCluster({ nodes: 1, clusterName: 'alpha' }));
    cluster.world.setTags(cluster.tableId, { 'routesync.io/cluster/alpha': 'yes' });
    const prefix = '/shared-typo/coreos.com/network';
    await writeFlannel(suite.etcd.client, prefix, cluster.nodes);
    const result = await runRoutesync(clusterArgs(cluster, suite.etcd.endpoint, prefix, ['--once']));
    expect(result.code, result.stderr).toBe(2);
    expect(result.logs.some((l) => l['table'] === cluster.tableId && String(l['msg']).includes('must be owned or shared'))).toBe(true);
    expect(cluster.world.mutatingCalls()).toEqual([]);
  });
});

describe('the deprecated routesync/cluster tag', () => {
  it('still manages the table, and warns once per table however many passes run', async () => {
    const cluster = suite.closeAfterTest(await startAwsCluster({ nodes: 2, clusterName: 'old' }));
    cluster.world.setTags(cluster.tableId, { 'routesync/cluster': 'old' });
    const prefix = '/legacy-tag/coreos.com/network';
    await writeFlannel(suite.etcd.client, prefix, cluster.nodes);
    const proc = startRoutesync(clusterArgs(cluster, suite.etcd.endpoint, prefix, ['--resync-interval', '1s']));
    await waitFor(() => proc.logs().filter((l) => l['msg'] === 'reconcile pass done').length >= 3, {
      timeoutMs: 20_000,
      message: `three passes; routesync said:\n${proc.stderr().slice(-3000)}`,
    });
    expect(cluster.flannelRoutes().size).toBe(2);
    const warnings = proc.logs().filter((l) => String(l['msg']).startsWith('deprecated tag'));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({ level: 40, table: cluster.tableId, replacement: 'routesync.io/cluster/old=owned' });
  });
});
