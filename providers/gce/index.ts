/**
 * The gce provider: Compute Engine routes of one VPC network as routesync's capacity domain
 * (docs/architecture.md, 'GCE facts').
 *
 * - listTables: one routes.list listing of the whole project per pass (the ROUTES quota is per
 *   project), as one table: the IPv4 routes of `--gce-network` are its managed space, the other
 *   routes of the project share its quota (route-mapping.ts; the planner decides what counts).
 * - resolveNodes: node IP → the instance holding it in `--gce-network`, cached; lookups of new
 *   IPs and a bounded re-check per resync (instances.ts).
 * - apply: routes.insert / routes.delete, each followed by globalOperations.wait until DONE (a
 *   pause that backs off between waits answered before DONE, and a deadline: then the change fails
 *   as transient and a later pass sees what became of it: operation-wait.ts); a DONE
 *   operation with an error throws GceOperationError (src/errors.ts classifies its code:
 *   QUOTA_EXCEEDED → lease). 409 alreadyExists on insert of an identical route and 404 on delete
 *   are done. GCE routes are immutable: a replace the planner lent a free slot (makeBeforeBreak)
 *   inserts the new route under the destination's other name with a winning priority, then
 *   deletes the old one; otherwise it is delete-then-insert, logged.
 *
 * The provider never retries: each call is one attempt; the caller paces and retries with classifyError.
 */
import type { AuthClient } from 'google-auth-library';
import { withSignal } from '../../src/abort.js';
import { ConfigError, classifyError } from '../../src/errors.js';
import type { Change, NodeResolution, RouteProvider, RouteTable } from '../provider.js';
import { computeApiFromSettings, createAuthClient, type GceApi, type GceOperation, type GceRoute } from './compute-api.js';
import { GceApiError } from './api-errors.js';
import { nodeEligibility } from './eligibility.js';
import { InstanceLookups } from './instances.js';
import { waitDone, type OperationWaitOptions, type WaitClock } from './operation-wait.js';
import { GceRouteQuotaReader } from './route-quota.js';
import {
  ROUTE_PRIORITY,
  alternateRouteName,
  mapRoutes,
  movedRoutePriority,
  networkPath,
  routeBody,
  routeName,
  sameRoute,
  type MappingContext,
} from './route-mapping.js';

export { GceApiError, GceOperationError, normaliseError } from './api-errors.js';
export {
  computeApiFromSettings,
  createAuthClient,
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

export { OPERATION_DEADLINE_MS, type OperationWaitOptions, type WaitClock } from './operation-wait.js';
export { instancePath, networkPath, resourcePath, routeDescription, routeName, ROUTE_PRIORITY } from './route-mapping.js';

export const PROVIDER_NAME = 'gce';
/** routes.list page size (GCE's maximum). */
const PAGE_SIZE = 500;

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
  /** --route-limit: a number, or `auto`: the project's ROUTES quota from projects.get. */
  readonly routeLimit: number | 'auto';
  /** The limit when `auto` cannot read the quota (default 100: see flags.ts). */
  readonly routeLimitFallback?: number;
  /** How often the quota is read again, ms (default hourly), and how soon after a failed read. */
  readonly quotaRefreshMs?: number;
  readonly quotaRetryMs?: number;
  /** --gce-endpoint; an http:// endpoint is used without Google auth. */
  readonly endpoint?: string;
  /** Appended to every request's User-Agent. */
  readonly userAgentSuffix?: string;
  readonly logger?: GceLogger;
  /** --node-network-tag, --node-label: only instances carrying one of them are targets (eligibility.ts). */
  readonly nodeNetworkTags?: readonly string[];
  readonly nodeLabels?: ReadonlyArray<{ readonly key: string; readonly value: string }>;
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

const NO_LOG: GceLogger = { debug: () => undefined, info: () => undefined, warn: () => undefined };

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
  private readonly mapping: MappingContext;
  private readonly instances: InstanceLookups;
  private readonly quota: GceRouteQuotaReader;
  /** Owner-marked route names per destination from the last listing, the canonical name first. */
  private markedNames = new Map<string, string[]>();
  private markedPriorities = new Map<string, number>();
  private lastOutside: string | undefined;

  constructor(
    private readonly api: GceApi,
    private readonly options: GceProviderOptions,
    private readonly log: GceLogger,
  ) {
    this.tableId = networkPath(options.project, options.network);
    this.mapping = { project: options.project, clusterName: options.clusterName, tableId: this.tableId };
    this.quota = new GceRouteQuotaReader(
      api,
      {
        project: options.project,
        routeLimit: options.routeLimit,
        fallback: options.routeLimitFallback ?? 100,
        ...(options.quotaRefreshMs !== undefined ? { refreshMs: options.quotaRefreshMs } : {}),
        ...(options.quotaRetryMs !== undefined ? { retryMs: options.quotaRetryMs } : {}),
      },
      log,
    );
    const ineligible = nodeEligibility({ nodeNetworkTags: options.nodeNetworkTags ?? [], nodeLabels: options.nodeLabels ?? [] });
    this.instances = new InstanceLookups(api, options.project, this.tableId, log, ineligible);
  }

  // Each call runs on a signal of its own, released when it ends: hundreds of changes in flight
  // would otherwise each leave listeners (requests, pauses) on the caller's long-lived signal.
  listTables(signal: AbortSignal): Promise<RouteTable[]> {
    return withSignal(signal, (own) => this.listTablesOnce(own));
  }

  resolveNodes(nodeIps: readonly string[], signal: AbortSignal, options?: { readonly refresh?: boolean }): Promise<Map<string, NodeResolution>> {
    return withSignal(signal, (own) => this.instances.resolve(nodeIps, own, options));
  }

  apply(change: Change, signal: AbortSignal): Promise<void> {
    return withSignal(signal, (own) => this.applyOnce(change, own));
  }

  private async listTablesOnce(signal: AbortSignal): Promise<RouteTable[]> {
    const listed = await this.listAllRoutes(signal);
    // Right after the listing, so that its usage describes the same moment (when this pass reads).
    const reading = await this.quota.current(signal);
    const mapped = mapRoutes(listed, this.mapping);
    this.markedNames = mapped.markedNames;
    this.markedPriorities = mapped.markedPriorities;
    // Routes GCE shows with a gone next hop: their node IPs are looked up again.
    this.instances.sawGoneTargets(new Set(mapped.routes.flatMap((r) => (r.blackhole && r.target !== null ? [r.target] : []))));

    const { otherNetworks, unsupported } = mapped.staticOutside;
    const summary = `${otherNetworks}/${unsupported}`;
    if (summary !== this.lastOutside) {
      this.lastOutside = summary;
      if (otherNetworks + unsupported > 0) {
        this.log.info(
          { otherNetworks, unparseable: unsupported, routeLimit: reading.limit },
          `${otherNetworks + unsupported} static route(s) outside ${this.tableId} share the project's ROUTES quota with it`,
        );
      }
    }
    return [
      {
        id: this.tableId,
        limit: reading.limit,
        limitSource: reading.source,
        ...(reading.readAt !== undefined ? { limitReadAt: reading.readAt } : {}),
        ...(reading.usage !== undefined ? { quotaUsage: reading.usage } : {}),
        quota: 'gce-routes-per-project',
        routes: mapped.routes,
        replaceNeedsSpareSlot: true,
      },
    ];
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
        // GCE routes cannot be changed in place. With a free slot, make before break: the new route
        // goes in beside the old one, winning on priority, and the old one goes once it is DONE.
        const old = this.nameToDelete(change.destination, false);
        const why = change.makeBeforeBreak === true ? this.cannotMove(change.destination, old) : 'no free slot of the route limit for both routes at once';
        if (why === undefined) {
          const name = old === routeName(this.options.clusterName, change.destination) ? alternateRouteName(this.options.clusterName, change.destination) : routeName(this.options.clusterName, change.destination);
          await this.insert(change.destination, change.target, signal, { name, priority: movedRoutePriority(this.priorityOf(old)) ?? ROUTE_PRIORITY });
          await this.delete(old, signal);
          return;
        }
        this.log.info({ destination: change.destination, route: old, why }, 'moving the route deletes it before inserting the new one: its destination has no route for a moment');
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
    const names = this.markedNames.get(destination);
    const canonical = routeName(this.options.clusterName, destination);
    if (names === undefined || names.length === 0) return canonical;
    // Taken synchronously, so concurrent deletes of one destination pick different routes.
    const name = duplicate && names.length > 1 ? names.pop() : names.shift();
    return name ?? canonical;
  }

  private priorityOf(name: string): number {
    return this.markedPriorities.get(name) ?? ROUTE_PRIORITY;
  }

  /** Why a move of `destination` away from route `old` cannot make before it breaks (undefined: it can). */
  private cannotMove(destination: string, old: string): string | undefined {
    if (movedRoutePriority(this.priorityOf(old)) === undefined) return `route ${old} has priority 0: no priority wins over it`;
    const others = this.markedNames.get(destination) ?? [];
    if (others.length > 0) return `other routes of the destination (${others.join(', ')}) are still there`;
    return undefined;
  }

  private async insert(destination: string, target: string, signal: AbortSignal, as?: { readonly name: string; readonly priority: number }): Promise<void> {
    const body = routeBody(this.mapping, destination, target, as);
    let operation: GceOperation;
    try {
      operation = await this.api.insertRoute(this.options.project, body, signal);
      await waitDone(this.api, this.options.project, operation, signal, this.options);
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
      if (sameRoute(existing, body, this.options.project)) {
        this.log.debug({ route: body.name }, 'route already exists as wanted');
        return;
      }
      throw err;
    }
  }

  private async delete(name: string, signal: AbortSignal): Promise<void> {
    try {
      const operation = await this.api.deleteRoute(this.options.project, name, signal);
      await waitDone(this.api, this.options.project, operation, signal, this.options);
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

  /** One route by name, with routes.list and a name filter (not routes.get: one permission less). */
  private async findRoute(name: string, signal: AbortSignal): Promise<GceRoute | undefined> {
    const page = await this.api.listRoutes({ project: this.options.project, filter: `name = "${name}"`, maxResults: PAGE_SIZE }, signal);
    return page.items.find((r) => r.name === name);
  }
}
