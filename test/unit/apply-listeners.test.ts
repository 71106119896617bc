/**
 * applyChanges on a long-lived signal (a leadership): however many changes wait in its queues, the
 * signal carries at most one abort listener, and none once the pass is done. More than 10 make Node
 * print a plain-text MaxListenersExceededWarning into the JSON log stream.
 */
import { getEventListeners } from 'node:events';
import { describe, expect, it } from 'vitest';
import { applyChanges, DEFAULT_APPLY_OPTIONS } from '../../src/reconcile/apply.js';
import type { Change, NodeResolution, RouteProvider, RouteTable } from '../../providers/provider.js';

/** A provider whose calls wait until released, so many changes sit queued at once. */
class HeldProvider implements RouteProvider {
  readonly name = 'held';
  private readonly waiting: Array<() => void> = [];
  started = 0;
  listTables(): Promise<RouteTable[]> {
    return Promise.resolve([]);
  }
  resolveNodes(): Promise<Map<string, NodeResolution>> {
    return Promise.resolve(new Map());
  }
  apply(): Promise<void> {
    this.started += 1;
    return new Promise((resolve) => this.waiting.push(resolve));
  }
  releaseAll(): void {
    for (const resolve of this.waiting.splice(0)) resolve();
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
}

const creates = (n: number): Change[] =>
  Array.from({ length: n }, (_, i) => ({ kind: 'create', table: 'rtb-1', destination: `10.1.${i}.0/24`, target: `eni-${i}`, nodeIp: `172.31.0.${i}` }));

describe('applyChanges and the pass signal', () => {
  it('200 queued changes leave at most one abort listener on the pass signal, and none after the pass', async () => {
    const provider = new HeldProvider();
    const pass = new AbortController();
    const warnings: Error[] = [];
    const onWarning = (warning: Error): void => {
      warnings.push(warning);
    };
    process.on('warning', onWarning);
    try {
      const applying = applyChanges(provider, creates(200), pass.signal, { ...DEFAULT_APPLY_OPTIONS, concurrency: 8 });
      // Wait (on the provider, not a clock) until the first slots are taken and the rest are queued.
      while (provider.started < 8) await new Promise((resolve) => setImmediate(resolve));
      expect(getEventListeners(pass.signal, 'abort').length).toBeLessThanOrEqual(1);
      while (provider.started < 200) {
        provider.releaseAll();
        await new Promise((resolve) => setImmediate(resolve));
      }
      provider.releaseAll();
      const results = await applying;
      expect(results.filter((r) => r.ok)).toHaveLength(200);
      expect(getEventListeners(pass.signal, 'abort')).toHaveLength(0);
      await new Promise((resolve) => setImmediate(resolve));
      expect(warnings.filter((w) => w.name === 'MaxListenersExceededWarning')).toEqual([]);
    } finally {
      process.off('warning', onWarning);
    }
  });

  it('an abort of the pass signal still reaches queued and running changes', async () => {
    const provider = new HeldProvider();
    const pass = new AbortController();
    const applying = applyChanges(provider, creates(20), pass.signal, { ...DEFAULT_APPLY_OPTIONS, concurrency: 4 });
    while (provider.started < 4) await new Promise((resolve) => setImmediate(resolve));
    pass.abort(new Error('leadership lost'));
    provider.releaseAll();
    const results = await applying;
    expect(results).toHaveLength(20);
    // The running ones may have completed; every queued one was cancelled without reaching the cloud.
    expect(provider.started).toBe(4);
    expect(results.filter((r) => !r.ok).length).toBeGreaterThanOrEqual(16);
  });
});
