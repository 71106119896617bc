/**
 * One reconcile pass: fresh lease snapshot → one listing of the tables → node resolution →
 * pure plan → apply → a report of what became of every lease and table.
 */
import type { Logger } from '../log.js';
import type { InvalidLease, LeaseSnapshot } from '../leases/types.js';
import type { Change, RouteProvider } from '../../providers/provider.js';
import { partialOutcome, plan, type LeaseOutcome, type Plan, type PlanInput, type PlanNetwork, type PlanPolicy, type TableOutcome } from '../planner/plan.js';
import { applyChanges, DEFAULT_APPLY_OPTIONS, HELD_BACK_CODE, type ApplyOptions, type ChangeResult } from './apply.js';
import { classifyError, type ClassifiedError } from '../errors.js';
import { LateCreates } from './late-creates.js';
import { LearnedLimits } from './learned-limits.js';

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
  /** Every valid lease with its state once the changes were applied (none when no plan was made). */
  readonly leases: readonly LeaseOutcome[];
  /** How many valid leases the etcd snapshot held; absent when there was no usable snapshot. */
  readonly validLeases?: number;
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

const LIMIT_CODES = new Set(['RouteLimitExceeded', 'QUOTA_EXCEEDED', 'quotaExceeded', HELD_BACK_CODE]);

/**
 * The lease states once the applied results are known: a pending lease is routed if all its
 * changes succeeded; one whose route was refused (or held back) for the limit in some tables is
 * partial, in all of them unrouted; any other failure is an error.
 */
function settle(outcomes: readonly LeaseOutcome[], results: readonly ChangeResult[], tableIds: readonly string[]): LeaseOutcome[] {
  const failedRoutes = new Map<string, Map<string, ClassifiedError>>();
  const failedTargets = new Map<string, ClassifiedError>();
  for (const result of results) {
    if (result.ok) continue;
    const change = result.change;
    if (change.kind === 'enable-forwarding') {
      failedTargets.set(change.target, result.error);
    } else if (change.kind !== 'delete') {
      let byTable = failedRoutes.get(change.destination);
      if (byTable === undefined) failedRoutes.set(change.destination, (byTable = new Map()));
      byTable.set(change.table, result.error);
    }
  }
  return outcomes.map((outcome) => {
    if (outcome.state !== 'pending' && outcome.state !== 'routed' && outcome.state !== 'partial') return outcome;
    const routeErrors = failedRoutes.get(outcome.subnet);
    const forwardingError = outcome.target !== undefined ? failedTargets.get(outcome.target) : undefined;
    const { routedIn, missingIn, detail: _detail, reason: _reason, ...base } = outcome;
    const other = [...(routeErrors?.values() ?? [])].find((e) => !LIMIT_CODES.has(e.code)) ?? forwardingError;
    if (other !== undefined) return { ...base, state: 'error', detail: `${other.code}: ${other.message}` };
    if (routeErrors === undefined) return outcome.state === 'pending' ? { ...outcome, state: 'routed' } : outcome;
    const refused = [...routeErrors.keys()];
    const stillRouted = (routedIn ?? tableIds).filter((table) => !routeErrors.has(table));
    const first = [...routeErrors.values()][0];
    const why = first === undefined ? '' : first.code === HELD_BACK_CODE ? first.message : `the cloud refused the route: ${first.message}`;
    if (stillRouted.length === 0) return { ...base, state: 'unrouted', reason: 'route-limit', detail: why };
    return partialOutcome(base, stillRouted, [...(missingIn ?? []), ...refused], why);
  });
}

export class Reconciler {
  private lastBackendWarning: string | undefined;
  private readonly applyOptions: ApplyOptions;
  private readonly learned = new LearnedLimits();
  /** The running pass's source of late creates, while it applies. */
  private late: LateCreates | undefined;

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
        else if (result.heldBack === true) this.logger.warn({ change: describeChange(result.change), err: result.error.message }, 'route change held back');
      },
    };
  }

  /**
   * A lease changed while a pass runs: new leases are created in it (late-creates.ts). Resolves once
   * their creates are decided (sent to the pass's queue), not done.
   */
  leaseEventDuringPass(): Promise<void> {
    return this.late?.leaseEvent() ?? Promise.resolve();
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
    const validLeases = snapshot.leases.length;
    if (snapshot.config === null) {
      return finish({
        ...empty,
        validLeases,
        outcome: 'skipped',
        reason: `flannel network config is unusable (${snapshot.configError ?? 'missing'}): changing nothing`,
        invalid: snapshot.invalid,
      });
    }
    this.warnAboutBackend(snapshot.config.backendType);

    let tables;
    let resolutions;
    try {
      // What refusals taught since the last quota read lowers the limits the plan sees.
      tables = this.learned.apply(await this.provider.listTables(signal));
      const nodeIps = [...new Set(snapshot.leases.map((lease) => lease.nodeIp))];
      resolutions = await this.provider.resolveNodes(nodeIps, signal, { refresh: options.refresh ?? true });
    } catch (err) {
      const error = classifyError(err);
      return finish({ ...empty, validLeases, outcome: 'failed', reason: `reading the cloud failed: ${error.message}`, error, invalid: snapshot.invalid });
    }

    const input: PlanInput = {
      ...(snapshot.config.network === undefined ? {} : { network: snapshot.config.network }),
      ...(snapshot.config.ipv6Network === undefined ? {} : { ipv6Network: snapshot.config.ipv6Network }),
      ...(snapshot.networks === undefined ? {} : { networks: planNetworks(snapshot.networks) }),
      leases: snapshot.leases,
      protectedSubnets: snapshot.invalid.flatMap((invalid) => (invalid.subnet !== undefined ? [invalid.subnet] : [])),
      tables,
      resolutions,
      policy: this.settings.policy,
    };
    const computed = plan(input);
    for (const warning of computed.warnings) this.logger.warn(warning);

    if (this.settings.dryRun) {
      for (const change of computed.changes) this.logger.info({ change: describeChange(change) }, 'dry run: would apply');
      return finish({
        outcome: 'dry-run',
        plan: computed,
        results: [],
        leases: computed.leases,
        validLeases,
        invalid: snapshot.invalid,
        tables: computed.tables,
        warnings: computed.warnings,
      });
    }

    // Leases that appear while the changes go out are created in this pass, ahead of its waiting creates.
    const late = new LateCreates({
      provider: this.provider,
      snapshot: () => this.leases.snapshot(),
      input,
      plan: computed,
      signal,
      onError: (err) => this.logger.warn({ err: classifyError(err).message }, 'creates for leases that came during the pass failed: the next pass makes them'),
    });
    this.late = late;
    let results;
    try {
      results = await applyChanges(this.provider, computed.changes, signal, this.applyOptions, computed.budgets, late);
    } finally {
      this.late = undefined;
    }
    for (const learned of this.learned.learn(tables, computed.budgets, results)) {
      this.logger.warn(
        { table: learned.table, limit: learned.limit, reported: learned.previous },
        `the cloud refused a create at ${learned.limit} routes, below the limit of ${learned.previous} it reported: using ${learned.limit} until the quota is read again`,
      );
    }
    for (const table of computed.tables) {
      if (table.usageDisagreement !== undefined) {
        this.logger.warn(
          { table: table.id, ...table.usageDisagreement },
          `the quota's usage (${table.usageDisagreement.reported}) differs from the ${table.usageDisagreement.counted} counted routes routesync listed`,
        );
      }
    }
    return finish({
      outcome: 'applied',
      plan: computed,
      results,
      leases: settle(
        computed.leases,
        results,
        computed.tables.map((t) => t.id),
      ),
      validLeases,
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

/** Multi-network mode: the networks with a usable config (the others' routes are left alone as foreign). */
function planNetworks(networks: NonNullable<LeaseSnapshot['networks']>): PlanNetwork[] {
  return networks.flatMap(({ name, config }) =>
    config === null
      ? []
      : [{ name, ...(config.network === undefined ? {} : { network: config.network }), ...(config.ipv6Network === undefined ? {} : { ipv6Network: config.ipv6Network }) }],
  );
}

/** The exit codes of a --once pass (README, Exit codes): 0 all routed, 3 some unrouted or partial, 1 errors left. */
export function exitCodeFor(report: PassReport): 0 | 1 | 3 {
  if (report.outcome === 'skipped' || report.outcome === 'failed') return 1;
  if (report.results.some((r) => !r.ok) || report.leases.some((l) => l.state === 'error')) return 1;
  if (report.invalid.length > 0 || report.leases.some((l) => l.state !== 'routed' && l.state !== 'pending')) return 3;
  return 0;
}
