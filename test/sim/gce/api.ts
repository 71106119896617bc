/**
 * The Compute Engine REST API (v1) on top of a GceWorld: one request in, one outcome out (a JSON
 * answer or a connection reset). The order is Google's: authentication, routing, the per-minute
 * rate quota, then the method itself. Errors are `{"error":{"code","message","errors":[{reason}]}}`.
 *
 * Paths (all under `/compute/v1/projects/{project}`):
 *   GET    ''                                  projects.get
 *   GET    /global/routes                      routes.list   (maxResults ≤ 500, pageToken, filter, orderBy)
 *   POST   /global/routes                      routes.insert (?requestId=)
 *   GET    /global/routes/{route}              routes.get
 *   DELETE /global/routes/{route}              routes.delete (?requestId=)
 *   GET    /global/operations                  globalOperations.list
 *   GET    /global/operations/{op}             globalOperations.get
 *   POST   /global/operations/{op}/wait        globalOperations.wait
 *   GET    /global/networks[/{network}]        networks.list / networks.get
 *   GET    /zones[/{zone}]                     zones.list / zones.get
 *   GET    /zones/{zone}/instances[/{name}]    instances.list / instances.get
 *   GET    /aggregated/instances               instances.aggregatedList (items keyed `zones/<zone>`)
 * Query parameters Google's frontends accept on every call (`alt`, `$alt`, `prettyPrint`, `fields`,
 * `key`, `quotaUser`, …) are accepted and ignored.
 */
import type { Sleep } from '../shared/server.js';
import { GceApiError, MUTATING_METHODS, type GceCall, type GceWorld } from './world.js';

export interface GceRequest {
  readonly httpMethod: string;
  /** The URL path, e.g. `/compute/v1/projects/p/global/routes`. */
  readonly path: string;
  readonly query: Readonly<Record<string, string>>;
  readonly body: string;
  readonly userAgent: string;
  readonly apiClient: string;
  readonly authorization: string | undefined;
}

export type GceOutcome =
  | { readonly kind: 'response'; readonly status: number; readonly body: unknown }
  | { readonly kind: 'reset' };

export type { Sleep };

const MAX_RESULTS = 500;

interface Route {
  readonly method: string;
  readonly params: readonly string[];
}

/** Maps an HTTP method and path to an API method and its path parameters. */
export function routeRequest(httpMethod: string, path: string): { project: string; route: Route } | undefined {
  const match = /^\/compute\/v1\/projects\/([^/]+)(\/.*)?$/.exec(path);
  if (match === null) return undefined;
  const project = decodeURIComponent(match[1] ?? '');
  const rest = match[2] ?? '';
  const segments = rest === '' ? [] : rest.slice(1).split('/').map(decodeURIComponent);
  const is = (...pattern: string[]): string[] | undefined => {
    if (pattern.length !== segments.length) return undefined;
    const params: string[] = [];
    for (let i = 0; i < pattern.length; i++) {
      const expected = pattern[i];
      const actual = segments[i] ?? '';
      if (expected === '*') {
        if (actual === '') return undefined;
        params.push(actual);
      } else if (expected !== actual) return undefined;
    }
    return params;
  };
  const table: Array<[string, string[], string]> = [
    ['GET', [], 'projects.get'],
    ['GET', ['global', 'routes'], 'routes.list'],
    ['POST', ['global', 'routes'], 'routes.insert'],
    ['GET', ['global', 'routes', '*'], 'routes.get'],
    ['DELETE', ['global', 'routes', '*'], 'routes.delete'],
    ['GET', ['global', 'operations'], 'globalOperations.list'],
    ['GET', ['global', 'operations', '*'], 'globalOperations.get'],
    ['POST', ['global', 'operations', '*', 'wait'], 'globalOperations.wait'],
    ['GET', ['global', 'networks'], 'networks.list'],
    ['GET', ['global', 'networks', '*'], 'networks.get'],
    ['GET', ['zones'], 'zones.list'],
    ['GET', ['zones', '*'], 'zones.get'],
    ['GET', ['zones', '*', 'instances'], 'instances.list'],
    ['GET', ['zones', '*', 'instances', '*'], 'instances.get'],
    ['GET', ['aggregated', 'instances'], 'instances.aggregatedList'],
  ];
  for (const [verb, pattern, method] of table) {
    if (verb !== httpMethod) continue;
    const params = is(...pattern);
    if (params !== undefined) return { project, route: { method, params } };
  }
  return undefined;
}

export function errorBody(status: number, reason: string, message: string, domain = 'global'): unknown {
  return { error: { code: status, message, errors: [{ message, domain, reason }] } };
}

interface Answer {
  readonly status: number;
  readonly body: unknown;
  readonly reason?: string;
  readonly applied: boolean;
  readonly operation?: string;
}

export async function handleGceRequest(world: GceWorld, request: GceRequest, sleep: Sleep): Promise<GceOutcome> {
  const seq = world.nextSeq();
  const time = world.clock();
  const routed = routeRequest(request.httpMethod, request.path);
  const method = routed?.route.method ?? 'unknown';
  let parsedBody: unknown;
  if (request.httpMethod === 'POST' && request.body.trim() !== '') {
    try {
      parsedBody = JSON.parse(request.body);
    } catch {
      parsedBody = request.body;
    }
  }
  const base = {
    seq,
    time,
    method,
    httpMethod: request.httpMethod,
    path: request.path,
    query: { ...request.query },
    ...(parsedBody !== undefined ? { body: parsedBody } : {}),
    userAgent: request.userAgent,
    apiClient: request.apiClient,
  };
  const finish = (answer: Answer, fault?: GceCall['fault']): GceOutcome => {
    world.record({
      ...base,
      status: answer.status,
      applied: answer.applied,
      ...(answer.reason !== undefined ? { reason: answer.reason } : {}),
      ...(answer.operation !== undefined ? { operation: answer.operation } : {}),
      ...(fault !== undefined ? { fault } : {}),
    });
    return { kind: 'response', status: answer.status, body: answer.body };
  };
  const fail = (status: number, reason: string, message: string, extra: Partial<Answer> = {}, domain = 'global'): Answer => ({
    status,
    body: errorBody(status, reason, message, domain),
    reason,
    applied: false,
    ...extra,
  });

  if (world.requireAuth && !/^Bearer \S+/.test(request.authorization ?? '')) {
    return finish(
      fail(401, 'required', 'Request is missing required authentication credential. Expected OAuth 2 access token, login cookie or other valid authentication credential.'),
    );
  }
  if (routed === undefined) {
    return finish(fail(404, 'notFound', `The requested URL ${request.path} was not found on this server.`));
  }
  if (routed.project !== world.project) {
    return finish(fail(404, 'notFound', `The resource 'projects/${routed.project}' was not found`));
  }
  if (!world.takeRateQuota(method)) {
    const write = MUTATING_METHODS.includes(method);
    const metric = write ? 'Write requests' : 'Read requests';
    return finish(
      fail(
        403,
        'rateLimitExceeded',
        `Quota exceeded for quota metric '${metric}' and limit '${metric} per minute' of service 'compute.googleapis.com' for consumer 'project_number:${world.projectNumber}'.`,
        {},
        'usageLimits',
      ),
      'rate-limited',
    );
  }

  const scripted = world.takeScriptedFault(method);
  const random = scripted === undefined ? world.rollRandomFault(method) : undefined;
  const latency = world.nextLatencyMs();
  if (latency > 0) await sleep(latency);

  const reset = (applied: boolean, operation?: string): GceOutcome => {
    world.record({ ...base, status: 0, reason: 'ECONNRESET', fault: 'reset', applied, ...(operation !== undefined ? { operation } : {}) });
    return { kind: 'reset' };
  };
  if (scripted !== undefined && !scripted.afterApply) {
    if (scripted.kind === 'reset') return reset(false);
    return finish(fail(scripted.httpStatus, scripted.reason, scripted.message), 'injected');
  }
  if (random !== undefined) return finish(fail(random.httpStatus, random.reason, random.message), 'random');

  let answer: Answer;
  try {
    answer = await runMethod(world, method, routed.route.params, request.query, parsedBody, sleep);
  } catch (err) {
    if (!(err instanceof GceApiError)) throw err;
    answer = fail(err.httpStatus, err.reason, err.message, {}, err.domain);
  }
  if (scripted !== undefined) {
    // afterApply: the request was performed (an insert accepted), but the client hears about a fault.
    if (scripted.kind === 'reset') return reset(answer.applied, answer.operation);
    return finish(
      fail(scripted.httpStatus, scripted.reason, scripted.message, {
        applied: answer.applied,
        ...(answer.operation !== undefined ? { operation: answer.operation } : {}),
      }),
      'injected',
    );
  }
  return finish(answer);
}

async function runMethod(
  world: GceWorld,
  method: string,
  params: readonly string[],
  query: Readonly<Record<string, string>>,
  body: unknown,
  sleep: Sleep,
): Promise<Answer> {
  const ok = (value: unknown, extra: Partial<Answer> = {}): Answer => ({ status: 200, body: value, applied: false, ...extra });
  const param = (i: number): string => params[i] ?? '';
  const base = `https://www.googleapis.com/compute/v1/projects/${world.project}`;
  switch (method) {
    case 'projects.get':
      return ok(world.projectInfo());
    case 'routes.list': {
      const page = paginate(applyListOptions(world.routes(), query), query, method);
      return ok(listBody('compute#routeList', `projects/${world.project}/global/routes`, `${base}/global/routes`, page));
    }
    case 'routes.get': {
      const route = world.route(param(0));
      if (route === undefined) throw new GceApiError(404, 'notFound', `The resource '${world.routePath(param(0))}' was not found`);
      return ok(route);
    }
    case 'routes.insert': {
      if (typeof body !== 'object' || body === null || Array.isArray(body)) {
        throw new GceApiError(400, body === undefined ? 'required' : 'parseError', body === undefined ? "Required field 'resource' not specified" : 'Parse Error');
      }
      const op = world.insertRoute(body as Record<string, unknown>, query['requestId']);
      return ok(op, { applied: true, operation: op.name });
    }
    case 'routes.delete': {
      const op = world.deleteRoute(param(0), query['requestId']);
      return ok(op, { applied: true, operation: op.name });
    }
    case 'globalOperations.list': {
      const page = paginate(applyListOptions(world.operationsList(), query), query, method);
      return ok(listBody('compute#operationList', `projects/${world.project}/global/operations`, `${base}/global/operations`, page));
    }
    case 'globalOperations.get':
      return ok(world.operation(param(0)), { operation: param(0) });
    case 'globalOperations.wait': {
      // GCE holds the request until the operation is DONE or about two minutes have passed, then
      // answers the operation as it is (possibly not DONE: callers wait again).
      const name = param(0);
      world.operation(name);
      const deadline = performance.now() + world.waitTimeoutRealMs();
      for (;;) {
        const remaining = world.msUntilDone(name);
        const left = deadline - performance.now();
        if (remaining <= 0 || left <= 0) break;
        await sleep(Math.max(1, Math.min(remaining, left, 100)));
      }
      return ok(world.operation(name), { operation: name });
    }
    case 'networks.list': {
      const page = paginate(applyListOptions(world.networksList(), query), query, method);
      return ok(listBody('compute#networkList', `projects/${world.project}/global/networks`, `${base}/global/networks`, page));
    }
    case 'networks.get':
      return ok(world.network(param(0)));
    case 'zones.list': {
      const page = paginate(applyListOptions(world.zones(), query), query, method);
      return ok(listBody('compute#zoneList', `projects/${world.project}/zones`, `${base}/zones`, page));
    }
    case 'zones.get':
      return ok(world.zone(param(0)));
    case 'instances.list': {
      const zone = param(0);
      if (world.unreachableZones().includes(zone)) throw new GceApiError(503, 'backendError', 'Backend Error');
      const page = paginate(applyListOptions(world.instancesList(zone), query), query, method);
      return ok(listBody('compute#instanceList', `projects/${world.project}/zones/${zone}/instances`, `${base}/zones/${zone}/instances`, page));
    }
    case 'instances.get':
      return ok(world.instance(param(1), param(0)));
    case 'instances.aggregatedList':
      return ok(aggregatedInstances(world, query));
    default:
      throw new GceApiError(404, 'notFound', `method ${method} is not served`);
  }
}

// ---------------------------------------------------------------- lists

interface Page<T> {
  readonly items: T[];
  readonly nextPageToken: string | undefined;
}

function listBody<T>(kind: string, id: string, selfLink: string, page: Page<T>): unknown {
  return {
    kind,
    id,
    ...(page.items.length > 0 ? { items: page.items } : {}),
    ...(page.nextPageToken !== undefined ? { nextPageToken: page.nextPageToken } : {}),
    selfLink,
  };
}

function parseMaxResults(query: Readonly<Record<string, string>>): number {
  const text = query['maxResults'];
  if (text === undefined || text === '') return MAX_RESULTS;
  const value = Number(text);
  if (!Number.isInteger(value) || value < 0) throw new GceApiError(400, 'invalid', `Invalid value for field 'maxResults': '${text}'. Must be a non-negative integer.`);
  if (value > MAX_RESULTS) throw new GceApiError(400, 'invalid', `Invalid value for field 'maxResults': '${text}'. Must be less than or equal to ${MAX_RESULTS}`);
  return value === 0 ? MAX_RESULTS : value;
}

/**
 * maxResults/pageToken paging. Tokens are opaque (base64 of an offset and a fingerprint of the
 * request's filter and order); a token from another request is 400 invalid.
 */
function paginate<T>(items: readonly T[], query: Readonly<Record<string, string>>, method: string): Page<T> {
  const size = parseMaxResults(query);
  const fingerprint = fnv(`${method}|${query['filter'] ?? ''}|${query['orderBy'] ?? ''}`);
  let offset = 0;
  const token = query['pageToken'];
  if (token !== undefined && token !== '') {
    const decoded = decodeToken(token);
    if (decoded === undefined || decoded.f !== fingerprint) {
      throw new GceApiError(400, 'invalid', `Invalid value for field 'pageToken': '${token}'. Supplied page token is not valid for this request.`);
    }
    offset = decoded.o;
  }
  const slice = items.slice(offset, offset + size);
  const next = offset + slice.length;
  return { items: slice, nextPageToken: next < items.length ? encodeToken({ o: next, f: fingerprint }) : undefined };
}

function applyListOptions<T>(items: readonly T[], query: Readonly<Record<string, string>>): T[] {
  const filter = query['filter'];
  let result = filter !== undefined && filter.trim() !== '' ? items.filter(compileFilter(filter)) : [...items];
  const orderBy = query['orderBy'];
  if (orderBy !== undefined && orderBy !== '') {
    const match = /^(name|creationTimestamp)(?: (asc|desc))?$/.exec(orderBy.trim());
    if (match === null) throw new GceApiError(400, 'invalid', `Invalid value for field 'orderBy': '${orderBy}'. Only 'name' and 'creationTimestamp desc' are supported.`);
    const field = match[1] ?? 'name';
    const sign = match[2] === 'desc' ? -1 : 1;
    result = result.sort((a, b) => {
      const x = String((a as Record<string, unknown>)[field] ?? '');
      const y = String((b as Record<string, unknown>)[field] ?? '');
      return sign * (x < y ? -1 : x > y ? 1 : 0);
    });
  }
  return result;
}

function aggregatedInstances(world: GceWorld, query: Readonly<Record<string, string>>): unknown {
  const unreachable = new Set(world.unreachableZones());
  // "returnPartialSuccess: Opt-in for partial success behavior which provides partial results in
  // case of failure" (instances.aggregatedList reference): without it, an unreachable zone fails
  // the whole call, as instances.list of that zone does.
  if (unreachable.size > 0 && query['returnPartialSuccess'] !== 'true') throw new GceApiError(503, 'backendError', 'Backend Error');
  const reachable = world.zones().filter((z) => !unreachable.has(z.name));
  const filter = query['filter'];
  const predicate = filter !== undefined && filter.trim() !== '' ? compileFilter(filter) : () => true;
  const all = reachable.flatMap((z) => world.instancesList(z.name)).filter(predicate);
  const page = paginate(all, query, 'instances.aggregatedList');
  const items: Record<string, unknown> = {};
  for (const zone of world.zones()) {
    const scope = `zones/${zone.name}`;
    if (unreachable.has(zone.name)) {
      items[scope] = {
        warning: { code: 'UNREACHABLE', message: `Scope '${scope}' is unreachable.`, data: [{ key: 'scope', value: scope }] },
      };
      continue;
    }
    const instances = page.items.filter((i) => i.zone.endsWith(`/${scope}`));
    items[scope] =
      instances.length > 0
        ? { instances }
        : {
            warning: {
              code: 'NO_RESULTS_ON_PAGE',
              message: `There are no results for scope '${scope}' on this page.`,
              data: [{ key: 'scope', value: scope }],
            },
          };
  }
  return {
    kind: 'compute#instanceAggregatedList',
    id: `projects/${world.project}/aggregated/instances`,
    items,
    ...(page.nextPageToken !== undefined ? { nextPageToken: page.nextPageToken } : {}),
    ...(query['returnPartialSuccess'] === 'true' && unreachable.size > 0 ? { unreachables: [...unreachable].map((z) => `zones/${z}`) } : {}),
    selfLink: `https://www.googleapis.com/compute/v1/projects/${world.project}/aggregated/instances`,
  };
}

// ---------------------------------------------------------------- filters

/**
 * The subset of Compute list filters routesync and the tests use: terms `field = "value"`,
 * `field != "value"` (exact, `*` wildcard), `field eq regex`, `field ne regex` (RE2 full match),
 * `field:value` (has), optionally in parentheses, joined by whitespace or AND. OR is refused.
 */
export function compileFilter(text: string): (item: unknown) => boolean {
  const terms: Array<(item: unknown) => boolean> = [];
  const pattern = /\s*(?:AND\s+)?\(?\s*([A-Za-z][\w.]*)\s*(!=|=|:|\beq\b|\bne\b)\s*("(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|[^\s()]+)\s*\)?\s*/y;
  let index = 0;
  const bad = (): GceApiError => new GceApiError(400, 'invalid', `Invalid value for field 'filter': '${text}'. Invalid list filter expression.`);
  while (index < text.length) {
    if (/^\s*OR\b/.test(text.slice(index))) throw bad();
    pattern.lastIndex = index;
    const match = pattern.exec(text);
    if (match === null || match[0] === '') throw bad();
    index = pattern.lastIndex;
    const field = match[1] ?? '';
    const op = match[2] ?? '';
    let value = match[3] ?? '';
    if ((value.startsWith('"') && value.endsWith('"')) || (value.startsWith("'") && value.endsWith("'"))) value = value.slice(1, -1).replace(/\\(.)/g, '$1');
    let test: (candidate: string) => boolean;
    if (op === 'eq' || op === 'ne') {
      let regex: RegExp;
      try {
        regex = new RegExp(`^(?:${value})$`);
      } catch {
        throw bad();
      }
      test = op === 'eq' ? (c) => regex.test(c) : (c) => !regex.test(c);
    } else if (op === ':') {
      test = (c) => value === '*' || c.includes(value);
    } else {
      const glob = new RegExp(`^${value.split('*').map(escapeRegExp).join('.*')}$`);
      test = op === '=' ? (c) => glob.test(c) : (c) => !glob.test(c);
    }
    const negative = op === '!=' || op === 'ne';
    terms.push((item) => {
      const values = lookup(item, field.split('.'));
      if (values.length === 0) return negative;
      return negative ? values.every(test) : values.some(test);
    });
  }
  return (item) => terms.every((term) => term(item));
}

function lookup(item: unknown, path: readonly string[]): string[] {
  if (path.length === 0) {
    if (item === undefined || item === null) return [];
    if (Array.isArray(item)) return item.flatMap((v) => lookup(v, path));
    return typeof item === 'object' ? [] : [String(item)];
  }
  if (Array.isArray(item)) return item.flatMap((v) => lookup(v, path));
  if (typeof item !== 'object' || item === null) return [];
  const [head, ...rest] = path;
  return lookup((item as Record<string, unknown>)[head ?? ''], rest);
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function fnv(text: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193) >>> 0;
  return h.toString(16);
}

function encodeToken(token: { o: number; f: string }): string {
  return Buffer.from(JSON.stringify(token)).toString('base64url');
}

function decodeToken(text: string): { o: number; f: string } | undefined {
  try {
    const parsed: unknown = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
    if (typeof parsed !== 'object' || parsed === null) return undefined;
    const { o, f } = parsed as { o?: unknown; f?: unknown };
    return typeof o === 'number' && Number.isInteger(o) && o >= 0 && typeof f === 'string' ? { o, f } : undefined;
  } catch {
    return undefined;
  }
}
