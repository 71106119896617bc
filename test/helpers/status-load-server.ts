/**
 * A process that serves /status for a large pass report and measures its own event-loop delay,
 * for test/unit/status-listener.test.ts. Forked with an IPC channel: it sends { port } once
 * listening, and answers 'stats' with the delay seen since 'start' and the render count.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { startStatusServer } from '../../src/http.js';
import type { PassReport } from '../../src/reconcile/reconciler.js';
import { Telemetry } from '../../src/telemetry/index.js';

/** A pass report with `count` leases in four tables, shaped like a real one at that scale. */
export function leaseReport(count: number, startedAt = new Date()): PassReport {
  const leases = Array.from({ length: count }, (_, i) => {
    const subnet = `10.${1 + (i >> 8)}.${i & 255}.0/24`;
    const nodeIp = `172.16.${i >> 8}.${i & 255}`;
    const target = `eni-${i.toString(16).padStart(17, '0')}`;
    return i % 10 === 9
      ? { subnet, nodeIp, createRevision: i + 1, state: 'unrouted', reason: 'route-limit', detail: 'route limit reached in rtb-00000000000000001', target }
      : { subnet, nodeIp, createRevision: i + 1, state: 'routed', target };
  });
  const tables = ['1', '2', '3', '4'].map((n) => ({
    id: `rtb-0000000000000000${n}`,
    limit: 10_000,
    quotaLimit: 10_000,
    limitSource: 'flag',
    foreignCounted: 1,
    capacity: 9_999,
    ownedAfter: count - count / 10,
    creates: 0,
    replaces: 0,
    deletes: 0,
    deferredDeletes: 0,
  }));
  // Built by hand for the fields /status and the metrics read; the planner's types change under other work.
  return { startedAt, durationMs: 590, outcome: 'applied', results: [], leases, validLeases: count, invalid: [], tables, warnings: [] } as unknown as PassReport;
}

async function main(): Promise<void> {
  const leases = Number(process.env['STATUS_LOAD_LEASES'] ?? '10000');
  const telemetry = new Telemetry('replica-0', 'aws-vpc', 'prod', () => true);
  telemetry.setLeader(true);
  telemetry.record(leaseReport(leases));
  const server = await startStatusServer({ host: '127.0.0.1', port: 0 }, telemetry);

  // Two measures of the same thing: the histogram, and how late a 20 ms timer fires (the fence's kind of work).
  const histogram = monitorEventLoopDelay({ resolution: 10 });
  let maxTickLateMs = 0;
  let ticker: NodeJS.Timeout | undefined;
  process.on('message', (message) => {
    if (message === 'start') {
      histogram.reset();
      histogram.enable();
      maxTickLateMs = 0;
      let last = performance.now();
      ticker = setInterval(() => {
        const now = performance.now();
        maxTickLateMs = Math.max(maxTickLateMs, now - last - 20);
        last = now;
      }, 20);
    } else if (message === 'stats') {
      histogram.disable();
      clearInterval(ticker);
      process.send?.({ maxDelayMs: histogram.max / 1e6, maxTickLateMs, renders: telemetry.statusRenders, bytes: telemetry.statusBody().length });
    } else if (message === 'stop') {
      void server.close().then(() => process.exit(0));
    }
  });
  process.send?.({ port: server.port });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) void main();
