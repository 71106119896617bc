/**
 * The Prometheus side of what operators see: the registry, every routesync_* metric, and how a
 * pass report and provider calls move them.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { PassReport } from '../reconcile/reconciler.js';
import type { Change, NodeResolution, RouteProvider, RouteTable } from '../../providers/provider.js';
import { classifyError } from '../errors.js';
import { VERSION, buildCommit } from '../version.js';

/**
 * prom-client's gauges that end in _total, which Prometheus reserves for counters (`promtool check
 * metrics` fails on them); nodejs_active_handles, _requests and _resources hold the same counts by type.
 */
const DEFAULT_METRICS_DROPPED = ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total'];

/** Every state is set each pass, so a state that empties shows 0 instead of vanishing. */
const LEASE_STATES = ['routed', 'pending', 'partial', 'unrouted', 'conflict', 'error'];

export class Metrics {
  readonly registry = new Registry();
  private readonly leasesByState: Gauge;
  private readonly unrouted: Gauge;
  private readonly invalid: Gauge;
  private readonly tableCapacity: Gauge;
  private readonly tableOwned: Gauge;
  private readonly tableLimit: Gauge;
  private readonly passDuration: Histogram;
  private readonly passes: Counter;
  private readonly changes: Counter;
  private readonly leaderGauge: Gauge;
  private readonly cloudCalls: Counter;
  private readonly throttled: Counter;
  private readonly tableRoutes: Gauge;
  private readonly lastSuccessGauge: Gauge;

  constructor() {
    // The standard process_* and nodejs_* names, as stock dashboards expect them.
    collectDefaultMetrics({ register: this.registry });
    for (const name of DEFAULT_METRICS_DROPPED) this.registry.removeSingleMetric(name);
    const registers = [this.registry];
    new Gauge({ name: 'routesync_build_info', help: 'Always 1: the version, commit and Node.js version of this build', labelNames: ['version', 'commit', 'node'], registers }).set(
      { version: VERSION, commit: buildCommit(), node: process.version },
      1,
    );
    this.lastSuccessGauge = new Gauge({
      name: 'routesync_last_successful_pass_timestamp_seconds',
      help: 'Unix time of the last pass that applied everything it planned (0: none yet)',
      registers,
    });
    this.leasesByState = new Gauge({ name: 'routesync_leases', help: 'Valid leases by state after the last pass', labelNames: ['state', 'family', 'network'], registers });
    this.unrouted = new Gauge({ name: 'routesync_unrouted_leases', help: 'Leases without a route, by reason', labelNames: ['reason', 'family', 'network'], registers });
    this.invalid = new Gauge({ name: 'routesync_invalid_leases', help: 'Keys under subnets/ that could not be used', registers });
    this.tableCapacity = new Gauge({ name: 'routesync_table_capacity', help: 'Routes routesync may hold per table (limit minus counted foreign routes)', labelNames: ['table'], registers });
    this.tableLimit = new Gauge({
      name: 'routesync_table_limit',
      help: 'Route limit per table and where it came from (flag, quota-api, default-api, fallback, learned-from-refusal)',
      labelNames: ['table', 'source'],
      registers,
    });
    this.tableOwned = new Gauge({ name: 'routesync_table_owned_routes', help: 'Routes routesync owns per table after the last pass', labelNames: ['table'], registers });
    this.passDuration = new Histogram({ name: 'routesync_reconcile_duration_seconds', help: 'Duration of reconcile passes', labelNames: ['outcome'], buckets: [0.01, 0.05, 0.1, 0.5, 1, 5, 15, 60, 300], registers });
    this.passes = new Counter({ name: 'routesync_reconcile_passes_total', help: 'Reconcile passes by outcome', labelNames: ['outcome'], registers });
    this.changes = new Counter({ name: 'routesync_route_changes_total', help: 'Route changes by kind and result', labelNames: ['kind', 'result'], registers });
    this.leaderGauge = new Gauge({ name: 'routesync_leader', help: '1 while this replica is the leader', registers });
    this.cloudCalls = new Counter({ name: 'routesync_cloud_calls_total', help: 'Provider calls by operation and outcome (ok or the error class)', labelNames: ['operation', 'outcome'], registers });
    this.throttled = new Counter({ name: 'routesync_cloud_throttled_total', help: 'Provider calls the cloud throttled', labelNames: ['operation'], registers });
    this.tableRoutes = new Gauge({
      name: 'routesync_table_routes',
      help: 'Routes per table after the last pass that count toward the limit: owned by routesync, or foreign',
      labelNames: ['table', 'owner'],
      registers,
    });
  }

  setLeader(leader: boolean): void {
    this.leaderGauge.set(leader ? 1 : 0);
  }

  /** `at`: when the last pass that applied everything it planned ended. */
  recordSuccess(at: Date): void {
    this.lastSuccessGauge.set(at.getTime() / 1000);
  }

  recordPass(report: PassReport): void {
    this.passes.inc({ outcome: report.outcome });
    this.passDuration.observe({ outcome: report.outcome }, report.durationMs / 1000);
    for (const result of report.results) this.changes.inc({ kind: result.change.kind, result: result.ok ? 'ok' : result.error.class });
    // A pass that made no plan says nothing new about leases or tables: keep the last picture.
    if (report.outcome === 'skipped' || report.outcome === 'failed') return;
    this.leasesByState.reset();
    this.unrouted.reset();
    // Each half of a dual-stack lease is counted in its family.
    // flannel's multi-network mode: each network's leases apart (no `network` label with a single network).
    const networks = [...new Set(report.leases.map((l) => l.network))];
    const v6 = report.leases.some((l) => l.family === 'ipv6');
    for (const network of networks.length === 0 ? [undefined] : networks) {
      const net = network === undefined ? {} : { network };
      for (const state of LEASE_STATES) this.leasesByState.set({ state, family: 'ipv4', ...net }, 0);
      if (v6) for (const state of LEASE_STATES) this.leasesByState.set({ state, family: 'ipv6', ...net }, 0);
    }
    for (const lease of report.leases) {
      const net = lease.network === undefined ? {} : { network: lease.network };
      this.leasesByState.inc({ state: lease.state, family: lease.family, ...net });
      if (lease.state === 'unrouted' && lease.reason !== undefined) this.unrouted.inc({ reason: lease.reason, family: lease.family, ...net });
    }
    this.invalid.set(report.invalid.length);
    this.tableCapacity.reset();
    this.tableOwned.reset();
    this.tableLimit.reset();
    this.tableRoutes.reset();
    for (const table of report.tables) {
      this.tableCapacity.set({ table: table.id }, table.capacity);
      this.tableOwned.set({ table: table.id }, table.ownedAfter);
      this.tableLimit.set({ table: table.id, source: table.limitSource }, table.quotaLimit);
      this.tableRoutes.set({ table: table.id, owner: 'routesync' }, table.ownedAfter);
      this.tableRoutes.set({ table: table.id, owner: 'foreign' }, table.foreignCounted);
    }
  }

  /** Wraps a provider so every call is counted by operation and outcome. */
  instrument(provider: RouteProvider): RouteProvider {
    const observe = async <T>(operation: string, call: () => Promise<T>): Promise<T> => {
      try {
        const result = await call();
        this.cloudCalls.inc({ operation, outcome: 'ok' });
        return result;
      } catch (err) {
        const classified = classifyError(err);
        this.cloudCalls.inc({ operation, outcome: classified.class });
        if (classified.class === 'throttled') this.throttled.inc({ operation });
        throw err;
      }
    };
    return {
      name: provider.name,
      listTables: (signal): Promise<RouteTable[]> => observe('list-tables', () => provider.listTables(signal)),
      resolveNodes: (ips, signal, options): Promise<Map<string, NodeResolution>> =>
        observe('resolve-nodes', () => provider.resolveNodes(ips, signal, options)),
      apply: (change: Change, signal, options): Promise<void> => observe(change.kind, () => provider.apply(change, signal, options)),
      close: () => provider.close(),
      ...(provider.pacer !== undefined ? { pacer: provider.pacer } : {}),
      ...(provider.concurrency !== undefined ? { concurrency: provider.concurrency } : {}),
    };
  }
}
