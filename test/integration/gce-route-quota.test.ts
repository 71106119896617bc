/**
 * --route-limit auto on gce against the GCE simulator, through the real Compute clients: the
 * project's ROUTES quota and usage from projects.get, read once per period; a denied read
 * (`forbidden`: the IAM permission is missing; `insufficientPermissions`: the token's OAuth scope
 * is too narrow) falls back and names compute.projects.get; a failed re-read keeps the last value;
 * and the usage cross-check reports a disagreement when the routes changed between the two reads.
 */
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { computeApiFromSettings, createAuthClient, type GceApi } from '../../providers/gce/compute-api.js';
import { createGceProvider } from '../../providers/gce/index.js';
import type { RouteProvider } from '../../providers/provider.js';
import type { Lease, LeaseSnapshot } from '../../src/leases/types.js';
import { Reconciler } from '../../src/reconcile/reconciler.js';
import { startGceSimulator, type GceSimulator } from '../sim/gce/index.js';

const PROJECT = 'quota-project';
const silent = pino({ level: 'silent' });

let cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const fn of cleanup.reverse()) await fn();
  cleanup = [];
});

interface Logged {
  readonly level: string;
  readonly fields: Record<string, unknown>;
  readonly message: string;
}

async function sim(routeQuota: number): Promise<GceSimulator> {
  const s = await startGceSimulator({ project: PROJECT, operationLatencyMs: 10, routeQuota });
  cleanup.push(() => s.close());
  s.world.createNetwork({ name: 'default', ipv4Range: '10.240.0.0/16' });
  for (let i = 1; i <= 3; i++) s.world.createInstance({ name: `node-${i}`, zone: 'us-central1-a', networkIP: `10.240.0.${10 + i}`, canIpForward: true });
  return s;
}

async function provider(s: GceSimulator, logs: Logged[], extra: { quotaRefreshMs?: number; client?: GceApi } = {}): Promise<RouteProvider> {
  const log = (level: string) => (fields: Record<string, unknown>, message: string) => void logs.push({ level, fields, message });
  const p = await createGceProvider({
    project: PROJECT,
    network: 'default',
    clusterName: 'c1',
    routeLimit: 'auto',
    routeLimitFallback: 100,
    endpoint: s.url,
    ...(extra.quotaRefreshMs !== undefined ? { quotaRefreshMs: extra.quotaRefreshMs, quotaRetryMs: extra.quotaRefreshMs } : {}),
    ...(extra.client !== undefined ? { client: extra.client } : {}),
    logger: { debug: log('debug'), info: log('info'), warn: log('warn') },
  });
  cleanup.push(() => p.close());
  return p;
}

const signal = (): AbortSignal => new AbortController().signal;
const projectReads = (s: GceSimulator): number[] => s.world.calls('projects.get').map((c) => c.status);

describe('gce --route-limit auto', () => {
  it('reads the ROUTES limit and usage with projects.get, once per period; the usage goes only with the listing of its pass', async () => {
    const s = await sim(250);
    const logs: Logged[] = [];
    const p = await provider(s, logs);
    const [first] = await p.listTables(signal());
    // The network's default internet route counts toward ROUTES.
    expect(first).toMatchObject({ limit: 250, limitSource: 'quota-api', quotaUsage: 1 });
    const [second] = await p.listTables(signal());
    expect(second).toMatchObject({ limit: 250, limitSource: 'quota-api', limitReadAt: first?.limitReadAt });
    expect(second?.quotaUsage).toBeUndefined();
    expect(projectReads(s)).toEqual([200]);
    expect(logs.filter((l) => l.level === 'warn')).toEqual([]);
  });

  for (const reason of ['forbidden', 'insufficientPermissions']) {
    it(`a projects.get refused with ${reason}: the fallback of 100, one warning naming compute.projects.get`, async () => {
      const s = await sim(250);
      const logs: Logged[] = [];
      const p = await provider(s, logs, { quotaRefreshMs: 0 });
      s.world.failNext('projects.get', reason, 2, 403, { message: `Required 'compute.projects.get' permission for 'projects/${PROJECT}'` });
      expect((await p.listTables(signal()))[0]).toMatchObject({ limit: 100, limitSource: 'fallback' });
      expect((await p.listTables(signal()))[0]).toMatchObject({ limit: 100, limitSource: 'fallback' });
      const warnings = logs.filter((l) => l.level === 'warn');
      expect(warnings).toHaveLength(1);
      expect(warnings[0]?.fields['missingPermission']).toBe('compute.projects.get');
      expect(warnings[0]?.message).toContain('grant compute.projects.get');
      // Granted again: the next read finds the quota.
      expect((await p.listTables(signal()))[0]).toMatchObject({ limit: 250, limitSource: 'quota-api' });
    });
  }

  it('a failed re-read keeps the last value read, and says so', async () => {
    const s = await sim(250);
    const logs: Logged[] = [];
    const p = await provider(s, logs, { quotaRefreshMs: 0 });
    await p.listTables(signal());
    s.world.failNext('projects.get', 'backendError', 1, 503);
    const [table] = await p.listTables(signal());
    expect(table).toMatchObject({ limit: 250, limitSource: 'quota-api' });
    expect(table?.quotaUsage).toBeUndefined();
    expect(logs.filter((l) => l.level === 'warn').map((l) => l.message)).toEqual(['re-reading the ROUTES quota failed: keeping 250']);
    expect(projectReads(s)).toEqual([200, 503]);
  });

  it('a new ROUTES limit is picked up at the next read', async () => {
    const s = await sim(250);
    const p = await provider(s, [], { quotaRefreshMs: 0 });
    expect((await p.listTables(signal()))[0]?.limit).toBe(250);
    s.world.setRouteQuota(100);
    expect((await p.listTables(signal()))[0]?.limit).toBe(100);
  });
});

describe('gce: the ROUTES usage cross-check', () => {
  const leases: Lease[] = [1, 2, 3].map((i) => ({
    key: `/p/subnets/10.1.${i}.0-24`,
    subnet: `10.1.${i}.0/24`,
    nodeIp: `10.240.0.${10 + i}`,
    createRevision: i,
    modRevision: i,
    reservation: false,
  }));
  const snapshot: LeaseSnapshot = { revision: 1, config: { network: '10.1.0.0/16', subnetLen: 24, enableIPv4: true, backendType: 'alloc' }, leases, invalid: [] };
  const reconciler = (p: RouteProvider): Reconciler =>
    new Reconciler(p, { snapshot: () => snapshot }, { dryRun: false, policy: { allowEmpty: false, maxDeletesPerPass: { kind: 'percent', value: 100 } }, apply: { baseDelayMs: 2, maxDelayMs: 10 } }, silent);

  it('agrees when nothing changed between the listing and projects.get', async () => {
    const s = await sim(250);
    s.world.addForeignRoute({ name: 'vpn', destRange: '192.168.0.0/16', nextHopIp: '10.240.0.99' });
    const report = await reconciler(await provider(s, [])).pass(signal());
    expect(report.tables[0]).toMatchObject({ limit: 250 });
    expect(report.tables[0]?.usageDisagreement).toBeUndefined();
  });

  it('reports a disagreement when another writer adds a route between the two reads', async () => {
    const s = await sim(250);
    const real = computeApiFromSettings({ authClient: await createAuthClient(s.url), endpoint: s.url });
    let raced = false;
    // Another tool's route lands after routesync's routes.list and before its projects.get.
    const racing: GceApi = {
      ...real,
      getProject: async (project, sig) => {
        if (!raced) {
          raced = true;
          s.world.addForeignRoute({ name: 'late-vpn', destRange: '192.168.0.0/16', nextHopIp: '10.240.0.99' });
        }
        if (real.getProject === undefined) throw new Error('the real surface reads projects');
        return real.getProject(project, sig);
      },
      close: () => real.close(),
    };
    const report = await reconciler(await provider(s, [], { client: racing })).pass(signal());
    // Listed: the default route. Reported: it and the late route.
    expect(report.tables[0]?.usageDisagreement).toEqual({ reported: 2, counted: 1 });
  });
});
