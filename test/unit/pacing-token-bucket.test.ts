/**
 * The client-side token bucket, on a fake clock: what it grants, when (on the fake clock), in which
 * order, and that a client mirroring the server's bucket is never refused by it.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ManualPacingClock } from '../../src/pacing/clock.js';
import { TokenBucket } from '../../src/pacing/token-bucket.js';
import type { PacedOutcome, PacerPermit } from '../../providers/provider.js';
import { TokenBucket as ServerBucket } from '../sim/ec2/throttle.js';

const AWS_MUTATING = { capacity: 50, refill: 5, intervalMs: 1000 } as const;

/** Lets every promise chain that can run, run (one macrotask turn drains the microtask queue). */
const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Runs the fake clock from timer to timer until `finished()`; fails if nothing is left to run. */
async function drive(clock: ManualPacingClock, finished: () => boolean, maxSteps = 200_000): Promise<void> {
  for (let step = 0; step < maxSteps; step += 1) {
    await settle();
    if (finished()) return;
    if (!clock.runNext()) {
      await settle();
      if (finished()) return;
      throw new Error('stuck: nothing finished and no timer pending');
    }
  }
  throw new Error('too many steps');
}

describe('TokenBucket', () => {
  it('grants the burst at once, then `refill` tokens per interval, first come first served', async () => {
    const clock = new ManualPacingClock(0);
    const bucket = new TokenBucket({ capacity: 3, refill: 2, intervalMs: 1000 }, clock);
    const signal = new AbortController().signal;
    const granted: Array<[number, number]> = [];
    const all = Array.from({ length: 9 }, (_, i) => bucket.acquire(signal).then((permit) => {
      granted.push([i, clock.now()]);
      permit.done('ok');
    }));
    await settle();
    expect(granted).toEqual([[0, 0], [1, 0], [2, 0]]);
    expect(bucket.waiting()).toBe(6);
    clock.advance(999);
    await settle();
    expect(granted).toHaveLength(3); // refills are whole intervals, never a trickle
    clock.advance(1);
    await settle();
    expect(granted.slice(3)).toEqual([[3, 1000], [4, 1000]]);
    clock.advance(1000);
    await settle();
    clock.advance(1000);
    await settle();
    expect(granted.slice(5)).toEqual([[5, 2000], [6, 2000], [7, 3000], [8, 3000]]);
    await Promise.all(all);
    expect(bucket.stats()).toEqual({ acquired: 9, throttled: 0, drains: 0, waited: 6 });
  });

  it('an urgent caller is served at the next refill, before those already waiting (and after earlier urgent ones)', async () => {
    const clock = new ManualPacingClock(0);
    const bucket = new TokenBucket({ capacity: 2, refill: 2, intervalMs: 1000 }, clock);
    const signal = new AbortController().signal;
    for (const permit of [bucket.tryAcquire(), bucket.tryAcquire()]) permit?.done('ok');
    const order: string[] = [];
    const take = (name: string, urgent: boolean): Promise<void> => bucket.acquire(signal, { urgent }).then((permit) => {
      order.push(name);
      permit.done('ok');
    });
    const settled = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
    const waiting = [take('a', false), take('b', false), take('c', false), take('late-1', true), take('late-2', true)];
    clock.advance(1000);
    await settled();
    expect(order).toEqual(['late-1', 'late-2']);
    for (let i = 0; i < 3 && order.length < 5; i += 1) {
      clock.advance(1000);
      await settled();
    }
    await Promise.all(waiting);
    expect(order).toEqual(['late-1', 'late-2', 'a', 'b', 'c']);
  });

  it('while full it has no phase: the first refill comes one interval after the first answer', () => {
    const clock = new ManualPacingClock(0);
    const bucket = new TokenBucket({ capacity: 2, refill: 1, intervalMs: 1000 }, clock);
    clock.advance(10_500); // idle and full: refills would only be wasted
    expect(bucket.nextRefill()).toBeUndefined();
    const first = bucket.tryAcquire();
    const second = bucket.tryAcquire();
    clock.advance(5_000); // however long the first call takes to come back, no refill before it does
    expect(bucket.nextRefill()).toBeUndefined();
    expect(bucket.available()).toBe(0);
    first?.done('ok');
    second?.done('ok');
    expect(bucket.nextRefill()).toBe(16_500);
    clock.advanceTo(16_499);
    expect(bucket.available()).toBe(0);
    clock.advanceTo(16_500);
    expect(bucket.available()).toBe(1);
    clock.advanceTo(17_500);
    expect(bucket.available()).toBe(2);
    expect(bucket.nextRefill()).toBeUndefined(); // full again
  });

  it('near full, a refill adds only what the server could: capacity minus the level (tokens and unanswered calls)', () => {
    const clock = new ManualPacingClock(0);
    const bucket = new TokenBucket({ capacity: 10, refill: 5, intervalMs: 1000 }, clock);
    const permits = [bucket.tryAcquire(), bucket.tryAcquire(), bucket.tryAcquire()];
    permits[0]?.done('ok'); // the phase starts: refill at 1000
    // Level 7 tokens + 2 on the wire = 9 when the interval starts: the server may hold 9 and waste 4.
    clock.advanceTo(1000);
    expect(bucket.available()).toBe(8);
    permits[1]?.done('ok');
    permits[2]?.done('ok');
    clock.advanceTo(2000);
    expect(bucket.available()).toBe(10); // level 8: + 2 (capped at the capacity)
  });

  it('tokens plus calls in flight never exceed the capacity', () => {
    const clock = new ManualPacingClock(0);
    const bucket = new TokenBucket({ capacity: 3, refill: 3, intervalMs: 1000 }, clock);
    const first = bucket.tryAcquire();
    first?.done('ok');
    const held = [bucket.tryAcquire(), bucket.tryAcquire()];
    expect(bucket.inFlight()).toBe(2);
    clock.advance(5000);
    expect(bucket.available()).toBe(1); // not 3: two calls are still on the wire
    held.forEach((permit) => permit?.done('ok'));
    expect(bucket.available()).toBe(1);
    clock.advance(1000);
    expect(bucket.available()).toBe(3);
  });

  it('a throttled answer empties the bucket, counts calls on the wire as spent, halves the rate, and recovers', () => {
    const clock = new ManualPacingClock(0);
    const bucket = new TokenBucket({ capacity: 10, refill: 4, intervalMs: 1000 }, clock);
    const permits: PacerPermit[] = [];
    for (let i = 0; i < 6; i += 1) permits.push(bucket.tryAcquire() as PacerPermit);
    expect(bucket.available()).toBe(4);
    clock.advance(300);
    permits[0]?.done('throttled');
    expect(bucket.stats().drains).toBe(1);
    expect(bucket.rate()).toBe(0.5);
    expect(bucket.available()).toBe(0); // 5 calls still on the wire: the bucket owes 5
    permits[1]?.done('ok'); // it took a server token, as the bucket assumed
    permits[2]?.done('throttled'); // sent before the drain: refunded, no second drain
    permits[3]?.done('throttled');
    permits[4]?.done('throttled');
    permits[5]?.done('throttled');
    expect(bucket.stats()).toMatchObject({ throttled: 5, drains: 1 });
    expect(bucket.rate()).toBe(0.5);
    // -5 + 4 refunds = -1; the phase restarted at the throttled answer (t=300).
    expect(bucket.nextRefill()).toBe(1300);
    clock.advanceTo(1300);
    expect(bucket.available()).toBe(1); // -1 + 4 × 0.5
    expect(bucket.rate()).toBeCloseTo(0.6);
    clock.advanceTo(2300);
    expect(bucket.available()).toBe(3); // 1 + 4 × 0.6 = 3.4
    for (let t = 3300; t <= 5300; t += 1000) clock.advanceTo(t);
    expect(bucket.rate()).toBeCloseTo(1);
  });

  it('a throttled answer to a call made after the drain drains again', () => {
    const clock = new ManualPacingClock(0);
    const bucket = new TokenBucket({ capacity: 4, refill: 4, intervalMs: 1000 }, clock);
    bucket.tryAcquire()?.done('throttled');
    clock.advance(1000);
    bucket.tryAcquire()?.done('throttled');
    expect(bucket.stats().drains).toBe(2);
    expect(bucket.rate()).toBeCloseTo(0.3); // 0.5, +0.1 at the refill, × 0.5
  });

  it('an aborted wait leaves the line with the signal reason; the others keep their order', async () => {
    const clock = new ManualPacingClock(0);
    const bucket = new TokenBucket({ capacity: 1, refill: 1, intervalMs: 1000 }, clock);
    bucket.tryAcquire()?.done('ok');
    const order: string[] = [];
    const leaving = new AbortController();
    const a = bucket.acquire(new AbortController().signal).then((p) => order.push('a') && p.done('ok'));
    const b = bucket.acquire(leaving.signal).then(
      () => order.push('b'),
      (reason: unknown) => order.push(`b aborted: ${String(reason)}`),
    );
    const c = bucket.acquire(new AbortController().signal).then((p) => order.push('c') && p.done('ok'));
    leaving.abort('shutdown');
    await b;
    clock.advance(1000);
    await a;
    clock.advance(1000);
    await c;
    expect(order).toEqual(['b aborted: shutdown', 'a', 'c']);
    const gone = new AbortController();
    gone.abort('stopped');
    await expect(bucket.acquire(gone.signal)).rejects.toBe('stopped');
    expect(bucket.waiting()).toBe(0);
  });
});

interface Run {
  readonly calls: number;
  /** The server bucket was created this long before the client's first call (its refill phase). */
  readonly phaseMs: number;
  /** Tokens the server already lacks when the client starts (someone else used them). */
  readonly serverUsed: number;
  readonly concurrency: number;
  /** Per call: when it is wanted, and its one-way latencies out and back. */
  readonly items: ReadonlyArray<{ readonly readyAt: number; readonly up: number; readonly down: number }>;
}

/**
 * A client bucket mirroring the server's (EC2's mutating bucket: 50, +5/s), calls made by `concurrency`
 * workers, each call reaching the server's bucket (the EC2 simulator's) `up` ms after its permit and
 * reporting `down` ms later. Throttled calls are retried, through the bucket.
 */
async function simulate(run: Run): Promise<{ throttled: number; ok: number; firstTake: number; lastArrival: number }> {
  const clock = new ManualPacingClock(0);
  const server = new ServerBucket({ capacity: AWS_MUTATING.capacity, refillPerSecond: AWS_MUTATING.refill }, clock.now, () => 1);
  for (let i = 0; i < run.serverUsed; i += 1) server.tryTake();
  clock.advance(run.phaseMs);
  const client = new TokenBucket(AWS_MUTATING, clock);
  const signal = new AbortController().signal;
  let throttled = 0;
  let ok = 0;
  let firstTake = Number.POSITIVE_INFINITY;
  let lastArrival = 0;
  let next = 0;
  const start = clock.now();
  const worker = async (): Promise<void> => {
    for (;;) {
      const index = next;
      next += 1;
      const item = run.items[index];
      if (item === undefined) return;
      if (start + item.readyAt > clock.now()) {
        await new Promise<void>((resolve) => clock.schedule(start + item.readyAt - clock.now(), resolve));
      }
      for (;;) {
        const permit = await client.acquire(signal);
        firstTake = Math.min(firstTake, clock.now());
        const outcome = await new Promise<PacedOutcome>((resolve) =>
          clock.schedule(item.up, () => {
            const accepted = server.tryTake();
            lastArrival = Math.max(lastArrival, clock.now());
            clock.schedule(item.down, () => resolve(accepted ? 'ok' : 'throttled'));
          }),
        );
        permit.done(outcome);
        if (outcome === 'ok') {
          ok += 1;
          break;
        }
        throttled += 1;
      }
    }
  };
  let finished = false;
  void Promise.all(Array.from({ length: run.concurrency }, worker)).then(() => {
    finished = true;
  });
  await drive(clock, () => finished);
  return { throttled, ok, firstTake, lastArrival };
}

const runs = (serverUsed: fc.Arbitrary<number>, spread: boolean): fc.Arbitrary<Run> =>
  fc
    .record({
      calls: fc.integer({ min: 1, max: 160 }),
      phaseMs: fc.integer({ min: 0, max: 5000 }),
      serverUsed,
      concurrency: fc.integer({ min: 1, max: 16 }),
      seedItems: fc.array(
        fc.record({
          readyAt: spread ? fc.integer({ min: 0, max: 30_000 }) : fc.constant(0),
          up: fc.integer({ min: 0, max: 1500 }),
          down: fc.integer({ min: 0, max: 1500 }),
        }),
        { minLength: 160, maxLength: 160 },
      ),
    })
    .map(({ calls, seedItems, ...rest }) => ({
      ...rest,
      calls,
      items: seedItems.slice(0, calls).sort((a, b) => a.readyAt - b.readyAt),
    }));

describe('a client bucket mirroring the server bucket', () => {
  it('is never throttled when both start full, whatever the server phase and the latencies', async () => {
    await fc.assert(
      fc.asyncProperty(runs(fc.constant(0), false), async (run) => {
        const result = await simulate(run);
        expect(result.throttled).toBe(0);
        expect(result.ok).toBe(run.calls);
        // And it goes at the server's pace: the burst, then `refill` per interval (fake clock), plus
        // the first answer's round trip, at most one refill lost to calls on the wire near full, and
        // what the workers spend on the wire (each makes ceil(calls / concurrency) calls in turn).
        const refills = Math.ceil(Math.max(0, run.calls - AWS_MUTATING.capacity) / AWS_MUTATING.refill);
        const maxTrip = Math.max(...run.items.map((i) => i.up + i.down));
        const onTheWire = Math.ceil(run.calls / run.concurrency) * maxTrip;
        const slack = refills > 0 ? 1000 + maxTrip : 0;
        expect(result.lastArrival - result.firstTake).toBeLessThanOrEqual(refills * 1000 + slack + onTheWire);
      }),
      { numRuns: 60 },
    );
  });

  it('is never throttled with calls spread over time (bursts, idle spells, full again)', async () => {
    await fc.assert(
      fc.asyncProperty(runs(fc.constant(0), true), async (run) => {
        const result = await simulate(run);
        expect(result.throttled).toBe(0);
        expect(result.ok).toBe(run.calls);
      }),
      { numRuns: 60 },
    );
  });

  it('when someone else emptied the server bucket: throttled at most once per call already on the wire, then never', async () => {
    await fc.assert(
      fc.asyncProperty(runs(fc.integer({ min: 0, max: 50 }), false), async (run) => {
        const result = await simulate(run);
        expect(result.ok).toBe(run.calls);
        expect(result.throttled).toBeLessThanOrEqual(run.concurrency);
      }),
      { numRuns: 60 },
    );
  });
});
