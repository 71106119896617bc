/** src/abort.ts: per-call signals linked to a long-lived one leave nothing on it. */
import { getEventListeners } from 'node:events';
import { describe, expect, it } from 'vitest';
import { linkedSignal, sleep, withSignal } from '../../src/abort.js';

describe('linkedSignal', () => {
  it('shares one listener on the parent however many are linked, and none once all are released', () => {
    const parent = new AbortController().signal;
    const linked = Array.from({ length: 100 }, () => linkedSignal(parent));
    expect(getEventListeners(parent, 'abort')).toHaveLength(1);
    for (const l of linked) l.release();
    expect(getEventListeners(parent, 'abort')).toHaveLength(0);
  });

  it('aborts with the parent’s reason, or on its timeout', async () => {
    const parent = new AbortController();
    const a = linkedSignal(parent.signal);
    const released = linkedSignal(parent.signal);
    released.release();
    const reason = new Error('lost leadership');
    parent.abort(reason);
    expect(a.signal.reason).toBe(reason);
    expect(a.timedOut).toBe(false);
    expect(released.signal.aborted).toBe(false);

    const other = new AbortController().signal;
    const timed = linkedSignal(other, 1);
    await new Promise<void>((resolve) => timed.signal.addEventListener('abort', () => resolve(), { once: true }));
    expect(timed.timedOut).toBe(true);
    expect(getEventListeners(other, 'abort')).toHaveLength(0);
  });

  it('withSignal and sleep remove what they add', async () => {
    const parent = new AbortController().signal;
    await Promise.all(Array.from({ length: 20 }, () => withSignal(parent, (own) => sleep(1, own))));
    expect(getEventListeners(parent, 'abort')).toHaveLength(0);
    const controller = new AbortController();
    const pause = sleep(3_600_000, controller.signal);
    controller.abort(new Error('stop'));
    await expect(pause).rejects.toThrow('stop');
  });
});
