/**
 * End to end on GCE, flannel's multi-network mode: `routesync --provider gce --once --networks
 * blue,green,red` as a process against a real etcd and the GCE simulator. Every node joins all three
 * networks: node i holds 10.1.i.0/24 (blue), 10.2.i.0/24 (green) and 10.3.i.0/24 (red).
 */
import type { Etcd3 } from 'etcd3';
import { describe, expect, it } from 'vitest';
import { useEtcdSuite } from '../helpers/suite.js';
import { deleteLease, putLease, putNetworkConfig } from '../helpers/etcd.js';
import { gceClusterArgs, startGceCluster, type GceCluster, type GceNode } from '../helpers/gce-cluster.js';
import { runRoutesync } from '../helpers/routesync.js';
import { configKey } from '../../src/leases/flannel.js';

const suite = useEtcdSuite();
let prefixCounter = 0;

function freshPrefix(): string {
  prefixCounter += 1;
  return `/gce-networks${prefixCounter}/coreos.com/network`;
}

const OCTET = { blue: 1, green: 2, red: 3 } as const;
type Net = keyof typeof OCTET;
const NETS = Object.keys(OCTET) as Net[];

const subnetOf = (net: Net, node: GceNode): string => `10.${OCTET[net]}.${node.index}.0/24`;

async function writeConfigs(client: Etcd3, prefix: string): Promise<void> {
  for (const net of NETS) await putNetworkConfig(client, `${prefix}/${net}`, { Network: `10.${OCTET[net]}.0.0/16`, SubnetLen: 24, Backend: { Type: 'alloc' } });
}

/** The first lease written is the oldest (create_revision is global in etcd). */
async function writeLeases(client: Etcd3, prefix: string, leases: ReadonlyArray<readonly [Net, GceNode]>): Promise<void> {
  for (const [net, node] of leases) await putLease(client, `${prefix}/${net}`, subnetOf(net, node), node.ip);
}

const all = (nodes: readonly GceNode[]): Array<[Net, GceNode]> => NETS.flatMap((net) => nodes.map((node) => [net, node] as [Net, GceNode]));

async function once(cluster: GceCluster, prefix: string, extra: string[] = []) {
  return runRoutesync(gceClusterArgs(cluster, suite.etcd.endpoint, prefix, ['--once', '--networks', 'blue,green,red', ...extra]));
}

describe('routesync --provider gce --once --networks blue,green,red against the GCE simulator', () => {
  it("routes each network's leases, and shares the project's quota by age across networks", async () => {
    // A quota of 6 holding the default internet route: five slots for nine leases.
    const cluster = suite.closeAfterTest(await startGceCluster({ nodes: 3, routeQuota: 6 }));
    const [n1, n2, n3] = cluster.nodes as [GceNode, GceNode, GceNode];
    const prefix = freshPrefix();
    await writeConfigs(suite.etcd.client, prefix);
    const order: Array<[Net, GceNode]> = [['green', n3], ['red', n1], ['blue', n2], ['green', n1], ['red', n2], ['blue', n1], ['blue', n3], ['red', n3], ['green', n2]];
    await writeLeases(suite.etcd.client, prefix, order);

    const result = await once(cluster, prefix);
    expect(result.code, result.stderr).toBe(3);
    const routes = cluster.flannelRoutes();
    expect([...routes.keys()].sort()).toEqual(order.slice(0, 5).map(([net, node]) => subnetOf(net, node)).sort());
    for (const [net, node] of order.slice(0, 5)) expect(routes.get(subnetOf(net, node))).toBe(node.instancePath);
    expect(result.stdout).toContain('network blue: 3 valid, 1 routed, 2 unrouted');
    expect(result.stdout).toContain('network green: 3 valid, 2 routed, 1 unrouted');
    expect(result.stdout).toContain('network red: 3 valid, 2 routed, 1 unrouted');

    cluster.world.clearCalls();
    expect((await once(cluster, prefix)).code).toBe(3);
    expect(cluster.world.mutatingCalls()).toEqual([]);
  });

  it('a bad lease in one network does not affect the others', async () => {
    const cluster = suite.closeAfterTest(await startGceCluster({ nodes: 2 }));
    const [n1, n2] = cluster.nodes as [GceNode, GceNode];
    const prefix = freshPrefix();
    await writeConfigs(suite.etcd.client, prefix);
    await writeLeases(suite.etcd.client, prefix, all([n1, n2]));
    await putLease(suite.etcd.client, `${prefix}/red`, '10.3.77.0/24', n1.ip, { rawValue: '{"PublicIP": ' });
    await putLease(suite.etcd.client, `${prefix}/red`, '10.1.9.0/24', n1.ip); // blue's space, not red's

    const result = await once(cluster, prefix);
    expect(result.code, result.stderr).toBe(3);
    const routes = cluster.flannelRoutes();
    expect(routes.size).toBe(6);
    for (const [net, node] of all([n1, n2])) expect(routes.get(subnetOf(net, node))).toBe(node.instancePath);
    expect(result.stdout).toContain('network red: 2 valid, 2 routed, 0 unrouted, 0 partial, 0 in conflict, 0 with errors, 2 invalid');
    expect(result.stdout).toContain('network blue: 2 valid, 2 routed, 0 unrouted, 0 partial, 0 in conflict, 0 with errors, 0 invalid');
  });

  it("one network's config deleted: its routes stay, the other networks go on", async () => {
    const cluster = suite.closeAfterTest(await startGceCluster({ nodes: 2 }));
    const [n1, n2] = cluster.nodes as [GceNode, GceNode];
    const prefix = freshPrefix();
    await writeConfigs(suite.etcd.client, prefix);
    await writeLeases(suite.etcd.client, prefix, all([n1, n2]));
    expect((await once(cluster, prefix)).code).toBe(0);

    await suite.etcd.client.delete().key(configKey(`${prefix}/blue`)).exec();
    await deleteLease(suite.etcd.client, `${prefix}/blue`, subnetOf('blue', n2));
    await deleteLease(suite.etcd.client, `${prefix}/red`, subnetOf('red', n2));
    const result = await once(cluster, prefix);
    expect(result.code, result.stderr).toBe(3);
    // Red's expired lease loses its route; both of blue's routes stay, even the one without a lease.
    expect([...cluster.flannelRoutes().keys()].sort()).toEqual(
      [subnetOf('blue', n1), subnetOf('blue', n2), subnetOf('green', n1), subnetOf('green', n2), subnetOf('red', n1)].sort(),
    );
  });
});
