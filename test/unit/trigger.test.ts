import { afterEach, describe, expect, it, vi } from 'vitest';
import { ReconcileTrigger, type TriggerReason } from '../../src/reconcile/trigger.js';

afterEach(() => {
  vi.useRealTimers();
});

/** The most passes a run may make: the old trigger looped hot, and a guard keeps that test finite. */
const HOT_LOOP_GUARD = 1000;

interface Harness {
  readonly trigger: ReconcileTrigger;
  readonly passes: TriggerReason[][];
  readonly errors: unknown[];
  readonly controller: AbortController;
}

function harness(options: {
  /** What pass n (from 1) does: 'fail' asks for a retry, 'crash' throws, 'ok' returns. */
  readonly pass: (n: number) => 'ok' | 'fail' | 'crash';
  readonly random?: () => number;
  readonly resyncIntervalMs?: number;
}): Harness {
  const passes: TriggerReason[][] = [];
  const errors: unknown[] = [];
  const controller = new AbortController();
  const trigger: ReconcileTrigger = new ReconcileTrigger(
    {
      debounceMs: 50,
      resyncIntervalMs: options.resyncIntervalMs ?? 60_000,
      random: options.random ?? (() => 0),
      run: async (reasons) => {
        passes.push([...reasons]);
        await Promise.resolve();
        const verdict = options.pass(passes.length);
        if (verdict === 'crash') throw new Error('pass crashed');
        // As the service does: a failed cloud read asks for another pass, during this one.
        if (verdict === 'fail' && passes.length < HOT_LOOP_GUARD) trigger.request('retry');
      },
      onError: (err) => errors.push(err),
    },
    controller.signal,
  );
  return { trigger, passes, errors, controller };
}

describe('reconcile trigger backoff', () => {
  it('a pass that always fails runs only a handful of times in a minute', async () => {
    vi.useFakeTimers();
    // random 0: the shortest jittered delays, so the most passes backoff allows.
    const h = harness({ pass: () => 'fail' });
    h.trigger.start();
    await vi.advanceTimersByTimeAsync(60_000);
    expect(h.passes.length).toBeGreaterThanOrEqual(4);
    expect(h.passes.length).toBeLessThanOrEqual(8);
    h.controller.abort();
  });

  it('the delay doubles, is capped at the resync interval, and jitter stays within it', async () => {
    vi.useFakeTimers();
    // random 1: the longest delays, exactly 1 s, 2 s, 4 s, … capped at 10 s.
    const h = harness({ pass: () => 'fail', random: () => 0.999_999, resyncIntervalMs: 10_000 });
    h.trigger.start();
    await vi.advanceTimersByTimeAsync(0);
    const at: number[] = [];
    let seen = h.passes.length;
    for (let t = 1; t <= 40_000; t += 1) {
      await vi.advanceTimersByTimeAsync(1);
      if (h.passes.length !== seen) {
        seen = h.passes.length;
        at.push(t);
      }
    }
    const gaps = at.map((t, i) => t - (at[i - 1] ?? 0));
    expect(gaps.slice(0, 6)).toEqual([1000, 2000, 4000, 8000, 10_000, 10_000]);
    h.controller.abort();
  });

  it('a success resets the delay', async () => {
    vi.useFakeTimers();
    // Passes 1–6 fail, 7 succeeds, then everything fails again.
    const h = harness({ pass: (n) => (n === 7 ? 'ok' : 'fail'), random: () => 0.999_999 });
    h.trigger.start();
    await vi.advanceTimersByTimeAsync(1000 + 2000 + 4000 + 8000 + 16_000 + 32_000);
    expect(h.passes).toHaveLength(7);
    // Nothing more until something asks.
    await vi.advanceTimersByTimeAsync(30_000);
    expect(h.passes).toHaveLength(7);

    h.trigger.request('resync');
    await vi.advanceTimersByTimeAsync(0);
    expect(h.passes).toHaveLength(8);
    // Pass 8 failed: the next try comes after the first delay again, not after 64 s.
    await vi.advanceTimersByTimeAsync(999);
    expect(h.passes).toHaveLength(8);
    await vi.advanceTimersByTimeAsync(1);
    expect(h.passes).toHaveLength(9);
    h.controller.abort();
  });

  it('a crashed pass is reported and retried with backoff, not at once', async () => {
    vi.useFakeTimers();
    const h = harness({ pass: () => 'crash', random: () => 0.999_999 });
    h.trigger.start();
    await vi.advanceTimersByTimeAsync(999);
    expect(h.passes).toHaveLength(1);
    expect(h.errors).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(h.passes).toHaveLength(2);
    h.controller.abort();
  });

  it('lease events and resyncs during a backoff join the retry pass instead of cutting it short', async () => {
    vi.useFakeTimers();
    const h = harness({ pass: (n) => (n === 1 ? 'fail' : 'ok'), random: () => 0.999_999 });
    h.trigger.start();
    await vi.advanceTimersByTimeAsync(100);
    expect(h.passes).toEqual([['startup']]);
    h.trigger.request('lease-event');
    h.trigger.request('resync');
    await vi.advanceTimersByTimeAsync(800);
    expect(h.passes).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(100);
    expect(h.passes).toEqual([['startup'], ['retry', 'lease-event', 'resync']]);
    h.controller.abort();
  });

  it('stops retrying when its signal aborts', async () => {
    vi.useFakeTimers();
    const h = harness({ pass: () => 'fail' });
    h.trigger.start();
    await vi.advanceTimersByTimeAsync(0);
    expect(h.passes).toHaveLength(1);
    h.controller.abort();
    await vi.advanceTimersByTimeAsync(600_000);
    expect(h.passes).toHaveLength(1);
  });
});

describe('reconcile trigger coalescing', () => {
  it('a burst of lease events becomes one pass after the debounce', async () => {
    vi.useFakeTimers();
    const h = harness({ pass: () => 'ok' });
    h.trigger.start();
    await vi.advanceTimersByTimeAsync(0);
    for (let i = 0; i < 10; i += 1) h.trigger.request('lease-event');
    await vi.advanceTimersByTimeAsync(49);
    expect(h.passes).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(h.passes).toEqual([['startup'], ['lease-event']]);
    h.controller.abort();
  });

  it('requests during a pass cause exactly one more pass', async () => {
    vi.useFakeTimers();
    let release: () => void = () => undefined;
    const passes: TriggerReason[][] = [];
    const controller = new AbortController();
    const trigger = new ReconcileTrigger(
      {
        debounceMs: 50,
        resyncIntervalMs: 3_600_000,
        run: async (reasons) => {
          passes.push([...reasons]);
          if (passes.length === 1) await new Promise<void>((resolve) => (release = resolve));
        },
        onError: (err) => {
          throw err;
        },
      },
      controller.signal,
    );
    trigger.start();
    await vi.advanceTimersByTimeAsync(0);
    trigger.request('lease-event');
    trigger.request('resync');
    trigger.request('lease-event');
    release();
    await vi.advanceTimersByTimeAsync(1000);
    expect(passes).toEqual([['startup'], ['lease-event', 'resync']]);
    controller.abort();
  });
});
