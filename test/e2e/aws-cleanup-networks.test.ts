/**
 * End to end: `routesync cleanup --networks blue,green` (flannel's multi-network mode) as a process
 * against a real etcd and the EC2 simulator. Node i holds 10.1.i.0/24 (blue) and 10.2.i.0/24
 * (green); red (10.3.0.0/16) is a network routesync was not asked about: its routes are foreign.
 */
import { describe, expect, it } from 'vitest';
import { useEtcdSuite } from '../helpers/suite.js';
import { putLease, putNetworkConfig } from '../helpers/etcd.js';
import { clusterArgs, startAwsCluster, type AwsCluster, type Node } from '../helpers/aws-cluster.js';
import { runRoutesync } from '../helpers/routesync.js';
import { configKey } from '../../src/leases/flannel.js';

const suite = useEtcdSuite();
let prefixCounter = 0;

function freshPrefix(): string {
  prefixCounter += 1;
  return `/cleanup-networks${prefixCounter}/coreos.com/network`;
}

const OCTET = { blue: 1, green: 2 } as const;
type Net = keyof typeof OCTET;
const NETS = Object.keys(OCTET) as Net[];
const subnetOf = (net: Net, node: Node): string => `10.${OCTET[net]}.${node.index}.0/24`;

function cleanup(c: AwsCluster, prefix: string, extra: string[] = []) {
  return runRoutesync(['cleanup', ...clusterArgs(c, suite.etcd.endpoint, prefix, ['--networks', 'blue,green', ...extra])]);
}

/** Both networks routed by the service, plus foreign routes: a gateway, a NAT inside blue, red's route with routesync's marks. */
async function routedCluster(prefix: string): Promise<{ cluster: AwsCluster; owned: () => string[]; foreign: () => string }> {
  const cluster = suite.closeAfterTest(await startAwsCluster({ nodes: 2 }));
  const world = cluster.world;
  for (const net of NETS) {
    await putNetworkConfig(suite.etcd.client, `${prefix}/${net}`, { Network: `10.${OCTET[net]}.0.0/16`, SubnetLen: 24, Backend: { Type: 'alloc' } });
    for (const node of cluster.nodes) await putLease(suite.etcd.client, `${prefix}/${net}`, subnetOf(net, node), node.ip);
  }
  const once = await runRoutesync(clusterArgs(cluster, suite.etcd.endpoint, prefix, ['--once', '--networks', 'blue,green']));
  expect(once.code, once.stderr).toBe(0);
  world.addForeignRoute(cluster.tableId, { destinationCidrBlock: '0.0.0.0/0', gatewayId: 'igw-0a1b2c3d4e5f60718' });
  world.addForeignRoute(cluster.tableId, { destinationCidrBlock: '10.1.200.0/24', natGatewayId: 'nat-0a1b2c3d4e5f60718' });
  world.createRoute(cluster.tableId, { destinationCidrBlock: '10.3.1.0/24', networkInterfaceId: cluster.nodes[0]?.eniId ?? '' });
  const owned = (): string[] =>
    world
      .routes(cluster.tableId)
      .filter((r) => /^10\.[12]\./.test(r.destinationCidrBlock ?? '') && r.networkInterfaceId !== undefined)
      .map((r) => `${r.destinationCidrBlock ?? ''} → ${r.networkInterfaceId ?? ''}`)
      .sort();
  const foreign = (): string => JSON.stringify(world.routes(cluster.tableId).filter((r) => !/^10\.[12]\./.test(r.destinationCidrBlock ?? '') || r.natGatewayId !== undefined));
  expect(owned()).toEqual(NETS.flatMap((net) => cluster.nodes.map((n) => `${subnetOf(net, n)} → ${n.eniId}`)).sort());
  world.clearCalls();
  return { cluster, owned, foreign };
}

describe('routesync cleanup --networks blue,green --provider aws-vpc', () => {
  it("--dry-run changes nothing; cleanup deletes both networks' routes and leaves the foreign ones", async () => {
    const prefix = freshPrefix();
    const { cluster, owned, foreign } = await routedCluster(prefix);
    const before = foreign();
    const routesBefore = owned();

    const dry = await cleanup(cluster, prefix, ['--dry-run']);
    expect(dry.code, dry.stderr).toBe(0);
    expect(cluster.world.mutatingCalls()).toEqual([]);
    expect(owned()).toEqual(routesBefore);
    expect(dry.stdout).toContain(`table ${cluster.tableId}: 4 routesync routes, 4 to delete; 4 foreign left alone`);
    for (const net of NETS) for (const node of cluster.nodes) expect(dry.stdout).toContain(`would delete [${net}] ${subnetOf(net, node)} → ${node.eniId} in ${cluster.tableId}`);
    expect(dry.stdout).not.toContain('10.3.1.0/24');

    const result = await cleanup(cluster, prefix);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain(`table ${cluster.tableId}: 4 routesync routes, 4 deleted, 0 owned left; 4 foreign left alone`);
    expect(owned()).toEqual([]);
    expect(foreign()).toBe(before);
    const deleted = cluster.world.mutatingCalls().map((c) => `${c.action} ${c.params['DestinationCidrBlock']} ${c.httpStatus}`);
    expect(deleted.sort()).toEqual(NETS.flatMap((net) => cluster.nodes.map((n) => `DeleteRoute ${subnetOf(net, n)} 200`)).sort());
  });

  it("refuses when a selected network's config is missing (exit 2, naming it and its key); --exclude-networks leaves that network's routes", async () => {
    const prefix = freshPrefix();
    const { cluster, owned, foreign } = await routedCluster(prefix);
    const before = foreign();
    await suite.etcd.client.delete().key(configKey(`${prefix}/green`)).exec();

    const refused = await cleanup(cluster, prefix);
    expect(refused.code, refused.stderr).toBe(2);
    expect(refused.stdout).toContain(`network green: no flannel network config at ${configKey(`${prefix}/green`)}`);
    expect(refused.stdout).toContain('--exclude-networks green');
    expect(refused.stdout).not.toContain('network blue');
    expect(cluster.world.mutatingCalls()).toEqual([]);

    const excluded = await cleanup(cluster, prefix, ['--exclude-networks', 'green']);
    expect(excluded.code, excluded.stderr).toBe(0);
    expect(owned()).toEqual(cluster.nodes.map((n) => `${subnetOf('green', n)} → ${n.eniId}`).sort());
    expect(foreign()).toBe(before);
  });

  it('refuses --network with --networks, and an excluded name not in --networks, as usage errors', async () => {
    const prefix = freshPrefix();
    const { cluster, owned } = await routedCluster(prefix);
    const routesBefore = owned();

    const both = await cleanup(cluster, prefix, ['--network', '10.1.0.0/16']);
    expect(both.code).toBe(2);
    expect(both.stderr).toContain('with --networks');

    const unknown = await cleanup(cluster, prefix, ['--exclude-networks', 'red']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('--exclude-networks');

    expect(cluster.world.mutatingCalls()).toEqual([]);
    expect(owned()).toEqual(routesBefore);
  });
});
