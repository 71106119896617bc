/**
 * One reconcile pass: fresh lease snapshot → one listing of the tables → node resolution →
 * pure plan → apply → a report of what became of every lease and table.
 */
import type { Logger } from '../log.js';
import type { InvalidLease, LeaseSnapshot } from '../leases/types.js';
import type { Change, RouteProvider } from '../../providers/provider.js';
import { plan, type LeaseOutcome, type Plan, type PlanPolicy, type TableOutcome } from '../planner/plan.js';
import { applyChanges, DEFAULT_APPLY_OPTIONS, type ApplyOptions, type ChangeResult } from './apply.js';
import { classifyError, type ClassifiedError } from '../errors.js';

/** What the reconciler needs of a lease source: a complete, fresh snapshot or nothing. */
export interface LeaseView {
  snapshot(): LeaseSnapshot | null;
}

export interface ReconcilerSettings {
  readonly dryRun: boolean;
  readonly policy: PlanPolicy;
  readonly apply?: Partial<ApplyOptions>;
}

export type PassOutcome = 'applied' | 'dry-run' | 'skipped' | 'failed';

export interface PassReport {
  readonly startedAt: Date;
  readonly durationMs: number;
  readonly outcome: PassOutcome;
  /** Why a pass was skipped or failed. */
  readonly reason?: string;
  readonly error?: ClassifiedError;
  readonly plan?: Plan;
  readonly results: readonly ChangeResult[];
  /** Every valid lease with its state once the changes were applied. */
  readonly leases: readonly LeaseOutcome[];
  readonly invalid: readonly InvalidLease[];
  readonly tables: readonly TableOutcome[];
  readonly warnings: readonly string[];
}

/** A one-line identity of a change for logs and summaries. */
export function describeChange(change: Change): string {
  switch (change.kind) {
    case 'create':
      return `create ${change.destination} → ${change.target} in ${change.table}`;
    case 'replace':
      return `replace ${change.destination} → ${change.target} (was ${change.previousTarget ?? 'none'}) in ${change.table}`;
    case 'delete':
      return `delete ${change.destination} (${change.reason}) from ${change.table}`;
    case 'enable-forwarding':
      return `disable source/dest check on ${change.target} (node ${change.nodeIp})`;
  }
}

/** The lease states once the applied results are known: a pending lease is routed if all its changes succeeded. */
function settle(outcomes: readonly LeaseOutcome[], results: readonly ChangeResult[]): LeaseOutcome[] {
  const failedByDestination = new Map<string, ClassifiedError>();
  const failedTargets = new Map<string, ClassifiedError>();
  for (const result of results) {
    if (result.ok) continue;
    const change = result.change;
    if (change.kind === 'enable-forwarding') failedTargets.set(change.target, result.error);
    else if (change.kind !== 'delete') failedByDestination.set(change.destination, result.error);
  }
  return outcomes.map((outcome) => {
    const error =
      failedByDestination.get(outcome.subnet) ?? (outcome.target !== undefined ? failedTargets.get(outcome.target) : undefined);
    if (outcome.state === 'pending' && error === undefined) return { ...outcome, state: 'routed' };
    if (error === undefined || (outcome.state !== 'pending' && outcome.state !== 'routed')) return outcome;
    if (error.code === 'RouteLimitExceeded' || error.code === 'QUOTA_EXCEEDED' || error.code === 'quotaExceeded') {
      return { ...outcome, state: 'unrouted', reason: 'route-limit', detail: `the cloud refused the route: ${error.message}` };
    }
    return { ...outcome, state: 'error', detail: `${error.code}: ${error.message}` };
  });
}

export class Reconciler {
  private lastBackendWarning: string | undefined;
  private readonly applyOptions: ApplyOptions;

  constructor(
    private readonly provider: RouteProvider,
    private readonly leases: LeaseView,
    private readonly settings: ReconcilerSettings,
    private readonly logger: Logger,
  ) {
    this.applyOptions = {
      ...DEFAULT_APPLY_OPTIONS,
      ...settings.apply,
      onAttemptFailed: (change, error, attempt, retryInMs) => {
        const fields = { change: describeChange(change), code: error.code, class: error.class, attempt };
        if (retryInMs === undefined) this.logger.error({ ...fields, err: error.message }, 'cloud change failed');
        else this.logger.warn({ ...fields, retryInMs: Math.round(retryInMs) }, 'cloud change will be retried');
      },
      onResult: (result) => {
        if (result.ok) this.logger.info({ change: describeChange(result.change), attempts: result.attempts }, 'route change applied');
      },
    };
  }

  /**
   * One pass. `refresh` (a resync, the default) re-checks known nodes in the cloud (see
   * ResolveOptions); an event-driven pass trusts the provider's node cache and looks up only new node IPs.
   */
  async pass(signal: AbortSignal, options: { readonly refresh?: boolean } = {}): Promise<PassReport> {
    const startedAt = new Date();
    const finish = (fields: Omit<PassReport, 'startedAt' | 'durationMs'>): PassReport => ({
      startedAt,
      durationMs: Date.now() - startedAt.getTime(),
      ...fields,
    });
    const empty = { results: [], leases: [], tables: [], warnings: [] } as const;

    const snapshot = this.leases.snapshot();
    if (snapshot === null) {
      return finish({ ...empty, outcome: 'skipped', reason: 'the lease view from etcd is not complete and fresh: changing nothing', invalid: [] });
    }
    if (snapshot.config === null) {
      return finish({
        ...empty,
        outcome: 'skipped',
        reason: `flannel network config is unusable (${snapshot.configError ?? 'missing'}): changing nothing`,
        invalid: snapshot.invalid,
      });
    }
    this.warnAboutBackend(snapshot.config.backendType);

    let tables;
    let resolutions;
    try {
      tables = await this.provider.listTables(signal);
      const nodeIps = [...new Set(snapshot.leases.map((lease) => lease.nodeIp))];
      resolutions = await this.provider.resolveNodes(nodeIps, signal, { refresh: options.refresh ?? true });
    } catch (err) {
      const error = classifyError(err);
      return finish({ ...empty, outcome: 'failed', reason: `reading the cloud failed: ${error.message}`, error, invalid: snapshot.invalid });
    }

    const computed = plan({
      network: snapshot.config.network,
      leases: snapshot.leases,
      protectedSubnets: snapshot.invalid.flatMap((invalid) => (invalid.subnet !== undefined ? [invalid.subnet] : [])),
      tables,
      resolutions,
      policy: this.settings.policy,
    });
    for (const warning of computed.warnings) this.logger.warn(warning);

    if (this.settings.dryRun) {
      for (const change of computed.changes) this.logger.info({ change: describeChange(change) }, 'dry run: would apply');
      return finish({
        outcome: 'dry-run',
        plan: computed,
        results: [],
        leases: computed.leases,
        invalid: snapshot.invalid,
        tables: computed.tables,
        warnings: computed.warnings,
      });
    }

    const results = await applyChanges(this.provider, computed.changes, signal, this.applyOptions);
    return finish({
      outcome: 'applied',
      plan: computed,
      results,
      leases: settle(computed.leases, results),
      invalid: snapshot.invalid,
      tables: computed.tables,
      warnings: computed.warnings,
    });
  }

  private warnAboutBackend(backendType: string): void {
    if (backendType === this.lastBackendWarning) return;
    this.lastBackendWarning = backendType;
    if (backendType === 'aws-vpc' || backendType === 'gce') {
      this.logger.error(
        { backendType },
        `flannel's Backend.Type is "${backendType}": the nodes program routes themselves and will fight routesync; set "Backend": {"Type": "alloc"}`,
      );
    } else if (backendType !== 'alloc') {
      this.logger.warn({ backendType }, `flannel's Backend.Type is "${backendType}", not "alloc": routesync's routes may be redundant with the overlay`);
    }
  }
}

/** DESIGN §3 exit codes for a --once pass: 0 all routed, 3 some unrouted, 1 errors left. */
export function exitCodeFor(report: PassReport): 0 | 1 | 3 {
  if (report.outcome === 'skipped' || report.outcome === 'failed') return 1;
  if (report.results.some((r) => !r.ok) || report.leases.some((l) => l.state === 'error')) return 1;
  if (report.invalid.length > 0 || report.leases.some((l) => l.state !== 'routed' && l.state !== 'pending')) return 3;
  return 0;
}
