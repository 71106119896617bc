/** The operator's HTTP endpoints: /metrics, /healthz, /readyz, /status. */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Telemetry } from './telemetry.js';

export interface HttpHandle {
  readonly port: number;
  close(): Promise<void>;
}

export async function startHttpServer(
  listen: { host: string; port: number },
  telemetry: Telemetry,
  ready: () => { ready: boolean; reason: string },
): Promise<HttpHandle> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const send = (status: number, type: string, body: string): void => {
      res.writeHead(status, { 'content-type': type });
      res.end(body);
    };
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(405, 'text/plain', 'method not allowed\n');
    switch (path) {
      case '/healthz':
        return send(200, 'text/plain', 'ok\n');
      case '/readyz': {
        const state = ready();
        return send(state.ready ? 200 : 503, 'text/plain', `${state.reason}\n`);
      }
      case '/status':
        return send(200, 'application/json', `${JSON.stringify(telemetry.status(), null, 2)}\n`);
      case '/metrics':
        telemetry.registry
          .metrics()
          .then((body) => send(200, telemetry.registry.contentType, body))
          .catch((err: unknown) => send(500, 'text/plain', `${String(err)}\n`));
        return;
      default:
        return send(404, 'text/plain', 'not found: try /metrics, /healthz, /readyz, /status\n');
    }
  });
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
