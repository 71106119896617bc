/**
 * The HTTP plumbing both simulators share: a loopback server whose delayed answers close() can
 * cancel, request bodies with a size cap, the `/_sim/<method>` JSON control API over a world, and
 * writing an outcome (an answer, or a reset connection). Each simulator brings its cloud's API.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** Waits `ms` (the server tracks these timers so close() can cancel them). */
export type Sleep = (ms: number) => Promise<void>;

/** What a request to the cloud API comes to: an answer, or the connection destroyed. */
export type SimOutcome =
  | { readonly kind: 'response'; readonly status: number; readonly headers: http.OutgoingHttpHeaders; readonly body: string }
  | { readonly kind: 'reset' };

export interface SimServerOptions {
  readonly host: string;
  readonly port: number;
  /** The world the control API calls into, and the methods it may call. */
  readonly world: object;
  readonly controlMethods: readonly string[];
  /** Extra fields of a control reply for an error a world method threw (after `error`, its message). */
  readonly describeError: (err: unknown) => Record<string, unknown>;
  /** Answers a request that is not for the control API. */
  readonly handle: (req: http.IncomingMessage, url: URL, body: string, sleep: Sleep) => Promise<SimOutcome>;
}

export interface SimServer {
  readonly url: string;
  readonly host: string;
  readonly port: number;
  /** Stops listening, drops keep-alive connections and pending delayed answers. */
  close(): Promise<void>;
}

const MAX_BODY_BYTES = 1024 * 1024;

export async function startSimServer(options: SimServerOptions): Promise<SimServer> {
  const { host } = options;
  const timers = new Set<NodeJS.Timeout>();
  const sleep: Sleep = (ms) =>
    new Promise((resolve) => {
      const timer = setTimeout(() => {
        timers.delete(timer);
        resolve();
      }, ms);
      timers.add(timer);
    });

  const server = http.createServer((req, res) => {
    void serve(options, req, res, sleep).catch((err: unknown) => {
      if (!res.headersSent) {
        res.writeHead(500, { 'content-type': 'text/plain' });
        res.end(`simulator failure: ${err instanceof Error ? err.stack : String(err)}`);
      } else res.destroy();
    });
  });
  server.keepAliveTimeout = 5000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, host, () => {
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

async function serve(options: SimServerOptions, req: http.IncomingMessage, res: http.ServerResponse, sleep: Sleep): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://simulator');
  const body = await readBody(req);
  if (body === undefined) {
    res.writeHead(413, { 'content-type': 'text/plain' });
    res.end('request body too large');
    return;
  }
  if (url.pathname.startsWith('/_sim/')) {
    serveControl(options, req.method ?? 'GET', url, body, res);
    return;
  }
  const outcome = await options.handle(req, url, body, sleep);
  if (outcome.kind === 'reset') {
    req.socket.destroy();
    return;
  }
  res.writeHead(outcome.status, outcome.headers);
  res.end(outcome.body);
}

function serveControl(options: SimServerOptions, method: string, url: URL, body: string, res: http.ServerResponse): void {
  const { world, controlMethods } = options;
  const reply = (status: number, payload: unknown): void => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(payload));
  };
  const name = url.pathname.slice('/_sim/'.length);
  if (!controlMethods.includes(name)) {
    reply(404, { error: `unknown control method ${name}; known: ${controlMethods.join(', ')}` });
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
    const fn = (world as Record<string, unknown>)[name] as (...a: unknown[]) => unknown;
    const result = fn.apply(world, args);
    reply(200, { result: result ?? null });
  } catch (err) {
    const e = err as { message?: unknown };
    reply(400, { error: String(e.message ?? err), ...options.describeError(err) });
  }
}

/** A request header as one string (repeated ones joined), '' when absent. */
export function header(req: http.IncomingMessage, name: string): string {
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
