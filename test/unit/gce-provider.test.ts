/**
 * The gce provider against a stubbed Compute surface (the narrow GceApi): naming and URL
 * normalisation, ownership marks, what counts toward the limit, node resolution and its cache,
 * operations (waited for, errors inside DONE operations), 409/404 idempotency, replace as
 * delete-then-insert, and error normalisation for both library error shapes.
 */
import { describe, expect, it } from 'vitest';
import {
  GceApiError,
  GceOperationError,
  createGceProvider,
  instancePath,
  normaliseError,
  resourcePath,
  routeDescription,
  routeName,
  type GceApi,
  type GceInstancesScopedList,
  type GceOperation,
  type GceProviderOptions,
  type GceRoute,
  type ListRoutesRequest,
} from '../../providers/gce/index.js';
import type { InstancesPage } from '../../providers/gce/compute-api.js';
import type { Change, RouteProvider } from '../../providers/provider.js';
import { classifyError } from '../../src/errors.js';
import { plan } from '../../src/planner/plan.js';

const P = 'unit-project';
const BASE = 'https://www.googleapis.com/compute/v1';
const NET = `${BASE}/projects/${P}/global/networks/default`;
const TABLE = `projects/${P}/global/networks/default`;
const signal = new AbortController().signal;

function instance(name: string, ip: string, options: { zone?: string; canIpForward?: boolean; network?: string; status?: string } = {}) {
  const zone = options.zone ?? 'us-central1-a';
  return {
    name,
    status: options.status ?? 'RUNNING',
    canIpForward: options.canIpForward ?? true,
    selfLink: `${BASE}/projects/${P}/zones/${zone}/instances/${name}`,
    networkInterfaces: [{ network: options.network ?? NET, networkIP: ip }],
  };
}

function ownedRoute(dest: string, target: string, extra: Partial<GceRoute> = {}): GceRoute {
  return {
    name: routeName('c1', dest),
    network: NET,
    destRange: dest,
    priority: 1000,
    description: 'routesync:c1',
    nextHopInstance: `${BASE}/${target}`,
    ...extra,
  };
}

/** A scriptable GceApi: routes and instances in memory, operations DONE after `waitsUntilDone` waits. */
class FakeApi implements GceApi {
  routes: GceRoute[] = [];
  scopes: Array<[string, GceInstancesScopedList]> = [];
  readonly log: string[] = [];
  pageSize = 1000;
  waitsUntilDone = 1;
  /** Errors thrown by the next call of a method. */
  readonly throwNext = new Map<string, unknown[]>();
  /** Errors put into the DONE operation of the next insert/delete. */
  readonly operationErrors = new Map<string, Array<{ code: string; message: string; status: number }>>();
  private ops = new Map<string, { op: GceOperation; waits: number; apply: () => void }>();
  private seq = 0;
  closed = false;

  private maybeThrow(method: string): void {
    const error = this.throwNext.get(method)?.shift();
    if (error !== undefined) throw error;
  }

  async listRoutes(request: ListRoutesRequest): Promise<{ items: GceRoute[]; nextPageToken: string | undefined }> {
    this.log.push(`list${request.filter !== undefined ? ` ${request.filter}` : ''}${request.pageToken !== undefined ? ` page=${request.pageToken}` : ''}`);
    this.maybeThrow('list');
    const filtered = request.filter !== undefined ? this.routes.filter((r) => `name = "${r.name}"` === request.filter) : this.routes;
    const offset = request.pageToken !== undefined ? Number(request.pageToken) : 0;
    const items = filtered.slice(offset, offset + this.pageSize);
    const next = offset + items.length < filtered.length ? String(offset + items.length) : undefined;
    return { items, nextPageToken: next };
  }

  private operation(type: string, target: string, apply: () => void): GceOperation {
    this.seq += 1;
    const name = `operation-${this.seq}`;
    const op: GceOperation = { name, status: 'PENDING', operationType: type, targetLink: `${BASE}/projects/${P}/global/routes/${target}` };
    const error = this.operationErrors.get(type)?.shift();
    this.ops.set(name, {
      op,
      waits: 0,
      apply: error === undefined ? apply : () => Object.assign(op, { error: { errors: [{ code: error.code, message: error.message }] }, httpErrorStatusCode: error.status }),
    });
    return { ...op };
  }

  async insertRoute(project: string, route: GceRoute): Promise<GceOperation> {
    this.log.push(`insert ${route.name}`);
    expect(project).toBe(P);
    this.maybeThrow('insert');
    return this.operation('insert', route.name ?? '', () => this.routes.push({ ...route }));
  }

  async deleteRoute(project: string, name: string): Promise<GceOperation> {
    this.log.push(`delete ${name}`);
    expect(project).toBe(P);
    this.maybeThrow('delete');
    return this.operation('delete', name, () => (this.routes = this.routes.filter((r) => r.name !== name)));
  }

  async waitOperation(_project: string, name: string): Promise<GceOperation> {
    this.log.push(`wait ${name}`);
    this.maybeThrow('wait');
    const entry = this.ops.get(name);
    if (entry === undefined) throw new GceApiError('no such operation', { status: 404, reason: 'notFound' });
    entry.waits += 1;
    if (entry.waits >= this.waitsUntilDone && entry.op.status !== 'DONE') {
      entry.op.status = 'DONE';
      entry.apply();
      this.log.push(`done ${name}`);
    } else if (entry.op.status !== 'DONE') entry.op.status = 'RUNNING';
    return { ...entry.op };
  }

  /** One page holding every scope (the filter is not applied: the lookups pick the IPs they asked for). */
  async aggregatedInstancesPage(): Promise<InstancesPage> {
    this.log.push('aggregatedList');
    const error = this.throwNext.get('aggregated')?.shift();
    if (error !== undefined) throw error;
    return { scopes: this.scopes, nextPageToken: undefined };
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}

/** A clock whose sleeps return at once, advancing its time: the pauses between polls, recorded. */
class FakeClock {
  time = 0;
  readonly sleeps: number[] = [];
  now(): number {
    return this.time;
  }
  sleep(ms: number, signal: AbortSignal): Promise<void> {
    signal.throwIfAborted();
    this.sleeps.push(ms);
    this.time += ms;
    return Promise.resolve();
  }
}

async function provider(
  api: FakeApi,
  overrides: { routeLimit?: number; clusterName?: string; clock?: FakeClock; operationWait?: GceProviderOptions['operationWait'] } = {},
): Promise<RouteProvider> {
  return createGceProvider({
    project: P,
    network: 'default',
    clusterName: overrides.clusterName ?? 'c1',
    routeLimit: overrides.routeLimit ?? 100,
    client: api,
    clock: overrides.clock ?? new FakeClock(),
    ...(overrides.operationWait !== undefined ? { operationWait: overrides.operationWait } : {}),
  });
}

const A = `projects/${P}/zones/us-central1-a/instances/node-a`;
const B = `projects/${P}/zones/us-central1-b/instances/node-b`;

function create(destination: string, target: string): Change {
  return { kind: 'create', table: TABLE, destination, target, nodeIp: '10.240.0.2' };
}

describe('gce naming and URLs', () => {
  it('names routes <cluster>-a-b-c-d-len and marks them with routesync:<cluster>', () => {
    expect(routeName('c1', '10.1.19.0/24')).toBe('c1-10-1-19-0-24');
    expect(routeName('a-cluster-name-of-thirty-one-ch', '255.255.255.255/32')).toHaveLength(50);
    expect(routeDescription('c1')).toBe('routesync:c1');
  });

  it('normalises full and partial resource URLs to projects/… paths', () => {
    const path = `projects/${P}/zones/us-central1-a/instances/node-a`;
    expect(resourcePath(`${BASE}/${path}`, P)).toBe(path);
    expect(resourcePath(`https://compute.googleapis.com/compute/v1/${path}`, P)).toBe(path);
    expect(resourcePath(`https://www.googleapis.com/compute/beta/${path}`, P)).toBe(path);
    expect(resourcePath(path, P)).toBe(path);
    expect(resourcePath('zones/us-central1-a/instances/node-a', P)).toBe(path);
    expect(resourcePath('global/networks/default', P)).toBe(TABLE);
    expect(instancePath(`${BASE}/${path}`, P)).toBe(path);
    expect(instancePath(NET, P)).toBeUndefined();
  });
});

describe('gce listTables', () => {
  it('reports owner marks, origin and managed space; the planner counts every static route of the project', async () => {
    const api = new FakeApi();
    api.routes = [
      { name: 'default-route-1', network: NET, destRange: '0.0.0.0/0', priority: 1000, nextHopGateway: `${BASE}/projects/${P}/global/gateways/default-internet-gateway` },
      { name: 'default-route-2', network: NET, destRange: '10.240.0.0/20', priority: 0, nextHopNetwork: NET, routeType: 'SUBNET' },
      ownedRoute('10.1.1.0/24', A),
      ownedRoute('10.1.2.0/24', A, { description: 'made by hand' }),
      ownedRoute('10.1.3.0/24', A, { name: 'c1-b-10-1-3-0-24', description: 'routesync:c1-b' }),
      ownedRoute('10.1.4.0/24', A, { network: `${BASE}/projects/${P}/global/networks/other` }),
      ownedRoute('10.1.5.0/24', A, { name: 'other-10-1-5-0-24' }),
      ownedRoute('10.1.6.0/24', A, { warnings: [{ code: 'NEXT_HOP_INSTANCE_NOT_FOUND', message: 'gone' }] }),
      { name: 'v6', network: NET, destRange: 'fd00::/64', priority: 1000, nextHopIp: 'fd00::1' },
      { name: 'vpn', network: `${BASE}/projects/${P}/global/networks/other`, destRange: '192.168.0.0/16', nextHopIp: '10.0.0.1' },
    ];
    const p = await provider(api, { routeLimit: 50 });
    const [table, ...more] = await p.listTables(signal);
    expect(more).toEqual([]);
    expect(table?.id).toBe(TABLE);
    expect(table?.limit).toBe(50);
    expect(table?.quota).toBe('gce-routes-per-project');
    const byDest = new Map(table?.routes.map((r) => [r.destination, r]));
    expect(byDest.get('10.1.1.0/24')).toMatchObject({
      bearsOwnerMarks: true,
      inManagedSpace: true,
      target: A,
      targetKind: 'instance',
      blackhole: false,
      origin: 'created',
      quotaWeight: 1,
    });
    expect(byDest.get('10.1.2.0/24')?.bearsOwnerMarks).toBe(false);
    expect(byDest.get('10.1.3.0/24')?.bearsOwnerMarks).toBe(false);
    // Marked, but in another network: it only shares the quota.
    expect(byDest.get('10.1.4.0/24')).toMatchObject({ bearsOwnerMarks: true, inManagedSpace: false, origin: 'created' });
    expect(byDest.get('10.1.5.0/24')?.bearsOwnerMarks).toBe(false);
    expect(byDest.get('10.1.6.0/24')).toMatchObject({ bearsOwnerMarks: true, blackhole: true });
    expect(byDest.get('10.240.0.0/20')).toMatchObject({ origin: 'table-default', targetKind: 'network', bearsOwnerMarks: false, via: 'route default-route-2 → subnet of default' });
    expect(byDest.get('0.0.0.0/0')).toMatchObject({ origin: 'created', targetKind: 'gateway', target: null, via: 'route default-route-1 → default-internet-gateway' });
    // An IPv6 route of the network is in the managed space (a foreign one here: no marks).
    expect(byDest.get('fd00::/64')).toMatchObject({ inManagedSpace: true, family: 'ipv6', bearsOwnerMarks: false, origin: 'created', targetKind: 'address' });
    expect(byDest.get('192.168.0.0/16')).toMatchObject({ inManagedSpace: false, origin: 'created' });
    expect(table?.routes.filter((r) => r.inManagedSpace)).toHaveLength(8);
    expect(table?.routes).toHaveLength(10);

    // Two static routes outside the network (10.1.4.0/24 and the vpn route) lower the limit.
    const planned = plan({
      network: '10.1.0.0/16',
      leases: [],
      protectedSubnets: [],
      tables: table === undefined ? [] : [table],
      resolutions: new Map(),
      policy: { allowEmpty: false, maxDeletesPerPass: { kind: 'percent', value: 20 } },
    });
    // Counted in the network and not owned: the default route, 10.1.2, 10.1.3, 10.1.5 and the IPv6 route.
    expect(planned.tables[0]).toMatchObject({ limit: 48, foreignCounted: 5, capacity: 43 });
  });

  it('follows nextPageToken, and refuses a repeated token', async () => {
    const api = new FakeApi();
    api.pageSize = 2;
    api.routes = [1, 2, 3, 4, 5].map((i) => ownedRoute(`10.1.${i}.0/24`, A));
    const p = await provider(api);
    expect((await p.listTables(signal))[0]?.routes).toHaveLength(5);
    expect(api.log.filter((l) => l.startsWith('list'))).toEqual(['list', 'list page=2', 'list page=4']);

    const looping: GceApi = {
      listRoutes: async () => ({ items: [], nextPageToken: 'same' }),
      insertRoute: (project, route) => api.insertRoute(project, route),
      deleteRoute: (project, name) => api.deleteRoute(project, name),
      waitOperation: (project, name) => api.waitOperation(project, name),
      aggregatedInstancesPage: () => api.aggregatedInstancesPage(),
      close: async () => undefined,
    };
    const q = await createGceProvider({ project: P, network: 'default', clusterName: 'c1', routeLimit: 100, client: looping });
    await expect(q.listTables(signal)).rejects.toThrow('same nextPageToken twice');
  });
});

describe('gce resolveNodes', () => {
  it('finds the instance holding the IP in the network; canIpForward false is "disabled"', async () => {
    const api = new FakeApi();
    api.scopes = [
      ['zones/us-central1-a', { instances: [instance('node-a', '10.240.0.2'), instance('elsewhere', '10.240.0.9', { network: `${BASE}/projects/${P}/global/networks/other` })] }],
      ['zones/us-central1-b', { instances: [instance('node-b', '10.240.0.3', { zone: 'us-central1-b', canIpForward: false }), instance('stopped', '10.240.0.4', { zone: 'us-central1-b', status: 'TERMINATED' })] }],
      ['zones/us-central1-c', { warning: { code: 'NO_RESULTS_ON_PAGE', message: 'none' } }],
    ];
    const p = await provider(api);
    await p.listTables(signal);
    const result = await p.resolveNodes(['10.240.0.2', '10.240.0.3', '10.240.0.4', '10.240.0.9', '10.240.0.99', 'nope'], signal);
    expect(result.get('10.240.0.2')).toEqual({ status: 'found', target: A, forwarding: 'enabled', ipv6Capable: false });
    expect(result.get('10.240.0.3')).toEqual({ status: 'found', target: B, forwarding: 'disabled', ipv6Capable: false });
    // A stopped instance keeps its IP and its route: still found.
    expect(result.get('10.240.0.4')).toMatchObject({ status: 'found', forwarding: 'enabled' });
    expect(result.get('10.240.0.9')).toEqual({ status: 'not-found' });
    expect(result.get('10.240.0.99')).toEqual({ status: 'not-found' });
    expect(result.get('nope')?.status).toBe('lookup-failed');
    // One listing per pass.
    expect(api.log.filter((l) => l === 'aggregatedList')).toHaveLength(1);
  });

  it('never reads "not found" from an incomplete or failed lookup', async () => {
    const api = new FakeApi();
    api.scopes = [
      ['zones/us-central1-a', { instances: [instance('node-a', '10.240.0.2')] }],
      ['zones/us-central1-b', { warning: { code: 'UNREACHABLE', message: 'unreachable' } }],
    ];
    const p = await provider(api);
    await p.listTables(signal);
    const partial = await p.resolveNodes(['10.240.0.2', '10.240.0.3'], signal);
    expect(partial.get('10.240.0.2')?.status).toBe('found');
    expect(partial.get('10.240.0.3')).toMatchObject({ status: 'lookup-failed' });

    // A failed lookup of a new IP is lookup-failed; a failed re-check leaves the cached answer standing.
    api.throwNext.set('aggregated', [new GceApiError('Backend Error', { status: 503, reason: 'backendError' })]);
    const failed = await p.resolveNodes(['10.240.0.9'], signal);
    expect(failed.get('10.240.0.9')).toMatchObject({ status: 'lookup-failed', error: expect.stringContaining('backendError') });
    api.throwNext.set('aggregated', [new GceApiError('Backend Error', { status: 503, reason: 'backendError' })]);
    await p.listTables(signal);
    expect((await p.resolveNodes(['10.240.0.2'], signal)).get('10.240.0.2')?.status).toBe('found');
  });

  it('looks up only unknown IPs; a resync re-checks the known ones; an event pass reads nothing for them', async () => {
    const api = new FakeApi();
    api.scopes = [['zones/us-central1-a', { instances: [instance('node-a', '10.240.0.2')] }]];
    const p = await provider(api);
    const reads = (): number => api.log.filter((l) => l === 'aggregatedList').length;
    await p.listTables(signal);
    await p.resolveNodes(['10.240.0.2'], signal, { refresh: false });
    expect(reads()).toBe(1);
    await p.resolveNodes(['10.240.0.2'], signal, { refresh: false });
    expect(reads()).toBe(1);
    api.scopes = [['zones/us-central1-a', { instances: [instance('node-a', '10.240.0.2'), instance('node-new', '10.240.0.7')] }]];
    const result = await p.resolveNodes(['10.240.0.2', '10.240.0.7'], signal, { refresh: false });
    expect(result.get('10.240.0.7')?.status).toBe('found');
    expect(reads()).toBe(2);
    // A resync (the default) re-checks the known IPs with one call.
    await p.resolveNodes(['10.240.0.2', '10.240.0.7'], signal);
    expect(reads()).toBe(3);
  });
});

describe('gce apply', () => {
  it('pauses between polls of an operation that is not DONE, backing off, and gives up at a deadline as transient', async () => {
    const api = new FakeApi();
    api.waitsUntilDone = Number.POSITIVE_INFINITY;
    // A wait that answers at once with RUNNING (GCE may answer before its two minutes): a loop
    // without a pause would send thousands of requests; the fake refuses to go that far.
    const waitOperation = api.waitOperation.bind(api);
    let waits = 0;
    api.waitOperation = async (project, name) => {
      waits += 1;
      if (waits > 1000) throw new Error('hot loop: 1,000 waits for one operation');
      return waitOperation(project, name);
    };
    const clock = new FakeClock();
    const p = await provider(api, { clock, operationWait: { deadlineMs: 60_000, firstDelayMs: 1_000, maxDelayMs: 8_000 } });
    const error = await p.apply(create('10.1.19.0/24', A), signal).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(classifyError(error)).toMatchObject({ class: 'transient' });
    expect(String(error)).toContain('operation-1');
    // 1, 2, 4, 8, 8 … seconds, until the deadline: the last pause ends exactly at it.
    expect(clock.sleeps.slice(0, 5)).toEqual([1_000, 2_000, 4_000, 8_000, 8_000]);
    expect(clock.sleeps.reduce((a, b) => a + b, 0)).toBe(60_000);
    expect(waits).toBe(clock.sleeps.length);
  });

  it('a wait that is DONE is not followed by a pause; a pause is abortable', async () => {
    const api = new FakeApi();
    api.waitsUntilDone = 3;
    const clock = new FakeClock();
    const p = await provider(api, { clock, operationWait: { firstDelayMs: 500, maxDelayMs: 10_000 } });
    await p.apply(create('10.1.19.0/24', A), signal);
    expect(clock.sleeps).toEqual([500, 1_000]);

    // The real clock: aborting during the pause ends the change at once.
    const slow = new FakeApi();
    slow.waitsUntilDone = Number.POSITIVE_INFINITY;
    const real = await createGceProvider({ project: P, network: 'default', clusterName: 'c1', routeLimit: 100, client: slow, operationWait: { firstDelayMs: 3_600_000 } });
    const controller = new AbortController();
    const waitOperation = slow.waitOperation.bind(slow);
    slow.waitOperation = async (project, name) => {
      const op = await waitOperation(project, name);
      setImmediate(() => controller.abort(Object.assign(new Error('lost leadership'), { name: 'AbortError' })));
      return op;
    };
    const error = await real.apply(create('10.1.20.0/24', A), controller.signal).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(classifyError(error).class).toBe('aborted');
  });

  it('inserts the route GCE should hold and waits until the operation is DONE', async () => {
    const api = new FakeApi();
    api.waitsUntilDone = 3;
    const p = await provider(api);
    await p.apply(create('10.1.19.0/24', A), signal);
    expect(api.routes).toEqual([
      {
        name: 'c1-10-1-19-0-24',
        network: NET,
        destRange: '10.1.19.0/24',
        priority: 1000,
        nextHopInstance: `${BASE}/${A}`,
        description: 'routesync:c1',
      },
    ]);
    expect(api.log).toEqual(['insert c1-10-1-19-0-24', 'wait operation-1', 'wait operation-1', 'wait operation-1', 'done operation-1']);
  });

  it('throws the error inside a DONE operation; QUOTA_EXCEEDED is a lease-level error', async () => {
    const api = new FakeApi();
    api.operationErrors.set('insert', [{ code: 'QUOTA_EXCEEDED', message: "Quota 'ROUTES' exceeded.  Limit: 100.0 globally.", status: 403 }]);
    const p = await provider(api);
    const error = await p.apply(create('10.1.19.0/24', A), signal).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(error).toBeInstanceOf(GceOperationError);
    expect(classifyError(error)).toMatchObject({ class: 'lease', code: 'QUOTA_EXCEEDED', httpStatus: 403 });
    expect(String((error as Error).message)).toContain("Quota 'ROUTES' exceeded");
    expect(api.routes).toEqual([]);
  });

  it('counts 409 on insert of an identical route as done, and not of a different one', async () => {
    const api = new FakeApi();
    const conflict = () => new GceApiError(`The resource 'projects/${P}/global/routes/c1-10-1-19-0-24' already exists`, { status: 409, reason: 'alreadyExists' });
    api.routes = [ownedRoute('10.1.19.0/24', A)];
    api.throwNext.set('insert', [conflict(), conflict()]);
    const p = await provider(api);
    await p.apply(create('10.1.19.0/24', A), signal);
    expect(api.log).toEqual(['insert c1-10-1-19-0-24', 'list name = "c1-10-1-19-0-24"']);

    const error = await p.apply(create('10.1.19.0/24', B), signal).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(classifyError(error)).toMatchObject({ class: 'stale', code: 'alreadyExists', httpStatus: 409 });

    // The name held by an operation still running (no such route listed yet): try again shortly.
    api.routes = [];
    api.throwNext.set('insert', [conflict()]);
    const pending = await p.apply(create('10.1.19.0/24', A), signal).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(classifyError(pending)).toMatchObject({ class: 'transient', code: 'resourceNotReady' });
  });

  it('counts 404 on delete (or a RESOURCE_NOT_FOUND operation) as done, and deletes the listed name', async () => {
    const api = new FakeApi();
    api.routes = [ownedRoute('10.1.1.0/24', A, { name: 'c1-legacy-name' })];
    const p = await provider(api);
    await p.listTables(signal);
    await p.apply({ kind: 'delete', table: TABLE, destination: '10.1.1.0/24', previousTarget: A, reason: 'no-lease' }, signal);
    expect(api.log.filter((l) => l.startsWith('delete'))).toEqual(['delete c1-legacy-name']);
    expect(api.routes).toEqual([]);

    api.throwNext.set('delete', [new GceApiError('not found', { status: 404, reason: 'notFound' })]);
    await p.apply({ kind: 'delete', table: TABLE, destination: '10.1.2.0/24', previousTarget: A, reason: 'no-lease' }, signal);
    api.operationErrors.set('delete', [{ code: 'RESOURCE_NOT_FOUND', message: 'gone', status: 404 }]);
    await p.apply({ kind: 'delete', table: TABLE, destination: '10.1.3.0/24', previousTarget: A, reason: 'no-lease' }, signal);

    api.throwNext.set('delete', [new GceApiError('not ready', { status: 400, reason: 'resourceNotReady' })]);
    const busy = await p.apply({ kind: 'delete', table: TABLE, destination: '10.1.5.0/24', previousTarget: A, reason: 'no-lease' }, signal).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(classifyError(busy).class).toBe('transient');

    api.throwNext.set('delete', [new GceApiError('Rate Limit Exceeded', { status: 403, reason: 'rateLimitExceeded' })]);
    await expect(p.apply({ kind: 'delete', table: TABLE, destination: '10.1.4.0/24', previousTarget: A, reason: 'no-lease' }, signal)).rejects.toMatchObject({
      reason: 'rateLimitExceeded',
    });
  });

  it('replaces by deleting, then inserting once the delete is DONE', async () => {
    const api = new FakeApi();
    api.waitsUntilDone = 2;
    api.routes = [ownedRoute('10.1.1.0/24', A)];
    const p = await provider(api);
    await p.listTables(signal);
    await p.apply({ kind: 'replace', table: TABLE, destination: '10.1.1.0/24', target: B, previousTarget: A, nodeIp: '10.240.0.3' }, signal);
    expect(api.log.slice(1)).toEqual([
      'delete c1-10-1-1-0-24',
      'wait operation-1',
      'wait operation-1',
      'done operation-1',
      'insert c1-10-1-1-0-24',
      'wait operation-2',
      'wait operation-2',
      'done operation-2',
    ]);
    expect(api.routes.map((r) => r.nextHopInstance)).toEqual([`${BASE}/${B}`]);
  });

  it('with a slot lent by the planner, makes before it breaks: the new route under the other name wins on priority, then the old one goes', async () => {
    const api = new FakeApi();
    api.routes = [ownedRoute('10.1.1.0/24', A)];
    const p = await provider(api);
    const [table] = await p.listTables(signal);
    expect(table?.replaceNeedsSpareSlot).toBe(true);
    await p.apply({ kind: 'replace', table: TABLE, destination: '10.1.1.0/24', target: B, previousTarget: A, nodeIp: '10.240.0.3', makeBeforeBreak: true }, signal);
    expect(api.log.slice(1)).toEqual(['insert c1-10-1-1-0-24-b', 'wait operation-1', 'done operation-1', 'delete c1-10-1-1-0-24', 'wait operation-2', 'done operation-2']);
    expect(api.routes.map((r) => [r.name, r.priority])).toEqual([['c1-10-1-1-0-24-b', 999]]);
    // The next move goes back to the canonical name, one priority lower again.
    await p.listTables(signal);
    await p.apply({ kind: 'replace', table: TABLE, destination: '10.1.1.0/24', target: A, previousTarget: B, nodeIp: '10.240.0.2', makeBeforeBreak: true }, signal);
    expect(api.routes.map((r) => [r.name, r.priority])).toEqual([['c1-10-1-1-0-24', 998]]);
  });

  it('deletes the duplicate, not the canonically named route', async () => {
    const api = new FakeApi();
    api.routes = [ownedRoute('10.1.1.0/24', A, { name: 'c1-a-copy' }), ownedRoute('10.1.1.0/24', A)];
    const p = await provider(api);
    const [table] = await p.listTables(signal);
    expect(table?.routes.map((r) => r.bearsOwnerMarks)).toEqual([true, true]);
    await p.apply({ kind: 'delete', table: TABLE, destination: '10.1.1.0/24', previousTarget: A, reason: 'duplicate' }, signal);
    expect(api.routes.map((r) => r.name)).toEqual(['c1-10-1-1-0-24']);
  });

  it('refuses forwarding changes and unknown tables', async () => {
    const p = await provider(new FakeApi());
    await expect(p.apply({ kind: 'enable-forwarding', target: A, nodeIp: '10.240.0.2' }, signal)).rejects.toThrow('canIpForward');
    await expect(p.apply({ ...create('10.1.1.0/24', A), table: 'rtb-0123' } as Change, signal)).rejects.toThrow('unknown table');
  });

  it('closes its clients', async () => {
    const api = new FakeApi();
    const p = await provider(api);
    await p.close();
    expect(api.closed).toBe(true);
  });
});

describe('gce errors', () => {
  it('normalises v6 GaxiosErrors (JSON body in the message) and v7 GoogleErrors for classifyError', () => {
    const body = { error: { code: 403, message: 'Rate Limit Exceeded', errors: [{ message: 'Rate Limit Exceeded', domain: 'usageLimits', reason: 'rateLimitExceeded' }] } };
    const v6 = Object.assign(new Error(JSON.stringify(body)), { name: 'GaxiosError', status: 403, code: 403 });
    const normalised = normaliseError(v6);
    expect(normalised).toBeInstanceOf(GceApiError);
    expect(normalised).toMatchObject({ status: 403, reason: 'rateLimitExceeded', message: 'Rate Limit Exceeded' });
    expect(classifyError(normalised)).toMatchObject({ class: 'throttled', code: 'rateLimitExceeded', httpStatus: 403 });
    // Without normalisation the raw v6 error would read as a fatal 403.
    expect(classifyError(v6).class).toBe('fatal');

    const v7 = Object.assign(new Error('The resource was not found'), { name: 'GoogleError', httpStatusCode: 404, code: 5, errors: [{ reason: 'notFound' }] });
    expect(classifyError(normaliseError(v7))).toMatchObject({ class: 'lease', code: 'notFound', httpStatus: 404 });

    const invalid = Object.assign(
      new Error(JSON.stringify({ error: { code: 400, message: "Invalid value for field 'resource.name'", errors: [{ reason: 'invalid' }] } })),
      { name: 'GaxiosError', status: 400, code: 400 },
    );
    expect(classifyError(normaliseError(invalid))).toMatchObject({ class: 'fatal', code: 'invalid', httpStatus: 400, message: "Invalid value for field 'resource.name'" });

    const html = Object.assign(new Error('<html>bad gateway</html>'), { status: 502 });
    expect(classifyError(normaliseError(html))).toMatchObject({ class: 'transient', httpStatus: 502 });

    const network = Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
    expect(normaliseError(network)).toBe(network);
    expect(classifyError(normaliseError(network)).class).toBe('transient');

    const failedOp = new GceOperationError({ name: 'operation-1', operationType: 'insert', status: 'DONE', httpErrorStatusCode: 500, error: { errors: [{ code: 'INTERNAL_ERROR', message: 'oops' }] } });
    expect(classifyError(failedOp)).toMatchObject({ class: 'transient', code: 'INTERNAL_ERROR', httpStatus: 500 });
  });

  // Its flags (project, network, endpoint) and the common ones are checked once, at parse time: test/unit/provider-flags.test.ts.
});
