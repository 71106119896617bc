/**
 * The GCE simulator, driven by the real @google-cloud/compute 6.x REST clients (with
 * google-auth-library's PassThroughClient: no credentials, no metadata probe): wire shapes, paging,
 * asynchronous operations, the ROUTES quota at operation time, rate quotas, GCE's error reasons,
 * route warnings, faults, the call log and the standalone process with its control API.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { GlobalOperationsClient, InstancesClient, ProjectsClient, RoutesClient } from '@google-cloud/compute';
import { PassThroughClient } from 'google-auth-library';
import { afterEach, describe, expect, it } from 'vitest';
import { classifyError } from '../../src/errors.js';
import { GceApiError, normaliseError } from '../../providers/gce/api-errors.js';
import { ManualClock, startGceSimulator, type GceSimulator, type GceSimulatorOptions, type GceWorld, type SimInstance } from './gce/index.js';

const PROJECT = 'sim-project';

interface Clients {
  routes: RoutesClient;
  operations: GlobalOperationsClient;
  instances: InstancesClient;
  projects: ProjectsClient;
}

interface Fixture extends Clients {
  sim: GceSimulator;
  world: GceWorld;
  node: SimInstance;
}

let open: Array<{ close(): Promise<void> }> = [];

afterEach(async () => {
  for (const item of open.reverse()) await item.close();
  open = [];
});

function clients(port: number): Clients & { options: object } {
  // `protocol: 'http'` is what a plain-HTTP endpoint needs (compute's clients default to the REST
  // "fallback" transport); always an authClient, or the library probes the metadata server.
  const options = { apiEndpoint: '127.0.0.1', port, protocol: 'http', authClient: new PassThroughClient() };
  const made = {
    routes: new RoutesClient(options),
    operations: new GlobalOperationsClient(options),
    instances: new InstancesClient(options),
    projects: new ProjectsClient(options),
  };
  open.push(...Object.values(made));
  return { ...made, options };
}

async function setup(options: GceSimulatorOptions = {}): Promise<Fixture> {
  const sim = await startGceSimulator({ project: PROJECT, operationLatencyMs: 20, ...options });
  open.push(sim);
  const world = sim.world;
  world.createNetwork({ name: 'default', ipv4Range: '10.240.0.0/16' });
  const node = world.createInstance({ name: 'node-1', zone: 'us-central1-a', networkIP: '10.240.0.2', canIpForward: true });
  return { sim, world, node, ...clients(sim.port) };
}

function routeBody(name: string, destRange: string, node: SimInstance, extra: Record<string, unknown> = {}) {
  return {
    name,
    network: `projects/${PROJECT}/global/networks/default`,
    destRange,
    priority: 1000,
    nextHopInstance: node.selfLink,
    description: 'routesync:c1',
    ...extra,
  };
}

/** The rejection of a promise, normalised as the gce provider sees it. */
async function rejection(promise: Promise<unknown>): Promise<GceApiError> {
  try {
    await promise;
  } catch (err) {
    const normalised = normaliseError(err);
    if (normalised instanceof GceApiError) return normalised;
    throw err;
  }
  throw new Error('expected the call to fail');
}

function operationOf(result: unknown): { name?: string | null; status?: unknown; error?: { errors?: Array<{ code?: string | null }> | null } | null; httpErrorStatusCode?: number | null } {
  const value = result as { latestResponse?: unknown };
  return (value.latestResponse ?? value) as ReturnType<typeof operationOf>;
}

async function insertAndWait(f: Clients, body: Record<string, unknown>) {
  const [accepted] = await f.routes.insert({ project: PROJECT, routeResource: body });
  const op = operationOf(accepted);
  const [done] = await f.operations.wait({ project: PROJECT, operation: op.name ?? '' });
  return done;
}

describe('GCE simulator: wire shapes with the real clients', () => {
  it('inserts a route through an operation and lists it as GCE does', async () => {
    // A clock moved by hand: the operation is DONE when the test says so.
    const clock = new ManualClock(1_700_000_000_000);
    const f = await setup({ clock: clock.now, operationLatencyMs: 1000 });
    const [accepted] = await f.routes.insert({ project: PROJECT, routeResource: routeBody('c1-10-1-1-0-24', '10.1.1.0/24', f.node) });
    const op = operationOf(accepted);
    expect(op.status).toBe('PENDING');
    expect(op.name).toMatch(/^operation-\d+-[0-9a-f]{13}-[0-9a-f]{8}-[0-9a-f]{8}$/);
    // Accepted is not done: the route is not there yet.
    expect(f.world.route('c1-10-1-1-0-24')).toBeUndefined();
    clock.advance(1000);

    const [done] = await f.operations.wait({ project: PROJECT, operation: op.name ?? '' });
    expect(done.status).toBe('DONE');
    expect(done.error).toBeFalsy();
    expect(done.targetLink).toBe(`https://www.googleapis.com/compute/v1/projects/${PROJECT}/global/routes/c1-10-1-1-0-24`);

    const [items] = await f.routes.list({ project: PROJECT }, { autoPaginate: false });
    const route = items.find((r) => r.name === 'c1-10-1-1-0-24');
    expect(route).toMatchObject({
      kind: 'compute#route',
      destRange: '10.1.1.0/24',
      priority: 1000,
      description: 'routesync:c1',
      network: `https://www.googleapis.com/compute/v1/projects/${PROJECT}/global/networks/default`,
      nextHopInstance: `https://www.googleapis.com/compute/v1/projects/${PROJECT}/zones/us-central1-a/instances/node-1`,
      selfLink: `https://www.googleapis.com/compute/v1/projects/${PROJECT}/global/routes/c1-10-1-1-0-24`,
    });
    expect(route?.id).toMatch(/^\d{19}$/);
    // The system default internet route of the network.
    const system = items.find((r) => r.destRange === '0.0.0.0/0');
    expect(system?.name).toMatch(/^default-route-[0-9a-f]{16}$/);
    expect(system?.nextHopGateway).toBe(`https://www.googleapis.com/compute/v1/projects/${PROJECT}/global/gateways/default-internet-gateway`);

    const [got] = await f.routes.get({ project: PROJECT, route: 'c1-10-1-1-0-24' });
    expect(got.destRange).toBe('10.1.1.0/24');

    const calls = f.world.calls();
    expect(calls.map((c) => `${c.httpMethod} ${c.path}`)).toEqual([
      `POST /compute/v1/projects/${PROJECT}/global/routes`,
      `POST /compute/v1/projects/${PROJECT}/global/operations/${op.name}/wait`,
      `GET /compute/v1/projects/${PROJECT}/global/routes`,
      `GET /compute/v1/projects/${PROJECT}/global/routes/c1-10-1-1-0-24`,
    ]);
    expect(calls.map((c) => c.method)).toEqual(['routes.insert', 'globalOperations.wait', 'routes.list', 'routes.get']);
    expect(calls[0]?.body).toMatchObject({ name: 'c1-10-1-1-0-24', destRange: '10.1.1.0/24', priority: 1000 });
    expect(calls[0]?.apiClient).toContain('gapic/6.15.0');
    expect(calls[0]?.userAgent).toContain('google-api-nodejs-client/');
    expect(calls[0]).toMatchObject({ status: 200, applied: true, operation: op.name });
  });

  it('pages routes.list with maxResults / pageToken / nextPageToken, and filters', async () => {
    const f = await setup();
    for (let i = 1; i <= 6; i++) f.world.addForeignRoute({ name: `r-${i}`, destRange: `10.9.${i}.0/24`, nextHopIp: '10.240.0.50' });
    const names: string[] = [];
    let pageToken: string | undefined;
    let pages = 0;
    do {
      const [items, , raw] = await f.routes.list({ project: PROJECT, maxResults: 3, ...(pageToken !== undefined ? { pageToken } : {}) }, { autoPaginate: false });
      names.push(...items.map((r) => r.name ?? ''));
      pageToken = raw?.nextPageToken ?? undefined;
      pages += 1;
    } while (pageToken);
    expect(pages).toBe(3);
    expect(names).toHaveLength(7);
    expect(names[0]).toMatch(/^default-route-/);
    expect(names.slice(1)).toEqual(['r-1', 'r-2', 'r-3', 'r-4', 'r-5', 'r-6']);

    const all: string[] = [];
    for await (const route of f.routes.listAsync({ project: PROJECT, maxResults: 2 }, { autoPaginate: false })) all.push(route.name ?? '');
    expect(all).toEqual(names);

    const [filtered] = await f.routes.list({ project: PROJECT, filter: 'name = "r-2"' }, { autoPaginate: false });
    expect(filtered.map((r) => r.name)).toEqual(['r-2']);
    const [regex] = await f.routes.list({ project: PROJECT, filter: '(name eq r-[3-4]) (nextHopIp = "10.240.0.50")' }, { autoPaginate: false });
    expect(regex.map((r) => r.name)).toEqual(['r-3', 'r-4']);

    const badToken = await rejection(f.routes.list({ project: PROJECT, pageToken: 'bogus' }, { autoPaginate: false }));
    expect(badToken).toMatchObject({ status: 400, reason: 'invalid' });
    const tooMany = await rejection(f.routes.list({ project: PROJECT, maxResults: 501 }, { autoPaginate: false }));
    expect(tooMany.message).toContain('Must be less than or equal to 500');
  });

  it('lists instances per zone with aggregatedList: empty zones carry a warning, pages span zones', async () => {
    const f = await setup();
    f.world.createInstance({ name: 'node-2', zone: 'us-central1-b', canIpForward: true });
    f.world.createInstance({ name: 'node-3', zone: 'europe-west1-b', canIpForward: false });
    const scopes = new Map<string, { instances: string[]; warning: string | undefined }>();
    for await (const [scope, list] of f.instances.aggregatedListAsync({ project: PROJECT, maxResults: 2 }, { autoPaginate: false })) {
      const entry = scopes.get(scope) ?? { instances: [], warning: undefined };
      entry.instances.push(...(list.instances ?? []).map((i) => i.name ?? ''));
      if (list.warning?.code) entry.warning = String(list.warning.code);
      scopes.set(scope, entry);
    }
    expect([...scopes.keys()].sort()).toEqual(['zones/europe-west1-b', 'zones/us-central1-a', 'zones/us-central1-b', 'zones/us-central1-c', 'zones/us-east1-b']);
    expect(scopes.get('zones/us-central1-c')).toEqual({ instances: [], warning: 'NO_RESULTS_ON_PAGE' });
    expect(scopes.get('zones/us-central1-a')?.instances).toEqual(['node-1']);
    expect(f.world.calls('instances.aggregatedList')).toHaveLength(2);

    const [one] = await f.instances.get({ project: PROJECT, zone: 'us-central1-a', instance: 'node-1' });
    expect(one).toMatchObject({ name: 'node-1', status: 'RUNNING', canIpForward: true });
    expect(one.networkInterfaces?.[0]).toMatchObject({ networkIP: '10.240.0.2', network: `https://www.googleapis.com/compute/v1/projects/${PROJECT}/global/networks/default` });

    // A zone that cannot be reached: its scope says so (a client must not read "no instance there").
    f.world.setUnreachableZones(['us-central1-b']);
    // Without returnPartialSuccess the whole listing fails; with it, the zone says it was not reached.
    const whole = await (async () => {
      for await (const entry of f.instances.aggregatedListAsync({ project: PROJECT })) void entry;
    })().catch((e: unknown) => e);
    expect(classifyError(whole)).toMatchObject({ httpStatus: 503, class: 'transient' });
    const warnings: Record<string, string> = {};
    for await (const [scope, list] of f.instances.aggregatedListAsync({ project: PROJECT, returnPartialSuccess: true }, { autoPaginate: false })) {
      if (list.warning?.code) warnings[scope] = String(list.warning.code);
    }
    expect(warnings['zones/us-central1-b']).toBe('UNREACHABLE');
    const [, , raw] = (await (f.instances as unknown as { innerApiCalls: Record<string, (...a: unknown[]) => Promise<unknown[]>> }).innerApiCalls['aggregatedList']?.(
      { project: PROJECT, returnPartialSuccess: true },
      { autoPaginate: false },
    )) ?? [];
    expect((raw as { unreachables?: string[] }).unreachables).toEqual(['zones/us-central1-b']);
  });

  it('answers projects.get with the ROUTES quota and its usage', async () => {
    const f = await setup({ routeQuota: 250 });
    const [project] = await f.projects.get({ project: PROJECT });
    expect(project.name).toBe(PROJECT);
    expect(project.quotas?.find((q) => q.metric === 'ROUTES')).toMatchObject({ limit: 250, usage: 1 });
  });
});

describe('GCE simulator: quotas and errors', () => {
  it('enforces the ROUTES quota when the operation completes, not when it is accepted', async () => {
    const f = await setup({ routeQuota: 3 });
    // Subnet routes do not count; the default internet route does.
    f.world.createNetwork({ name: 'vpc', subnets: [{ region: 'us-central1', ipCidrRange: '10.10.0.0/20' }, { region: 'europe-west1', ipCidrRange: '10.20.0.0/20' }] });
    expect(f.world.countedRoutes()).toBe(2);
    expect(f.world.routes('vpc').filter((r) => r.routeType === 'SUBNET')).toHaveLength(2);

    const first = operationOf(await insertAndWait(f, routeBody('c1-10-1-1-0-24', '10.1.1.0/24', f.node)));
    expect(first.error).toBeFalsy();
    const [accepted] = await f.routes.insert({ project: PROJECT, routeResource: routeBody('c1-10-1-2-0-24', '10.1.2.0/24', f.node) });
    expect(operationOf(accepted).error).toBeFalsy();
    // wait() does not throw for a failure after acceptance: the DONE operation carries it.
    const [done] = await f.operations.wait({ project: PROJECT, operation: operationOf(accepted).name ?? '' });
    expect(done.status).toBe('DONE');
    expect(done.httpErrorStatusCode).toBe(403);
    expect(done.httpErrorMessage).toBe('FORBIDDEN');
    expect(done.error?.errors?.[0]?.code).toBe('QUOTA_EXCEEDED');
    expect(done.error?.errors?.[0]?.message).toContain("Quota 'ROUTES' exceeded.  Limit: 3.0 globally.");
    expect(f.world.route('c1-10-1-2-0-24')).toBeUndefined();
    expect(f.world.countedRoutes()).toBe(3);
  });

  it("answers GCE's error reasons: 409 alreadyExists, 404 notFound, 400 invalid", async () => {
    const f = await setup();
    f.world.createNetwork({ name: 'vpc', subnets: [{ region: 'us-central1', ipCidrRange: '10.10.0.0/20' }] });
    await insertAndWait(f, routeBody('c1-10-1-1-0-24', '10.1.1.0/24', f.node));

    const exists = await rejection(f.routes.insert({ project: PROJECT, routeResource: routeBody('c1-10-1-1-0-24', '10.1.1.0/24', f.node) }));
    expect(exists).toMatchObject({ status: 409, reason: 'alreadyExists' });
    expect(exists.message).toBe(`The resource 'projects/${PROJECT}/global/routes/c1-10-1-1-0-24' already exists`);
    expect(classifyError(exists)).toMatchObject({ class: 'stale', code: 'alreadyExists', httpStatus: 409 });

    const missing = await rejection(f.routes.delete({ project: PROJECT, route: 'c1-10-9-9-0-24' }));
    expect(missing).toMatchObject({ status: 404, reason: 'notFound' });
    expect(classifyError(missing)).toMatchObject({ class: 'lease', code: 'notFound' });

    const ghost = { ...f.node, selfLink: f.node.selfLink.replace('node-1', 'node-404') };
    expect(await rejection(f.routes.insert({ project: PROJECT, routeResource: routeBody('c1-10-1-2-0-24', '10.1.2.0/24', ghost) }))).toMatchObject({
      status: 404,
      reason: 'notFound',
    });
    for (const name of ['C1-10-1-3-0-24', 'c1-10-1-3-0-24-', '1abc', `c${'x'.repeat(63)}`, 'c1_10']) {
      const bad = await rejection(f.routes.insert({ project: PROJECT, routeResource: routeBody(name, '10.1.3.0/24', f.node) }));
      expect(bad, name).toMatchObject({ status: 400, reason: 'invalid' });
      expect(bad.message).toContain("Must be a match of regex '(?:[a-z](?:[-a-z0-9]{0,61}[a-z0-9])?)'");
    }
    expect(await rejection(f.routes.insert({ project: PROJECT, routeResource: routeBody('c1-x', '10.1.3.5/24', f.node) }))).toMatchObject({ reason: 'invalid' });
    expect(
      await rejection(f.routes.insert({ project: PROJECT, routeResource: routeBody('c1-y', '10.10.1.0/24', f.node, { network: 'global/networks/vpc' }) })),
    ).toMatchObject({ status: 400, reason: 'invalid' });
    expect(await rejection(f.routes.insert({ project: PROJECT, routeResource: routeBody('c1-z', '10.1.4.0/24', f.node, { network: 'global/networks/nope' }) }))).toMatchObject({
      status: 404,
    });
    expect(
      await rejection(f.routes.insert({ project: PROJECT, routeResource: routeBody('c1-w', '10.1.4.0/24', f.node, { nextHopIp: '10.240.0.9' }) })),
    ).toMatchObject({ status: 400, reason: 'invalid' });
    expect(await rejection(f.routes.list({ project: 'other-project' }, { autoPaginate: false }))).toMatchObject({ status: 404, reason: 'notFound' });
    // A name of at most 63 characters is fine.
    const longest = `c${'x'.repeat(62)}`;
    expect(operationOf(await insertAndWait(f, routeBody(longest, '10.1.5.0/24', f.node))).error).toBeFalsy();
  });

  it('deletes through an operation: the route stays until DONE, a second delete or an insert of the name meanwhile fails', async () => {
    const clock = new ManualClock(1_700_000_000_000);
    const f = await setup({ clock: clock.now, operationLatencyMs: 1000 });
    f.world.createRoute(routeBody('c1-10-1-1-0-24', '10.1.1.0/24', f.node));
    const [accepted] = await f.routes.delete({ project: PROJECT, route: 'c1-10-1-1-0-24' });
    const op = operationOf(accepted);
    expect(op.status).toBe('PENDING');
    expect(f.world.route('c1-10-1-1-0-24')).toBeDefined();
    expect(await rejection(f.routes.delete({ project: PROJECT, route: 'c1-10-1-1-0-24' }))).toMatchObject({ status: 400, reason: 'resourceNotReady' });
    expect(await rejection(f.routes.insert({ project: PROJECT, routeResource: routeBody('c1-10-1-1-0-24', '10.1.1.0/24', f.node) }))).toMatchObject({
      status: 409,
    });
    clock.advance(300);
    expect((await f.operations.get({ project: PROJECT, operation: op.name ?? '' }))[0].status).toBe('RUNNING');
    clock.advance(700);
    const [done] = await f.operations.get({ project: PROJECT, operation: op.name ?? '' });
    expect(done).toMatchObject({ status: 'DONE', progress: 100, operationType: 'delete' });
    expect(f.world.route('c1-10-1-1-0-24')).toBeUndefined();
  });

  it('limits writes per minute with 403 rateLimitExceeded, refilled at the next (scaled) minute', async () => {
    const clock = new ManualClock(1_700_000_040_000);
    const f = await setup({ clock: clock.now, writeRequestsPerMinute: 2, timeScale: 60 });
    await f.routes.insert({ project: PROJECT, routeResource: routeBody('c1-10-1-1-0-24', '10.1.1.0/24', f.node) });
    await f.routes.insert({ project: PROJECT, routeResource: routeBody('c1-10-1-2-0-24', '10.1.2.0/24', f.node) });
    const limited = await rejection(f.routes.insert({ project: PROJECT, routeResource: routeBody('c1-10-1-3-0-24', '10.1.3.0/24', f.node) }));
    expect(limited).toMatchObject({ status: 403, reason: 'rateLimitExceeded' });
    expect(limited.message).toContain("Quota exceeded for quota metric 'Write requests'");
    expect(classifyError(limited).class).toBe('throttled');
    expect(f.world.calls('routes.insert').at(-1)).toMatchObject({ status: 403, fault: 'rate-limited', applied: false });
    // Reads have their own quota (unlimited here).
    await f.routes.list({ project: PROJECT }, { autoPaginate: false });
    // timeScale 60: a minute lasts a second.
    clock.advance(f.world.msUntilRateQuotaRefill());
    await f.routes.insert({ project: PROJECT, routeResource: routeBody('c1-10-1-3-0-24', '10.1.3.0/24', f.node) });
  });

  it('honours a repeated requestId with the first operation', async () => {
    const f = await setup();
    const requestId = '6c1d7b5e-3a8f-4b2c-9d4e-1f2a3b4c5d6e';
    const [a] = await f.routes.insert({ project: PROJECT, requestId, routeResource: routeBody('c1-10-1-1-0-24', '10.1.1.0/24', f.node) });
    const [b] = await f.routes.insert({ project: PROJECT, requestId, routeResource: routeBody('c1-10-1-1-0-24', '10.1.1.0/24', f.node) });
    expect(operationOf(b).name).toBe(operationOf(a).name);
    expect(f.world.calls('routes.insert')[0]?.query['requestId']).toBe(requestId);
  });

  it('asks for credentials when told to', async () => {
    const f = await setup({ requireAuth: true });
    expect(await rejection(f.routes.list({ project: PROJECT }, { autoPaginate: false }))).toMatchObject({ status: 401, reason: 'required' });
  });
});

describe('GCE simulator: route warnings of next-hop instances', () => {
  it('keeps routes to deleted, stopped and non-forwarding instances, with their warnings', async () => {
    const f = await setup();
    const off = f.world.createInstance({ name: 'no-forward', zone: 'us-central1-b', canIpForward: false });
    const stopped = f.world.createInstance({ name: 'stopped', zone: 'us-central1-b', canIpForward: true });
    f.world.createRoute(routeBody('c1-10-1-1-0-24', '10.1.1.0/24', f.node));
    f.world.createRoute(routeBody('c1-10-1-2-0-24', '10.1.2.0/24', off));
    f.world.createRoute(routeBody('c1-10-1-3-0-24', '10.1.3.0/24', stopped));
    expect(f.world.route('c1-10-1-1-0-24')?.warnings).toBeUndefined();

    f.world.deleteInstance('node-1');
    f.world.stopInstance('stopped');
    const [items] = await f.routes.list({ project: PROJECT }, { autoPaginate: false });
    const codes = (name: string) => (items.find((r) => r.name === name)?.warnings ?? []).map((w) => w.code);
    expect(codes('c1-10-1-1-0-24')).toEqual(['NEXT_HOP_INSTANCE_NOT_FOUND']);
    expect(codes('c1-10-1-2-0-24')).toEqual(['NEXT_HOP_CANNOT_IP_FORWARD']);
    expect(codes('c1-10-1-3-0-24')).toEqual(['NEXT_HOP_NOT_RUNNING']);
    expect(f.world.instance('stopped').status).toBe('TERMINATED');
    // The stopped instance keeps its IP; starting it clears the warning.
    f.world.startInstance('stopped');
    expect(f.world.route('c1-10-1-3-0-24')?.warnings).toBeUndefined();
  });
});

describe('GCE simulator: faults and the call log', () => {
  it('fails the next operation after acceptance, on request', async () => {
    const f = await setup();
    f.world.failNextOperation({ method: 'routes.insert', routeName: 'c1-10-1-2-0-24', code: 'INTERNAL_ERROR', message: 'Internal error. Please try again.' });
    expect(operationOf(await insertAndWait(f, routeBody('c1-10-1-1-0-24', '10.1.1.0/24', f.node))).error).toBeFalsy();
    const failed = operationOf(await insertAndWait(f, routeBody('c1-10-1-2-0-24', '10.1.2.0/24', f.node)));
    expect(failed.error?.errors?.[0]?.code).toBe('INTERNAL_ERROR');
    expect(failed.httpErrorStatusCode).toBe(500);
    expect(f.world.route('c1-10-1-2-0-24')).toBeUndefined();
    // Consumed: the retry works.
    expect(operationOf(await insertAndWait(f, routeBody('c1-10-1-2-0-24', '10.1.2.0/24', f.node))).error).toBeFalsy();
  });

  it('injects HTTP errors (also after the work is done), resets and random errors; logs every call', async () => {
    const f = await setup();
    f.world.failNext('routes.list', 'backendError', 1);
    const backend = await rejection(f.routes.list({ project: PROJECT }, { autoPaginate: false }));
    expect(backend).toMatchObject({ status: 503, reason: 'backendError' });
    expect(classifyError(backend).class).toBe('transient');

    f.world.failNext('routes.insert', 'backendError', 1, undefined, { afterApply: true });
    await rejection(f.routes.insert({ project: PROJECT, routeResource: routeBody('c1-10-1-1-0-24', '10.1.1.0/24', f.node) }));
    const lost = f.world.calls('routes.insert').at(-1);
    expect(lost).toMatchObject({ status: 503, fault: 'injected', applied: true });
    f.world.finishOperation(lost?.operation ?? '');
    expect(f.world.route('c1-10-1-1-0-24')).toBeDefined();

    f.world.resetConnectionNext('routes.delete');
    const reset = await f.routes.delete({ project: PROJECT, route: 'c1-10-1-1-0-24' }).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(reset).toBeDefined();
    expect(classifyError(normaliseError(reset)).class).toBe('transient');
    expect(f.world.calls('routes.delete').at(-1)).toMatchObject({ status: 0, fault: 'reset' });

    f.world.setFaults({ errorRate: 1, errorRateMethods: ['instances.aggregatedList'] });
    const random = await rejection(
      (async () => {
        for await (const entry of f.instances.aggregatedListAsync({ project: PROJECT }, { autoPaginate: false })) void entry;
      })(),
    );
    expect(['backendError', 'internalError']).toContain(random.reason);
    await f.routes.list({ project: PROJECT }, { autoPaginate: false });
    f.world.clearFaults();

    expect(f.world.mutatingCalls().map((c) => c.method)).toEqual(['routes.insert', 'routes.delete']);
    expect(f.world.calls().every((c) => c.time > 0 && c.seq > 0)).toBe(true);
    expect(f.world.inFlight()).toBe(0);
  });

  it('answers operations.wait with the operation as it is after the wait timeout, and DONE once it is', async () => {
    const clock = new ManualClock(1_700_000_000_000);
    const f = await setup({ clock: clock.now, operationLatencyMs: 1000, waitTimeoutMs: 50 });
    const [accepted] = await f.routes.insert({ project: PROJECT, routeResource: routeBody('c1-10-1-1-0-24', '10.1.1.0/24', f.node) });
    const name = operationOf(accepted).name ?? '';
    // The clock stands still: the wait gives up after its timeout (50 ms) with the operation not DONE.
    const [early] = await f.operations.wait({ project: PROJECT, operation: name });
    expect(early.status).toBe('PENDING');
    clock.advance(500);
    expect((await f.operations.wait({ project: PROJECT, operation: name }))[0].status).toBe('RUNNING');
    clock.advance(500);
    const [done] = await f.operations.wait({ project: PROJECT, operation: name });
    expect(done).toMatchObject({ status: 'DONE', progress: 100 });
    expect(f.world.route('c1-10-1-1-0-24')).toBeDefined();
  });

  it('holds operations.wait until the operation is DONE', async () => {
    const f = await setup({ operationLatencyMs: 200 });
    const [accepted] = await f.routes.insert({ project: PROJECT, routeResource: routeBody('c1-10-1-1-0-24', '10.1.1.0/24', f.node) });
    const [done] = await f.operations.wait({ project: PROJECT, operation: operationOf(accepted).name ?? '' });
    expect(done.status).toBe('DONE');
    expect(f.world.calls('globalOperations.wait')).toHaveLength(1);
  });
});

describe('GCE simulator: standalone process and control API', () => {
  it('runs as a process, prints its URL, seeds the demo world and obeys /_sim/ calls', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'test/sim/gce/main.ts', '--port', '0', '--seed-demo', '--project', 'demo-project', '--operation-latency', '10'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const exited = once(child, 'exit');
    try {
      const lines = createInterface({ input: child.stdout });
      const iterator = lines[Symbol.asyncIterator]();
      const first = await iterator.next();
      const url = String(first.value);
      expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      const port = Number(url.split(':').at(-1));

      const control = async (method: string, args: unknown): Promise<unknown> => {
        const response = await fetch(`${url}/_sim/${method}`, { method: 'POST', body: JSON.stringify(args) });
        const body = (await response.json()) as { result?: unknown; error?: string };
        if (!response.ok) throw new Error(body.error);
        return body.result;
      };
      const created = (await control('createInstance', { name: 'node-z', zone: 'us-central1-c', networkIP: '10.240.0.77', canIpForward: true })) as SimInstance;
      expect(created.networkInterfaces[0]?.networkIP).toBe('10.240.0.77');
      await expect(control('createInstance', { name: 'node-z', zone: 'us-central1-c' })).rejects.toThrow('already exists');

      const c = clients(port);
      const [accepted] = await c.routes.insert({
        project: 'demo-project',
        routeResource: { name: 'demo-10-1-1-0-24', network: 'global/networks/default', destRange: '10.1.1.0/24', nextHopInstance: created.selfLink, priority: 1000 },
      });
      await c.operations.wait({ project: 'demo-project', operation: operationOf(accepted).name ?? '' });
      const routes = (await (await fetch(`${url}/_sim/routes?network=default`)).json()) as { result: Array<{ name: string }> };
      expect(routes.result.map((r) => r.name)).toContain('demo-10-1-1-0-24');
      expect(routes.result.map((r) => r.name)).toContain('to-office');
      const unknown = await fetch(`${url}/_sim/nope`, { method: 'POST' });
      expect(unknown.status).toBe(404);
    } finally {
      child.kill('SIGTERM');
      const [code] = await exited;
      expect(code).toBe(0);
    }
  });
});
