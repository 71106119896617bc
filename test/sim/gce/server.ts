/**
 * The GCE simulator as a real HTTP server: `/compute/v1/…` speaks Compute Engine's REST API (JSON),
 * `/_sim/<method>` is a JSON control API over the world for other processes.
 */
import { header, startSimServer } from '../shared/server.js';
import { handleGceRequest } from './api.js';
import { GceWorld, type GceWorldOptions } from './world.js';

export interface GceSimulatorOptions extends GceWorldOptions {
  /** Bind address; loopback only. Default 127.0.0.1. */
  readonly host?: string;
  /** Default 0: a free port. */
  readonly port?: number;
  /** Serve an existing world instead of a new one built from the options. */
  readonly world?: GceWorld;
}

export interface GceSimulator {
  /** `http://127.0.0.1:<port>`: what `--gce-endpoint` takes. */
  readonly url: string;
  readonly host: string;
  readonly port: number;
  readonly world: GceWorld;
  /** Stops listening, drops keep-alive connections and pending delayed answers (held waits included). */
  close(): Promise<void>;
}

/**
 * World methods callable through `POST /_sim/<method>` with a JSON body: an array of arguments, or
 * one object as the only argument (or nothing). `GET /_sim/<method>?a=…` passes query values as
 * positional arguments.
 */
export const CONTROL_METHODS = [
  'createNetwork',
  'addSubnet',
  'network',
  'networksList',
  'zones',
  'createInstance',
  'deleteInstance',
  'stopInstance',
  'startInstance',
  'setCanIpForward',
  'instance',
  'instancesList',
  'routes',
  'route',
  'countedRoutes',
  'addForeignRoute',
  'removeRoute',
  'insertRoute',
  'deleteRoute',
  'createRoute',
  'finishOperation',
  'operation',
  'operationsList',
  'pendingOperations',
  'settle',
  'projectInfo',
  'snapshot',
  'setRouteQuota',
  'routeQuota',
  'setTimeScale',
  'setOperationLatency',
  'setWriteRateLimit',
  'setReadRateLimit',
  'setFaults',
  'failNext',
  'failNextOperation',
  'resetConnectionNext',
  'setUnreachableZones',
  'clearFaults',
  'calls',
  'mutatingCalls',
  'inFlight',
  'clearCalls',
] as const satisfies ReadonlyArray<keyof GceWorld>;

export async function startGceSimulator(options: GceSimulatorOptions = {}): Promise<GceSimulator> {
  const world = options.world ?? new GceWorld(options);
  const host = options.host ?? '127.0.0.1';
  if (!/^127\.\d+\.\d+\.\d+$/.test(host)) throw new Error(`the GCE simulator binds loopback addresses only, not ${host}`);
  const server = await startSimServer({
    host,
    port: options.port ?? 0,
    world,
    controlMethods: CONTROL_METHODS,
    describeError: (err) => {
      const { reason, httpStatus } = err as { reason?: unknown; httpStatus?: unknown };
      return {
        ...(typeof reason === 'string' ? { reason } : {}),
        ...(typeof httpStatus === 'number' ? { httpStatus } : {}),
      };
    },
    handle: async (req, url, body, sleep) => {
      const outcome = await handleGceRequest(
        world,
        {
          httpMethod: req.method ?? 'GET',
          path: url.pathname,
          query: Object.fromEntries(url.searchParams),
          body,
          userAgent: header(req, 'user-agent'),
          apiClient: header(req, 'x-goog-api-client'),
          authorization: req.headers.authorization,
        },
        sleep,
      );
      if (outcome.kind === 'reset') return outcome;
      return {
        kind: 'response',
        status: outcome.status,
        headers: { 'content-type': 'application/json; charset=UTF-8', vary: 'Origin, X-Origin, Referer', server: 'ESF' },
        body: JSON.stringify(outcome.body, null, 1),
      };
    },
  });
  return { url: server.url, host, port: server.port, world, close: server.close };
}
