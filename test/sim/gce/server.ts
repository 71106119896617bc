/**
 * The GCE simulator as a real HTTP server: `/compute/v1/…` speaks Compute Engine's REST API (JSON),
 * `/_sim/<method>` is a JSON control API over the world for other processes.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
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

const MAX_BODY_BYTES = 1024 * 1024;

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
  const timers = new Map<NodeJS.Timeout, () => void>();
  const sleep = (ms: number): Promise<void> =>
    new Promise((resolve) => {
      const timer = setTimeout(() => {
        timers.delete(timer);
        resolve();
      }, ms);
      timers.set(timer, resolve);
    });

  const server = http.createServer((req, res) => {
    void serve(world, req, res, sleep).catch((err: unknown) => {
      if (!res.headersSent) {
        res.writeHead(500, { 'content-type': 'text/plain' });
        res.end(`simulator failure: ${err instanceof Error ? err.stack : String(err)}`);
      } else res.destroy();
    });
  });
  server.keepAliveTimeout = 5000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  let closed: Promise<void> | undefined;
  return {
    url: `http://${host}:${port}`,
    host,
    port,
    world,
    close: () => {
      closed ??= new Promise<void>((resolve) => {
        for (const timer of timers.keys()) clearTimeout(timer);
        timers.clear();
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closed;
    },
  };
}

async function serve(world: GceWorld, req: http.IncomingMessage, res: http.ServerResponse, sleep: (ms: number) => Promise<void>): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://simulator');
  const body = await readBody(req);
  if (body === undefined) {
    res.writeHead(413, { 'content-type': 'text/plain' });
    res.end('request body too large');
    return;
  }
  if (url.pathname.startsWith('/_sim/')) {
    serveControl(world, req.method ?? 'GET', url, body, res);
    return;
  }
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
  if (outcome.kind === 'reset') {
    req.socket.destroy();
    return;
  }
  res.writeHead(outcome.status, {
    'content-type': 'application/json; charset=UTF-8',
    vary: 'Origin, X-Origin, Referer',
    server: 'ESF',
  });
  res.end(JSON.stringify(outcome.body, null, 1));
}

function serveControl(world: GceWorld, method: string, url: URL, body: string, res: http.ServerResponse): void {
  const reply = (status: number, payload: unknown): void => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(payload));
  };
  const name = url.pathname.slice('/_sim/'.length);
  if (!(CONTROL_METHODS as readonly string[]).includes(name)) {
    reply(404, { error: `unknown control method ${name}; known: ${CONTROL_METHODS.join(', ')}` });
    return;
  }
  let args: unknown[];
  if (method === 'GET') {
    args = [...url.searchParams.values()];
  } else if (method === 'POST') {
    try {
      const parsed: unknown = body.trim() === '' ? [] : JSON.parse(body);
      args = Array.isArray(parsed) ? parsed : [parsed];
    } catch (err) {
      reply(400, { error: `body is not JSON: ${String(err)}` });
      return;
    }
  } else {
    reply(405, { error: 'use GET or POST' });
    return;
  }
  try {
    const fn = world[name as (typeof CONTROL_METHODS)[number]] as (...a: unknown[]) => unknown;
    const result = fn.apply(world, args);
    reply(200, { result: result ?? null });
  } catch (err) {
    const e = err as { reason?: unknown; httpStatus?: unknown; message?: unknown };
    reply(400, {
      error: String(e.message ?? err),
      ...(typeof e.reason === 'string' ? { reason: e.reason } : {}),
      ...(typeof e.httpStatus === 'number' ? { httpStatus: e.httpStatus } : {}),
    });
  }
}

function header(req: http.IncomingMessage, name: string): string {
  const value = req.headers[name];
  return Array.isArray(value) ? value.join(', ') : (value ?? '');
}

async function readBody(req: http.IncomingMessage): Promise<string | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buffer = chunk as Buffer;
    size += buffer.length;
    if (size > MAX_BODY_BYTES) return undefined;
    chunks.push(buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}
