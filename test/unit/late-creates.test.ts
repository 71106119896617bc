/**
 * A lease that appears while a pass applies a long cold start is created in that pass, ahead of
 * its waiting creates, within the limit, and by nobody else. The provider holds each create until
 * the test lets it go, so the order of what it was sent is the proof, not timing.
 */
import { describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { Reconciler, type LeaseView } from '../../src/reconcile/reconciler.js';
import { MemoryProvider } from '../../providers/memory/memory-provider.js';
import type { Change, NodeResolution, ResolveOptions, RouteProvider, RouteTable } from '../../providers/provider.js';
import type { Lease, LeaseSnapshot } from '../../src/leases/types.js';
import { TABLE_DEFAULT } from '../helpers/route-facts.js';

const logger = pino({ level: 'silent' });
const policy = { allowEmpty: false, maxDeletesPerPass: { kind: 'percent', value: 20 } } as const;
const signal = new AbortController().signal;

const lease = (n: number): Lease => ({ key: `/p/subnets/10.1.${n}.0-24`, subnet: `10.1.${n}.0/24`, nodeIp: `172.31.0.${n}`, createRevision: n, modRevision: n, reservation: false });

function view(leases: Lease[]): LeaseView & { current: LeaseSnapshot } {
  const holder = {
    current: { revision: 1, config: { network: '10.1.0.0/16', subnetLen: 24, enableIPv4: true, backendType: 'alloc' }, leases, invalid: [] } as LeaseSnapshot,
    snapshot: () => holder.current,
  };
  return holder;
}

/** The memory provider, two changes on the wire at once, each create held until released. */
class GatedProvider implements RouteProvider {
  readonly name = 'gated';
  readonly concurrency = 2;
  readonly sent: string[] = [];
  readonly resolved: Array<{ ips: readonly string[]; refresh: boolean | undefined }> = [];
  private readonly held: Array<() => void> = [];
  private waiters: Array<() => void> = [];

  constructor(readonly inner: MemoryProvider) {}

  listTables(s: AbortSignal): Promise<RouteTable[]> {
    return this.inner.listTables(s);
  }

  resolveNodes(ips: readonly string[], s: AbortSignal, options?: ResolveOptions): Promise<Map<string, NodeResolution>> {
    this.resolved.push({ ips, refresh: options?.refresh });
    return this.inner.resolveNodes(ips, s);
  }

  async apply(change: Change, s: AbortSignal): Promise<void> {
    if (change.kind === 'create') {
      this.sent.push(change.destination);
      await new Promise<void>((resolve) => {
        this.held.push(resolve);
        for (const wake of this.waiters.splice(0)) wake();
      });
    }
    await this.inner.apply(change, s);
  }

  /** Resolves once `count` creates are held. */
  async heldAtLeast(count: number): Promise<void> {
    while (this.held.length < count) await new Promise<void>((resolve) => this.waiters.push(resolve));
  }

  /** Lets every held create go, and those sent later too, until the pass ends. */
  releaseAll(): void {
    for (const release of this.held.splice(0)) release();
    this.held.push = (release) => {
      release();
      return 0;
    };
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

function setUp(nodes: number, limit: number): GatedProvider {
  const memory = new MemoryProvider();
  memory.addTable('rtb-1', limit, [{ destination: '172.31.0.0/16', target: null, blackhole: false, ...TABLE_DEFAULT, via: 'local' }]);
  for (let n = 1; n <= nodes; n += 1) memory.addNode(`172.31.0.${n}`, `eni-${n}`, 'enabled');
  return new GatedProvider(memory);
}

const range = (from: number, to: number): number[] => Array.from({ length: to - from + 1 }, (_, i) => from + i);

describe('late creates: a lease that appears during a long pass', () => {
  it('is created in the running pass before its waiting creates, looking up only its own node', async () => {
    const provider = setUp(7, 50);
    const leases = view(range(1, 6).map(lease));
    const reconciler = new Reconciler(provider, leases, { dryRun: false, policy, apply: { concurrency: 2 } }, logger);
    const pass = reconciler.pass(signal);
    await provider.heldAtLeast(2);
    leases.current = { ...leases.current, leases: [...leases.current.leases, lease(7)] };
    await reconciler.leaseEventDuringPass();
    provider.releaseAll();
    const report = await pass;

    // Two were on the wire; the new lease's create went next, before the pass's four waiting ones.
    expect(provider.sent).toEqual(['10.1.1.0/24', '10.1.2.0/24', '10.1.7.0/24', '10.1.3.0/24', '10.1.4.0/24', '10.1.5.0/24', '10.1.6.0/24']);
    expect(provider.resolved.at(-1)).toEqual({ ips: ['172.31.0.7'], refresh: false });
    expect(report.results.every((r) => r.ok)).toBe(true);
    expect(provider.inner.routes('rtb-1').filter((r) => r.bearsOwnerMarks)).toHaveLength(7);

    // The next pass (the one the trigger runs after) finds nothing left to do.
    const next = await reconciler.pass(signal, { refresh: false });
    expect(next.results).toEqual([]);
    expect(next.leases.every((l) => l.state === 'routed')).toBe(true);
  });

  it('never goes over the limit: with no slot left, the new lease waits for the next pass', async () => {
    // The local route and 6 creates fill a limit of 7.
    const provider = setUp(7, 7);
    const leases = view(range(1, 6).map(lease));
    const reconciler = new Reconciler(provider, leases, { dryRun: false, policy, apply: { concurrency: 2 } }, logger);
    const pass = reconciler.pass(signal);
    await provider.heldAtLeast(2);
    leases.current = { ...leases.current, leases: [...leases.current.leases, lease(7)] };
    await reconciler.leaseEventDuringPass();
    provider.releaseAll();
    await pass;
    expect(provider.sent).not.toContain('10.1.7.0/24');
    expect(provider.inner.routes('rtb-1')).toHaveLength(7);
  });

  it('leaves leases of the pass to the pass: a changed lease it already plans is not written twice', async () => {
    const provider = setUp(6, 50);
    const leases = view(range(1, 6).map(lease));
    const reconciler = new Reconciler(provider, leases, { dryRun: false, policy, apply: { concurrency: 2 } }, logger);
    const pass = reconciler.pass(signal);
    await provider.heldAtLeast(2);
    leases.current = { ...leases.current, leases: leases.current.leases.map((l) => (l.subnet === '10.1.5.0/24' ? { ...l, modRevision: 99 } : l)) };
    await reconciler.leaseEventDuringPass();
    provider.releaseAll();
    await pass;
    expect(provider.sent.filter((d) => d === '10.1.5.0/24')).toHaveLength(1);
    expect(provider.sent).toHaveLength(6);
  });
});
