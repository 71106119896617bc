/**
 * /status cannot be used to starve the leader: the document is rendered once per pass and served
 * from cached bytes, so a burst of requests at 10,000 leases leaves the event loop, which also
 * runs the leadership fence, well inside the fence margin.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { request, Agent } from 'node:http';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { LIMITS, startStatusServer } from '../../src/http.js';
import { Telemetry } from '../../src/telemetry/index.js';
import { leaseReport } from '../helpers/status-load-server.js';

const SERVER = fileURLToPath(new URL('../helpers/status-load-server.ts', import.meta.url));
/** src/election.ts steps down max(1000 ms, TTL × 250 ms) before etcd may expire the lease: 1000 ms at a 4 s TTL. */
const FENCE_MARGIN_MS = Math.max(1000, 4 * 250);

/** GET /status; resolves with the status and body size, or 'refused' when the server dropped the connection. */
function get(port: number, agent: Agent): Promise<{ status: number; bytes: number; body?: string } | 'refused'> {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path: '/status', agent }, (res) => {
      let bytes = 0;
      res.on('data', (chunk: Buffer) => (bytes += chunk.length));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, bytes }));
      res.on('error', () => resolve('refused'));
    });
    req.on('error', () => resolve('refused'));
    req.end();
  });
}

async function getJson(port: number): Promise<{ leader: boolean; lastPass: { startedAt: string }; leases: Array<{ subnet: string; state: string }> }> {
  const res = await fetch(`http://127.0.0.1:${port}/status`);
  expect(res.status).toBe(200);
  expect(Number(res.headers.get('content-length'))).toBeGreaterThan(0);
  return (await res.json()) as Awaited<ReturnType<typeof getJson>>;
}

describe('the /status cache', () => {
  it('renders once per pass, not per request, and serves the new pass after one is recorded', async () => {
    const telemetry = new Telemetry('replica-0', 'aws-vpc', 'prod', () => true);
    telemetry.record(leaseReport(100, new Date('2026-01-01T00:00:00Z')));
    const server = await startStatusServer({ host: '127.0.0.1', port: 0 }, telemetry);
    try {
      const first = await Promise.all(Array.from({ length: 20 }, () => getJson(server.port)));
      expect(telemetry.statusRenders).toBe(1);
      expect(first.every((d) => d.leases.length === 100 && d.lastPass.startedAt === '2026-01-01T00:00:00.000Z')).toBe(true);
      expect(telemetry.statusBody()).toBe(telemetry.statusBody());

      telemetry.record(leaseReport(150, new Date('2026-01-01T00:01:00Z')));
      expect(telemetry.statusRenders, 'lazily: nothing rendered until asked').toBe(1);
      const second = await Promise.all(Array.from({ length: 20 }, () => getJson(server.port)));
      expect(telemetry.statusRenders).toBe(2);
      expect(second.every((d) => d.leases.length === 150 && d.lastPass.startedAt === '2026-01-01T00:01:00.000Z')).toBe(true);

      // Leadership is in the document too: a change renders it again, once.
      telemetry.setLeader(true);
      const third = await Promise.all(Array.from({ length: 5 }, () => getJson(server.port)));
      expect(third.every((d) => d.leader)).toBe(true);
      expect(telemetry.statusRenders).toBe(3);
    } finally {
      await server.close();
    }
  });

  it('follows the lease view going stale between passes', async () => {
    let fresh = true;
    const telemetry = new Telemetry('replica-0', 'aws-vpc', 'prod', () => fresh);
    telemetry.record(leaseReport(10));
    expect((JSON.parse(telemetry.statusBody().toString()) as { leaseViewFresh: boolean }).leaseViewFresh).toBe(true);
    fresh = false;
    expect((JSON.parse(telemetry.statusBody().toString()) as { leaseViewFresh: boolean }).leaseViewFresh).toBe(false);
    telemetry.statusBody();
    expect(telemetry.statusRenders).toBe(2);
  });
});

describe('200 concurrent /status requests at 10,000 leases', () => {
  let child: ChildProcess | undefined;
  afterAll(() => {
    child?.send('stop');
    setTimeout(() => child?.kill(), 2_000).unref();
  });

  it(`do not delay the serving process's event loop past the fence margin (${FENCE_MARGIN_MS} ms)`, async () => {
    const server = fork(SERVER, [], { execArgv: ['--import', 'tsx'], env: { ...process.env, STATUS_LOAD_LEASES: '10000' }, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    child = server;
    const next = <T>(): Promise<T> =>
      new Promise((resolve, reject) => {
        server.once('message', (m) => resolve(m as T));
        server.once('exit', (code) => reject(new Error(`status server exited with ${code}`)));
      });
    const { port } = await next<{ port: number }>();
    server.send('start');
    // A fresh connection per request, all 200 at once: past maxConnections the server drops them.
    const agent = new Agent({ keepAlive: false, maxSockets: 200 });
    const results = await Promise.all(Array.from({ length: 200 }, () => get(port, agent)));
    // Then 200 more, at most maxConnections in flight, so that every one is served.
    const queued = new Agent({ keepAlive: true, maxSockets: LIMITS.maxConnections });
    const served = await Promise.all(Array.from({ length: 200 }, () => get(port, queued)));
    queued.destroy();
    server.send('stats');
    const stats = await next<{ maxDelayMs: number; maxTickLateMs: number; renders: number; bytes: number }>();

    const ok = results.filter((r) => r !== 'refused');
    expect(ok.length, 'some of the burst is served').toBeGreaterThan(0);
    expect(ok.every((r) => r.status === 200 && r.bytes === stats.bytes)).toBe(true);
    expect(served.every((r) => r !== 'refused' && r.status === 200 && r.bytes === stats.bytes)).toBe(true);
    expect(stats.bytes, 'a document of the size the issue describes').toBeGreaterThan(1_000_000);
    expect(stats.renders, 'one render for all 400 requests').toBe(1);
    // A safety bound (the fence would step down past it), not a benchmark.
    expect(stats.maxDelayMs).toBeLessThan(FENCE_MARGIN_MS);
    expect(stats.maxTickLateMs).toBeLessThan(FENCE_MARGIN_MS);
    console.log(
      `/status at 10,000 leases: ${stats.bytes} bytes, ${ok.length}/200 of the burst served (the rest past maxConnections), ` +
        `max event-loop delay ${stats.maxDelayMs.toFixed(0)} ms, max timer lateness ${stats.maxTickLateMs.toFixed(0)} ms`,
    );
  });
});
