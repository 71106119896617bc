/**
 * The EC2 simulator as a real HTTP server: `POST /` speaks the EC2 Query API (form body, XML
 * answers), `/_sim/<method>` is a JSON control API over the world for other processes.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { handleEc2Request } from './api.js';
import { parseQuery } from './query.js';
import { Ec2World, type Ec2WorldOptions } from './world.js';

export interface Ec2SimulatorOptions extends Ec2WorldOptions {
  /** Bind address; loopback only. Default 127.0.0.1. */
  readonly host?: string;
  /** Default 0: a free port. */
  readonly port?: number;
  /** Serve an existing world instead of a new one built from the options. */
  readonly world?: Ec2World;
}

export interface Ec2Simulator {
  /** `http://127.0.0.1:<port>`: the EC2 endpoint. */
  readonly url: string;
  readonly port: number;
  readonly world: Ec2World;
  /** Stops listening, drops keep-alive connections and pending delayed answers. */
  close(): Promise<void>;
}

const MAX_BODY_BYTES = 1024 * 1024;

/**
 * World methods callable through `POST /_sim/<method>` with a JSON body: an array of arguments, or
 * one object as the only argument (or nothing). `GET /_sim/<method>?arg=…` passes query values as
 * positional arguments for the read-only ones.
 */
export const CONTROL_METHODS = [
  'createVpc',
  'createSubnet',
  'createRouteTable',
  'setTags',
  'setRouteLimit',
  'routeLimitOf',
  'routeTable',
  'routeTables',
  'routes',
  'route',
  'addForeignRoute',
  'removeRoute',
  'createRoute',
  'replaceRoute',
  'deleteRoute',
  'setSourceDestCheck',
  'countedRoutesOf',
  'launchInstance',
  'terminateInstance',
  'createNetworkInterface',
  'attachNetworkInterface',
  'detachNetworkInterface',
  'deleteNetworkInterface',
  'assignPrivateIp',
  'unassignPrivateIp',
  'networkInterface',
  'networkInterfaces',
  'instance',
  'instancesList',
  'vpc',
  'subnet',
  'snapshot',
  'setTimeScale',
  'setThrottling',
  'setFaults',
  'failNext',
  'resetConnectionNext',
  'clearFaults',
  'calls',
  'callStats',
  'mutatingCalls',
  'inFlight',
  'clearCalls',
] as const satisfies ReadonlyArray<keyof Ec2World>;

export async function startEc2Simulator(options: Ec2SimulatorOptions = {}): Promise<Ec2Simulator> {
  const world = options.world ?? new Ec2World(options);
  const host = options.host ?? '127.0.0.1';
  const timers = new Set<NodeJS.Timeout>();
  const sleep = (ms: number): Promise<void> =>
    new Promise((resolve) => {
      const timer = setTimeout(() => {
        timers.delete(timer);
        resolve();
      }, ms);
      timers.add(timer);
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
    port,
    world,
    close: () => {
      closed ??= new Promise<void>((resolve) => {
        for (const timer of timers) clearTimeout(timer);
        timers.clear();
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closed;
    },
  };
}

async function serve(
  world: Ec2World,
  req: http.IncomingMessage,
  res: http.ServerResponse,
  sleep: (ms: number) => Promise<void>,
): Promise<void> {
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
  if (url.pathname !== '/' || (req.method !== 'POST' && req.method !== 'GET')) {
    res.writeHead(404, { 'content-type': 'text/plain' });
    res.end('not found: the EC2 API is POST /');
    return;
  }
  const params = { ...parseQuery(url.search.slice(1)), ...(req.method === 'POST' ? parseQuery(body) : {}) };
  const outcome = await handleEc2Request(
    world,
    {
      params,
      userAgent: header(req, 'user-agent'),
      amzUserAgent: header(req, 'x-amz-user-agent'),
      authorization: req.headers.authorization,
    },
    sleep,
  );
  if (outcome.kind === 'reset') {
    req.socket.destroy();
    return;
  }
  res.writeHead(outcome.status, {
    'content-type': 'text/xml;charset=UTF-8',
    'x-amzn-requestid': outcome.requestId,
    server: 'AmazonEC2',
  });
  res.end(outcome.body);
}

function serveControl(world: Ec2World, method: string, url: URL, body: string, res: http.ServerResponse): void {
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
    const e = err as { code?: unknown; message?: unknown };
    reply(400, { error: String(e.message ?? err), ...(typeof e.code === 'string' ? { code: e.code } : {}) });
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
