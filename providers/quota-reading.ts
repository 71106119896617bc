/**
 * Reading a route quota on a slow period, the mechanism both providers' quota readers share
 * (aws-vpc/route-quota.ts, gce/route-quota.ts): a number from --route-limit is used as is and
 * nothing is read; with `auto` the quota is read at most once per refresh period, sooner (the retry
 * period) after a read that failed or fell back; a failed re-read keeps the last good value (the
 * quota has not changed because a read failed); with none, the declared fallback, warned once per
 * reason. What is read, and what the warnings say, is each provider's.
 */
import { classifyError } from '../src/errors.js';
import type { LimitSource } from './provider.js';

/** How often a good read is repeated. */
export const QUOTA_REFRESH_MS = 3_600_000;
/** How soon a read that fell back (or failed) is tried again. */
export const QUOTA_RETRY_MS = 300_000;

export interface QuotaReading {
  readonly limit: number;
  readonly source: LimitSource;
  /** ISO time of the read that produced it; absent for a flag. */
  readonly readAt?: string;
}

export interface ReadError {
  readonly code: string;
  readonly message: string;
}

/** What one read came to: a reading (`retrySoon`: read again after the retry period), or why there is none. */
export type QuotaAttempt<R extends QuotaReading> =
  | { readonly reading: R; readonly retrySoon?: boolean }
  | { readonly errors: readonly ReadError[] };

export interface QuotaReadingOptions {
  /** --route-limit: a number is used as is, and nothing is read. */
  readonly routeLimit: number | 'auto';
  readonly fallback: number;
  readonly refreshMs?: number;
  readonly retryMs?: number;
  /** Wall clock, ms (tests); default Date.now. */
  readonly now?: () => number;
}

export interface Warner {
  warn(fields: Record<string, unknown>, message: string): void;
}

export interface Warning {
  readonly fields: Record<string, unknown>;
  readonly message: string;
}

/** One provider's quota: how it is read and what its warnings say. */
export interface QuotaSource<R extends QuotaReading> {
  /** One read; it throws only when `signal` aborted (readFailure). */
  read(readAt: string, signal: AbortSignal): Promise<QuotaAttempt<R>>;
  /** The warning given on every failed re-read that keeps `last`. */
  keeping(last: R, errors: readonly ReadError[]): Warning;
  /** The warning for falling back, given once per `key`. */
  fallingBack(errors: readonly ReadError[], fallback: number): Warning & { readonly key: string };
  /** The reading as a pass that did not make it sees it (default: as it is). */
  later?(reading: R | QuotaReading): R | QuotaReading;
}

export class PeriodicQuota<R extends QuotaReading> {
  private reading: R | QuotaReading | undefined;
  /** The last read that came from the API, kept when a later read fails altogether. */
  private lastGood: R | undefined;
  private nextReadAt = 0;
  private readonly warned = new Set<string>();

  constructor(
    private readonly source: QuotaSource<R>,
    private readonly options: QuotaReadingOptions,
    private readonly log: Warner,
  ) {}

  async current(signal: AbortSignal): Promise<R | QuotaReading> {
    const { routeLimit } = this.options;
    if (routeLimit !== 'auto') return { limit: routeLimit, source: 'flag' };
    const now = (this.options.now ?? Date.now)();
    if (this.reading !== undefined && now < this.nextReadAt) return this.later(this.reading);
    this.reading = await this.read(now, signal);
    return this.reading;
  }

  /** Warns once per `key` over the reader's life (a provider's own notices, e.g. a denied first read). */
  warnOnce(key: string, fields: Record<string, unknown>, message: string): void {
    if (this.warned.has(key)) return;
    this.warned.add(key);
    this.log.warn(fields, message);
  }

  private async read(now: number, signal: AbortSignal): Promise<R | QuotaReading> {
    const readAt = new Date(now).toISOString();
    const refresh = this.options.refreshMs ?? QUOTA_REFRESH_MS;
    const retry = Math.min(refresh, this.options.retryMs ?? QUOTA_RETRY_MS);
    const attempt = await this.source.read(readAt, signal);
    if ('reading' in attempt) {
      this.nextReadAt = now + (attempt.retrySoon === true ? retry : refresh);
      this.lastGood = attempt.reading;
      return attempt.reading;
    }
    this.nextReadAt = now + retry;
    if (this.lastGood !== undefined) {
      const { fields, message } = this.source.keeping(this.lastGood, attempt.errors);
      this.log.warn(fields, message);
      return this.later(this.lastGood);
    }
    const limit = this.options.fallback;
    const { key, fields, message } = this.source.fallingBack(attempt.errors, limit);
    this.warnOnce(key, fields, message);
    return { limit, source: 'fallback', readAt };
  }

  private later(reading: R | QuotaReading): R | QuotaReading {
    return this.source.later?.(reading) ?? reading;
  }
}

/** A quota value routesync can use: a finite number of at least 1, whole. */
export function usableLimit(value: number | undefined): number | undefined {
  return value !== undefined && Number.isFinite(value) && value >= 1 ? Math.floor(value) : undefined;
}

/** Why a read failed, classified; our own abort is not a failed read: it ends the pass. */
export function readFailure(err: unknown, signal: AbortSignal): ReadError {
  if (signal.aborted) throw err;
  const classified = classifyError(err);
  return { code: classified.code, message: classified.message };
}
