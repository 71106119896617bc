/**
 * End to end, what counts toward AWS's "routes per route table" quota: `routesync --once` as a
 * process against real etcd and the EC2 simulator. A route to a managed prefix list weighs the
 * list's max entries; an IPv6 route counts toward the IPv6 quota, not the IPv4 one. The simulator
 * treats the account as large (more ENIs than its threshold), so an unpaginated ENI lookup would fail.
 */
import { describe, expect, it } from 'vitest';
import { useEtcdSuite } from '../helpers/suite.js';
import { clusterArgs, startAwsCluster, writeFlannel } from '../helpers/aws-cluster.js';
import { runRoutesync } from '../helpers/routesync.js';

const suite = useEtcdSuite();
const IGW = 'igw-0aaaaaaaaaaaaaaa1';

describe('routesync --once: what counts toward the route limit on AWS', () => {
  it('a route to a prefix list of 20 max entries takes 20 of the 50: 29 leases fit, none is refused', async () => {
    const cluster = suite.closeAfterTest(await startAwsCluster({ nodes: 40, sim: { largeAccountEnis: 10 } }));
    const list = cluster.world.createManagedPrefixList({ prefixListName: 'offices', maxEntries: 20, entries: ['192.0.2.0/24'] });
    cluster.world.addForeignRoute(cluster.tableId, { destinationPrefixListId: list.prefixListId, gatewayId: IGW });
    const prefix = '/quota-pl/coreos.com/network';
    await writeFlannel(suite.etcd.client, prefix, cluster.nodes);

    const result = await runRoutesync(clusterArgs(cluster, suite.etcd.endpoint, prefix, ['--once']));
    expect(result.code, result.stderr).toBe(3);
    // 50 − the local route − 20 for the list.
    expect(cluster.flannelRoutes().size).toBe(29);
    expect(result.stdout).toContain('29 routed, 11 unrouted');
    expect(cluster.world.countedRoutesOf(cluster.tableId)).toBe(50);
    expect(cluster.world.calls('CreateRoute').filter((c) => c.errorCode === 'RouteLimitExceeded')).toEqual([]);
    expect(cluster.world.route(cluster.tableId, list.prefixListId)).toMatchObject({ gatewayId: IGW, state: 'active' });
    expect(cluster.world.calls('DescribeManagedPrefixLists').filter((c) => c.httpStatus === 200)).toHaveLength(1);
    expect(cluster.world.calls().filter((c) => c.action.startsWith('Describe') && c.params['MaxResults'] === undefined)).toEqual([]);
  });

  it('an IPv6 route takes nothing from the IPv4 limit: 49 of 50 leases fit, as without it', async () => {
    const cluster = suite.closeAfterTest(await startAwsCluster({ nodes: 50, sim: { largeAccountEnis: 10 } }));
    cluster.world.addForeignRoute(cluster.tableId, { destinationIpv6CidrBlock: '::/0', gatewayId: IGW });
    const prefix = '/quota-v6/coreos.com/network';
    await writeFlannel(suite.etcd.client, prefix, cluster.nodes);

    const result = await runRoutesync(clusterArgs(cluster, suite.etcd.endpoint, prefix, ['--once']));
    expect(result.code, result.stderr).toBe(3);
    expect(cluster.flannelRoutes().size).toBe(49);
    expect(result.stdout).toContain('49 routed, 1 unrouted');
    expect(cluster.world.calls('CreateRoute').filter((c) => c.errorCode === 'RouteLimitExceeded')).toEqual([]);
    expect(cluster.world.route(cluster.tableId, '::/0')).toMatchObject({ gatewayId: IGW });
    // No prefix list in the table: no DescribeManagedPrefixLists.
    expect(cluster.world.calls('DescribeManagedPrefixLists')).toEqual([]);
  });
});
