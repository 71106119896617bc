/**
 * The project's ROUTES quota as Compute reports it (docs/architecture.md, 'GCE facts'):
 * projects.get → quotas[] metric ROUTES, `limit` and `usage`. Read on a slow period, not per pass
 * (../quota-reading.ts); when it cannot be read, the declared fallback, with one warning naming the
 * missing permission. The usage is handed on only with the listing of the pass that read it, so
 * that the planner compares it with a listing of the same moment.
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
import type { GceApi } from './compute-api.js';

export { QUOTA_REFRESH_MS, QUOTA_RETRY_MS } from '../quota-reading.js';

const PERMISSION = 'compute.projects.get';
// Compute answers a missing IAM permission with 403 reason `forbidden`, a token without the
// needed OAuth scope with `insufficientPermissions` (https://developers.google.com/youtube/v3/docs/core_errors,
// the global domain's errors); both mean routesync may not read the project.
const DENIED = new Set(['forbidden', 'insufficientPermissions', 'PERMISSION_DENIED', '403']);

export interface GceLimitReading extends QuotaReading {
  /** ROUTES usage, only on the reading a pass has just made. */
  readonly usage?: number;
}

export interface GceRouteQuotaOptions extends QuotaReadingOptions {
  readonly project: string;
}

export class GceRouteQuotaReader {
  private readonly periodic: PeriodicQuota<GceLimitReading>;

  constructor(
    private readonly api: GceApi,
    private readonly options: GceRouteQuotaOptions,
    log: Warner,
  ) {
    this.periodic = new PeriodicQuota(
      {
        read: (readAt, signal) => this.read(readAt, signal),
        keeping: (last, errors) => ({ fields: { error: errors[0]?.code }, message: `re-reading the ROUTES quota failed: keeping ${last.limit}` }),
        fallingBack,
        later: withoutUsage,
      },
      options,
      log,
    );
  }

  current(signal: AbortSignal): Promise<GceLimitReading> {
    return this.periodic.current(signal);
  }

  private async read(readAt: string, signal: AbortSignal): Promise<QuotaAttempt<GceLimitReading>> {
    try {
      if (this.api.getProject === undefined) throw Object.assign(new Error('this Compute surface cannot read projects'), { code: 'Unsupported' });
      const routes = (await this.api.getProject(this.options.project, signal)).quotas.find((q) => q.metric === 'ROUTES');
      const limit = usableLimit(routes?.limit);
      if (limit !== undefined) return { reading: { limit, source: 'quota-api', readAt, ...(routes?.usage !== undefined ? { usage: routes.usage } : {}) } };
      return { errors: [{ code: 'NoRoutesQuota', message: 'projects.get listed no ROUTES quota' }] };
    } catch (err) {
      return { errors: [readFailure(err, signal)] };
    }
  }
}

function fallingBack([error = { code: '', message: '' }]: readonly ReadError[], limit: number) {
  const denied = DENIED.has(error.code);
  return {
    key: 'fallback',
    fields: { error: `${error.code}: ${error.message}`, ...(denied ? { missingPermission: PERMISSION } : {}), limit },
    message:
      `cannot read the project's ROUTES quota with projects.get${denied ? ` (grant ${PERMISSION})` : ''}: ` +
      `using the conservative fallback of ${limit}; pass --route-limit to set it`,
  };
}

function withoutUsage(reading: GceLimitReading): GceLimitReading {
  const { usage: _stale, ...kept } = reading;
  return kept;
}
