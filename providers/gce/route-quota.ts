/**
 * The project's ROUTES quota as Compute reports it (docs/architecture.md, 'GCE facts'):
 * projects.get → quotas[] metric ROUTES, `limit` and `usage`. Read on a slow period, not per pass;
 * when it cannot be read, the declared fallback, with one warning naming the missing permission.
 * The usage is handed on only with the listing of the pass that read it, so that the planner
 * compares it with a listing of the same moment.
 */
import { classifyError } from '../../src/errors.js';
import type { LimitSource } from '../provider.js';
import type { GceApi } from './compute-api.js';

export const QUOTA_REFRESH_MS = 3_600_000;
export const QUOTA_RETRY_MS = 300_000;
const PERMISSION = 'compute.projects.get';
const DENIED = new Set(['forbidden', 'insufficientPermissions', 'PERMISSION_DENIED', '403']);

export interface GceLimitReading {
  readonly limit: number;
  readonly source: LimitSource;
  readonly readAt?: string;
  /** ROUTES usage, only on the reading a pass has just made. */
  readonly usage?: number;
}

export interface GceRouteQuotaOptions {
  readonly project: string;
  readonly routeLimit: number | 'auto';
  readonly fallback: number;
  readonly refreshMs?: number;
  readonly retryMs?: number;
  readonly now?: () => number;
}

interface Warner {
  warn(fields: Record<string, unknown>, message: string): void;
}

export class GceRouteQuotaReader {
  private reading: GceLimitReading | undefined;
  private nextReadAt = 0;
  private warned = false;

  constructor(
    private readonly api: GceApi,
    private readonly options: GceRouteQuotaOptions,
    private readonly log: Warner,
  ) {}

  async current(signal: AbortSignal): Promise<GceLimitReading> {
    const { routeLimit } = this.options;
    if (routeLimit !== 'auto') return { limit: routeLimit, source: 'flag' };
    const now = (this.options.now ?? Date.now)();
    if (this.reading !== undefined && now < this.nextReadAt) {
      const { usage: _stale, ...kept } = this.reading;
      return kept;
    }
    this.reading = await this.read(now, signal);
    return this.reading;
  }

  private async read(now: number, signal: AbortSignal): Promise<GceLimitReading> {
    const readAt = new Date(now).toISOString();
    const refresh = this.options.refreshMs ?? QUOTA_REFRESH_MS;
    let error: { code: string; message: string };
    try {
      if (this.api.getProject === undefined) throw Object.assign(new Error('this Compute surface cannot read projects'), { code: 'Unsupported' });
      const routes = (await this.api.getProject(this.options.project, signal)).quotas.find((q) => q.metric === 'ROUTES');
      if (routes?.limit !== undefined && Number.isFinite(routes.limit) && routes.limit >= 1) {
        this.nextReadAt = now + refresh;
        return { limit: Math.floor(routes.limit), source: 'quota-api', readAt, ...(routes.usage !== undefined ? { usage: routes.usage } : {}) };
      }
      error = { code: 'NoRoutesQuota', message: 'projects.get listed no ROUTES quota' };
    } catch (err) {
      if (signal.aborted) throw err;
      const classified = classifyError(err);
      error = { code: classified.code, message: classified.message };
    }
    this.nextReadAt = now + Math.min(refresh, this.options.retryMs ?? QUOTA_RETRY_MS);
    // A failed re-read keeps the last good value: the quota has not changed because a read failed.
    if (this.reading !== undefined && this.reading.source === 'quota-api') {
      this.log.warn({ error: error.code }, `re-reading the ROUTES quota failed: keeping ${this.reading.limit}`);
      const { usage: _stale, ...kept } = this.reading;
      return kept;
    }
    // Compute answers a missing IAM permission with 403 reason `forbidden`, a token without the
    // needed OAuth scope with `insufficientPermissions` (https://developers.google.com/youtube/v3/docs/core_errors,
    // the global domain's errors); both mean routesync may not read the project.
    const denied = DENIED.has(error.code);
    if (!this.warned) {
      this.warned = true;
      this.log.warn(
        { error: `${error.code}: ${error.message}`, ...(denied ? { missingPermission: PERMISSION } : {}), limit: this.options.fallback },
        `cannot read the project's ROUTES quota with projects.get${denied ? ` (grant ${PERMISSION})` : ''}: ` +
          `using the conservative fallback of ${this.options.fallback}; pass --route-limit to set it`,
      );
    }
    return { limit: this.options.fallback, source: 'fallback', readAt };
  }
}
