/**
 * End to end on GCE with no --route-limit: routesync reads the project's ROUTES quota with
 * projects.get from the GCE simulator and routes up to it (250, 100), says where the limit came
 * from, falls back to 100 naming compute.projects.get when the read is denied, and learns a lower
 * limit from a QUOTA_EXCEEDED below the value it read. The CLI runs as a process against real etcd.
 */
import { describe, expect, it } from 'vitest';
import { useEtcdSuite } from '../helpers/suite.js';
import { putLease, waitFor } from '../helpers/etcd.js';
import { gceClusterArgs, startGceCluster, writeGceFlannel, type GceCluster } from '../helpers/gce-cluster.js';
import { getJson, runRoutesync, startRoutesync, statusPortOf } from '../helpers/routesync.js';
import type { StatusDocument } from '../../src/telemetry/status.js';

const suite = useEtcdSuite();
let prefixCounter = 0;

async function cluster(nodes: number, routeQuota: number): Promise<{ c: GceCluster; prefix: string }> {
  const c = suite.closeAfterTest(await startGceCluster({ nodes, routeQuota }));
  prefixCounter += 1;
  const prefix = `/gce-auto${prefixCounter}/coreos.com/network`;
  await writeGceFlannel(suite.etcd.client, prefix, c.nodes);
  return { c, prefix };
}

const once = (c: GceCluster, prefix: string) => runRoutesync(gceClusterArgs(c, suite.etcd.endpoint, prefix, ['--once']), {}, 120_000);

describe('gce with no --route-limit', () => {
  for (const [quota, nodes] of [
    [250, 255],
    [100, 110],
  ] as const) {
    it(`routes up to a ROUTES quota of ${quota} (the default internet route takes one) and says it read it`, async () => {
      const { c, prefix } = await cluster(nodes, quota);
      const result = await once(c, prefix);
      expect(result.code, result.stderr).toBe(3);
      expect(c.flannelRoutes().size).toBe(quota - 1);
      expect(c.world.countedRoutes()).toBe(quota);
      expect(result.stdout).toContain(`(limit ${quota} from quota-api, 1 foreign counted)`);
      expect(result.stdout).toContain(`${quota - 1} routed, ${nodes - quota + 1} unrouted`);
      expect(c.world.calls('projects.get').map((call) => call.status)).toEqual([200]);
      // Never a create beyond the quota: no operation ran into it.
      expect(c.world.operationsList().filter((op) => op.error !== undefined)).toEqual([]);
    }, 180_000);
  }

  it('a denied projects.get: the fallback of 100, and a warning naming compute.projects.get', async () => {
    const { c, prefix } = await cluster(110, 250);
    // What Compute answers a caller without the permission: 403, reason forbidden.
    c.world.failNext('projects.get', 'forbidden', 1, 403, { message: `Required 'compute.projects.get' permission for 'projects/${c.project}'` });
    const result = await once(c, prefix);
    expect(result.code, result.stderr).toBe(3);
    expect(c.flannelRoutes().size).toBe(99);
    expect(result.stdout).toContain('(limit 100 from fallback, 1 foreign counted)');
    const warnings = result.logs.filter((l) => l['missingPermission'] !== undefined);
    expect(warnings.map((l) => l['missingPermission'])).toEqual(['compute.projects.get']);
  });

  it('a QUOTA_EXCEEDED below the quota it read lowers the limit to the count it happened at', async () => {
    // routesync reads 250 and routes 20; then the project's quota is lowered to 30, which it
    // reads again only in an hour: the inserts past 30 routes are refused by the operations.
    const { c, prefix } = await cluster(20, 250);
    const proc = startRoutesync(gceClusterArgs(c, suite.etcd.endpoint, prefix, ['--resync-interval', '1s', '--listen', '127.0.0.1:0', '--status-listen', '127.0.0.1:0']));
    const port = await waitFor(() => statusPortOf(proc), { timeoutMs: 20_000 });
    const status = async (): Promise<StatusDocument> => (await getJson<StatusDocument>(port, '/status')).body;
    await waitFor(async () => ((await status()).tables[0]?.owned === 20 ? true : undefined), { timeoutMs: 30_000, message: '20 routes never showed' });
    c.world.setRouteQuota(30);
    for (let i = 0; i < 20; i += 1) {
      const node = c.addNode();
      await putLease(suite.etcd.client, prefix, node.subnet, node.ip);
    }
    const learned = await waitFor(
      async () => {
        const doc = await status();
        return doc.tables[0]?.limitSource === 'learned-from-refusal' ? doc : undefined;
      },
      { timeoutMs: 30_000, message: 'the learned limit never showed in /status' },
    );
    expect(learned.tables[0]).toMatchObject({ quotaLimit: 30, limitSource: 'learned-from-refusal', capacity: 29 });
    expect(c.flannelRoutes().size).toBe(29);
    const refused = c.world.operationsList().filter((op) => op.error?.errors?.[0]?.code === 'QUOTA_EXCEEDED').length;
    // How many were refused depends on how many leases the pass saw arrive: at least one.
    expect(refused).toBeGreaterThan(0);
    // Two more passes: no insert sent again.
    const inserts = c.world.calls('routes.insert').length;
    const seen = learned.lastPass?.startedAt;
    await waitFor(
      async () => {
        const doc = await status();
        return doc.lastPass !== null && doc.lastPass.startedAt !== seen && (await status()).lastPass?.startedAt !== doc.lastPass.startedAt;
      },
      { timeoutMs: 30_000 },
    );
    expect(c.world.calls('routes.insert')).toHaveLength(inserts);
    await proc.stop();
  }, 90_000);
});
