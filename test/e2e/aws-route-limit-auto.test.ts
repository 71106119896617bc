/**
 * End to end: with no --route-limit, routesync reads the routes-per-table quota from the EC2
 * simulator's Service Quotas and routes up to it: AWS's default of 500, an applied 1,000 or 50,
 * AWS's default when the applied value is denied, the fallback of 50 when both reads are denied,
 * and a lower limit learned from a refusal. The CLI runs as a process against real etcd.
 */
import { describe, expect, it } from 'vitest';
import { useEtcdSuite } from '../helpers/suite.js';
import { putLease, putNetworkConfig, waitFor } from '../helpers/etcd.js';
import { clusterArgs, startAwsCluster, writeFlannel, type AwsCluster } from '../helpers/aws-cluster.js';
import { getJson, runRoutesync, startRoutesync, statusPortOf } from '../helpers/routesync.js';
import type { StatusDocument } from '../../src/telemetry/status.js';

const suite = useEtcdSuite();
let prefixCounter = 0;
// Hundreds of creates: the simulator does not throttle, and routesync does not pace.
const UNPACED = { ROUTESYNC_AWS_API_RATE_LIMITS: 'off' };

function freshPrefix(): string {
  prefixCounter += 1;
  return `/auto${prefixCounter}/coreos.com/network`;
}

async function cluster(nodes: number, sim: { routeLimit?: number } = {}): Promise<{ c: AwsCluster; prefix: string }> {
  // The helper's world defaults to the 50 of older tests; these get AWS's current default unless told.
  const c = suite.closeAfterTest(await startAwsCluster({ nodes, autoLimit: true, sim: { throttling: false, routeLimit: 500, ...sim } }));
  const prefix = freshPrefix();
  if (nodes <= 250) {
    await writeFlannel(suite.etcd.client, prefix, c.nodes);
  } else {
    // More leases than 10.1.0.0/16 holds /24s: a /8 Network, node i's lease 10.<1 + i/256>.<i%256>.0/24.
    await putNetworkConfig(suite.etcd.client, prefix, { Network: '10.0.0.0/8', SubnetLen: 24, Backend: { Type: 'alloc' } });
    for (const node of c.nodes) await putLease(suite.etcd.client, prefix, `10.${1 + Math.floor(node.index / 256)}.${node.index % 256}.0/24`, node.ip);
  }
  return { c, prefix };
}

/** Routes to an ENI in the table: routesync's. */
function routed(c: AwsCluster): number {
  return c.world.routes(c.tableId).filter((route) => route.networkInterfaceId !== undefined).length;
}

async function once(c: AwsCluster, prefix: string) {
  return runRoutesync(clusterArgs(c, suite.etcd.endpoint, prefix, ['--once']), UNPACED, 120_000);
}

describe('aws-vpc with no --route-limit', () => {
  it("routes up to AWS's default quota of 500 (the local route takes one) and says where the limit came from", async () => {
    const { c, prefix } = await cluster(505);
    const result = await once(c, prefix);
    expect(result.code, result.stderr).toBe(3);
    expect(routed(c)).toBe(499);
    expect(result.stdout).toContain(`table ${c.tableId}: 499/499 routesync routes (limit 500 from quota-api`);
    expect(result.stdout).toContain('499 routed, 6 unrouted');
    expect(c.world.calls('GetServiceQuota').map((call) => call.httpStatus)).toEqual([200]);
    expect(c.world.calls('CreateRoute').every((call) => call.errorCode === undefined)).toBe(true);
  }, 180_000);

  it('routes up to an applied quota of 1,000', async () => {
    const { c, prefix } = await cluster(1005);
    c.world.setAppliedRouteQuota(1000);
    const result = await once(c, prefix);
    expect(result.code, result.stderr).toBe(3);
    expect(routed(c)).toBe(999);
    expect(result.stdout).toContain('(limit 1000 from quota-api');
  }, 180_000);

  it('routes up to an applied quota of 50', async () => {
    const { c, prefix } = await cluster(60);
    c.world.setAppliedRouteQuota(50);
    const result = await once(c, prefix);
    expect(result.code, result.stderr).toBe(3);
    expect(c.flannelRoutes().size).toBe(49);
    expect(result.stdout).toContain('(limit 50 from quota-api');
  });

  it("denied GetServiceQuota: AWS's default from GetAWSDefaultServiceQuota, and a warning naming the permission", async () => {
    // AWS's default is 100 in this world and the account's applied value 1,000, which routesync may not read.
    const { c, prefix } = await cluster(120, { routeLimit: 100 });
    c.world.setAppliedRouteQuota(1000);
    c.world.setServiceQuotasAccess({ GetServiceQuota: 'deny' });
    const result = await once(c, prefix);
    expect(result.code, result.stderr).toBe(3);
    expect(c.flannelRoutes().size).toBe(99);
    expect(result.stdout).toContain('(limit 100 from default-api');
    const warnings = result.logs.filter((l) => l['missingPermission'] !== undefined);
    expect(warnings.map((l) => l['missingPermission'])).toEqual(['servicequotas:GetServiceQuota']);
  });

  it('both reads denied: the fallback of 50, one warning naming both permissions', async () => {
    const { c, prefix } = await cluster(120, { routeLimit: 100 });
    c.world.setServiceQuotasAccess({ GetServiceQuota: 'deny', GetAWSDefaultServiceQuota: 'deny' });
    const result = await once(c, prefix);
    expect(result.code, result.stderr).toBe(3);
    expect(c.flannelRoutes().size).toBe(49);
    expect(result.stdout).toContain('(limit 50 from fallback');
    const warnings = result.logs.filter((l) => l['missingPermission'] !== undefined);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]?.['missingPermission']).toEqual(['servicequotas:GetServiceQuota', 'servicequotas:GetAWSDefaultServiceQuota']);
  });

  it('a refusal below the reported quota lowers the limit to the count it happened at, and the create is not sent again', async () => {
    // Service Quotas says 500; this table refuses its 31st route.
    const { c, prefix } = await cluster(40);
    c.world.setRouteLimit(30, c.tableId);
    const proc = startRoutesync(
      clusterArgs(c, suite.etcd.endpoint, prefix, ['--resync-interval', '1s', '--listen', '127.0.0.1:0', '--status-listen', '127.0.0.1:0']),
      UNPACED,
    );
    const port = await waitFor(() => statusPortOf(proc), { timeoutMs: 20_000 });
    const status = async (): Promise<StatusDocument> => (await getJson<StatusDocument>(port, '/status')).body;
    const learned = await waitFor(
      async () => {
        const doc = await status();
        return doc.tables[0]?.limitSource === 'learned-from-refusal' ? doc : undefined;
      },
      { timeoutMs: 30_000, message: 'the learned limit never showed in /status' },
    );
    expect(learned.tables[0]).toMatchObject({ quotaLimit: 30, limitSource: 'learned-from-refusal', capacity: 29, owned: 29 });
    expect(c.flannelRoutes().size).toBe(29);
    const refused = c.world.calls('CreateRoute').filter((call) => call.errorCode === 'RouteLimitExceeded').length;
    expect(refused).toBe(11);
    expect(learned.leases.filter((l) => l.reason === 'route-limit')).toHaveLength(11);
    // Two more passes: still no create sent.
    const seen = learned.lastPass?.startedAt;
    await waitFor(async () => {
      const doc = await status();
      return doc.lastPass !== null && doc.lastPass.startedAt !== seen && (await status()).lastPass?.startedAt !== doc.lastPass.startedAt;
    }, { timeoutMs: 30_000 });
    expect(c.world.calls('CreateRoute').filter((call) => call.errorCode === 'RouteLimitExceeded')).toHaveLength(refused);
    expect(proc.logs().some((l) => typeof l['msg'] === 'string' && l['msg'].includes('refused a create at 30 routes'))).toBe(true);
    await proc.stop();
  }, 90_000);
});
