/**
 * The "routes per route table" quota as the account has it (docs/architecture.md, 'AWS facts'):
 * Service Quotas GetServiceQuota (ServiceCode vpc, QuotaCode L-93826ACB) in the provider's region;
 * when that is denied or has no applied value, GetAWSDefaultServiceQuota; when that fails too, the
 * declared fallback, with one warning naming the missing permission. Read on a slow period, not
 * per pass (../quota-reading.ts): the quota changes when someone asks AWS to raise it.
 */
import {
  PeriodicQuota,
  readFailure,
  usableLimit,
  type QuotaAttempt,
  type QuotaReading,
  type QuotaReadingOptions,
  type ReadError,
  type Warner,
} from '../quota-reading.js';
import type { ServiceQuotasApi } from './service-quotas-api.js';

export { QUOTA_REFRESH_MS, QUOTA_RETRY_MS } from '../quota-reading.js';

/** Service Quotas' code of "Routes per route table" (IPv4 and IPv6 are counted apart, each to this value). */
export const ROUTES_PER_TABLE_QUOTA = { ServiceCode: 'vpc', QuotaCode: 'L-93826ACB' } as const;

export type LimitReading = QuotaReading;
export type RouteQuotaOptions = QuotaReadingOptions;

const PERMISSION = { applied: 'servicequotas:GetServiceQuota', default: 'servicequotas:GetAWSDefaultServiceQuota' } as const;

export class RouteQuotaReader {
  private readonly periodic: PeriodicQuota<LimitReading>;

  constructor(
    private readonly api: ServiceQuotasApi | undefined,
    options: RouteQuotaOptions,
    log: Warner,
  ) {
    this.periodic = new PeriodicQuota(
      {
        read: (readAt, signal) => this.read(readAt, signal),
        keeping: (last, errors) => ({
          fields: { errors: errors.map((e) => e.code) },
          message: `re-reading the route quota failed: keeping ${last.limit} from ${last.readAt ?? ''}`,
        }),
        fallingBack,
      },
      options,
      log,
    );
  }

  current(signal: AbortSignal): Promise<LimitReading> {
    return this.periodic.current(signal);
  }

  private async read(readAt: string, signal: AbortSignal): Promise<QuotaAttempt<LimitReading>> {
    if (this.api === undefined) return { errors: [] };

    let appliedError: ReadError;
    try {
      const value = usableLimit((await this.api.getServiceQuota({ ...ROUTES_PER_TABLE_QUOTA }, signal)).Quota?.Value);
      if (value !== undefined) return { reading: { limit: value, source: 'quota-api', readAt } };
      appliedError = { code: 'NoValue', message: 'GetServiceQuota returned no value' };
    } catch (err) {
      appliedError = readFailure(err, signal);
    }
    try {
      const value = usableLimit((await this.api.getAwsDefaultServiceQuota({ ...ROUTES_PER_TABLE_QUOTA }, signal)).Quota?.Value);
      if (value !== undefined) {
        // Denied: the applied value (which may be higher) stays unknown until the permission is added.
        if (appliedError.code === 'AccessDeniedException') {
          this.periodic.warnOnce(
            `denied:${PERMISSION.applied}`,
            { missingPermission: PERMISSION.applied, limit: value },
            `cannot read the account's applied route quota (${PERMISSION.applied} denied): using AWS's default of ${value} routes per table`,
          );
        }
        // No applied value (NoSuchResourceException) means the default is the account's value; a fault
        // of the first call is worth reading again soon.
        const denied = appliedError.code === 'AccessDeniedException' || appliedError.code === 'NoSuchResourceException';
        return { reading: { limit: value, source: 'default-api', readAt }, retrySoon: !denied };
      }
      return { errors: [appliedError, { code: 'NoValue', message: 'GetAWSDefaultServiceQuota returned no value' }] };
    } catch (err) {
      return { errors: [appliedError, readFailure(err, signal)] };
    }
  }
}

/** Errors are those of [GetServiceQuota, GetAWSDefaultServiceQuota]: the denied ones name their permission. */
function fallingBack(errors: readonly ReadError[], limit: number) {
  const missing = [PERMISSION.applied, PERMISSION.default].filter((_, i) => errors[i]?.code === 'AccessDeniedException');
  return {
    key: `fallback:${missing.join(',')}`,
    fields: { errors: errors.map((e) => `${e.code}: ${e.message}`), ...(missing.length > 0 ? { missingPermission: missing } : {}), limit },
    message:
      `cannot read the route quota from Service Quotas${missing.length > 0 ? ` (grant ${missing.join(' and ')})` : ''}: ` +
      `using the conservative fallback of ${limit} routes per table; pass --route-limit to set it`,
  };
}
