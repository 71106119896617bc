/**
 * The "routes per route table" quota as the account has it (docs/architecture.md, 'AWS facts'):
 * Service Quotas GetServiceQuota (ServiceCode vpc, QuotaCode L-93826ACB) in the provider's region;
 * when that is denied or has no applied value, GetAWSDefaultServiceQuota; when that fails too, the
 * declared fallback, with one warning naming the missing permission. Read on a slow period, not
 * per pass: the quota changes when someone asks AWS to raise it.
 */
import { classifyError } from '../../src/errors.js';
import type { LimitSource } from '../provider.js';
import type { ServiceQuotasApi } from './service-quotas-api.js';

/** Service Quotas' code of "Routes per route table" (IPv4 and IPv6 are counted apart, each to this value). */
export const ROUTES_PER_TABLE_QUOTA = { ServiceCode: 'vpc', QuotaCode: 'L-93826ACB' } as const;
/** How often a good read is repeated. */
export const QUOTA_REFRESH_MS = 3_600_000;
/** How soon a read that fell back (or failed) is tried again. */
export const QUOTA_RETRY_MS = 300_000;

export interface LimitReading {
  readonly limit: number;
  readonly source: LimitSource;
  /** ISO time of the read that produced it; absent for a flag. */
  readonly readAt?: string;
}

export interface RouteQuotaOptions {
  /** --route-limit: a number is used as is, and nothing is read. */
  readonly routeLimit: number | 'auto';
  readonly fallback: number;
  readonly refreshMs?: number;
  readonly retryMs?: number;
  /** Wall clock, ms (tests); default Date.now. */
  readonly now?: () => number;
}

interface Warner {
  warn(fields: Record<string, unknown>, message: string): void;
}

const PERMISSION = { applied: 'servicequotas:GetServiceQuota', default: 'servicequotas:GetAWSDefaultServiceQuota' } as const;

export class RouteQuotaReader {
  private reading: LimitReading | undefined;
  /** The last read that came from the API, kept when a later read fails altogether. */
  private lastGood: LimitReading | undefined;
  private nextReadAt = 0;
  private readonly warned = new Set<string>();

  constructor(
    private readonly api: ServiceQuotasApi | undefined,
    private readonly options: RouteQuotaOptions,
    private readonly log: Warner,
  ) {}

  async current(signal: AbortSignal): Promise<LimitReading> {
    const { routeLimit } = this.options;
    if (routeLimit !== 'auto') return { limit: routeLimit, source: 'flag' };
    const now = (this.options.now ?? Date.now)();
    if (this.reading !== undefined && now < this.nextReadAt) return this.reading;
    this.reading = await this.read(now, signal);
    return this.reading;
  }

  private async read(now: number, signal: AbortSignal): Promise<LimitReading> {
    const readAt = new Date(now).toISOString();
    const refresh = this.options.refreshMs ?? QUOTA_REFRESH_MS;
    const retry = Math.min(refresh, this.options.retryMs ?? QUOTA_RETRY_MS);
    if (this.api === undefined) return this.fellBack(now, retry, [], 'no Service Quotas client');

    let appliedError: { code: string; message: string } | undefined;
    try {
      const value = valueOf((await this.api.getServiceQuota({ ...ROUTES_PER_TABLE_QUOTA }, signal)).Quota?.Value);
      if (value !== undefined) return this.good({ limit: value, source: 'quota-api', readAt }, now + refresh);
      appliedError = { code: 'NoValue', message: 'GetServiceQuota returned no value' };
    } catch (err) {
      appliedError = failure(err, signal);
    }
    try {
      const value = valueOf((await this.api.getAwsDefaultServiceQuota({ ...ROUTES_PER_TABLE_QUOTA }, signal)).Quota?.Value);
      if (value !== undefined) {
        // Denied: the applied value (which may be higher) stays unknown until the permission is added.
        if (appliedError.code === 'AccessDeniedException') {
          this.warnOnce(
            `denied:${PERMISSION.applied}`,
            { missingPermission: PERMISSION.applied, limit: value },
            `cannot read the account's applied route quota (${PERMISSION.applied} denied): using AWS's default of ${value} routes per table`,
          );
        }
        // No applied value (NoSuchResourceException) means the default is the account's value; a fault
        // of the first call is worth reading again soon.
        const denied = appliedError.code === 'AccessDeniedException' || appliedError.code === 'NoSuchResourceException';
        return this.good({ limit: value, source: 'default-api', readAt }, now + (denied ? refresh : retry));
      }
      return this.fellBack(now, retry, [appliedError, { code: 'NoValue', message: 'GetAWSDefaultServiceQuota returned no value' }], readAt);
    } catch (err) {
      return this.fellBack(now, retry, [appliedError, failure(err, signal)], readAt);
    }
  }

  private good(reading: LimitReading, nextReadAt: number): LimitReading {
    this.nextReadAt = nextReadAt;
    this.lastGood = reading;
    return reading;
  }

  private fellBack(now: number, retry: number, errors: ReadonlyArray<{ code: string; message: string }>, readAt: string): LimitReading {
    this.nextReadAt = now + retry;
    const codes = errors.map((e) => e.code);
    // A failed re-read keeps the last good value: the quota has not changed because a read failed.
    if (this.lastGood !== undefined) {
      this.log.warn({ errors: codes }, `re-reading the route quota failed: keeping ${this.lastGood.limit} from ${this.lastGood.readAt ?? ''}`);
      return this.lastGood;
    }
    const missing = [PERMISSION.applied, PERMISSION.default].filter((_, i) => errors[i]?.code === 'AccessDeniedException');
    const limit = this.options.fallback;
    this.warnOnce(
      `fallback:${missing.join(',')}`,
      { errors: errors.map((e) => `${e.code}: ${e.message}`), ...(missing.length > 0 ? { missingPermission: missing } : {}), limit },
      `cannot read the route quota from Service Quotas${missing.length > 0 ? ` (grant ${missing.join(' and ')})` : ''}: ` +
        `using the conservative fallback of ${limit} routes per table; pass --route-limit to set it`,
    );
    return { limit, source: 'fallback', readAt };
  }

  private warnOnce(key: string, fields: Record<string, unknown>, message: string): void {
    if (this.warned.has(key)) return;
    this.warned.add(key);
    this.log.warn(fields, message);
  }
}

function valueOf(value: number | undefined): number | undefined {
  return value !== undefined && Number.isFinite(value) && value >= 1 ? Math.floor(value) : undefined;
}

/** Our own abort is not a failed read: it ends the pass. */
function failure(err: unknown, signal: AbortSignal): { code: string; message: string } {
  if (signal.aborted) throw err;
  const classified = classifyError(err);
  return { code: classified.code, message: classified.message };
}
