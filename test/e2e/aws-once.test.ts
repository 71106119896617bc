/**
 * End to end, one pass at a time: `routesync --provider aws-vpc --once` as a process against a
 * real etcd and the EC2 simulator, asserting on the simulator's tables and call log.
 */
import { describe, expect, it } from 'vitest';
import { useEtcdSuite } from '../helpers/suite.js';
import { putLease, putNetworkConfig, whileOtherReplicaLeads } from '../helpers/etcd.js';
import { clusterArgs, leaseSubnet, NETWORK, startAwsCluster, writeFlannel, type AwsCluster } from '../helpers/aws-cluster.js';
import { runRoutesync } from '../helpers/routesync.js';

const suite = useEtcdSuite();
let prefixCounter = 0;

/** Each test gets its own flannel prefix (and so its own election key) in the shared suite.etcd. */
function freshPrefix(): string {
  prefixCounter += 1;
  return `/once${prefixCounter}/coreos.com/network`;
}

async function once(c: AwsCluster, prefix: string, extra: string[] = []) {
  return runRoutesync(clusterArgs(c, suite.etcd.endpoint, prefix, ['--once', ...extra]));
}

describe('routesync --once against the EC2 simulator', () => {
  it('routes exactly the capacity of a 50-route table, oldest leases first, and exits 3', async () => {
    const cluster = suite.closeAfterTest(await startAwsCluster({ nodes: 60 }));
    const prefix = freshPrefix();
    // Written newest subnet first: the oldest leases are 10.1.60.0 … 10.1.12.0, not the lowest subnets.
    await writeFlannel(suite.etcd.client, prefix, [...cluster.nodes].reverse());

    const result = await once(cluster, prefix);
    expect(result.code, result.stderr).toBe(3);
    const routes = cluster.flannelRoutes();
    expect(routes.size).toBe(49);
    expect(cluster.world.routes(cluster.tableId)).toHaveLength(50);
    for (const node of cluster.nodes) {
      if (node.index >= 12) expect(routes.get(node.subnet)).toBe(node.eniId);
      else expect(routes.has(node.subnet)).toBe(false);
    }
    expect(result.stdout).toContain('49 routed, 11 unrouted');
    expect(result.stdout).toContain(`unrouted 10.1.11.0/24 → ${cluster.nodes[10]?.ip}: route-limit`);
    expect(cluster.world.calls('CreateRoute').filter((c) => c.httpStatus === 200)).toHaveLength(49);
    expect(cluster.world.calls('CreateRoute').every((c) => c.errorCode !== 'RouteLimitExceeded')).toBe(true);

    // A second pass changes nothing, and still reports the leases that do not fit.
    cluster.world.clearCalls();
    const again = await once(cluster, prefix);
    expect(again.code).toBe(3);
    expect(cluster.world.mutatingCalls()).toEqual([]);
    expect(cluster.world.calls('DescribeRouteTables')).toHaveLength(1);
  });

  it('targets the ENI holding the lease IP, turns SourceDestCheck off, and leaves foreign routes alone', async () => {
    const cluster = suite.closeAfterTest(await startAwsCluster({ nodes: 2 }));
    const world = cluster.world;
    // A node with two ENIs whose lease names the second one's address.
    const multi = world.launchInstance({
      subnetId: cluster.subnetId,
      enis: [{ privateIp: '172.31.20.10' }, { privateIp: '172.31.20.11', secondaryIps: ['172.31.20.12'] }],
    });
    const secondEni = multi.networkInterfaceIds[1] ?? '';
    const foreign = [
      { destinationCidrBlock: '0.0.0.0/0', gatewayId: 'igw-0a1b2c3d4e5f60718' },
      { destinationCidrBlock: '10.1.200.0/24', natGatewayId: 'nat-0a1b2c3d4e5f60718' },
      { destinationCidrBlock: '10.1.3.0/24', gatewayId: 'igw-0a1b2c3d4e5f60718' },
      { destinationCidrBlock: '192.168.0.0/16', gatewayId: 'vgw-0a1b2c3d4e5f60718', origin: 'EnableVgwRoutePropagation' as const },
    ];
    for (const route of foreign) world.addForeignRoute(cluster.tableId, route);
    const before = JSON.stringify(world.routes(cluster.tableId).filter((r) => !r.destinationCidrBlock?.startsWith('10.1.') || r.natGatewayId || r.gatewayId));

    const prefix = freshPrefix();
    await writeFlannel(suite.etcd.client, prefix, cluster.nodes);
    await putLease(suite.etcd.client, prefix, '10.1.3.0/24', '172.31.20.12'); // collides with the igw route
    await putLease(suite.etcd.client, prefix, '10.1.4.0/24', '172.31.20.11');

    const result = await once(cluster, prefix);
    expect(result.code, result.stderr).toBe(3);
    const routes = cluster.flannelRoutes();
    expect(routes.get('10.1.4.0/24')).toBe(secondEni);
    expect(routes.get(leaseSubnet(1))).toBe(cluster.nodes[0]?.eniId);
    expect(routes.get(leaseSubnet(2))).toBe(cluster.nodes[1]?.eniId);
    expect(result.stdout).toMatch(/conflict +10\.1\.3\.0\/24/);

    const after = JSON.stringify(world.routes(cluster.tableId).filter((r) => !r.destinationCidrBlock?.startsWith('10.1.') || r.natGatewayId || r.gatewayId));
    expect(after).toBe(before);
    const touched = world.mutatingCalls().map((c) => c.params['DestinationCidrBlock']);
    for (const route of foreign) expect(touched).not.toContain(route.destinationCidrBlock);

    for (const eni of [cluster.nodes[0]?.eniId, cluster.nodes[1]?.eniId, secondEni]) {
      expect(world.networkInterface(eni ?? '').sourceDestCheck).toBe(false);
    }
    // The first ENI of the multi-ENI node carries no lease: left as it was.
    expect(world.networkInterface(multi.networkInterfaceIds[0] ?? '').sourceDestCheck).toBe(true);
  });

  it('reports malformed leases and keys, skips them, and routes the rest', async () => {
    const cluster = suite.closeAfterTest(await startAwsCluster({ nodes: 3 }));
    const prefix = freshPrefix();
    await writeFlannel(suite.etcd.client, prefix, cluster.nodes);
    const bad = [
      { rawName: '10.1.300.0-24', why: '10.1.300.0-24' },
      { rawName: 'not-a-lease', why: 'not-a-lease' },
      { rawName: '10.1.77.0-24', rawValue: '{"PublicIP": ', why: '10.1.77.0-24' },
      { rawName: '10.1.78.0-24', rawValue: '{"PublicIP":"172.31.16.999"}', why: '10.1.78.0-24' },
      { rawName: '10.2.5.0-24', why: '10.2.5.0-24' },
      { rawName: '10.1.80.0-25', why: '10.1.80.0-25' },
    ];
    for (const item of bad) {
      await putLease(suite.etcd.client, prefix, '10.1.250.0/24', '172.31.16.11', {
        rawName: item.rawName,
        ...(item.rawValue !== undefined ? { rawValue: item.rawValue } : {}),
      });
    }
    const result = await once(cluster, prefix);
    expect(result.code, result.stderr).toBe(3);
    expect(cluster.flannelRoutes().size).toBe(3);
    for (const item of bad.filter((b) => b.rawName !== 'not-a-lease')) expect(result.stdout).toContain(item.why);
    expect(result.stdout).toContain('3 routed');
  });

  it('--dry-run makes no mutating call and prints the plan', async () => {
    const cluster = suite.closeAfterTest(await startAwsCluster({ nodes: 5 }));
    const prefix = freshPrefix();
    await writeFlannel(suite.etcd.client, prefix, cluster.nodes);
    const result = await once(cluster, prefix, ['--dry-run']);
    expect(result.code, result.stderr).toBe(0);
    expect(cluster.world.mutatingCalls()).toEqual([]);
    expect(cluster.world.calls().length).toBeGreaterThan(0);
    expect(result.stdout).toContain(`would create ${leaseSubnet(1)} → ${cluster.nodes[0]?.eniId}`);
    expect(result.stdout).toContain('5 to be routed');
  });

  it('an empty subnets prefix deletes nothing', async () => {
    const cluster = suite.closeAfterTest(await startAwsCluster({ nodes: 3 }));
    const prefix = freshPrefix();
    for (const node of cluster.nodes) {
      cluster.world.createRoute(cluster.tableId, { destinationCidrBlock: node.subnet, networkInterfaceId: node.eniId });
    }
    await putNetworkConfig(suite.etcd.client, prefix, { Network: NETWORK, Backend: { Type: 'alloc' } });
    const result = await once(cluster, prefix, ['--max-deletes-per-pass', '100%']);
    expect(result.code, result.stderr).toBe(0);
    expect(cluster.flannelRoutes().size).toBe(3);
    expect(cluster.world.calls('DeleteRoute')).toEqual([]);
    expect(result.stdout).toContain('no valid lease');
  });

  it('replaces the route of a lease that moved to another node with ReplaceRoute', async () => {
    const cluster = suite.closeAfterTest(await startAwsCluster({ nodes: 3 }));
    const prefix = freshPrefix();
    await writeFlannel(suite.etcd.client, prefix, cluster.nodes);
    expect((await once(cluster, prefix)).code).toBe(0);
    const [first, , third] = cluster.nodes;
    await putLease(suite.etcd.client, prefix, first?.subnet ?? '', third?.ip ?? '');
    cluster.world.clearCalls();

    const result = await once(cluster, prefix);
    expect(result.code, result.stderr).toBe(0);
    expect(cluster.flannelRoutes().get(first?.subnet ?? '')).toBe(third?.eniId);
    const mutations = cluster.world.mutatingCalls().map((c) => `${c.action} ${c.params['DestinationCidrBlock']}`);
    expect(mutations).toEqual([`ReplaceRoute ${first?.subnet}`]);
  });

  it("removes a terminated instance's blackhole route and reports its lease", async () => {
    const cluster = suite.closeAfterTest(await startAwsCluster({ nodes: 3 }));
    const prefix = freshPrefix();
    await writeFlannel(suite.etcd.client, prefix, cluster.nodes);
    expect((await once(cluster, prefix)).code).toBe(0);
    const gone = cluster.nodes[1];
    cluster.world.terminateInstance(gone?.instanceId ?? '');
    expect(cluster.world.route(cluster.tableId, gone?.subnet ?? '')?.state).toBe('blackhole');

    const result = await once(cluster, prefix);
    expect(result.code, result.stderr).toBe(3);
    expect(cluster.world.route(cluster.tableId, gone?.subnet ?? '')).toBeUndefined();
    expect(cluster.flannelRoutes().size).toBe(2);
    expect(result.stdout).toContain(`unrouted ${gone?.subnet} → ${gone?.ip}: node-not-found`);
  });

  it('a stopped instance: no ReplaceRoute pass after pass, the lease is node-stopped; once started it is routed again', async () => {
    const cluster = suite.closeAfterTest(await startAwsCluster({ nodes: 2 }));
    const prefix = freshPrefix();
    await writeFlannel(suite.etcd.client, prefix, cluster.nodes);
    expect((await once(cluster, prefix)).code).toBe(0);
    const node = cluster.nodes[0];
    if (node === undefined) throw new Error('no node');
    cluster.world.stopInstance(node.instanceId);
    expect(cluster.world.route(cluster.tableId, node.subnet)).toMatchObject({ state: 'blackhole', networkInterfaceId: node.eniId });
    cluster.world.clearCalls();

    for (let pass = 1; pass <= 3; pass += 1) {
      const result = await once(cluster, prefix);
      expect(result.code, result.stderr).toBe(3);
      expect(result.stdout).toContain(`unrouted ${node.subnet} → ${node.ip}: node-stopped`);
    }
    expect(cluster.world.calls('DescribeRouteTables')).toHaveLength(3);
    expect(cluster.world.calls('ReplaceRoute')).toEqual([]);
    expect(cluster.world.mutatingCalls()).toEqual([]);

    cluster.world.startInstance(node.instanceId);
    const started = await once(cluster, prefix);
    expect(started.code, started.stderr).toBe(0);
    expect(started.stdout).toContain('2 routed');
    expect(cluster.world.route(cluster.tableId, node.subnet)).toMatchObject({ state: 'active', networkInterfaceId: node.eniId });
    expect(cluster.world.mutatingCalls()).toEqual([]);
  });

  it('a lease that fits in one table only is partial, and its ENI stops checking source/dest', async () => {
    const cluster = suite.closeAfterTest(await startAwsCluster({ nodes: 3, routeLimit: 4 }));
    // A second managed table that also holds a foreign route: room for two leases, not three.
    const second = cluster.world.createRouteTable({ vpcId: cluster.vpcId, tags: { 'routesync/cluster': cluster.clusterName } }).routeTableId;
    cluster.world.addForeignRoute(second, { destinationCidrBlock: '0.0.0.0/0', gatewayId: 'igw-0a1b2c3d4e5f60718' });
    const prefix = freshPrefix();
    await writeFlannel(suite.etcd.client, prefix, cluster.nodes);

    const result = await once(cluster, prefix);
    expect(result.code, result.stderr).toBe(3);
    const [, , third] = cluster.nodes;
    expect(cluster.flannelRoutes().get(third?.subnet ?? '')).toBe(third?.eniId);
    expect(cluster.flannelRoutes(second).has(third?.subnet ?? '')).toBe(false);
    expect(cluster.world.networkInterface(third?.eniId ?? '').sourceDestCheck).toBe(false);
    expect(result.stdout).toContain(`partial  ${third?.subnet} → ${third?.ip}: route-limit (routed in ${cluster.tableId}; not in ${second}`);
    expect(result.stdout).toContain('2 routed, 0 unrouted, 1 partial');
  });

  it('--route-limit 3 with a refused delete: the create that needed its room is held back, the table keeps 3 counted routes', async () => {
    // EC2's own limit is higher (500 by default): only routesync's --route-limit protects the table.
    const cluster = suite.closeAfterTest(await startAwsCluster({ nodes: 3, routeLimit: 3, sim: { routeLimit: 50 } }));
    const [first, secondNode, gone] = cluster.nodes;
    cluster.world.createRoute(cluster.tableId, { destinationCidrBlock: '10.1.9.0/24', networkInterfaceId: gone?.eniId ?? '' });
    const prefix = freshPrefix();
    await writeFlannel(suite.etcd.client, prefix, [first, secondNode].flatMap((n) => (n !== undefined ? [n] : [])));
    cluster.world.failNext('DeleteRoute', 'UnauthorizedOperation', 1, 403);

    const result = await once(cluster, prefix);
    expect(result.code, result.stderr).toBe(1);
    expect(cluster.world.countedRoutesOf(cluster.tableId)).toBe(3);
    expect([...cluster.flannelRoutes().keys()].sort()).toEqual(['10.1.1.0/24', '10.1.9.0/24']);
    expect(cluster.world.calls('CreateRoute')).toHaveLength(1);
    expect(result.stdout).toContain(`unrouted 10.1.2.0/24 → ${secondNode?.ip}: route-limit`);
    expect(result.stdout).toContain('held back: 1 create(s)');
  });

  it('exits 4 without touching anything while another replica leads', async () => {
    const cluster = suite.closeAfterTest(await startAwsCluster({ nodes: 2 }));
    const prefix = freshPrefix();
    await writeFlannel(suite.etcd.client, prefix, cluster.nodes);
    await whileOtherReplicaLeads(suite.etcd.client, prefix, async () => {
      const result = await once(cluster, prefix);
      expect(result.code, result.stderr).toBe(4);
      expect(result.stdout).toContain('other-replica');
      expect(cluster.world.mutatingCalls()).toEqual([]);
      // A dry run needs no leadership.
      expect((await once(cluster, prefix, ['--dry-run'])).code).toBe(0);
    });
  });

  it('exits 2 naming a route table that does not exist', async () => {
    const cluster = suite.closeAfterTest(await startAwsCluster({ nodes: 1 }));
    const prefix = freshPrefix();
    await writeFlannel(suite.etcd.client, prefix, cluster.nodes);
    const result = await runRoutesync([
      ...clusterArgs(cluster, suite.etcd.endpoint, prefix, ['--once', '--no-leader-elect']).filter((a) => a !== cluster.vpcId && a !== '--vpc-id'),
      '--route-table-id',
      'rtb-0000000000000dead',
    ]);
    expect(result.code, result.stderr).toBe(2);
    expect(result.stdout + result.stderr).toContain('rtb-0000000000000dead');
  });

  it('exits 1 when etcd is unreachable, and changes nothing', async () => {
    const cluster = suite.closeAfterTest(await startAwsCluster({ nodes: 1 }));
    cluster.world.createRoute(cluster.tableId, { destinationCidrBlock: leaseSubnet(1), networkInterfaceId: cluster.nodes[0]?.eniId ?? '' });
    const args = clusterArgs(cluster, 'http://127.0.0.1:9', freshPrefix(), ['--once', '--no-leader-elect']);
    const result = await runRoutesync(args);
    expect(result.code).toBe(1);
    expect(cluster.world.mutatingCalls()).toEqual([]);
    expect(cluster.flannelRoutes().size).toBe(1);
  });
});
