import { describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { Reconciler, exitCodeFor, type LeaseView } from '../../src/reconcile/reconciler.js';
import { ReconcileTrigger, type TriggerReason } from '../../src/reconcile/trigger.js';
import { formatSummary } from '../../src/reconcile/summary.js';
import { Telemetry } from '../../src/telemetry/index.js';
import { logPass } from '../../src/service/pass-log.js';
import type { Logger } from '../../src/log.js';
import { MemoryCloudError, MemoryProvider } from '../../providers/memory/memory-provider.js';
import type { Lease, LeaseSnapshot } from '../../src/leases/types.js';
import { TABLE_DEFAULT } from '../helpers/route-facts.js';

const logger = pino({ level: 'silent' });
const policy = { allowEmpty: false, maxDeletesPerPass: { kind: 'percent', value: 20 } } as const;
const fastRetries = { baseDelayMs: 1, maxDelayMs: 2 };

function lease(n: number): Lease {
  return { key: `/p/subnets/10.1.${n}.0-24`, subnet: `10.1.${n}.0/24`, nodeIp: `172.31.0.${n}`, createRevision: n, modRevision: n, reservation: false };
}

function view(leases: Lease[], extra: Partial<LeaseSnapshot> = {}): LeaseView & { current: LeaseSnapshot | null } {
  const holder = {
    current: { revision: 1, config: { network: '10.1.0.0/16', subnetLen: 24, enableIPv4: true, backendType: 'alloc' }, leases, invalid: [], ...extra } as LeaseSnapshot | null,
    snapshot: () => holder.current,
  };
  return holder;
}

function world(nodes: number, limit = 50): MemoryProvider {
  const provider = new MemoryProvider();
  provider.addTable('rtb-1', limit, [{ destination: '172.31.0.0/16', target: null, blackhole: false, ...TABLE_DEFAULT, via: 'local' }]);
  for (let n = 1; n <= nodes; n += 1) provider.addNode(`172.31.0.${n}`, `eni-${n}`, 'fixable');
  return provider;
}

const signal = new AbortController().signal;

describe('reconciler', () => {
  it('converges, then makes no change', async () => {
    const provider = world(3);
    const reconciler = new Reconciler(provider, view([lease(1), lease(2), lease(3)]), { dryRun: false, policy, apply: fastRetries }, logger);
    const first = await reconciler.pass(signal);
    expect(first.outcome).toBe('applied');
    expect(first.leases.map((l) => l.state)).toEqual(['routed', 'routed', 'routed']);
    expect(provider.routes('rtb-1').filter((r) => r.bearsOwnerMarks).map((r) => r.target)).toEqual(['eni-1', 'eni-2', 'eni-3']);
    expect(provider.calls.filter((c) => c === 'enable-forwarding')).toHaveLength(3);
    expect(exitCodeFor(first)).toBe(0);

    provider.calls.length = 0;
    const second = await reconciler.pass(signal);
    expect(second.results).toEqual([]);
    expect(provider.calls).toEqual(['listTables', 'resolveNodes']);
  });

  it('retries throttling and transient errors, and does not retry a permanent one', async () => {
    const provider = world(3);
    provider.failNext.set('create', [
      new MemoryCloudError('RequestLimitExceeded', 'slow down', 503),
      new MemoryCloudError('InternalError', 'oops', 500),
    ]);
    const reconciler = new Reconciler(provider, view([lease(1), lease(2)]), { dryRun: false, policy, apply: { ...fastRetries, concurrency: 1 } }, logger);
    const report = await reconciler.pass(signal);
    expect(report.results.every((r) => r.ok)).toBe(true);
    expect(provider.calls.filter((c) => c === 'create')).toHaveLength(4);

    provider.failNext.set('create', [new MemoryCloudError('RouteLimitExceeded', 'full')]);
    const third = new Reconciler(provider, view([lease(1), lease(2), lease(3)]), { dryRun: false, policy, apply: fastRetries }, logger);
    provider.calls.length = 0;
    const limited = await third.pass(signal);
    expect(provider.calls.filter((c) => c === 'create')).toHaveLength(1);
    expect(limited.leases.find((l) => l.subnet === '10.1.3.0/24')).toMatchObject({ state: 'unrouted', reason: 'route-limit' });
    expect(exitCodeFor(limited)).toBe(1);
  });

  it('reports unrouted leases with exit code 3 when the limit is reached', async () => {
    const provider = world(5, 4);
    const report = await new Reconciler(provider, view([1, 2, 3, 4, 5].map(lease)), { dryRun: false, policy, apply: fastRetries }, logger).pass(signal);
    expect(report.leases.filter((l) => l.state === 'routed')).toHaveLength(3);
    expect(report.leases.filter((l) => l.reason === 'route-limit').map((l) => l.subnet)).toEqual(['10.1.4.0/24', '10.1.5.0/24']);
    expect(exitCodeFor(report)).toBe(3);
    expect(formatSummary(report, 'memory')).toContain('unrouted 10.1.4.0/24 → 172.31.0.4: route-limit');
  });

  it('dry run makes no mutating call and lists the plan', async () => {
    const provider = world(2);
    const report = await new Reconciler(provider, view([lease(1), lease(2)]), { dryRun: true, policy }, logger).pass(signal);
    expect(provider.calls).toEqual(['listTables', 'resolveNodes']);
    expect(report.outcome).toBe('dry-run');
    expect(formatSummary(report, 'memory')).toContain('would create 10.1.1.0/24 → eni-1 in rtb-1');
  });

  it('does nothing while the lease view is stale, or the network config unusable', async () => {
    const provider = world(1);
    const leases = view([lease(1)]);
    leases.current = null;
    const stale = await new Reconciler(provider, leases, { dryRun: false, policy }, logger).pass(signal);
    expect(stale.outcome).toBe('skipped');
    const noConfig = await new Reconciler(provider, view([lease(1)], { config: null, configError: 'Network missing' }), { dryRun: false, policy }, logger).pass(signal);
    expect(noConfig.reason).toContain('Network missing');
    expect(provider.calls).toEqual([]);
    expect(exitCodeFor(stale)).toBe(1);
  });

  it('a failed cloud read changes nothing', async () => {
    const provider = world(1);
    provider.failNext.set('listTables', [new MemoryCloudError('InternalError', 'down', 500)]);
    const report = await new Reconciler(provider, view([lease(1)]), { dryRun: false, policy }, logger).pass(signal);
    expect(report).toMatchObject({ outcome: 'failed', error: { class: 'transient', code: 'InternalError' } });
    expect(provider.calls).toEqual(['listTables']);
  });
});

describe('reconciler: leases routed in some tables only', () => {
  function twoTables(): MemoryProvider {
    const provider = new MemoryProvider();
    const local = { destination: '172.31.0.0/16', target: null, blackhole: false, ...TABLE_DEFAULT, via: 'local' };
    // rtb-1 also holds a foreign route: room for one lease only.
    provider.addTable('rtb-1', 3, [local, { ...local, destination: '0.0.0.0/0', via: 'igw-1' }]);
    provider.addTable('rtb-2', 50, [local]);
    for (const n of [1, 2]) provider.addNode(`172.31.0.${n}`, `eni-${n}`, 'fixable');
    return provider;
  }

  it('a lease that fits in one table only is partial, its ENI forwards, and /status, the summary and metrics say so', async () => {
    const provider = twoTables();
    const report = await new Reconciler(provider, view([lease(1), lease(2)]), { dryRun: false, policy, apply: fastRetries }, logger).pass(signal);
    expect(provider.routes('rtb-2').filter((r) => r.bearsOwnerMarks).map((r) => r.target)).toEqual(['eni-1', 'eni-2']);
    expect(provider.nodes.get('172.31.0.2')?.forwarding).toBe('enabled');
    expect(report.leases.find((l) => l.subnet === '10.1.2.0/24')).toMatchObject({
      state: 'partial',
      reason: 'route-limit',
      routedIn: ['rtb-2'],
      missingIn: ['rtb-1'],
    });
    expect(exitCodeFor(report)).toBe(3);
    const summary = formatSummary(report, 'memory');
    expect(summary).toContain('1 partial');
    expect(summary).toContain('partial  10.1.2.0/24 → 172.31.0.2: route-limit (routed in rtb-2; not in rtb-1: route limit reached in rtb-1)');

    const telemetry = new Telemetry('me', 'memory', 'c1', () => true);
    telemetry.record(report);
    const metrics = await telemetry.registry.metrics();
    expect(metrics).toMatch(/routesync_leases\{state="partial",family="ipv4"\} 1/);
    const foreign = report.tables.find((t) => t.id === 'rtb-1')?.foreignCounted;
    expect(metrics).toContain(`routesync_table_routes{table="rtb-1",owner="foreign"} ${foreign}`);
    expect(telemetry.status().tables.find((t) => t.id === 'rtb-1')?.foreignCounted).toBe(foreign);
    expect(telemetry.status().leases.find((l) => l.subnet === '10.1.2.0/24')).toMatchObject({
      state: 'partial',
      routedIn: ['rtb-2'],
      missingIn: ['rtb-1'],
    });

    const logged: unknown[] = [];
    logPass({ info: (fields: unknown) => logged.push(fields) } as unknown as Logger, report, new Set(['start']));
    expect(logged).toMatchObject([{ routed: 1, partial: 1, unrouted: 0 }]);
  });

  it('a create the cloud refuses in one table leaves the lease partial, not unrouted', async () => {
    const provider = twoTables();
    provider.failNext.set('create', [new MemoryCloudError('RouteLimitExceeded', 'full')]);
    const report = await new Reconciler(provider, view([lease(1)]), { dryRun: false, policy, apply: { ...fastRetries, concurrency: 1 } }, logger).pass(signal);
    expect(provider.routes('rtb-1').filter((r) => r.bearsOwnerMarks)).toEqual([]);
    expect(report.leases[0]).toMatchObject({ state: 'partial', reason: 'route-limit', routedIn: ['rtb-2'], missingIn: ['rtb-1'] });
  });
});

describe('reconciler: creates wait for the deletes that make their room', () => {
  it('with --route-limit 3 and one delete refused, the table never holds more than 3 counted routes', async () => {
    // The cloud's own limit is higher (AWS: 500 by default); --route-limit 3 is routesync's.
    const provider = new (class extends MemoryProvider {
      override async listTables(s: AbortSignal) {
        return (await super.listTables(s)).map((t) => ({ ...t, limit: 3 }));
      }
    })();
    provider.addTable('rtb-1', 50, [{ destination: '172.31.0.0/16', target: null, blackhole: false, ...TABLE_DEFAULT, via: 'local' }]);
    for (const n of [1, 2, 9]) provider.addNode(`172.31.0.${n}`, `eni-${n}`);
    await provider.apply({ kind: 'create', table: 'rtb-1', destination: '10.1.9.0/24', target: 'eni-9', nodeIp: '172.31.0.9' }, signal);
    provider.failNext.set('delete', [new MemoryCloudError('UnauthorizedOperation', 'not allowed', 403)]);

    const report = await new Reconciler(provider, view([lease(1), lease(2)]), { dryRun: false, policy, apply: fastRetries }, logger).pass(signal);
    expect(provider.routes('rtb-1').filter((r) => r.origin !== 'propagated')).toHaveLength(3);
    expect(provider.routes('rtb-1').map((r) => r.destination)).toEqual(['172.31.0.0/16', '10.1.9.0/24', '10.1.1.0/24']);
    expect(report.leases.find((l) => l.subnet === '10.1.1.0/24')?.state).toBe('routed');
    const held = report.leases.find((l) => l.subnet === '10.1.2.0/24');
    expect(held).toMatchObject({ state: 'unrouted', reason: 'route-limit' });
    expect(held?.detail).toContain('delete 10.1.9.0/24 (no-lease) from rtb-1');
    expect(exitCodeFor(report)).toBe(1);
  });
});

describe('reconciler: a failed cloud read', () => {
  it('reports how many valid leases etcd holds, and that nothing was done', async () => {
    const provider = world(2);
    provider.failNext.set('listTables', [new MemoryCloudError('InternalError', 'down', 500)]);
    const report = await new Reconciler(provider, view([lease(1), lease(2)]), { dryRun: false, policy }, logger).pass(signal);
    expect(report.validLeases).toBe(2);
    const summary = formatSummary(report, 'memory');
    expect(summary).toContain('leases: 2 valid in etcd, nothing done: the cloud read failed');
    expect(summary).not.toContain('0 valid');
    const telemetry = new Telemetry('me', 'memory', 'c1', () => true);
    telemetry.record(report);
    expect(telemetry.status().lastPass).toMatchObject({ outcome: 'failed', validLeases: 2 });
  });
});

describe('reconcile trigger', () => {
  it('coalesces requests that arrive during a pass into exactly one more pass', async () => {
    const runs: TriggerReason[][] = [];
    let release: () => void = () => undefined;
    let started: () => void = () => undefined;
    const firstStarted = new Promise<void>((resolve) => (started = resolve));
    const controller = new AbortController();
    const trigger = new ReconcileTrigger(
      {
        debounceMs: 1,
        resyncIntervalMs: 3_600_000,
        run: async (reasons) => {
          runs.push([...reasons]);
          if (runs.length === 1) {
            started();
            await new Promise<void>((resolve) => (release = resolve));
          }
        },
        onError: (err) => {
          throw err;
        },
      },
      controller.signal,
    );
    trigger.start();
    await firstStarted;
    trigger.request('lease-event');
    trigger.request('lease-event');
    trigger.request('resync');
    release();
    await trigger.idle();
    const deadline = Date.now() + 5000;
    while (runs.length < 2 && Date.now() < deadline) await trigger.idle().then(() => new Promise((r) => setImmediate(r)));
    await trigger.idle();
    expect(runs).toEqual([['startup'], ['lease-event', 'resync']]);
    controller.abort();
    trigger.request('lease-event');
    await trigger.idle();
    expect(runs).toHaveLength(2);
  });
});
