/**
 * End to end, flannel's multi-network mode: `routesync --provider aws-vpc --once --networks
 * blue,green,red` as a process against a real etcd and the EC2 simulator. Each network has its own
 * config at `<prefix>/<name>/config` and leases at `<prefix>/<name>/subnets/`; every node joins all
 * three, so node i holds 10.1.i.0/24 (blue), 10.2.i.0/24 (green) and 10.3.i.0/24 (red).
 */
import type { Etcd3 } from 'etcd3';
import { describe, expect, it } from 'vitest';
import { useEtcdSuite } from '../helpers/suite.js';
import { deleteLease, putLease, putNetworkConfig } from '../helpers/etcd.js';
import { clusterArgs, startAwsCluster, type AwsCluster, type Node } from '../helpers/aws-cluster.js';
import { runRoutesync } from '../helpers/routesync.js';
import { configKey } from '../../src/leases/flannel.js';

const suite = useEtcdSuite();
let prefixCounter = 0;

function freshPrefix(): string {
  prefixCounter += 1;
  return `/networks${prefixCounter}/coreos.com/network`;
}

const OCTET = { blue: 1, green: 2, red: 3 } as const;
type Net = keyof typeof OCTET;
const NETS = Object.keys(OCTET) as Net[];

const subnetOf = (net: Net, node: Node): string => `10.${OCTET[net]}.${node.index}.0/24`;

async function writeConfigs(client: Etcd3, prefix: string): Promise<void> {
  for (const net of NETS) await putNetworkConfig(client, `${prefix}/${net}`, { Network: `10.${OCTET[net]}.0.0/16`, SubnetLen: 24, Backend: { Type: 'alloc' } });
}

/** Writes the leases in the given order: the first is the oldest (create_revision is global in etcd). */
async function writeLeases(client: Etcd3, prefix: string, leases: ReadonlyArray<readonly [Net, Node]>): Promise<void> {
  for (const [net, node] of leases) await putLease(client, `${prefix}/${net}`, subnetOf(net, node), node.ip);
}

/** Every flannel network's route in the table, `subnet → eni`. */
function routesOf(cluster: AwsCluster): Map<string, string> {
  const out = new Map<string, string>();
  for (const route of cluster.world.routes(cluster.tableId)) {
    const target = route.networkInterfaceId ?? route.instanceId;
    if (route.destinationCidrBlock?.startsWith('10.') === true && target !== undefined) out.set(route.destinationCidrBlock, target);
  }
  return out;
}

async function once(cluster: AwsCluster, prefix: string, extra: string[] = []) {
  return runRoutesync(clusterArgs(cluster, suite.etcd.endpoint, prefix, ['--once', '--networks', 'blue,green,red', ...extra]));
}

describe('routesync --once --networks blue,green,red against the EC2 simulator', () => {
  it("routes each network's leases, and shares the table's capacity by age across networks", async () => {
    // Limit 6: the local route and five flannel routes, for nine leases.
    const cluster = suite.closeAfterTest(await startAwsCluster({ nodes: 3, routeLimit: 6 }));
    const [n1, n2, n3] = cluster.nodes as [Node, Node, Node];
    const prefix = freshPrefix();
    await writeConfigs(suite.etcd.client, prefix);
    // Interleaved across networks: the five oldest are red 1, blue 3, green 2, blue 1, red 3.
    const order: Array<[Net, Node]> = [['red', n1], ['blue', n3], ['green', n2], ['blue', n1], ['red', n3], ['green', n1], ['blue', n2], ['red', n2], ['green', n3]];
    await writeLeases(suite.etcd.client, prefix, order);

    const result = await once(cluster, prefix);
    expect(result.code, result.stderr).toBe(3);
    const routes = routesOf(cluster);
    expect([...routes.keys()].sort()).toEqual(order.slice(0, 5).map(([net, node]) => subnetOf(net, node)).sort());
    for (const [net, node] of order.slice(0, 5)) expect(routes.get(subnetOf(net, node))).toBe(node.eniId);
    expect(result.stdout).toContain('9 valid, 5 routed, 4 unrouted');
    expect(result.stdout).toContain('network blue: 3 valid, 2 routed, 1 unrouted');
    expect(result.stdout).toContain('network green: 3 valid, 1 routed, 2 unrouted');
    expect(result.stdout).toContain('network red: 3 valid, 2 routed, 1 unrouted');
    expect(result.stdout).toContain(`[green] ${subnetOf('green', n1)} → ${n1.ip}: route-limit`);

    // A second pass changes nothing: the routes made keep their place.
    cluster.world.clearCalls();
    const again = await once(cluster, prefix);
    expect(again.code).toBe(3);
    expect(cluster.world.mutatingCalls()).toEqual([]);
    // One listing of the tables per pass, whatever the number of networks.
    expect(cluster.world.calls('DescribeRouteTables')).toHaveLength(1);
  });

  it('a bad lease in one network does not affect the others', async () => {
    const cluster = suite.closeAfterTest(await startAwsCluster({ nodes: 2 }));
    const [n1, n2] = cluster.nodes as [Node, Node];
    const prefix = freshPrefix();
    await writeConfigs(suite.etcd.client, prefix);
    await writeLeases(suite.etcd.client, prefix, NETS.flatMap((net) => [[net, n1], [net, n2]] as Array<[Net, Node]>));
    // In blue: a value that does not parse, and a green subnet, which is outside blue's Network.
    await putLease(suite.etcd.client, `${prefix}/blue`, '10.1.77.0/24', n1.ip, { rawValue: '{"PublicIP": ' });
    await putLease(suite.etcd.client, `${prefix}/blue`, '10.2.9.0/24', n1.ip);

    const result = await once(cluster, prefix);
    expect(result.code, result.stderr).toBe(3);
    const routes = routesOf(cluster);
    expect(routes.size).toBe(6);
    for (const net of NETS) for (const node of [n1, n2]) expect(routes.get(subnetOf(net, node))).toBe(node.eniId);
    expect(routes.has('10.2.9.0/24')).toBe(false);
    expect(result.stdout).toContain('network blue: 2 valid, 2 routed, 0 unrouted, 0 partial, 0 in conflict, 0 with errors, 2 invalid');
    expect(result.stdout).toContain('network green: 2 valid, 2 routed, 0 unrouted, 0 partial, 0 in conflict, 0 with errors, 0 invalid');
    expect(result.stdout).toMatch(/invalid +\[blue\] \S+10\.2\.9\.0-24/);
  });

  it("one network's config deleted: its routes stay, the other networks go on", async () => {
    const cluster = suite.closeAfterTest(await startAwsCluster({ nodes: 2 }));
    const [n1, n2] = cluster.nodes as [Node, Node];
    const prefix = freshPrefix();
    await writeConfigs(suite.etcd.client, prefix);
    await writeLeases(suite.etcd.client, prefix, NETS.flatMap((net) => [[net, n1], [net, n2]] as Array<[Net, Node]>));
    expect((await once(cluster, prefix)).code).toBe(0);
    expect(routesOf(cluster).size).toBe(6);

    await suite.etcd.client.delete().key(configKey(`${prefix}/green`)).exec();
    await deleteLease(suite.etcd.client, `${prefix}/blue`, subnetOf('blue', n2));
    await deleteLease(suite.etcd.client, `${prefix}/green`, subnetOf('green', n2));
    const result = await once(cluster, prefix);
    expect(result.code, result.stderr).toBe(3); // green's leases cannot be validated
    const routes = routesOf(cluster);
    // Blue's expired lease loses its route; both of green's routes stay, even the one without a lease.
    expect([...routes.keys()].sort()).toEqual([subnetOf('blue', n1), subnetOf('green', n1), subnetOf('green', n2), subnetOf('red', n1), subnetOf('red', n2)].sort());
    expect(result.stdout).toMatch(/invalid +\[green\] .*not validated/);
  });

  it("a network whose leases are all gone keeps its routes unless --allow-empty", async () => {
    const cluster = suite.closeAfterTest(await startAwsCluster({ nodes: 1 }));
    const [n1] = cluster.nodes as [Node];
    const prefix = freshPrefix();
    await writeConfigs(suite.etcd.client, prefix);
    await writeLeases(suite.etcd.client, prefix, NETS.map((net) => [net, n1] as [Net, Node]));
    expect((await once(cluster, prefix)).code).toBe(0);

    await deleteLease(suite.etcd.client, `${prefix}/red`, subnetOf('red', n1));
    const kept = await once(cluster, prefix);
    expect(kept.code, kept.stderr).toBe(0);
    expect(routesOf(cluster).has(subnetOf('red', n1))).toBe(true);
    expect(kept.stderr).toContain('no valid lease in etcd for network red');

    const allowed = await once(cluster, prefix, ['--allow-empty']);
    expect(allowed.code, allowed.stderr).toBe(0);
    expect([...routesOf(cluster).keys()].sort()).toEqual([subnetOf('blue', n1), subnetOf('green', n1)]);
  });
});
