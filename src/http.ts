/**
 * The operator's HTTP endpoints. /metrics, /healthz and /readyz are served on --listen, where
 * probes and Prometheus reach them. /status lists every lease, node, ENI and raw cloud error, so
 * it has a server of its own on --status-listen, loopback unless the operator opens it.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Telemetry } from './telemetry/index.js';

export interface HttpHandle {
  readonly port: number;
  close(): Promise<void>;
}

export interface Listen {
  readonly host: string;
  readonly port: number;
}

/**
 * Probes, scrapes and curl need little: a slow or piled-up client cannot hold the process.
 * socketIdleTimeoutMs closes a client that stops reading a large /status body, which would
 * otherwise hold one of the maxConnections slots for ever (server.timeout is off by default).
 */
export const LIMITS = { requestTimeoutMs: 10_000, headersTimeoutMs: 5_000, keepAliveTimeoutMs: 5_000, socketIdleTimeoutMs: 30_000, maxConnections: 64 } as const;

type Route = (req: IncomingMessage, send: (status: number, type: string, body: string | Buffer) => void) => void;

async function serve(listen: Listen, routes: Readonly<Record<string, Route>>, notFound: string): Promise<HttpHandle> {
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    const send = (status: number, type: string, body: string | Buffer): void => {
      res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body) });
      res.end(body);
    };
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(405, 'text/plain', 'method not allowed\n');
    const route = Object.hasOwn(routes, path) ? routes[path] : undefined;
    if (route === undefined) return send(404, 'text/plain', notFound);
    route(req, send);
  });
  server.requestTimeout = LIMITS.requestTimeoutMs;
  server.headersTimeout = LIMITS.headersTimeoutMs;
  server.keepAliveTimeout = LIMITS.keepAliveTimeoutMs;
  server.maxConnections = LIMITS.maxConnections;
  server.timeout = LIMITS.socketIdleTimeoutMs;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(listen.port, listen.host, () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** /metrics, /healthz, /readyz on --listen. */
export async function startHttpServer(listen: Listen, telemetry: Telemetry, ready: () => { ready: boolean; reason: string }): Promise<HttpHandle> {
  return serve(
    listen,
    {
      '/healthz': (_req, send) => send(200, 'text/plain', 'ok\n'),
      '/readyz': (_req, send) => {
        const state = ready();
        send(state.ready ? 200 : 503, 'text/plain', `${state.reason}\n`);
      },
      '/metrics': (_req, send) => {
        telemetry.registry
          .metrics()
          .then((body) => send(200, telemetry.registry.contentType, body))
          .catch((err: unknown) => send(500, 'text/plain', `${String(err)}\n`));
      },
    },
    'not found: try /metrics, /healthz, /readyz (/status is served on --status-listen, 127.0.0.1:9091 by default)\n',
  );
}

/** The detailed /status document on --status-listen. */
export async function startStatusServer(listen: Listen, telemetry: Telemetry): Promise<HttpHandle> {
  return serve(
    listen,
    // The cached bytes: a burst of requests costs socket writes, not a render each.
    { '/status': (_req, send) => send(200, 'application/json', telemetry.statusBody()) },
    'not found: try /status\n',
  );
}
