/**
 * EC2 request throttling (docs/architecture.md, 'AWS facts'): a token bucket per API action, per account and region,
 * topped up once per second. A request takes one token; an empty bucket answers 503
 * RequestLimitExceeded and takes nothing. Buckets belong to the account, not to a route table, so
 * every table (and every client) of a world draws from the same ones. Refills fall on a fixed grid
 * of whole seconds from the world's start, not from a client's first call: a client cannot line
 * itself up with them by calling first.
 */

import type { Clock } from '../shared/util.js';

export { ManualClock, seededRandom, type Clock } from '../shared/util.js';

export interface BucketSpec {
  /** Maximum tokens (the burst). */
  readonly capacity: number;
  /** Tokens added at each whole second. */
  readonly refillPerSecond: number;
}

export type ThrottleCategory = 'mutating' | 'modify-network-interface' | 'describe' | 'describe-unfiltered';

/** AWS's published numbers for the categories routesync's six actions fall in. */
export const DEFAULT_BUCKETS: Readonly<Record<ThrottleCategory, BucketSpec>> = {
  mutating: { capacity: 50, refillPerSecond: 5 },
  'modify-network-interface': { capacity: 100, refillPerSecond: 5 },
  describe: { capacity: 100, refillPerSecond: 20 },
  'describe-unfiltered': { capacity: 50, refillPerSecond: 10 },
};

export class TokenBucket {
  private tokens: number;
  private lastRefill: number;

  /** `origin`: when the refill grid starts (default now); the bucket starts full. */
  constructor(
    readonly spec: BucketSpec,
    private readonly clock: Clock,
    private readonly timeScale: () => number,
    origin: number = clock(),
  ) {
    this.tokens = spec.capacity;
    this.lastRefill = origin;
  }

  /** Tokens available now. */
  available(): number {
    this.refill();
    return this.tokens;
  }

  /** Takes one token when there is one. */
  tryTake(): boolean {
    this.refill();
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }

  private refill(): void {
    const period = 1000 / this.timeScale();
    const now = this.clock();
    const ticks = Math.floor((now - this.lastRefill) / period);
    if (ticks <= 0) return;
    this.tokens = Math.min(this.spec.capacity, this.tokens + ticks * this.spec.refillPerSecond);
    this.lastRefill += ticks * period;
  }
}

export interface ThrottleOptions {
  readonly clock: Clock;
  readonly timeScale: () => number;
  /** Per-category overrides of AWS's numbers. */
  readonly buckets?: Partial<Record<ThrottleCategory, BucketSpec>>;
}

/** One bucket per action (and per category for describes called unfiltered and unpaginated). */
export class Throttle {
  enabled = true;
  private readonly buckets = new Map<string, TokenBucket>();
  private readonly specs: Record<ThrottleCategory, BucketSpec>;

  /** The refill grid of every bucket starts here (the world's start). */
  private readonly origin: number;

  constructor(private readonly options: ThrottleOptions) {
    this.specs = { ...DEFAULT_BUCKETS, ...options.buckets };
    this.origin = options.clock();
  }

  /** Takes a token for `action` in `category`; false means throttled. Always true when disabled. */
  take(action: string, category: ThrottleCategory): boolean {
    if (!this.enabled) return true;
    return this.bucket(action, category).tryTake();
  }

  /** Tokens left for `action` in `category` (the full capacity for a bucket not used yet). */
  available(action: string, category: ThrottleCategory): number {
    return this.bucket(action, category).available();
  }

  /** Refills every bucket (forgets all buckets). */
  reset(): void {
    this.buckets.clear();
  }

  private bucket(action: string, category: ThrottleCategory): TokenBucket {
    const key = `${action}/${category}`;
    let bucket = this.buckets.get(key);
    if (bucket === undefined) {
      bucket = new TokenBucket(this.specs[category], this.options.clock, this.options.timeScale, this.origin);
      this.buckets.set(key, bucket);
    }
    return bucket;
  }
}
