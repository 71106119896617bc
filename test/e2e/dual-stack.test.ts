/**
 * End to end, dual-stack: `routesync --once` as a process against a real etcd and the simulators.
 * AWS: dual-stack leases get an IPv4 and an IPv6 route to the node's one ENI; IPv6-only leases get
 * their IPv6 route; the routes-per-table quota is counted for each family apart. GCE: an IPv4-only
 * instance gets its lease's IPv4 route only, and the summary says why the IPv6 half has none.
 */
import { describe, expect, it } from 'vitest';
import { clusterArgs } from '../helpers/aws-cluster.js';
import { awsNodeIpv6, gceNodeIpv6, ipv6Subnet, startDualStackAwsCluster, startDualStackGceCluster, writeDualStackFlannel } from '../helpers/dual-stack.js';
import { gceClusterArgs, shortInstance } from '../helpers/gce-cluster.js';
import { runRoutesync } from '../helpers/routesync.js';
import { useEtcdSuite } from '../helpers/suite.js';

const suite = useEtcdSuite();
let prefixCounter = 0;
const freshPrefix = (): string => `/dual${(prefixCounter += 1)}/coreos.com/network`;

describe('dual-stack leases, end to end', () => {
  it('AWS: both halves of each lease get a route to the node ENI, SourceDestCheck is turned off once per ENI, and a second pass changes nothing', async () => {
    const cluster = suite.closeAfterTest(await startDualStackAwsCluster({ nodes: 3, routeLimit: 50 }));
    const prefix = freshPrefix();
    await writeDualStackFlannel(suite.etcd.client, prefix, cluster.nodes, awsNodeIpv6);

    const result = await runRoutesync(clusterArgs(cluster, suite.etcd.endpoint, prefix, ['--once']));
    expect(result.code, result.stderr).toBe(0);
    for (const node of cluster.nodes) {
      expect(cluster.flannelRoutes().get(node.subnet)).toBe(node.eniId);
      expect(cluster.ipv6Routes().get(ipv6Subnet(node.index))).toBe(node.eniId);
      expect(cluster.world.networkInterface(node.eniId).sourceDestCheck).toBe(false);
    }
    expect(cluster.world.calls('ModifyNetworkInterfaceAttribute')).toHaveLength(3);
    expect(cluster.world.calls('CreateRoute').filter((c) => c.params.DestinationIpv6CidrBlock !== undefined)).toHaveLength(3);
    expect(result.stdout).toContain('6 valid (3 IPv4 and 3 IPv6 halves), 6 routed');

    cluster.world.clearCalls();
    const again = await runRoutesync(clusterArgs(cluster, suite.etcd.endpoint, prefix, ['--once']));
    expect(again.code, again.stderr).toBe(0);
    expect(cluster.world.mutatingCalls()).toEqual([]);
  });

  it('AWS: IPv6-only leases (EnableIPv4 false, keys 0.0.0.0-0&…) get their IPv6 routes only', async () => {
    const cluster = suite.closeAfterTest(await startDualStackAwsCluster({ nodes: 2, routeLimit: 50 }));
    const prefix = freshPrefix();
    await writeDualStackFlannel(suite.etcd.client, prefix, cluster.nodes, awsNodeIpv6, { ipv6Only: true });

    const result = await runRoutesync(clusterArgs(cluster, suite.etcd.endpoint, prefix, ['--once']));
    expect(result.code, result.stderr).toBe(0);
    expect(cluster.flannelRoutes().size).toBe(0);
    expect(new Map([...cluster.ipv6Routes()])).toEqual(new Map(cluster.nodes.map((n) => [ipv6Subnet(n.index), n.eniId])));
    expect(result.stdout).toContain('2 valid (0 IPv4 and 2 IPv6 halves), 2 routed');
  });

  it('AWS: the quota is counted per family: a full IPv4 pool leaves IPv6 routes to be made, and the summary shows both', async () => {
    // Limit 3 per family. IPv4: local + a foreign gateway route leave 1; IPv6: its local route leaves 2.
    const cluster = suite.closeAfterTest(await startDualStackAwsCluster({ nodes: 3, routeLimit: 3 }));
    cluster.world.addForeignRoute(cluster.tableId, { destinationCidrBlock: '0.0.0.0/0', gatewayId: 'igw-0aaaaaaaaaaaaaaa1' });
    const prefix = freshPrefix();
    await writeDualStackFlannel(suite.etcd.client, prefix, cluster.nodes, awsNodeIpv6);

    const result = await runRoutesync(clusterArgs(cluster, suite.etcd.endpoint, prefix, ['--once']));
    expect(result.code, result.stderr).toBe(3);
    expect([...cluster.flannelRoutes().keys()]).toEqual(['10.1.1.0/24']);
    expect([...cluster.ipv6Routes().keys()].sort()).toEqual([ipv6Subnet(1), ipv6Subnet(2)]);
    expect(cluster.world.calls('CreateRoute').every((c) => c.errorCode !== 'RouteLimitExceeded')).toBe(true);
    expect(result.stdout).toContain('IPv6 routes (a quota of their own): 2/2 routesync routes (limit 3, 1 foreign counted)');
    expect(result.stdout).toMatch(/unrouted 10\.1\.2\.0\/24 → \S+: route-limit .*; its IPv6 half fc00:0:0:2::\/64 is routed/);
  });

  it('GCE: an IPv4-only instance gets the IPv4 route of its lease only, and the IPv6 half is reported no-ipv6-interface', async () => {
    const cluster = suite.closeAfterTest(await startDualStackGceCluster({ nodes: 2, ipv4Only: [2] }));
    const prefix = freshPrefix();
    await writeDualStackFlannel(suite.etcd.client, prefix, cluster.nodes, gceNodeIpv6);

    const result = await runRoutesync(gceClusterArgs(cluster, suite.etcd.endpoint, prefix, ['--once', '--route-limit', '100']));
    expect(result.code, result.stderr).toBe(3);
    const [one, two] = cluster.nodes;
    const routes = cluster.flannelRoutes();
    expect(routes.get('10.1.1.0/24')).toBe(one?.instancePath);
    expect(routes.get(ipv6Subnet(1))).toBe(one?.instancePath);
    expect(routes.get('10.1.2.0/24')).toBe(two?.instancePath);
    expect(routes.has(ipv6Subnet(2))).toBe(false);
    expect(cluster.world.routes().find((r) => r.destRange === ipv6Subnet(1))?.name).toBe('routesync-v6-fc00-0-0-1---64');
    expect(result.stdout).toContain(`unrouted ${ipv6Subnet(2)} → ${gceNodeIpv6(2)}: no-ipv6-interface`);
    expect(result.stdout).toContain('its IPv4 half 10.1.2.0/24 is routed');
    expect(shortInstance(cluster.world.routes().find((r) => r.destRange === ipv6Subnet(1))?.nextHopInstance)).toBe(one?.instancePath);
  });
});
