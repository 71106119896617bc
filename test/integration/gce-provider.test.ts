/**
 * The gce provider against the GCE simulator through the Compute REST client the provider builds
 * itself (from the CLI's config, as the registry does): credentials, user agent, abort and
 * timeouts reaching the HTTP request, throttling backed off and retried, the ROUTES quota refusing
 * at operation time, unreachable zones, and what counts toward the limit.
 */
import { OAuth2Client } from 'google-auth-library';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { createGceProvider } from '../../providers/gce/index.js';
import type { RouteProvider } from '../../providers/provider.js';
import { createProvider } from '../../providers/registry.js';
import { parseConfig } from '../../src/config.js';
import { classifyError } from '../../src/errors.js';
import type { Lease, LeaseSnapshot } from '../../src/leases/types.js';
import { Reconciler, exitCodeFor } from '../../src/reconcile/reconciler.js';
import { startGceSimulator, type GceSimulator, type GceSimulatorOptions } from '../sim/gce/index.js';
import { waitFor } from '../helpers/etcd.js';

const PROJECT = 'integration-project';
const TABLE = `projects/${PROJECT}/global/networks/default`;
const silent = pino({ level: 'silent' });

let cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const fn of cleanup.reverse()) await fn();
  cleanup = [];
});

async function sim(options: GceSimulatorOptions = {}, nodes = 3): Promise<GceSimulator> {
  const s = await startGceSimulator({ project: PROJECT, operationLatencyMs: 10, ...options });
  cleanup.push(() => s.close());
  s.world.createNetwork({ name: 'default', ipv4Range: '10.240.0.0/16' });
  for (let i = 1; i <= nodes; i++) {
    s.world.createInstance({ name: `node-${i}`, zone: i % 2 ? 'us-central1-a' : 'us-central1-b', networkIP: `10.240.0.${10 + i}`, canIpForward: true });
  }
  return s;
}

async function provider(s: GceSimulator, extra: { routeLimit?: number; requestTimeoutMs?: number } = {}): Promise<RouteProvider> {
  const p = await createGceProvider({
    project: PROJECT,
    network: 'default',
    clusterName: 'c1',
    routeLimit: extra.routeLimit ?? 100,
    endpoint: s.url,
    userAgentSuffix: 'routesync/integration-replica',
    ...(extra.requestTimeoutMs !== undefined ? { requestTimeoutMs: extra.requestTimeoutMs } : {}),
  });
  cleanup.push(() => p.close());
  return p;
}

function leasesFor(count: number): Lease[] {
  return Array.from({ length: count }, (_, k) => {
    const i = k + 1;
    return { key: `/p/subnets/10.1.${i}.0-24`, subnet: `10.1.${i}.0/24`, nodeIp: `10.240.0.${10 + i}`, createRevision: i, modRevision: i, reservation: false };
  });
}

function reconciler(p: RouteProvider, leases: Lease[], apply: { baseDelayMs: number; maxDelayMs: number; maxAttempts?: number } = { baseDelayMs: 2, maxDelayMs: 10 }): Reconciler {
  const snapshot: LeaseSnapshot = { revision: 1, config: { network: '10.1.0.0/16', subnetLen: 24, enableIPv4: true, backendType: 'alloc' }, leases, invalid: [] };
  return new Reconciler(p, { snapshot: () => snapshot }, { dryRun: false, policy: { allowEmpty: false, maxDeletesPerPass: { kind: 'percent', value: 100 } }, apply }, silent);
}

describe('gce provider on the GCE simulator', () => {
  it('is built by the registry from the CLI flags and talks to an http:// endpoint without Google auth', async () => {
    const s = await sim();
    const config = parseConfig(['--provider', 'gce', '--gce-project', PROJECT, '--gce-endpoint', s.url, '--cluster-name', 'c1'], {});
    expect(config.routeLimit).toBe('auto');
    const p = await createProvider({ config, logger: silent, userAgentSuffix: 'routesync/registry-replica' });
    cleanup.push(() => p.close());
    expect(p.name).toBe('gce');
    const [table] = await p.listTables(new AbortController().signal);
    // No --route-limit: the simulator's ROUTES quota of 100, read with projects.get.
    expect(table).toMatchObject({ id: TABLE, limit: 100, limitSource: 'quota-api' });
    const resolved = await p.resolveNodes(['10.240.0.11'], new AbortController().signal);
    expect(resolved.get('10.240.0.11')).toEqual({ status: 'found', target: `projects/${PROJECT}/zones/us-central1-a/instances/node-1`, forwarding: 'enabled', ipv6Capable: false });
    for (const call of s.world.calls()) {
      expect(call.userAgent).toMatch(/^routesync\/registry-replica /);
      expect(call.apiClient).toBe(`gl-node/${process.versions.node}`);
    }
    expect(s.world.calls().map((c) => c.method).sort()).toEqual(['instances.aggregatedList', 'projects.get', 'routes.list']);
  });

  it("sends the Google auth client's bearer token on every call, and a 401 without one is not a success", async () => {
    // The path of Application Default Credentials: an AuthClient whose headers carry the token. A
    // fixed, fake token here (the auth library refreshes real ones before they expire).
    const s = await sim({ requireAuth: true });
    const authClient = new OAuth2Client();
    authClient.setCredentials({ access_token: 'fake-token-for-the-simulator', expiry_date: Date.now() + 3_600_000 });
    const authed = await createGceProvider({ project: PROJECT, network: 'default', clusterName: 'c1', routeLimit: 'auto', endpoint: s.url, authClient });
    cleanup.push(() => authed.close());
    const [table] = await authed.listTables(new AbortController().signal);
    expect(table).toMatchObject({ limit: 100, limitSource: 'quota-api' });
    await authed.apply({ kind: 'create', table: TABLE, destination: '10.1.1.0/24', target: `projects/${PROJECT}/zones/us-central1-a/instances/node-1`, nodeIp: '10.240.0.11' }, new AbortController().signal);
    expect(s.world.routes().map((r) => r.name)).toContain('c1-10-1-1-0-24');
    expect(s.world.calls().filter((c) => c.status === 401)).toEqual([]);

    const anonymous = await provider(s);
    const refused = await anonymous.listTables(new AbortController().signal).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(classifyError(refused)).toMatchObject({ httpStatus: 401 });
  });

  it('aborts a held operations.wait when its signal fires', async () => {
    const s = await sim({ operationLatencyMs: 600_000 });
    const p = await provider(s);
    await p.listTables(new AbortController().signal);
    const controller = new AbortController();
    const applying = p.apply({ kind: 'create', table: TABLE, destination: '10.1.1.0/24', target: `projects/${PROJECT}/zones/us-central1-a/instances/node-1`, nodeIp: '10.240.0.11' }, controller.signal);
    const outcome = applying.then(
      () => undefined,
      (err: unknown) => err,
    );
    // The insert is accepted and the wait is being held by the simulator.
    await waitFor(() => s.world.inFlight() === 1 && s.world.calls('routes.insert').length === 1, { message: 'a held wait' });
    controller.abort(Object.assign(new Error('lost leadership'), { name: 'AbortError' }));
    const error = await outcome;
    expect(classifyError(error).class).toBe('aborted');
  });

  it('times out a request that gets no answer', async () => {
    const s = await sim();
    const p = await provider(s, { requestTimeoutMs: 200 });
    s.world.setFaults({ latencyMs: 30_000 });
    const error = await p.listTables(new AbortController().signal).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(classifyError(error)).toMatchObject({ class: 'transient', code: 'ETIMEDOUT' });
  });

  it('an operations.wait held longer than the per-request timeout of other calls is not cut short', async () => {
    // GCE holds a wait up to two minutes (globalOperations.wait reference), longer than the 60 s
    // timeout of other requests: here, an operation of 2.5 s and a request timeout of 1 s.
    const s = await sim({ operationLatencyMs: 2_500 });
    const p = await provider(s, { requestTimeoutMs: 1_000 });
    await p.listTables(new AbortController().signal);
    const target = `projects/${PROJECT}/zones/us-central1-a/instances/node-1`;
    await p.apply({ kind: 'create', table: TABLE, destination: '10.1.1.0/24', target, nodeIp: '10.240.0.11' }, new AbortController().signal);
    expect(s.world.calls('globalOperations.wait').length).toBeGreaterThan(0);
    expect(s.world.routes().map((r) => r.name)).toContain('c1-10-1-1-0-24');
  });

  it('backs off on 403 rateLimitExceeded and converges once the per-minute write quota refills', async () => {
    // 3 writes per (scaled) minute; timeScale 60 makes a minute last 1 s. The quota refills at each
    // whole minute, so the pass starts just after one: the 6 concurrent inserts then meet the same
    // quota of 3 instead of straddling a refill (3 + 3, none refused: the test was flaky so).
    const s = await sim({ writeRequestsPerMinute: 3, timeScale: 60 }, 6);
    const p = await provider(s);
    await waitFor(() => s.world.msUntilRateQuotaRefill() > 900, { intervalMs: 2, message: 'the start of a quota minute' });
    const report = await reconciler(p, leasesFor(6), { baseDelayMs: 60, maxDelayMs: 1_000, maxAttempts: 8 }).pass(new AbortController().signal);
    expect(report.results.every((r) => r.ok)).toBe(true);
    expect(exitCodeFor(report)).toBe(0);
    expect(s.world.routes().filter((r) => r.description === 'routesync:c1')).toHaveLength(6);
    const limited = s.world.calls('routes.insert').filter((c) => c.reason === 'rateLimitExceeded');
    expect(limited.length).toBeGreaterThan(0);
    expect(report.results.some((r) => r.attempts > 1)).toBe(true);
  });

  it('reports creates the ROUTES quota refuses at operation time (a quota lower than --route-limit)', async () => {
    const s = await sim({ routeQuota: 3 }, 4);
    const p = await provider(s, { routeLimit: 100 });
    const report = await reconciler(p, leasesFor(4)).pass(new AbortController().signal);
    expect(s.world.routes().filter((r) => r.description === 'routesync:c1')).toHaveLength(2);
    const refused = report.leases.filter((l) => l.reason === 'route-limit');
    expect(refused).toHaveLength(2);
    expect(refused[0]?.detail).toContain("Quota 'ROUTES' exceeded");
    expect(report.results.filter((r) => !r.ok).map((r) => (r.ok ? '' : r.error.code))).toEqual(['QUOTA_EXCEEDED', 'QUOTA_EXCEEDED']);
    expect(exitCodeFor(report)).toBe(1);
  });

  it('keeps the routes of nodes in a zone it cannot list', async () => {
    const s = await sim({}, 2);
    const p = await provider(s);
    const leases = leasesFor(2);
    expect(exitCodeFor(await reconciler(p, leases).pass(new AbortController().signal))).toBe(0);
    s.world.setUnreachableZones(['us-central1-b']);
    s.world.clearCalls();
    const report = await reconciler(p, leases).pass(new AbortController().signal);
    expect(s.world.mutatingCalls()).toEqual([]);
    expect(s.world.routes().filter((r) => r.description === 'routesync:c1')).toHaveLength(2);
    // Both nodes are known: a re-check that cannot see a zone leaves the cached answers standing.
    expect(report.leases.find((l) => l.subnet === '10.1.2.0/24')?.state).toBe('routed');
    expect(report.leases.find((l) => l.subnet === '10.1.1.0/24')?.state).toBe('routed');
    // Asked for partial results (without them the simulator, like GCE, fails the whole listing) …
    expect(s.world.calls('instances.aggregatedList').map((c) => c.query['returnPartialSuccess'])).toEqual(['true']);
    // … an IP found in no reachable zone may be in the unreachable one: a failed lookup, not "not found".
    const resolved = await p.resolveNodes(['10.240.0.11', '10.240.0.99'], new AbortController().signal);
    expect(resolved.get('10.240.0.11')?.status).toBe('found');
    expect(resolved.get('10.240.0.99')).toMatchObject({ status: 'lookup-failed', error: expect.stringContaining('zones/us-central1-b') });
    s.world.setUnreachableZones([]);
    await p.listTables(new AbortController().signal);
    expect((await p.resolveNodes(['10.240.0.99'], new AbortController().signal)).get('10.240.0.99')?.status).toBe('not-found');
  });

  it('counts static routes of every network, not subnet routes, exactly as the quota does', async () => {
    const s = await sim({ routeQuota: 6 }, 5);
    s.world.createNetwork({ name: 'other', subnets: [{ region: 'us-central1', ipCidrRange: '10.50.0.0/20' }, { region: 'europe-west1', ipCidrRange: '10.60.0.0/20' }] });
    // Counted: the two default routes (default and other networks). Not counted: the two subnet routes.
    expect(s.world.countedRoutes()).toBe(2);
    const p = await provider(s, { routeLimit: 6 });
    const [table] = await p.listTables(new AbortController().signal);
    // The provider reports the quota and the other network's routes; the planner lowers the limit by them.
    expect(table?.limit).toBe(6);
    expect(table?.routes.filter((r) => !r.inManagedSpace && r.origin === 'created')).toHaveLength(1);
    const report = await reconciler(p, leasesFor(5)).pass(new AbortController().signal);
    expect(report.tables[0]).toMatchObject({ limit: 5, foreignCounted: 1, capacity: 4, creates: 4 });
    expect(report.results.every((r) => r.ok)).toBe(true);
    expect(s.world.countedRoutes()).toBe(6);
    expect(exitCodeFor(report)).toBe(3);
  });
});
