/**
 * The narrow Compute Engine surface the gce provider uses: exactly the calls of the IAM role
 * (routes.list / insert / delete, globalOperations.wait, instances.aggregatedList, projects.get).
 * Tests stub this interface; production calls the Compute v1 REST API with `computeApiFromSettings`.
 *
 * Why not @google-cloud/compute: its four v1 REST clients load and keep the protobuf model of the
 * whole Compute API (an 11 MB protos.json): measured on Node 20, 118 MB of RSS and 0.8 s before
 * the first call, against 13 MB for google-auth-library alone, and every response is converted
 * through that model. routesync's memory budget (120 MB at 10,000 leases) cannot hold it. The
 * leaner official path is Google's auth library for the credentials (Application Default
 * Credentials: a service account key, the metadata server on GCE/GKE, workload identity) and the
 * documented JSON API itself (https://cloud.google.com/compute/docs/reference/rest/v1), over
 * Node's http (http-transport.ts):
 * - one attempt per call, no retries: routesync owns pacing and retries;
 * - the caller's AbortSignal (plus a per-request timeout) reaches the HTTP request itself;
 * - the user-agent suffix on every request;
 * - an error answer becomes a GceApiError (HTTP status + `errors[].reason`, api-errors.ts).
 */
import { GoogleAuth, PassThroughClient, type AuthClient } from 'google-auth-library';
import { linkedSignal, untilAborted } from '../../src/abort.js';
import { apiErrorFromResponse, normaliseError } from './api-errors.js';
import { send } from './http-transport.js';
import type { GceInstancesScopedList, GceOperation, GceRoute } from './compute-types.js';

export type { GceInstance, GceInstancesScopedList, GceOperation, GceRoute } from './compute-types.js';

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
  /** One page of instances.aggregatedList, optionally filtered: `[scope, scoped list]` pairs (`zones/<zone>`). */
  aggregatedInstancesPage(request: InstancesPageRequest, signal: AbortSignal): Promise<InstancesPage>;
  /**
   * projects.get, its quotas only (ROUTES among them: `limit`, `usage`). Optional: a surface
   * without it (a stub) cannot read quotas, and --route-limit auto falls back.
   */
  getProject?(project: string, signal: AbortSignal): Promise<GceProjectQuotas>;
  /** Releases what the surface holds. */
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

// ---------------------------------------------------------------- the real client

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

const COMPUTE_SCOPE = 'https://www.googleapis.com/auth/compute';
const DEFAULT_ENDPOINT = 'https://compute.googleapis.com';

/** GCE's globalOperations.wait answers after at most about two minutes; its request waits longer. */
export const WAIT_REQUEST_TIMEOUT_MS = 150_000;

/** Builds the auth client: none for plain http (a local endpoint), else Application Default Credentials. */
export async function createAuthClient(endpoint: string | undefined): Promise<AuthClient> {
  // --gce-endpoint is checked where flags are read (flags.ts): scheme, host and port.
  if (endpoint !== undefined && new URL(endpoint).protocol === 'http:') return new PassThroughClient();
  const auth = new GoogleAuth({ scopes: [COMPUTE_SCOPE] });
  return (await auth.getClient()) as AuthClient;
}

type Query = Record<string, string | number | boolean | undefined>;

/** The Compute v1 REST API; every call carries its AbortSignal down to the HTTP request. */
export function computeApiFromSettings(settings: ComputeClientSettings & { readonly authClient: AuthClient }): GceApi {
  const authClient = settings.authClient;
  const origin = settings.endpoint !== undefined ? new URL(settings.endpoint).origin : DEFAULT_ENDPOINT;
  const timeoutMs = settings.requestTimeoutMs ?? 60_000;
  const waitTimeoutMs = settings.waitTimeoutMs ?? Math.max(WAIT_REQUEST_TIMEOUT_MS, timeoutMs);
  const runtime = `gl-node/${process.versions.node}`;
  const userAgent = settings.userAgentSuffix !== undefined && settings.userAgentSuffix !== '' ? `${settings.userAgentSuffix} ${runtime}` : runtime;
  const projectPath = (project: string): string => `/compute/v1/projects/${encodeURIComponent(project)}`;

  // Each request gets a signal of its own, linked to the caller's and released when it ends: the
  // caller's (a leadership's) lives long and must not collect a listener per request.
  const call = async <T>(method: string, path: string, signal: AbortSignal, options: { query?: Query; body?: unknown; timeout?: number } = {}): Promise<T> => {
    signal.throwIfAborted();
    const timeout = options.timeout ?? timeoutMs;
    const own = linkedSignal(signal, timeout);
    try {
      const url = new URL(path, origin);
      for (const [key, value] of Object.entries(options.query ?? {})) if (value !== undefined) url.searchParams.set(key, String(value));
      // The credentials' headers (Authorization; refreshed by the auth library when near expiry).
      // A token fetch takes no signal: an abort or the timeout must not wait for it.
      const headers: Record<string, string> = {};
      (await untilAborted(authClient.getRequestHeaders(url.href), own.signal)).forEach((value, key) => (headers[key] = value));
      headers['user-agent'] = userAgent;
      headers['accept-encoding'] = 'gzip';
      headers['x-goog-api-client'] = runtime;
      if (options.body !== undefined) headers['content-type'] = 'application/json';
      own.signal.throwIfAborted();
      const answer = await send(url, { method, headers, signal: own.signal, ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}) });
      if (answer.status < 200 || answer.status > 299) throw apiErrorFromResponse(answer.status, answer.body);
      return parseAnswer<T>(answer.body);
    } catch (err) {
      throw failure(err, signal, own.timedOut, timeout);
    } finally {
      own.release();
    }
  };

  const instancesPage = (request: InstancesPageRequest, signal: AbortSignal): Promise<InstancesPage> =>
    // returnPartialSuccess: an unreachable zone comes back as its scope's UNREACHABLE warning
    // instead of failing the whole listing; 500 is the largest page
    // (https://cloud.google.com/compute/docs/reference/rest/v1/instances/aggregatedList).
    call<{ items?: Record<string, GceInstancesScopedList> | null; nextPageToken?: string | null }>('GET', `${projectPath(request.project)}/aggregated/instances`, signal, {
      query: { maxResults: 500, returnPartialSuccess: true, filter: request.filter, pageToken: request.pageToken },
    }).then((body) => ({ scopes: Object.entries(body.items ?? {}), nextPageToken: tokenOf(body.nextPageToken) }));

  return {
    listRoutes: async (request, signal) => {
      const body = await call<{ items?: GceRoute[] | null; nextPageToken?: string | null }>('GET', `${projectPath(request.project)}/global/routes`, signal, {
        query: { maxResults: request.maxResults, pageToken: request.pageToken, filter: request.filter },
      });
      return { items: body.items ?? [], nextPageToken: tokenOf(body.nextPageToken) };
    },
    insertRoute: (project, route, signal) => call<GceOperation>('POST', `${projectPath(project)}/global/routes`, signal, { body: route }),
    deleteRoute: (project, route, signal) => call<GceOperation>('DELETE', `${projectPath(project)}/global/routes/${encodeURIComponent(route)}`, signal),
    getProject: async (project, signal) => {
      const found = await call<{ quotas?: ReadonlyArray<{ metric?: string; limit?: number; usage?: number }> | null }>('GET', projectPath(project), signal);
      return {
        quotas: (found.quotas ?? []).map((q) => ({
          metric: q.metric ?? '',
          ...(typeof q.limit === 'number' ? { limit: q.limit } : {}),
          ...(typeof q.usage === 'number' ? { usage: q.usage } : {}),
        })),
      };
    },
    waitOperation: (project, operation, signal) =>
      call<GceOperation>('POST', `${projectPath(project)}/global/operations/${encodeURIComponent(operation)}/wait`, signal, { timeout: waitTimeoutMs }),
    aggregatedInstancesPage: instancesPage,
    // The transport's kept-alive connections close when idle: nothing to release.
    close: () => Promise.resolve(),
  };
}

/** A 2xx answer's JSON; anything else (a proxy's page) is a transient failure, not a fatal bug. */
function parseAnswer<T>(body: string): T {
  if (body === '') return {} as T;
  try {
    return JSON.parse(body) as T;
  } catch {
    throw Object.assign(new Error(`the Compute API answered with a body that is not JSON: ${body.slice(0, 120)}`), { code: 'BadAnswerBody' });
  }
}

const tokenOf = (token: string | null | undefined): string | undefined => (typeof token === 'string' && token !== '' ? token : undefined);

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
