/**
 * Applies a plan's changes through the provider: a bounded queue, retries with exponential
 * backoff and jitter for throttling and transient errors, and no retry for errors that are
 * permanent for a lease. A failing change never blocks the others.
 */
import PQueue from 'p-queue';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Change, RouteProvider } from '../../providers/provider.js';
import { classifyError, isRetryable, type ClassifiedError } from '../errors.js';

export interface ApplyOptions {
  readonly concurrency: number;
  readonly maxAttempts: number;
  /** First back-off after a transient error; throttling waits five times longer. */
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
  readonly random?: () => number;
  readonly onAttemptFailed?: (change: Change, error: ClassifiedError, attempt: number, retryInMs: number | undefined) => void;
  readonly onResult?: (result: ChangeResult) => void;
}

export const DEFAULT_APPLY_OPTIONS: ApplyOptions = { concurrency: 8, maxAttempts: 6, baseDelayMs: 200, maxDelayMs: 10_000 };

export type ChangeResult =
  | { readonly change: Change; readonly ok: true; readonly attempts: number }
  | { readonly change: Change; readonly ok: false; readonly attempts: number; readonly error: ClassifiedError };

export function backoffMs(error: ClassifiedError, attempt: number, options: ApplyOptions): number {
  const base = error.class === 'throttled' ? options.baseDelayMs * 5 : options.baseDelayMs;
  const ceiling = Math.min(options.maxDelayMs, base * 2 ** (attempt - 1));
  // "Equal jitter": at least half the ceiling, so retries spread without collapsing to zero.
  return ceiling / 2 + (options.random ?? Math.random)() * (ceiling / 2);
}

async function applyOne(provider: RouteProvider, change: Change, signal: AbortSignal, options: ApplyOptions): Promise<ChangeResult> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      signal.throwIfAborted();
      await provider.apply(change, signal);
      return { change, ok: true, attempts: attempt };
    } catch (err) {
      const error = classifyError(signal.aborted ? signal.reason ?? err : err);
      const retry = isRetryable(error) && attempt < options.maxAttempts && !signal.aborted;
      const delay = retry ? backoffMs(error, attempt, options) : undefined;
      options.onAttemptFailed?.(change, error, attempt, delay);
      if (delay === undefined) return { change, ok: false, attempts: attempt, error };
      try {
        await sleep(delay, undefined, { signal });
      } catch {
        return { change, ok: false, attempts: attempt, error: classifyError(signal.reason) };
      }
    }
  }
}

/**
 * Forwarding fixes, replaces and deletes go first; creates follow once the deletes that free
 * their capacity are done.
 */
export async function applyChanges(
  provider: RouteProvider,
  changes: readonly Change[],
  signal: AbortSignal,
  options: ApplyOptions = DEFAULT_APPLY_OPTIONS,
): Promise<ChangeResult[]> {
  const queue = new PQueue({ concurrency: options.concurrency });
  const results: ChangeResult[] = [];
  const run = async (batch: readonly Change[]): Promise<void> => {
    await Promise.all(
      batch.map((change) =>
        queue.add(async () => {
          const result = await applyOne(provider, change, signal, options);
          results.push(result);
          options.onResult?.(result);
        }),
      ),
    );
  };
  await run(changes.filter((c) => c.kind !== 'create'));
  await run(changes.filter((c) => c.kind === 'create'));
  return results;
}
