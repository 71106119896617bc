/**
 * The narrow Compute Engine surface the gce provider uses: exactly the calls of the IAM role
 * (routes.list / insert / delete, globalOperations.wait, instances.aggregatedList). Tests stub this
 * interface; production wraps @google-cloud/compute's REST clients with `computeApiFromSettings`.
 *
 * What the wrapper adds to the library:
 * - one attempt per call (gax's own retries are off): routesync owns pacing and retries;
 * - the caller's AbortSignal (plus a per-request timeout) reaches the HTTP request itself, through
 *   an AsyncLocalStorage read by a request interceptor on the auth client's transporter;
 * - the user-agent suffix on every request;
 * - errors normalised into GceApiError (HTTP status + `errors[].reason`), whatever shape the library
 *   version throws (v6: GaxiosError with the JSON body in `message`; v7: GoogleError).
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { createRequire } from 'node:module';
import type * as Compute from '@google-cloud/compute';
import type { protos } from '@google-cloud/compute';
import { GoogleAuth, PassThroughClient, type AuthClient } from 'google-auth-library';
import { anySignal, linkedSignal } from '../../src/abort.js';
import { normaliseError } from './api-errors.js';

export type GceRoute = protos.google.cloud.compute.v1.IRoute;
export type GceOperation = protos.google.cloud.compute.v1.IOperation;
export type GceInstance = protos.google.cloud.compute.v1.IInstance;
export type GceInstancesScopedList = protos.google.cloud.compute.v1.IInstancesScopedList;

export interface ListRoutesRequest {
  readonly project: string;
  readonly maxResults?: number;
  readonly pageToken?: string;
  readonly filter?: string;
}

export interface RoutePage {
  readonly items: readonly GceRoute[];
  readonly nextPageToken: string | undefined;
}

export interface GceApi {
  /** One page of routes.list. */
  listRoutes(request: ListRoutesRequest, signal: AbortSignal): Promise<RoutePage>;
  /** routes.insert: the accepted operation (not waited for). */
  insertRoute(project: string, route: GceRoute, signal: AbortSignal): Promise<GceOperation>;
  /** routes.delete: the accepted operation (not waited for). */
  deleteRoute(project: string, route: string, signal: AbortSignal): Promise<GceOperation>;
  /** globalOperations.wait: returns when the operation is DONE or after about two minutes. */
  waitOperation(project: string, operation: string, signal: AbortSignal): Promise<GceOperation>;
  /** instances.aggregatedList, every page: `[scope, scoped list]` pairs (`zones/<zone>`). */
  aggregatedInstances(project: string, signal: AbortSignal): AsyncIterable<readonly [string, GceInstancesScopedList]>;
  /**
   * One page of instances.aggregatedList, optionally filtered. Optional: without it (a stub) the
   * node lookups list every page with aggregatedInstances.
   */
  aggregatedInstancesPage?(request: InstancesPageRequest, signal: AbortSignal): Promise<InstancesPage>;
  /** Releases sockets. */
  /**
   * projects.get, its quotas only (ROUTES among them: `limit`, `usage`). Optional: a surface
   * without it (a stub) cannot read quotas, and --route-limit auto falls back.
   */
  getProject?(project: string, signal: AbortSignal): Promise<GceProjectQuotas>;
  close(): Promise<void>;
}

export interface InstancesPageRequest {
  readonly project: string;
  readonly filter?: string;
  readonly pageToken?: string;
}

export interface InstancesPage {
  readonly scopes: ReadonlyArray<readonly [string, GceInstancesScopedList]>;
  readonly nextPageToken: string | undefined;
}

export interface GceProjectQuotas {
  readonly quotas: ReadonlyArray<{ readonly metric: string; readonly limit?: number; readonly usage?: number }>;
}

// ---------------------------------------------------------------- the real clients

export interface ComputeClientSettings {
  /** `http://127.0.0.1:8085` (a local endpoint: no Google auth) or `https://compute.googleapis.com` (default). */
  readonly endpoint?: string;
  /** Added to every request's User-Agent, e.g. `routesync/host-123-abc`. */
  readonly userAgentSuffix?: string;
  /** Per-request timeout, ms, of every call but operations.wait. Default 60 s. */
  readonly requestTimeoutMs?: number;
  /**
   * Timeout of an operations.wait request, ms: longer than the two minutes GCE may hold it
   * (globalOperations.wait reference). Default 150 s, or requestTimeoutMs if longer.
   */
  readonly waitTimeoutMs?: number;
  /** The auth client; default: PassThroughClient for an http:// endpoint, else Application Default Credentials. */
  readonly authClient?: AuthClient;
}

/** gax call options (the type of the one non-overloaded method that takes them). */
type CallOptions = NonNullable<Parameters<Compute.InstancesClient['aggregatedListAsync']>[1]>;

type ClientModules = {
  RoutesClient: typeof Compute.RoutesClient;
  GlobalOperationsClient: typeof Compute.GlobalOperationsClient;
  InstancesClient: typeof Compute.InstancesClient;
  ProjectsClient: typeof Compute.ProjectsClient;
};

let modules: ClientModules | undefined;

/**
 * The three v1 REST clients. Loading them one by one skips the package index, which also loads
 * the v1beta and v1small protos (about 1.5 s at every start); the index is the fallback should the
 * file layout change in a later release.
 */
function loadClients(): ClientModules {
  if (modules !== undefined) return modules;
  const require = createRequire(import.meta.url);
  try {
    modules = {
      RoutesClient: (require('@google-cloud/compute/build/src/v1/routes_client.js') as ClientModules).RoutesClient,
      GlobalOperationsClient: (require('@google-cloud/compute/build/src/v1/global_operations_client.js') as ClientModules).GlobalOperationsClient,
      InstancesClient: (require('@google-cloud/compute/build/src/v1/instances_client.js') as ClientModules).InstancesClient,
      ProjectsClient: (require('@google-cloud/compute/build/src/v1/projects_client.js') as ClientModules).ProjectsClient,
    };
    if (
      typeof modules.RoutesClient !== 'function' ||
      typeof modules.GlobalOperationsClient !== 'function' ||
      typeof modules.InstancesClient !== 'function' ||
      typeof modules.ProjectsClient !== 'function'
    ) {
      throw new Error('unexpected module layout');
    }
  } catch {
    modules = require('@google-cloud/compute') as ClientModules;
  }
  return modules;
}

const COMPUTE_SCOPE = 'https://www.googleapis.com/auth/compute';

interface Endpoint {
  readonly host: string;
  readonly port: number;
  readonly protocol: 'http' | 'https';
}

/** Parses `--gce-endpoint`: scheme, host and port only (the API paths are absolute). */
export function parseEndpoint(text: string): Endpoint {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new Error(`not a URL: ${text}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error(`${text}: only http:// and https:// endpoints are supported`);
  if (url.pathname !== '/' && url.pathname !== '') throw new Error(`${text}: give scheme, host and port only (the /compute/v1 paths are added by the client)`);
  const protocol = url.protocol === 'http:' ? 'http' : 'https';
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  return { host, port: url.port !== '' ? Number(url.port) : protocol === 'http' ? 80 : 443, protocol };
}

/** GCE's globalOperations.wait answers after at most about two minutes; its request waits longer. */
export const WAIT_REQUEST_TIMEOUT_MS = 150_000;

/** The AbortSignal of the call in progress: read by the transporter interceptor. */
const callSignal = new AsyncLocalStorage<AbortSignal>();

function propagateSignals(authClient: AuthClient): void {
  const marked = authClient as AuthClient & { __routesyncSignals?: boolean };
  if (marked.__routesyncSignals === true) return;
  marked.__routesyncSignals = true;
  authClient.transporter.interceptors.request.add({
    resolved: async (config) => {
      const signal = callSignal.getStore();
      if (signal !== undefined) {
        const existing = config.signal as AbortSignal | undefined;
        // Both are per request (not AbortSignal.any: its sources keep every composed signal, nodejs/node#55351).
        config.signal = existing !== undefined ? anySignal([existing, signal]) : signal;
      }
      return config;
    },
  });
}

/** Builds the auth client: none for plain http (a local endpoint), else Application Default Credentials. */
export async function createAuthClient(endpoint: string | undefined): Promise<AuthClient> {
  if (endpoint !== undefined && parseEndpoint(endpoint).protocol === 'http') return new PassThroughClient();
  const auth = new GoogleAuth({ scopes: [COMPUTE_SCOPE] });
  return (await auth.getClient()) as AuthClient;
}

/** Wraps the real REST clients; every call carries its AbortSignal down to the HTTP request. */
export function computeApiFromSettings(settings: ComputeClientSettings & { readonly authClient: AuthClient }): GceApi {
  const { RoutesClient, GlobalOperationsClient, InstancesClient, ProjectsClient } = loadClients();
  const authClient = settings.authClient;
  propagateSignals(authClient);
  const endpoint = settings.endpoint !== undefined ? parseEndpoint(settings.endpoint) : undefined;
  const options = {
    fallback: true,
    authClient,
    ...(endpoint !== undefined ? { apiEndpoint: endpoint.host, port: endpoint.port, protocol: endpoint.protocol } : {}),
  };
  const routes = new RoutesClient(options);
  const operations = new GlobalOperationsClient(options);
  const instances = new InstancesClient(options);
  const projects = new ProjectsClient(options);
  const timeoutMs = settings.requestTimeoutMs ?? 60_000;
  const waitTimeoutMs = settings.waitTimeoutMs ?? Math.max(WAIT_REQUEST_TIMEOUT_MS, timeoutMs);
  const headers: Record<string, string> = {};
  if (settings.userAgentSuffix !== undefined && settings.userAgentSuffix !== '') headers['User-Agent'] = settings.userAgentSuffix;
  // One attempt, no auto-paging: routesync pages and retries itself. gax adds its own headers to these.
  const callOptions = (timeout = timeoutMs): CallOptions => ({
    autoPaginate: false,
    retry: null,
    timeout,
    otherArgs: { headers: { ...headers } },
  });

  // Each request gets a signal of its own, linked to the caller's and released when it ends: the
  // caller's (a leadership's) lives long and must not collect a listener per request.
  const run = async <T>(signal: AbortSignal, call: () => Promise<T>, timeout = timeoutMs): Promise<T> => {
    signal.throwIfAborted();
    const own = linkedSignal(signal, timeout);
    try {
      return await callSignal.run(own.signal, call);
    } catch (err) {
      throw failure(err, signal, own.timedOut, timeout);
    } finally {
      own.release();
    }
  };

  return {
    listRoutes: (request, signal) =>
      run(signal, async () => {
        const [items, , raw] = await routes.list(
          {
            project: request.project,
            ...(request.maxResults !== undefined ? { maxResults: request.maxResults } : {}),
            ...(request.pageToken !== undefined ? { pageToken: request.pageToken } : {}),
            ...(request.filter !== undefined ? { filter: request.filter } : {}),
          },
          callOptions(),
        );
        const token = (raw as { nextPageToken?: string | null } | undefined)?.nextPageToken;
        return { items: items ?? [], nextPageToken: typeof token === 'string' && token !== '' ? token : undefined };
      }),
    insertRoute: (project, route, signal) =>
      run(signal, async () => operationOf((await routes.insert({ project, routeResource: route }, callOptions()))[0])),
    deleteRoute: (project, route, signal) =>
      run(signal, async () => operationOf((await routes.delete({ project, route }, callOptions()))[0])),
    getProject: (project, signal) =>
      run(signal, async () => {
        const [found] = await projects.get({ project }, callOptions());
        return {
          quotas: (found.quotas ?? []).map((q) => ({
            metric: q.metric ?? '',
            ...(typeof q.limit === 'number' ? { limit: q.limit } : {}),
            ...(typeof q.usage === 'number' ? { usage: q.usage } : {}),
          })),
        };
      }),
    waitOperation: (project, operation, signal) =>
      run(signal, async () => (await operations.wait({ project, operation }, callOptions(waitTimeoutMs)))[0], waitTimeoutMs),
    aggregatedInstances: (project, signal) => ({
      [Symbol.asyncIterator]: () => {
        signal.throwIfAborted();
        // One signal for the whole listing (every page), released when it ends, fails or is left.
        const own = linkedSignal(signal, timeoutMs);
        const iterator = callSignal.run(own.signal, () =>
          // returnPartialSuccess: an unreachable zone comes back as its scope's UNREACHABLE warning
          // (and in `unreachables`, which the item iterator does not surface) instead of failing the
          // whole listing (https://cloud.google.com/compute/docs/reference/rest/v1/instances/aggregatedList).
          instances.aggregatedListAsync({ project, maxResults: 500, returnPartialSuccess: true }, callOptions())[Symbol.asyncIterator](),
        );
        return {
          next: async () => {
            try {
              const step = await callSignal.run(own.signal, () => iterator.next());
              if (step.done === true) {
                own.release();
                return { done: true as const, value: undefined };
              }
              return { done: false as const, value: step.value };
            } catch (err) {
              own.release();
              throw failure(err, signal, own.timedOut, timeoutMs);
            }
          },
          return: () => {
            own.release();
            return Promise.resolve({ done: true as const, value: undefined });
          },
        };
      },
    }),
    aggregatedInstancesPage: (request, signal) =>
      run(signal, async () => {
        // One page with its nextPageToken: aggregatedListAsync hides the token, so the paged call
        // itself (autoPaginate off: [items, next request, raw response]). returnPartialSuccess as
        // below; maxResults 500 is the API's largest page.
        await instances.initialize();
        const call = instances.innerApiCalls['aggregatedList'] as (request: unknown, options: CallOptions) => Promise<[unknown, unknown, unknown]>;
        const [, , raw] = await call(
          {
            project: request.project,
            maxResults: 500,
            returnPartialSuccess: true,
            ...(request.filter !== undefined ? { filter: request.filter } : {}),
            ...(request.pageToken !== undefined ? { pageToken: request.pageToken } : {}),
          },
          callOptions(),
        );
        const body = raw as { items?: Record<string, GceInstancesScopedList> | null; nextPageToken?: string | null } | undefined;
        const token = body?.nextPageToken;
        return { scopes: Object.entries(body?.items ?? {}), nextPageToken: typeof token === 'string' && token !== '' ? token : undefined };
      }),
    close: async () => {
      await Promise.allSettled([routes.close(), operations.close(), instances.close(), projects.close()]);
    },
  };
}

/** v6 answers insert/delete with an LRO-style wrapper holding the Operation in `latestResponse`. */
function operationOf(result: unknown): GceOperation {
  if (typeof result === 'object' && result !== null && 'latestResponse' in result) {
    return (result as { latestResponse: GceOperation }).latestResponse;
  }
  return result as GceOperation;
}

/** What a failed request throws: the caller's abort reason, a timeout, or a normalised API error. */
function failure(err: unknown, signal: AbortSignal, timedOut: boolean, timeoutMs: number): unknown {
  if (signal.aborted) return signal.reason instanceof Error ? signal.reason : abortError(signal.reason);
  if (timedOut) return Object.assign(new Error(`Compute API request timed out after ${timeoutMs} ms`), { code: 'ETIMEDOUT' });
  return normaliseError(err);
}

function abortError(reason: unknown): Error {
  const error = new Error(typeof reason === 'string' ? reason : 'The operation was aborted');
  error.name = 'AbortError';
  return error;
}
