/**
 * One token bucket per API action (the cloud throttles each action on its own), shared
 * by every table and every pass: the provider owns one Pacer for its lifetime.
 */
import type { AcquireOptions, PacedOutcome, PacerPermit, RateLimit, RequestPacer } from '../../providers/provider.js';
import { classifyError } from '../errors.js';
import { systemClock, type PacingClock } from './clock.js';
import { TokenBucket, type BucketOptions, type BucketStats } from './token-bucket.js';

export interface PacerOptions extends Omit<BucketOptions, 'onThrottled'> {
  /** The limit of each paced action; calls of other actions are not paced. */
  readonly limits: Readonly<Record<string, RateLimit>>;
  readonly clock?: PacingClock;
  /** A paced call came back throttled; `drained`: it emptied that action's bucket. */
  readonly onThrottled?: (action: string, drained: boolean) => void;
}

const UNPACED: PacerPermit = { done: () => undefined };

export class Pacer implements RequestPacer {
  private readonly buckets = new Map<string, TokenBucket>();
  readonly clock: PacingClock;

  constructor(private readonly options: PacerOptions) {
    this.clock = options.clock ?? systemClock;
    for (const [action, limit] of Object.entries(options.limits)) {
      this.buckets.set(
        action,
        new TokenBucket(limit, this.clock, {
          ...(options.decrease !== undefined ? { decrease: options.decrease } : {}),
          ...(options.recovery !== undefined ? { recovery: options.recovery } : {}),
          ...(options.minRate !== undefined ? { minRate: options.minRate } : {}),
          onThrottled: (drained) => options.onThrottled?.(action, drained),
        }),
      );
    }
  }

  acquire(action: string, signal: AbortSignal, options?: AcquireOptions): Promise<PacerPermit> {
    const bucket = this.buckets.get(action);
    if (bucket !== undefined) return bucket.acquire(signal, options);
    return signal.aborted ? Promise.reject(signal.reason) : Promise.resolve(UNPACED);
  }

  /** The bucket of a paced action. */
  bucket(action: string): TokenBucket | undefined {
    return this.buckets.get(action);
  }

  limits(): Readonly<Record<string, RateLimit>> {
    return this.options.limits;
  }

  /** Per action: permits, throttled answers, drains, waits. */
  stats(): Record<string, BucketStats> {
    return Object.fromEntries([...this.buckets].map(([action, bucket]) => [action, bucket.stats()]));
  }

  /** Callers waiting in any bucket. */
  waiting(): number {
    let total = 0;
    for (const bucket of this.buckets.values()) total += bucket.waiting();
    return total;
  }

  /** Calls granted and not reported yet, in all buckets. */
  inFlight(): number {
    let total = 0;
    for (const bucket of this.buckets.values()) total += bucket.inFlight();
    return total;
  }
}

/** The outcome to report for a call that threw `err`. */
export function outcomeOf(err: unknown): PacedOutcome {
  return classifyError(err).class === 'throttled' ? 'throttled' : 'failed';
}

/**
 * Runs one call under `pacer` (when there is one): waits for a token of `action`, makes the call,
 * reports how it went. One attempt: errors propagate to the caller unchanged.
 */
export async function paced<T>(
  pacer: RequestPacer | undefined,
  action: string,
  signal: AbortSignal,
  call: () => Promise<T>,
  options?: AcquireOptions,
): Promise<T> {
  // No call goes out on a signal that aborted while the caller was busy (a lost leadership).
  signal.throwIfAborted();
  if (pacer === undefined) return call();
  const permit = await pacer.acquire(action, signal, options);
  try {
    signal.throwIfAborted();
    const result = await call();
    permit.done('ok');
    return result;
  } catch (err) {
    permit.done(outcomeOf(err));
    throw err;
  }
}

/** Divides every interval by `scale` (a simulator running `scale` times faster than the cloud). */
export function scaleLimits(limits: Readonly<Record<string, RateLimit>>, scale: number): Record<string, RateLimit> {
  return Object.fromEntries(Object.entries(limits).map(([action, l]) => [action, { ...l, intervalMs: l.intervalMs / scale }]));
}
