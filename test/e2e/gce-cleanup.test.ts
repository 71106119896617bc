/**
 * End to end: `routesync cleanup --provider gce` as a process against a real etcd and the GCE
 * simulator: --dry-run changes nothing, a leader blocks it (exit 4) unless --force, every owned
 * route goes in one run, foreign routes (other names, descriptions, networks, clusters) stay.
 */
import { describe, expect, it } from 'vitest';
import { useEtcdSuite } from '../helpers/suite.js';
import { whileOtherReplicaLeads } from '../helpers/etcd.js';
import { gceClusterArgs, startGceCluster, writeGceFlannel, type GceCluster } from '../helpers/gce-cluster.js';
import { runRoutesync } from '../helpers/routesync.js';

const suite = useEtcdSuite();
let prefixCounter = 0;

function freshPrefix(): string {
  prefixCounter += 1;
  return `/gce-cleanup${prefixCounter}/coreos.com/network`;
}

function cleanup(c: GceCluster, prefix: string, extra: string[] = []) {
  return runRoutesync(['cleanup', ...gceClusterArgs(c, suite.etcd.endpoint, prefix, extra)]);
}

function deletedNames(c: GceCluster): string[] {
  return c.world
    .mutatingCalls()
    .map((call) => `${call.method} ${call.path.split('/').at(-1) ?? ''}`)
    .sort();
}

/** Five routes made by routesync, and foreign ones: a look-alike name, another cluster's, another network's. */
async function routedCluster(prefix: string): Promise<{ cluster: GceCluster; foreign: () => string }> {
  const cluster = suite.closeAfterTest(await startGceCluster({ nodes: 5 }));
  const world = cluster.world;
  const hop = cluster.nodes[0]?.instancePath ?? '';
  world.createNetwork({ name: 'other', subnets: [{ region: 'us-central1', ipCidrRange: '10.50.0.0/20' }] });
  world.addForeignRoute({ name: 'routesync-10-1-200-0-24', destRange: '10.1.200.0/24', nextHopInstance: hop, description: 'made by hand' });
  world.addForeignRoute({ name: 'blue-10-2-1-0-24', destRange: '10.2.1.0/24', nextHopInstance: hop, description: 'routesync:blue' });
  world.addForeignRoute({ name: 'other-net', network: 'other', destRange: '10.1.9.0/24', nextHopIp: '10.50.0.9' });
  await writeGceFlannel(suite.etcd.client, prefix, cluster.nodes);
  const once = await runRoutesync(gceClusterArgs(cluster, suite.etcd.endpoint, prefix, ['--once']));
  expect(once.code, once.stderr).toBe(0);
  expect(cluster.flannelRoutes().size).toBe(5);
  world.clearCalls();
  return { cluster, foreign: () => JSON.stringify(cluster.foreignRoutes()) };
}

describe('routesync cleanup --provider gce', () => {
  it('--dry-run lists the owned routes and calls nothing that mutates; then cleanup deletes them all in one run', async () => {
    const prefix = freshPrefix();
    const { cluster, foreign } = await routedCluster(prefix);
    const before = foreign();

    const dry = await cleanup(cluster, prefix, ['--dry-run']);
    expect(dry.code, dry.stderr).toBe(0);
    expect(cluster.world.mutatingCalls()).toEqual([]);
    for (const node of cluster.nodes) expect(dry.stdout).toContain(`would delete ${node.subnet} → `);
    expect(dry.stdout).toContain('5 route(s) would be deleted; nothing changed');
    expect(cluster.flannelRoutes().size).toBe(5);

    const result = await cleanup(cluster, prefix);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain('5 deleted, 0 owned left');
    expect(result.stdout).toContain('no routesync route is left');
    expect(cluster.flannelRoutes().size).toBe(0);
    expect(foreign()).toBe(before);
    expect(deletedNames(cluster)).toEqual(cluster.nodes.map((n) => `routes.delete routesync-${n.subnet.replace(/[./]/g, '-')}`).sort());
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

      const forced = await cleanup(cluster, prefix, ['--force']);
      expect(forced.code, forced.stderr).toBe(0);
      expect(cluster.flannelRoutes().size).toBe(0);
      expect(foreign()).toBe(before);
    });
  });
});
