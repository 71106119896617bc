/**
 * The Compute REST client's edges that the GCE simulator does not produce: answers compressed,
 * cut mid-body, or not JSON (a proxy's page), error bodies in HTML, and a token fetch that hangs.
 * Real HTTP servers on loopback, one per test, each stopped by the test.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import { PassThroughClient } from 'google-auth-library';
import { afterEach, describe, expect, it } from 'vitest';
import { apiErrorFromResponse } from '../../providers/gce/api-errors.js';
import { computeApiFromSettings } from '../../providers/gce/compute-api.js';
import { classifyError } from '../../src/errors.js';

const servers: Server[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

async function serve(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<{ url: string; requests: IncomingMessage[] }> {
  const requests: IncomingMessage[] = [];
  const server = createServer((req, res) => {
    requests.push(req);
    handler(req, res);
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, requests };
}

const api = (url: string, authClient = new PassThroughClient()) => computeApiFromSettings({ endpoint: url, authClient, requestTimeoutMs: 2000 });
const failure = (work: Promise<unknown>): Promise<unknown> => work.then(() => undefined, (err: unknown) => err);
const never = new AbortController().signal;

describe('Compute REST client', () => {
  it('asks for gzip and reads a gzip answer', async () => {
    const body = JSON.stringify({ items: [{ name: 'c1-10-1-1-0-24', destRange: '10.1.1.0/24' }], nextPageToken: 'next' });
    const server = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'gzip' });
      res.end(gzipSync(body));
    });
    const page = await api(server.url).listRoutes({ project: 'p-12345', maxResults: 500 }, never);
    expect(page).toEqual({ items: [{ name: 'c1-10-1-1-0-24', destRange: '10.1.1.0/24' }], nextPageToken: 'next' });
    expect(server.requests[0]?.headers['accept-encoding']).toBe('gzip');
    expect(server.requests[0]?.url).toBe('/compute/v1/projects/p-12345/global/routes?maxResults=500');
  });

  it('an answer cut before its end is a transient failure', async () => {
    const server = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': '1000' });
      res.write('{"items": [');
      setImmediate(() => res.socket?.destroy());
    });
    const error = await failure(api(server.url).listRoutes({ project: 'p-12345' }, never));
    expect(classifyError(error)).toMatchObject({ class: 'transient', code: 'ECONNRESET' });
  });

  it("a 200 that is not JSON (a proxy's page) is a transient failure, not a fatal one", async () => {
    const server = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end('<html><body>Sign in to the proxy</body></html>');
    });
    const error = await failure(api(server.url).listRoutes({ project: 'p-12345' }, never));
    expect(classifyError(error)).toMatchObject({ class: 'transient', code: 'BadAnswerBody' });
  });

  it('an error answer: JSON gives status and reason; an HTML page gives the status', async () => {
    const json = apiErrorFromResponse(403, JSON.stringify({ error: { code: 403, message: 'Rate Limit Exceeded', errors: [{ reason: 'rateLimitExceeded', domain: 'usageLimits', message: 'Rate Limit Exceeded' }] } }));
    expect(classifyError(json)).toMatchObject({ class: 'throttled', code: 'rateLimitExceeded', httpStatus: 403, message: 'Rate Limit Exceeded' });
    const html = apiErrorFromResponse(502, '<html><title>502 Bad Gateway</title></html>');
    expect(classifyError(html)).toMatchObject({ class: 'transient', httpStatus: 502 });
    expect(html.message).toContain('HTTP 502');
  });

  it('a token fetch that hangs does not hold an abort back', async () => {
    const server = await serve((_req, res) => res.end('{}'));
    const hanging = new PassThroughClient();
    hanging.getRequestHeaders = () => new Promise<Headers>(() => undefined);
    const controller = new AbortController();
    const call = failure(api(server.url, hanging).listRoutes({ project: 'p-12345' }, controller.signal));
    controller.abort(Object.assign(new Error('lost leadership'), { name: 'AbortError' }));
    expect(classifyError(await call).class).toBe('aborted');
    expect(server.requests).toHaveLength(0);
  });
});
