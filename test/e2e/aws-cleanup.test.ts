/**
 * End to end: `routesync cleanup --provider aws-vpc` as a process against a real etcd and the EC2
 * simulator: --dry-run changes nothing, a leader blocks it (exit 4) unless --force, every owned
 * route goes in one run (no delete cap, no leases needed), foreign routes stay.
 */
import { describe, expect, it } from 'vitest';
import { useEtcdSuite } from '../helpers/suite.js';
import { deleteLease, whileOtherReplicaLeads } from '../helpers/etcd.js';
import { clusterArgs, startAwsCluster, writeFlannel, type AwsCluster } from '../helpers/aws-cluster.js';
import { runRoutesync } from '../helpers/routesync.js';

const suite = useEtcdSuite();
let prefixCounter = 0;

function freshPrefix(): string {
  prefixCounter += 1;
  return `/cleanup${prefixCounter}/coreos.com/network`;
}

/** Flags of the cluster, with `cleanup` first (clusterArgs has no positional argument). */
function cleanup(c: AwsCluster, prefix: string, extra: string[] = []) {
  return runRoutesync(['cleanup', ...clusterArgs(c, suite.etcd.endpoint, prefix, extra)]);
}

/** A cluster with 6 routes made by routesync, and foreign routes: gateways, one inside the Network, another cluster's. */
async function routedCluster(prefix: string): Promise<{ cluster: AwsCluster; foreign: () => string }> {
  const cluster = suite.closeAfterTest(await startAwsCluster({ nodes: 6 }));
  const world = cluster.world;
  world.addForeignRoute(cluster.tableId, { destinationCidrBlock: '0.0.0.0/0', gatewayId: 'igw-0a1b2c3d4e5f60718' });
  world.addForeignRoute(cluster.tableId, { destinationCidrBlock: '10.1.200.0/24', natGatewayId: 'nat-0a1b2c3d4e5f60718' });
  // Another cluster's route on the shared table: routesync's marks, outside this Network.
  world.createRoute(cluster.tableId, { destinationCidrBlock: '10.2.1.0/24', networkInterfaceId: cluster.nodes[0]?.eniId ?? '' });
  await writeFlannel(suite.etcd.client, prefix, cluster.nodes);
  const once = await runRoutesync(clusterArgs(cluster, suite.etcd.endpoint, prefix, ['--once']));
  expect(once.code, once.stderr).toBe(0);
  expect(cluster.flannelRoutes().size).toBe(6);
  const foreign = (): string =>
    JSON.stringify(world.routes(cluster.tableId).filter((r) => !(r.destinationCidrBlock ?? '').startsWith('10.1.') || r.natGatewayId !== undefined));
  world.clearCalls();
  return { cluster, foreign };
}

describe('routesync cleanup --provider aws-vpc', () => {
  it('--dry-run lists the owned routes and calls nothing that mutates; then cleanup deletes all of them at once', async () => {
    const prefix = freshPrefix();
    const { cluster, foreign } = await routedCluster(prefix);
    const before = foreign();

    const dry = await cleanup(cluster, prefix, ['--dry-run']);
    expect(dry.code, dry.stderr).toBe(0);
    expect(cluster.world.mutatingCalls()).toEqual([]);
    expect(dry.stdout).toContain(`table ${cluster.tableId}: 6 routesync routes, 6 to delete; 4 foreign left alone`);
    for (const node of cluster.nodes) expect(dry.stdout).toContain(`would delete ${node.subnet} → ${node.eniId} in ${cluster.tableId}`);
    expect(dry.stdout).not.toContain('10.2.1.0/24');
    expect(cluster.flannelRoutes().size).toBe(6);

    // Leases gone too: cleanup needs none, and the default 20% delete cap does not hold it back.
    for (const node of cluster.nodes) await deleteLease(suite.etcd.client, prefix, node.subnet);
    const result = await cleanup(cluster, prefix);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain(`table ${cluster.tableId}: 6 routesync routes, 6 deleted, 0 owned left; 4 foreign left alone`);
    expect(result.stdout).toContain('no routesync route is left');
    expect(cluster.flannelRoutes().size).toBe(0);
    expect(foreign()).toBe(before);
    const deleted = cluster.world.mutatingCalls().map((c) => `${c.action} ${c.params['DestinationCidrBlock']} ${c.httpStatus}`);
    expect(deleted.sort()).toEqual(cluster.nodes.map((n) => `DeleteRoute ${n.subnet} 200`).sort());

    // Nothing owned is left: a second run deletes nothing and exits 0.
    cluster.world.clearCalls();
    const again = await cleanup(cluster, prefix);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toContain('0 routesync routes');
    expect(cluster.world.mutatingCalls()).toEqual([]);
  });

  it('exits 4 and changes nothing while another replica leads; --force proceeds', async () => {
    const prefix = freshPrefix();
    const { cluster, foreign } = await routedCluster(prefix);
    const before = foreign();
    await whileOtherReplicaLeads(suite.etcd.client, prefix, async () => {
      const refused = await cleanup(cluster, prefix);
      expect(refused.code, refused.stderr).toBe(4);
      expect(refused.stdout).toContain('other-replica');
      expect(cluster.world.mutatingCalls()).toEqual([]);
      expect(cluster.flannelRoutes().size).toBe(6);

      const forced = await cleanup(cluster, prefix, ['--force']);
      expect(forced.code, forced.stderr).toBe(0);
      expect(forced.logs.some((l) => l['leader'] === 'other-replica' && l['level'] === 40)).toBe(true);
      expect(cluster.flannelRoutes().size).toBe(0);
      expect(foreign()).toBe(before);
    });
  });

  it('refuses without flannel\'s config (exit 2, naming --network), and uses --network when given', async () => {
    const prefix = freshPrefix();
    const { cluster } = await routedCluster(prefix);
    await suite.etcd.client.delete().key(`${prefix}/config`);

    const refused = await cleanup(cluster, prefix);
    expect(refused.code, refused.stderr).toBe(2);
    expect(refused.stdout).toContain('--network');
    expect(cluster.world.mutatingCalls()).toEqual([]);

    const wrong = await cleanup(cluster, prefix, ['--network', '10.1.0.0/33']);
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toContain('--network');

    const given = await cleanup(cluster, prefix, ['--network', '10.1.0.0/16']);
    expect(given.code, given.stderr).toBe(0);
    expect(cluster.flannelRoutes().size).toBe(0);
    expect(cluster.world.routes(cluster.tableId).some((r) => r.destinationCidrBlock === '10.2.1.0/24')).toBe(true);
  });

  it('exits 1 and says what is left when a delete fails; the next run finishes the job', async () => {
    const prefix = freshPrefix();
    const { cluster } = await routedCluster(prefix);
    cluster.world.failNext('DeleteRoute', 'UnauthorizedOperation', 1);
    const partial = await cleanup(cluster, prefix);
    expect(partial.code, partial.stderr).toBe(1);
    expect(partial.stdout).toContain('5 deleted, 1 owned left');
    expect(partial.stdout).toMatch(/failed +10\.1\.\d+\.0\/24 .*UnauthorizedOperation/);
    expect(partial.stdout).toContain('1 routesync route(s) left: run cleanup again');
    expect(cluster.flannelRoutes().size).toBe(1);

    const rest = await cleanup(cluster, prefix);
    expect(rest.code, rest.stderr).toBe(0);
    expect(cluster.flannelRoutes().size).toBe(0);
  });

  it('refuses a --network that contradicts flannel\'s config', async () => {
    const prefix = freshPrefix();
    const { cluster } = await routedCluster(prefix);
    const result = await cleanup(cluster, prefix, ['--network', '10.0.0.0/8']);
    expect(result.code, result.stderr).toBe(2);
    expect(result.stdout).toContain("is not flannel's Network 10.1.0.0/16");
    expect(cluster.world.mutatingCalls()).toEqual([]);
  });
});
