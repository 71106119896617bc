/**
 * applyChanges with a paced provider, against a stub provider that paces its calls as the aws-vpc
 * provider does and whose "cloud" is the EC2 simulator's own throttle (EC2's per-action buckets, shared by
 * every table) on a fake clock: counts and order only.
 */
import { describe, expect, it } from 'vitest';
import { applyChanges, DEFAULT_APPLY_OPTIONS, type ApplyOptions, type ChangeResult } from '../../src/reconcile/apply.js';
import { ManualPacingClock, sleepOn } from '../../src/pacing/clock.js';
import { Pacer, paced } from '../../src/pacing/pacer.js';
import { AWS_EC2_RATE_LIMITS, ec2ActionFor } from '../../providers/aws-vpc/limits.js';
import type { ApplyCallOptions, Change, NodeResolution, RouteProvider, RouteTable } from '../../providers/provider.js';
import type { LateCreateSource } from '../../src/reconcile/late-creates.js';
import { Throttle } from '../sim/ec2/throttle.js';
import { throttleCategory } from '../sim/ec2/api.js';

interface CloudCall {
  readonly action: string;
  readonly time: number;
  readonly change: Change;
  readonly throttled: boolean;
}

/**
 * A provider whose calls (paced like the aws-vpc provider's, when `paced`) reach the simulator's
 * token buckets after `latencyMs` on the fake clock.
 */
class ThrottledStub implements RouteProvider {
  readonly name = 'stub';
  readonly calls: CloudCall[] = [];
  readonly throttle: Throttle;
  readonly pacer?: Pacer;

  constructor(
    private readonly clock: ManualPacingClock,
    options: { paced: boolean; latencyMs: number },
  ) {
    this.throttle = new Throttle({ clock: clock.now, timeScale: () => 1 });
    if (options.paced) this.pacer = new Pacer({ limits: AWS_EC2_RATE_LIMITS, clock });
    this.latencyMs = options.latencyMs;
  }

  private readonly latencyMs: number;

  listTables(): Promise<RouteTable[]> {
    return Promise.resolve([]);
  }

  resolveNodes(): Promise<Map<string, NodeResolution>> {
    return Promise.resolve(new Map());
  }

  apply(change: Change, signal: AbortSignal, options?: ApplyCallOptions): Promise<void> {
    const action = ec2ActionFor(change);
    return paced(this.pacer, action, signal, () => this.send(action, change, signal), { urgent: options?.urgent === true });
  }

  private send(action: string, change: Change, signal: AbortSignal): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const cancel = this.clock.schedule(this.latencyMs, () => {
        signal.removeEventListener('abort', onAbort);
        const accepted = this.throttle.take(action, throttleCategory(action, {}));
        this.calls.push({ action, time: this.clock.now(), change, throttled: !accepted });
        if (accepted) resolve();
        else reject(Object.assign(new Error('Request limit exceeded.'), { name: 'RequestLimitExceeded', $metadata: { httpStatusCode: 503 } }));
      });
      const onAbort = (): void => {
        cancel();
        reject(signal.reason);
      };
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

async function drive(clock: ManualPacingClock, finished: () => boolean, until = Number.POSITIVE_INFINITY): Promise<void> {
  for (let step = 0; step < 100_000; step += 1) {
    await settle();
    if (finished()) return;
    const next = clock.nextTimerAt();
    if (next === undefined || next > until) {
      if (next !== undefined) clock.advanceTo(until);
      return;
    }
    clock.runNext();
  }
  throw new Error('too many steps');
}

function creates(perTable: number, tables: readonly string[]): Change[] {
  return tables.flatMap((table) =>
    Array.from({ length: perTable }, (_, i) => ({
      kind: 'create' as const,
      table,
      destination: `10.${1 + Math.floor(i / 250)}.${i % 250}.0/24`,
      target: `eni-${i}`,
      nodeIp: `172.31.${Math.floor(i / 250)}.${i % 250}`,
    })),
  );
}

async function run(
  provider: ThrottledStub,
  clock: ManualPacingClock,
  changes: readonly Change[],
  signal = new AbortController().signal,
  extra: Partial<ApplyOptions> = {},
): Promise<ChangeResult[]> {
  let results: ChangeResult[] | undefined;
  void applyChanges(provider, changes, signal, { ...DEFAULT_APPLY_OPTIONS, sleep: (ms, s) => sleepOn(clock, ms, s), ...extra }).then((r) => {
    results = r;
  });
  await drive(clock, () => results !== undefined);
  if (results === undefined) throw new Error('applyChanges did not finish');
  return results;
}

/** How many calls of `action` the cloud accepted in each second of the fake clock. */
function perSecond(calls: readonly CloudCall[], action: string): number[] {
  const counts: number[] = [];
  for (const call of calls) {
    if (call.action !== action || call.throttled) continue;
    const second = Math.floor(call.time / 1000);
    counts[second] = (counts[second] ?? 0) + 1;
  }
  return Array.from(counts, (c) => c ?? 0);
}

describe('applyChanges with pacing', () => {
  it('a late create goes out at the next refill, ahead of the pass creates already waiting for the bucket', async () => {
    const clock = new ManualPacingClock(0);
    const provider = new ThrottledStub(clock, { paced: true, latencyMs: 30 });
    const late: Change = { kind: 'create', table: 'rtb-1', destination: '10.200.0.0/24', target: 'eni-late', nodeIp: '172.31.9.9' };
    let submit: ((change: Change) => void) | undefined;
    const source: LateCreateSource = { open: (s) => (submit = s), close: () => Promise.resolve() };
    let results: ChangeResult[] | undefined;
    void applyChanges(provider, creates(70, ['rtb-1']), new AbortController().signal, { ...DEFAULT_APPLY_OPTIONS, sleep: (ms, s) => sleepOn(clock, ms, s) }, undefined, source).then((r) => {
      results = r;
    });
    // The burst of 50 is out; the pass's other 20 creates wait for the bucket's refills.
    await drive(clock, () => provider.calls.length >= 50);
    expect(submit).toBeDefined();
    submit?.(late);
    await drive(clock, () => results !== undefined);
    const accepted = provider.calls.filter((c) => c.action === 'CreateRoute' && !c.throttled).map((c) => (c.change.kind === 'create' ? c.change.destination : ''));
    expect(accepted).toHaveLength(71);
    expect(accepted.indexOf(late.destination)).toBe(50);
    expect(results?.every((r) => r.ok)).toBe(true);
  });

  it('cold start: 300 creates in 3 tables at the bucket rate, never throttled; deletes first; forwarding fixes alongside', async () => {
    const clock = new ManualPacingClock(0);
    const provider = new ThrottledStub(clock, { paced: true, latencyMs: 30 });
    const tables = ['rtb-a', 'rtb-b', 'rtb-c'];
    const deletes: Change[] = Array.from({ length: 20 }, (_, i) => ({
      kind: 'delete',
      table: 'rtb-a',
      destination: `10.9.${i}.0/24`,
      previousTarget: null,
      reason: 'no-lease',
    }));
    const fixes: Change[] = Array.from({ length: 120 }, (_, i) => ({ kind: 'enable-forwarding', target: `eni-${i}`, nodeIp: `172.31.0.${i}` }));
    const results = await run(provider, clock, [...fixes, ...deletes, ...creates(100, tables)]);

    expect(results).toHaveLength(440);
    expect(results.every((r) => r.ok && r.attempts === 1)).toBe(true);
    expect(provider.calls.filter((c) => c.throttled)).toEqual([]);

    const createCalls = provider.calls.filter((c) => c.action === 'CreateRoute');
    const lastDelete = Math.max(...provider.calls.filter((c) => c.action === 'DeleteRoute').map((c) => c.time));
    expect(Math.min(...createCalls.map((c) => c.time))).toBeGreaterThan(lastDelete);
    // The burst of 50, then 5 a second: 250 more take 50 refills (plus the 200 ms guard).
    expect(perSecond(provider.calls, 'CreateRoute')).toEqual([50, ...Array<number>(50).fill(5)]);
    // The creates start when the deletes are answered; their first refill comes 1 s after the first
    // create's answer (30 ms), then every second; each call lands 30 ms after it leaves.
    expect(Math.max(...createCalls.map((c) => c.time))).toBe(lastDelete + 30 + 50 * 1000 + 30);
    // Creates take the tables in turn: every node gets its three routes early.
    expect(createCalls.slice(0, 6).map((c) => (c.change.kind === 'create' ? c.change.table : ''))).toEqual([...tables, ...tables]);
    // Forwarding fixes have their own bucket (100, then 5/s) and do not wait for the creates.
    expect(perSecond(provider.calls, 'ModifyNetworkInterfaceAttribute')).toEqual([100, 5, 5, 5, 5]);
  });

  it('a bucket someone else emptied: a few throttled answers at first, then the bucket rate, each change made once', async () => {
    const clock = new ManualPacingClock(0);
    const provider = new ThrottledStub(clock, { paced: true, latencyMs: 30 });
    for (let i = 0; i < 50; i += 1) provider.throttle.take('CreateRoute', 'mutating');
    const results = await run(provider, clock, creates(60, ['rtb-a']));

    expect(results.every((r) => r.ok)).toBe(true);
    const throttled = provider.calls.filter((c) => c.throttled);
    // Only calls already on the wire when the first refusal came back: at most the concurrency.
    expect(throttled.length).toBeGreaterThan(0);
    expect(throttled.length).toBeLessThanOrEqual(DEFAULT_APPLY_OPTIONS.concurrency);
    const firstOk = provider.calls.findIndex((c) => !c.throttled);
    expect(provider.calls.slice(firstOk).filter((c) => c.throttled)).toEqual([]);
    expect(new Set(provider.calls.filter((c) => !c.throttled).map((c) => c.change.kind === 'create' && c.change.destination)).size).toBe(60);
  });

  it('without a pacer the same world throttles: this is what pacing prevents', async () => {
    const clock = new ManualPacingClock(0);
    const provider = new ThrottledStub(clock, { paced: false, latencyMs: 30 });
    const results = await run(provider, clock, creates(120, ['rtb-a']), undefined, { random: () => 0.5 });
    expect(provider.calls.filter((c) => c.throttled).length).toBeGreaterThan(0);
    expect(results.filter((r) => r.attempts > 1).length).toBeGreaterThan(0);
  });

  it("a provider's declared concurrency replaces the default, per kind of change (slow operations need many in flight)", async () => {
    const clock = new ManualPacingClock(0);
    const slow = new (class extends ThrottledStub {
      readonly concurrency = 40;
      inFlight = 0;
      maxInFlight = 0;
      override async apply(change: Change, signal: AbortSignal): Promise<void> {
        this.inFlight += 1;
        this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
        try {
          await sleepOn(clock, 2000, signal); // an operation that takes 2 s
        } finally {
          this.inFlight -= 1;
        }
        void change;
      }
    })(clock, { paced: false, latencyMs: 0 });
    const results = await run(slow, clock, creates(120, ['rtb-a']));
    expect(results.every((r) => r.ok)).toBe(true);
    expect(slow.maxInFlight).toBe(40);
    expect(clock.now()).toBe(3 * 2000); // 120 operations of 2 s, 40 at a time
  });

  it('an abort stops the waits at once: no call afterwards, the rest fail as aborted, nothing left waiting', async () => {
    const clock = new ManualPacingClock(0);
    const provider = new ThrottledStub(clock, { paced: true, latencyMs: 30 });
    const controller = new AbortController();
    let results: ChangeResult[] | undefined;
    void applyChanges(provider, creates(80, ['rtb-a']), controller.signal, {
      ...DEFAULT_APPLY_OPTIONS,
      sleep: (ms, s) => sleepOn(clock, ms, s),
    }).then((r) => {
      results = r;
    });
    await drive(clock, () => false, 2500);
    const before = provider.calls.length;
    expect(before).toBe(60); // 50, then the refills at 1030 ms (the first answer + 1 s) and 2030 ms
    controller.abort(Object.assign(new Error('leadership lost'), { name: 'AbortError' }));
    await drive(clock, () => results !== undefined);
    expect(results).toBeDefined();
    expect(provider.calls).toHaveLength(before);
    expect(results?.filter((r) => r.ok)).toHaveLength(60);
    expect(results?.filter((r) => !r.ok).every((r) => !r.ok && r.error.class === 'aborted')).toBe(true);
    expect(provider.pacer?.waiting()).toBe(0);
  });
});
