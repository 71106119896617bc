/**
 * --route-limit auto on aws-vpc against the EC2 simulator's Service Quotas: the applied quota, the
 * default when the applied one is denied, the fallback when both are, and how often it is read.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createAwsVpcProvider } from '../../providers/aws-vpc/index.js';
import { startEc2Simulator, type Ec2Simulator } from '../sim/ec2/server.js';

const cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});

interface Logged {
  readonly fields: Record<string, unknown>;
  readonly message: string;
}

async function fixture(options: { routeLimit?: number } = {}): Promise<{ sim: Ec2Simulator; tableId: string }> {
  const sim = await startEc2Simulator({ throttling: false, ...options });
  cleanup.push(() => sim.close());
  const vpc = sim.world.createVpc({ cidr: '10.0.0.0/16' });
  const table = sim.world.createRouteTable({ vpcId: vpc.vpcId, tags: { 'routesync/cluster': 'c1' } });
  return { sim, tableId: table.routeTableId };
}

function provider(sim: Ec2Simulator, tableId: string, warnings: Logged[], extra: { quotaRefreshMs?: number; routeLimit?: number | 'auto' } = {}) {
  const p = createAwsVpcProvider({
    region: 'us-east-1',
    endpoint: sim.url,
    serviceQuotasEndpoint: sim.url,
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    routeTableIds: [tableId],
    clusterName: 'c1',
    routeLimit: extra.routeLimit ?? 'auto',
    routeLimitFallback: 50,
    rateLimits: false,
    ...(extra.quotaRefreshMs !== undefined ? { quotaRefreshMs: extra.quotaRefreshMs, quotaRetryMs: extra.quotaRefreshMs } : {}),
    logger: { debug: () => undefined, warn: (fields, message) => warnings.push({ fields, message }) },
  });
  cleanup.push(() => p.close());
  return p;
}

const quotaCalls = (sim: Ec2Simulator): string[] =>
  sim.world.calls().filter((c) => c.action.includes('ServiceQuota')).map((c) => `${c.action} ${c.httpStatus}`);

describe('aws-vpc --route-limit auto', () => {
  it("reads AWS's default of 500 when the account has no applied value, once per period", async () => {
    const { sim, tableId } = await fixture();
    const warnings: Logged[] = [];
    const p = provider(sim, tableId, warnings);
    const [table] = await p.listTables(AbortSignal.timeout(10_000));
    expect(table).toMatchObject({ limit: 500, limitSource: 'quota-api' });
    expect(table?.limitReadAt).toMatch(/^\d{4}-\d\d-\d\dT/);
    await p.listTables(AbortSignal.timeout(10_000));
    expect(quotaCalls(sim)).toEqual(['GetServiceQuota 200']);
    expect(sim.world.calls('GetServiceQuota')[0]?.params).toEqual({ ServiceCode: 'vpc', QuotaCode: 'L-93826ACB' });
    expect(warnings).toEqual([]);
  });

  it('reads an applied quota of 1,000 and of 50, and reads again when the period is over', async () => {
    const { sim, tableId } = await fixture();
    sim.world.setAppliedRouteQuota(1000);
    const p = provider(sim, tableId, [], { quotaRefreshMs: 0 });
    expect((await p.listTables(AbortSignal.timeout(10_000)))[0]).toMatchObject({ limit: 1000, limitSource: 'quota-api' });
    sim.world.setAppliedRouteQuota(50);
    expect((await p.listTables(AbortSignal.timeout(10_000)))[0]).toMatchObject({ limit: 50, limitSource: 'quota-api' });
    expect(quotaCalls(sim)).toEqual(['GetServiceQuota 200', 'GetServiceQuota 200']);
  });

  it('falls back to GetAWSDefaultServiceQuota when GetServiceQuota is denied, and names the permission once', async () => {
    const { sim, tableId } = await fixture();
    sim.world.setAppliedRouteQuota(1000);
    sim.world.setServiceQuotasAccess({ GetServiceQuota: 'deny' });
    const warnings: Logged[] = [];
    const p = provider(sim, tableId, warnings, { quotaRefreshMs: 0 });
    expect((await p.listTables(AbortSignal.timeout(10_000)))[0]).toMatchObject({ limit: 500, limitSource: 'default-api' });
    await p.listTables(AbortSignal.timeout(10_000));
    expect(quotaCalls(sim)).toEqual(['GetServiceQuota 400', 'GetAWSDefaultServiceQuota 200', 'GetServiceQuota 400', 'GetAWSDefaultServiceQuota 200']);
    expect(warnings.map((w) => w.fields['missingPermission'])).toEqual(['servicequotas:GetServiceQuota']);
  });

  it('uses the stated fallback when both reads fail, warning once with both permissions', async () => {
    const { sim, tableId } = await fixture();
    sim.world.setServiceQuotasAccess({ GetServiceQuota: 'deny', GetAWSDefaultServiceQuota: 'deny' });
    const warnings: Logged[] = [];
    const p = provider(sim, tableId, warnings, { quotaRefreshMs: 0 });
    expect((await p.listTables(AbortSignal.timeout(10_000)))[0]).toMatchObject({ limit: 50, limitSource: 'fallback' });
    await p.listTables(AbortSignal.timeout(10_000));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]?.fields['missingPermission']).toEqual(['servicequotas:GetServiceQuota', 'servicequotas:GetAWSDefaultServiceQuota']);
    expect(warnings[0]?.message).toContain('servicequotas:GetServiceQuota');
  });

  it('keeps the last good value when a later read fails', async () => {
    const { sim, tableId } = await fixture();
    const p = provider(sim, tableId, [], { quotaRefreshMs: 0 });
    const first = (await p.listTables(AbortSignal.timeout(10_000)))[0];
    sim.world.setServiceQuotasAccess({ GetServiceQuota: 'unavailable', GetAWSDefaultServiceQuota: 'unavailable' });
    const second = (await p.listTables(AbortSignal.timeout(10_000)))[0];
    expect(second).toMatchObject({ limit: 500, limitSource: 'quota-api', limitReadAt: first?.limitReadAt });
  });

  it('a number reads nothing', async () => {
    const { sim, tableId } = await fixture();
    const p = provider(sim, tableId, [], { routeLimit: 77 });
    expect((await p.listTables(AbortSignal.timeout(10_000)))[0]).toMatchObject({ limit: 77, limitSource: 'flag' });
    expect(quotaCalls(sim)).toEqual([]);
  });
});
