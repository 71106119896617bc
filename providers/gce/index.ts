/**
 * The gce provider: Compute Engine routes of one VPC network as routesync's capacity domain
 * (docs/architecture.md, 'GCE facts').
 *
 * - listTables: one routes.list listing of the whole project per pass (the ROUTES quota is per
 *   project). The routes of `--gce-network` form the one table; counted routes elsewhere in the
 *   project (other networks, IPv6) lower that table's limit. Subnet routes do not count (Google's
 *   VPC quota documentation). Owned ("ownable") routes: in the network, name `<cluster>-…` and
 *   description `routesync:<cluster>`.
 * - resolveNodes: node IP → the instance whose interface in `--gce-network` has that `networkIP`,
 *   from one instances.aggregatedList per pass (cached: refreshed after each listTables, on a miss,
 *   and not when the caller asks for `refresh: false` and every IP is known). The target is
 *   the instance path `projects/{p}/zones/{z}/instances/{name}`; canIpForward false → `disabled`.
 *   A stopped (TERMINATED/SUSPENDED) instance still resolves: it keeps its IP and its route works
 *   again when it starts, so the route stays rather than flapping.
 * - apply: routes.insert / routes.delete, each followed by globalOperations.wait until DONE (a
 *   pause that backs off between waits answered before DONE, and a deadline: then the change fails
 *   as transient and a later pass sees what became of it); a DONE
 *   operation with an error throws GceOperationError (src/errors.ts classifies its code:
 *   QUOTA_EXCEEDED → lease). 409 alreadyExists on insert of an identical route and 404 on delete
 *   are done. A replace is delete-then-insert (GCE routes are immutable), the insert sent as soon
 *   as the delete is DONE.
 *
 * The provider never retries: each call is one attempt; the caller paces and retries with classifyError.
 */
import type { AuthClient } from 'google-auth-library';
import { linkedSignal, sleep, withSignal } from '../../src/abort.js';
import { ConfigError, classifyError } from '../../src/errors.js';
import { canonicalCidr, isIpv4 } from '../../src/net/cidr.js';
import type { ActualRoute, Change, NodeResolution, RouteProvider, RouteTable } from '../provider.js';
import {
  GceApiError,
  GceOperationError,
  computeApiFromSettings,
  createAuthClient,
  parseEndpoint,
  type GceApi,
  type GceOperation,
  type GceRoute,
} from './compute-api.js';

export {
  GceApiError,
  GceOperationError,
  computeApiFromSettings,
  createAuthClient,
  normaliseError,
  parseEndpoint,
  WAIT_REQUEST_TIMEOUT_MS,
  type ComputeClientSettings,
  type GceApi,
  type GceInstance,
  type GceInstancesScopedList,
  type GceOperation,
  type GceRoute,
  type ListRoutesRequest,
  type RoutePage,
} from './compute-api.js';

export const PROVIDER_NAME = 'gce';
/** GCE's default priority; routesync's routes use it. */
export const ROUTE_PRIORITY = 1000;
/** routes.list / aggregatedList page size (GCE's maximum). */
const PAGE_SIZE = 500;
/** Where GCE's selfLinks point, whatever endpoint was called. */
const SELF_LINK_BASE = 'https://www.googleapis.com/compute/v1';

/** Structured logging, pino-compatible (`logger.warn({ fields }, 'message')`). */
export interface GceLogger {
  debug(fields: Record<string, unknown>, message: string): void;
  info(fields: Record<string, unknown>, message: string): void;
  warn(fields: Record<string, unknown>, message: string): void;
}

export interface GceProviderOptions {
  /** --gce-project */
  readonly project: string;
  /** --gce-network (a name, e.g. `default`) */
  readonly network: string;
  /** --cluster-name: route name prefix and description. */
  readonly clusterName: string;
  /** --route-limit: the project's ROUTES quota as routesync should respect it. */
  readonly routeLimit: number;
  /** --gce-endpoint; an http:// endpoint is used without Google auth. */
  readonly endpoint?: string;
  /** Appended to every request's User-Agent. */
  readonly userAgentSuffix?: string;
  readonly logger?: GceLogger;
  /** A ready Compute surface (tests); default: the real clients built from the options. */
  readonly client?: GceApi;
  /** The auth client of the built clients; default: none for http://, else Application Default Credentials. */
  readonly authClient?: AuthClient;
  /** Per-request timeout of the built clients, ms (default 60 s; operations.wait: 150 s). */
  readonly requestTimeoutMs?: number;
  readonly operationWait?: OperationWaitOptions;
  /** Monotonic time and abortable pauses (tests); default performance.now and timers. */
  readonly clock?: WaitClock;
}

/** How long one change waits for its operation. */
export interface OperationWaitOptions {
  /**
   * Give up after this long, ms (default 10 minutes; route operations take seconds): the change
   * fails as transient, and a later pass lists what became of it.
   */
  readonly deadlineMs?: number;
  /** Pause after a wait answered before DONE, ms: first (default 1 s), doubled up to max (default 10 s). */
  readonly firstDelayMs?: number;
  readonly maxDelayMs?: number;
}

export interface WaitClock {
  now(): number;
  sleep(ms: number, signal: AbortSignal): Promise<void>;
}

export const OPERATION_DEADLINE_MS = 600_000;
const SYSTEM_CLOCK: WaitClock = { now: () => performance.now(), sleep };

const NO_LOG: GceLogger = { debug: () => undefined, info: () => undefined, warn: () => undefined };

/** `<cluster>-10-1-19-0-24` for `10.1.19.0/24`: lowercase, RFC 1035, at most 50 characters. */
export function routeName(clusterName: string, destination: string): string {
  return `${clusterName}-${destination.replace(/[./]/g, '-')}`;
}

/** The description that marks routesync's routes of one cluster. */
export function routeDescription(clusterName: string): string {
  return `routesync:${clusterName}`;
}

/**
 * A comparable form of a resource URL: `projects/{p}/…` without scheme, host and API version.
 * Partial URLs without the project (`zones/z/instances/n`, `global/networks/n`) get `project`.
 */
export function resourcePath(url: string, project: string): string {
  const trimmed = url.trim().replace(/^https?:\/\/[^/]+/, '').replace(/^\/+/, '');
  const withoutVersion = trimmed.replace(/^(?:compute\/)?(?:v1|beta|alpha)\//, '');
  const projectAt = withoutVersion.indexOf('projects/');
  if (projectAt >= 0) return withoutVersion.slice(projectAt);
  return `projects/${project}/${withoutVersion}`;
}

/** The instance path `projects/{p}/zones/{z}/instances/{n}` of a nextHopInstance or selfLink, or undefined. */
export function instancePath(url: string, project: string): string | undefined {
  const path = resourcePath(url, project);
  return /^projects\/[^/]+\/zones\/[^/]+\/instances\/[^/]+$/.test(path) ? path : undefined;
}

export function networkPath(project: string, network: string): string {
  return `projects/${project}/global/networks/${network}`;
}

export async function createGceProvider(options: GceProviderOptions): Promise<RouteProvider> {
  let api = options.client;
  if (api === undefined) {
    let authClient = options.authClient;
    if (authClient === undefined) {
      try {
        authClient = await createAuthClient(options.endpoint);
      } catch (err) {
        throw new ConfigError(
          'no Google credentials for the Compute API (Application Default Credentials): set GOOGLE_APPLICATION_CREDENTIALS, ' +
            'run with a service account on GCE/GKE, or point --gce-endpoint at an http:// endpoint: ' +
            (err instanceof Error ? err.message : String(err)),
        );
      }
    }
    api = computeApiFromSettings({
      authClient,
      ...(options.endpoint !== undefined ? { endpoint: options.endpoint } : {}),
      ...(options.userAgentSuffix !== undefined ? { userAgentSuffix: options.userAgentSuffix } : {}),
      ...(options.requestTimeoutMs !== undefined ? { requestTimeoutMs: options.requestTimeoutMs } : {}),
    });
  }
  return new GceProvider(api, options, options.logger ?? NO_LOG);
}

interface InstanceEntry {
  readonly target: string;
  readonly canIpForward: boolean;
  readonly status: string;
}

type InstanceLookup =
  | { readonly ok: true; readonly index: ReadonlyMap<string, InstanceEntry>; readonly unreachable: readonly string[] }
  | { readonly ok: false; readonly error: string };

class GceProvider implements RouteProvider {
  readonly name = PROVIDER_NAME;
  /**
   * Each insert or delete waits seconds for its operation, so convergence needs many in flight.
   * The project's write quota (per minute, typically 1,200–1,500 requests) stays the real limit:
   * a cold start of 500 routes is 500 writes, well inside it; beyond it, 403 rateLimitExceeded is
   * backed off and retried.
   */
  readonly concurrency = 500;
  private readonly tableId: string;
  private readonly prefix: string;
  private readonly description: string;
  /** Owned route names per destination from the last listing, the canonical name first. */
  private ownedNames = new Map<string, string[]>();
  /** The last successful instance listing, and whether a listTables (a new pass) came after it. */
  private cachedInstances: Extract<InstanceLookup, { ok: true }> | undefined;
  private cacheStale = true;
  private lastElsewhere: string | undefined;

  constructor(
    private readonly api: GceApi,
    private readonly options: GceProviderOptions,
    private readonly log: GceLogger,
  ) {
    this.tableId = networkPath(options.project, options.network);
    this.prefix = `${options.clusterName}-`;
    this.description = routeDescription(options.clusterName);
  }

  // Each call runs on a signal of its own, released when it ends: hundreds of changes in flight
  // would otherwise each leave listeners (requests, pauses) on the caller's long-lived signal.
  listTables(signal: AbortSignal): Promise<RouteTable[]> {
    return withSignal(signal, (own) => this.listTablesOnce(own));
  }

  resolveNodes(nodeIps: readonly string[], signal: AbortSignal, options?: { readonly refresh?: boolean }): Promise<Map<string, NodeResolution>> {
    return withSignal(signal, (own) => this.resolveNodesOnce(nodeIps, own, options));
  }

  apply(change: Change, signal: AbortSignal): Promise<void> {
    return withSignal(signal, (own) => this.applyOnce(change, own));
  }

  private async listTablesOnce(signal: AbortSignal): Promise<RouteTable[]> {
    // A new pass: the next resolveNodes lists the instances again (unless told to trust its cache).
    this.cacheStale = true;
    const all = await this.listAllRoutes(signal);

    const routes: Array<{ route: ActualRoute; canonical: boolean; name: string }> = [];
    const elsewhere = { otherNetworks: 0, unsupported: 0 };
    for (const route of all) {
      const name = route.name ?? '';
      // The ROUTES quota counts static routes only: not subnet routes, not routes imported by
      // peering, not dynamic routes learned by Cloud Router (should a listing ever show them).
      const isSubnetRoute = (route.nextHopNetwork ?? '') !== '' || route.routeType === 'SUBNET';
      const imported = (route.nextHopPeering ?? '') !== '' || route.routeType === 'BGP' || route.routeType === 'TRANSIT';
      const counts = !isSubnetRoute && !imported;
      const network = route.network ? resourcePath(route.network, this.options.project) : '';
      if (network !== this.tableId) {
        if (counts) elsewhere.otherNetworks += 1;
        continue;
      }
      let destination: string;
      try {
        destination = canonicalCidr(route.destRange ?? '');
      } catch {
        // IPv6 routes (and anything unparseable) are none of routesync's business, but they use quota.
        if (counts) elsewhere.unsupported += 1;
        continue;
      }
      const target = route.nextHopInstance ? (instancePath(route.nextHopInstance, this.options.project) ?? route.nextHopInstance) : null;
      const ownable = name.startsWith(this.prefix) && route.description === this.description;
      routes.push({
        name,
        canonical: ownable && name === routeName(this.options.clusterName, destination),
        route: {
          destination,
          target,
          blackhole: (route.warnings ?? []).some((w) => w.code === 'NEXT_HOP_INSTANCE_NOT_FOUND'),
          ownable,
          countsTowardLimit: counts,
          via: `route ${name} → ${hopOf(route)}`,
        },
      });
    }
    // Of two owned routes for one destination the planner keeps the first: the canonically named one.
    routes.sort((a, b) => Number(b.canonical) - Number(a.canonical));
    const owned = new Map<string, string[]>();
    for (const { route, name } of routes) {
      if (!route.ownable) continue;
      const names = owned.get(route.destination) ?? [];
      names.push(name);
      owned.set(route.destination, names);
    }
    this.ownedNames = owned;

    const countedElsewhere = elsewhere.otherNetworks + elsewhere.unsupported;
    const summary = `${elsewhere.otherNetworks}/${elsewhere.unsupported}`;
    if (summary !== this.lastElsewhere) {
      this.lastElsewhere = summary;
      if (countedElsewhere > 0) {
        this.log.info(
          { otherNetworks: elsewhere.otherNetworks, ipv6OrOther: elsewhere.unsupported, routeLimit: this.options.routeLimit },
          `${countedElsewhere} route(s) outside ${this.tableId} count toward the project's ROUTES quota: this network's limit is lowered by them`,
        );
      }
    }
    return [{ id: this.tableId, limit: Math.max(0, this.options.routeLimit - countedElsewhere), routes: routes.map((r) => r.route) }];
  }

  private async resolveNodesOnce(
    nodeIps: readonly string[],
    signal: AbortSignal,
    options?: { readonly refresh?: boolean },
  ): Promise<Map<string, NodeResolution>> {
    const result = new Map<string, NodeResolution>();
    const ips: string[] = [];
    for (const ip of new Set(nodeIps)) {
      if (isIpv4(ip)) ips.push(ip);
      else result.set(ip, { status: 'lookup-failed', error: `not an IPv4 address: ${JSON.stringify(ip)}` });
    }
    if (ips.length === 0) return result;

    // A full pass (refresh, the default) lists the instances once; an event-driven pass
    // (refresh: false) answers known IPs from the last listing. A miss in a cached listing looks again.
    let lookup: InstanceLookup;
    const cached = this.cachedInstances;
    const trustCache = cached !== undefined && (options?.refresh === false || !this.cacheStale);
    if (trustCache && !hasMiss(cached.index, ips)) {
      lookup = cached;
    } else {
      lookup = await this.fetchInstances(signal);
      if (lookup.ok) this.cacheStale = false;
    }
    signal.throwIfAborted();
    if (!lookup.ok) {
      for (const ip of ips) result.set(ip, { status: 'lookup-failed', error: lookup.error });
      return result;
    }
    this.cachedInstances = lookup;
    for (const ip of ips) {
      const entry = lookup.index.get(ip);
      if (entry !== undefined) {
        result.set(ip, { status: 'found', target: entry.target, forwarding: entry.canIpForward ? 'enabled' : 'disabled' });
      } else if (lookup.unreachable.length > 0) {
        // The listing missed zones: this node may be in one of them.
        result.set(ip, { status: 'lookup-failed', error: `instances of ${lookup.unreachable.join(', ')} could not be listed` });
      } else {
        result.set(ip, { status: 'not-found' });
      }
    }
    return result;
  }

  private async applyOnce(change: Change, signal: AbortSignal): Promise<void> {
    if (change.kind === 'enable-forwarding') {
      throw new Error(`GCE cannot turn on IP forwarding of ${change.target}: canIpForward is set when an instance is created`);
    }
    if (change.table !== this.tableId) throw new Error(`unknown table ${change.table}: the gce provider manages ${this.tableId}`);
    switch (change.kind) {
      case 'create':
        await this.insert(change.destination, change.target, signal);
        return;
      case 'delete':
        await this.delete(this.nameToDelete(change.destination, change.reason === 'duplicate'), signal);
        return;
      case 'replace': {
        // GCE routes cannot be changed in place: delete, and insert as soon as the delete is DONE.
        const old = this.nameToDelete(change.destination, false);
        await this.delete(old, signal);
        await this.insert(change.destination, change.target, signal);
        return;
      }
    }
  }

  close(): Promise<void> {
    return this.api.close();
  }

  // ------------------------------------------------------------ routes

  private async listAllRoutes(signal: AbortSignal): Promise<GceRoute[]> {
    const routes: GceRoute[] = [];
    const seen = new Set<string>();
    let pageToken: string | undefined;
    do {
      const page = await this.api.listRoutes(
        { project: this.options.project, maxResults: PAGE_SIZE, ...(pageToken !== undefined ? { pageToken } : {}) },
        signal,
      );
      routes.push(...page.items);
      pageToken = page.nextPageToken;
      if (pageToken !== undefined) {
        if (seen.has(pageToken)) throw new Error('routes.list returned the same nextPageToken twice');
        seen.add(pageToken);
      }
    } while (pageToken !== undefined);
    return routes;
  }

  /** The name of the owned route to delete for a destination: a duplicate's, or the kept one's. */
  private nameToDelete(destination: string, duplicate: boolean): string {
    const names = this.ownedNames.get(destination);
    const canonical = routeName(this.options.clusterName, destination);
    if (names === undefined || names.length === 0) return canonical;
    // Taken synchronously, so concurrent deletes of one destination pick different routes.
    const name = duplicate && names.length > 1 ? names.pop() : names.shift();
    return name ?? canonical;
  }

  private routeBody(destination: string, target: string): GceRoute {
    return {
      name: routeName(this.options.clusterName, destination),
      network: `${SELF_LINK_BASE}/${this.tableId}`,
      destRange: destination,
      priority: ROUTE_PRIORITY,
      nextHopInstance: `${SELF_LINK_BASE}/${resourcePath(target, this.options.project)}`,
      description: this.description,
    };
  }

  private async insert(destination: string, target: string, signal: AbortSignal): Promise<void> {
    const body = this.routeBody(destination, target);
    let operation: GceOperation;
    try {
      operation = await this.api.insertRoute(this.options.project, body, signal);
      await this.waitDone(operation, signal);
    } catch (err) {
      const code = classifyError(err).code;
      if (code !== 'alreadyExists' && code !== 'RESOURCE_ALREADY_EXISTS') throw err;
      const existing = await this.findRoute(body.name ?? '', signal);
      if (existing === undefined) {
        // The name is taken by an operation still running (an insert, or the delete of a replace
        // elsewhere): worth another attempt shortly, not a conflict.
        // (No `cause`: src/errors.ts would classify the 409 inside instead.)
        throw new GceApiError(`route ${body.name ?? ''} is held by an operation still running`, { status: 503, reason: 'resourceNotReady' });
      }
      if (this.sameRoute(existing, body)) {
        this.log.debug({ route: body.name }, 'route already exists as wanted');
        return;
      }
      throw err;
    }
  }

  private async delete(name: string, signal: AbortSignal): Promise<void> {
    try {
      const operation = await this.api.deleteRoute(this.options.project, name, signal);
      await this.waitDone(operation, signal);
    } catch (err) {
      const code = classifyError(err).code;
      if (code === 'resourceNotReady' || code === 'RESOURCE_NOT_READY') {
        // Another operation is deleting it right now: try again shortly (then it is a 404: done).
        throw new GceApiError(`route ${name} is being changed by another operation`, { status: 503, reason: 'resourceNotReady' });
      }
      const gone = (err instanceof GceApiError && err.status === 404) || code === 'RESOURCE_NOT_FOUND';
      if (!gone) throw err;
      this.log.debug({ route: name }, 'route already gone');
    }
  }

  /**
   * Waits until the operation is DONE, until the deadline at most; a DONE operation with an error
   * throws GceOperationError. A wait may answer before DONE (GCE's wait returns after about two
   * minutes, or sooner: globalOperations.wait reference), so a pause comes before the next one.
   */
  private async waitDone(operation: GceOperation, signal: AbortSignal): Promise<void> {
    const clock = this.options.clock ?? SYSTEM_CLOCK;
    const wait = this.options.operationWait ?? {};
    const deadlineMs = wait.deadlineMs ?? OPERATION_DEADLINE_MS;
    const maxDelayMs = wait.maxDelayMs ?? 10_000;
    let delayMs = Math.min(wait.firstDelayMs ?? 1_000, maxDelayMs);
    const deadline = clock.now() + deadlineMs;
    let current = operation;
    const gaveUp = (): GceApiError =>
      new GceApiError(
        `operation ${current.name ?? '?'} (${current.operationType ?? '?'}) not DONE after ${deadlineMs} ms: no longer waiting for it`,
        { status: 503, reason: 'operationWaitTimeout' },
      );
    while (String(current.status) !== 'DONE') {
      if (!current.name) throw new Error('GCE answered an operation without a name');
      const left = deadline - clock.now();
      if (left <= 0) throw gaveUp();
      // The wait request itself ends at the deadline too.
      const bounded = linkedSignal(signal, left, gaveUp);
      try {
        current = await this.api.waitOperation(this.options.project, current.name, bounded.signal);
      } finally {
        bounded.release();
      }
      if (String(current.status) === 'DONE') break;
      const pause = Math.min(delayMs, deadline - clock.now());
      if (pause > 0) await clock.sleep(pause, signal);
      delayMs = Math.min(delayMs * 2, maxDelayMs);
    }
    if ((current.error?.errors?.length ?? 0) > 0) throw new GceOperationError(current);
  }

  /** One route by name, with routes.list and a name filter (not routes.get: one permission less). */
  private async findRoute(name: string, signal: AbortSignal): Promise<GceRoute | undefined> {
    const page = await this.api.listRoutes({ project: this.options.project, filter: `name = "${name}"`, maxResults: PAGE_SIZE }, signal);
    return page.items.find((r) => r.name === name);
  }

  /** After a 409: is the route of that name the one we wanted? */
  private sameRoute(found: GceRoute, wanted: GceRoute): boolean {
    const project = this.options.project;
    const same = (a: string | null | undefined, b: string | null | undefined): boolean => resourcePath(a ?? '', project) === resourcePath(b ?? '', project);
    let destination: string | undefined;
    try {
      destination = canonicalCidr(found.destRange ?? '');
    } catch {
      destination = undefined;
    }
    return (
      destination === wanted.destRange &&
      same(found.network, wanted.network) &&
      same(found.nextHopInstance, wanted.nextHopInstance) &&
      (found.priority ?? ROUTE_PRIORITY) === wanted.priority &&
      found.description === wanted.description
    );
  }

  // ------------------------------------------------------------ instances

  private async fetchInstances(signal: AbortSignal): Promise<InstanceLookup> {
    try {
      const index = new Map<string, InstanceEntry>();
      const unreachable: string[] = [];
      for await (const [scope, list] of this.api.aggregatedInstances(this.options.project, signal)) {
        const warning = list.warning?.code;
        if (warning !== undefined && warning !== null && warning !== 'NO_RESULTS_ON_PAGE' && (list.instances ?? []).length === 0) {
          unreachable.push(scope);
        }
        for (const instance of list.instances ?? []) {
          const target = instancePath(instance.selfLink ?? '', this.options.project);
          if (target === undefined) continue;
          for (const nic of instance.networkInterfaces ?? []) {
            if (!nic.network || !nic.networkIP || resourcePath(nic.network, this.options.project) !== this.tableId) continue;
            const existing = index.get(nic.networkIP);
            if (existing !== undefined && existing.target !== target) {
              this.log.warn({ ip: nic.networkIP, instances: [existing.target, target] }, 'two instances hold one IP in the network; using the first');
              continue;
            }
            index.set(nic.networkIP, { target, canIpForward: instance.canIpForward === true, status: String(instance.status ?? '') });
          }
        }
      }
      if (unreachable.length > 0) {
        this.log.warn({ scopes: unreachable }, 'instances.aggregatedList could not reach some zones: nodes not found there stay unresolved');
      }
      return { ok: true, index, unreachable };
    } catch (err) {
      const classified = classifyError(err);
      if (!signal.aborted) {
        this.log.warn({ code: classified.code, class: classified.class }, 'instances.aggregatedList failed: node IPs stay unresolved this pass');
      }
      return { ok: false, error: `${classified.code}: ${classified.message}` };
    }
  }
}

function hasMiss(index: ReadonlyMap<string, unknown>, ips: readonly string[]): boolean {
  return ips.some((ip) => !index.has(ip));
}

function hopOf(route: GceRoute): string {
  const last = (url: string | null | undefined): string => url?.split('/').slice(-1)[0] ?? '';
  if (route.nextHopInstance) return last(route.nextHopInstance);
  if (route.nextHopGateway) return last(route.nextHopGateway);
  if (route.nextHopIp) return route.nextHopIp;
  if (route.nextHopNetwork) return `subnet of ${last(route.nextHopNetwork)}`;
  if (route.nextHopVpnTunnel) return last(route.nextHopVpnTunnel);
  if (route.nextHopIlb) return last(route.nextHopIlb);
  if (route.nextHopPeering) return `peering ${route.nextHopPeering}`;
  return 'unknown';
}
