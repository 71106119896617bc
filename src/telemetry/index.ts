/**
 * What operators see: Prometheus metrics (metrics.ts) and the /status document (status.ts), both
 * fed from here with pass reports and leadership changes.
 */
import type { PassReport } from '../reconcile/reconciler.js';
import type { RouteProvider } from '../../providers/provider.js';
import type { Registry } from 'prom-client';
import { Metrics } from './metrics.js';
import { buildStatus, type StatusDocument } from './status.js';

export type { StatusDocument } from './status.js';

export class Telemetry {
  private readonly metrics = new Metrics();
  private leader = false;
  private lastReport: PassReport | undefined;
  private lastSuccess: Date | undefined;

  constructor(
    private readonly identity: string,
    private readonly provider: string,
    private readonly clusterName: string,
    private readonly leaseViewFresh: () => boolean,
  ) {}

  get registry(): Registry {
    return this.metrics.registry;
  }

  setLeader(leader: boolean): void {
    this.leader = leader;
    this.metrics.setLeader(leader);
  }

  isLeader(): boolean {
    return this.leader;
  }

  record(report: PassReport): void {
    this.lastReport = report;
    if (report.outcome === 'applied' && report.results.every((r) => r.ok)) {
      this.lastSuccess = new Date();
      this.metrics.recordSuccess(this.lastSuccess);
    }
    this.metrics.recordPass(report);
  }

  /** Wraps a provider so every call is counted by operation and outcome. */
  instrument(provider: RouteProvider): RouteProvider {
    return this.metrics.instrument(provider);
  }

  status(): StatusDocument {
    return buildStatus({
      identity: this.identity,
      provider: this.provider,
      clusterName: this.clusterName,
      leader: this.leader,
      leaseViewFresh: this.leaseViewFresh(),
      lastReport: this.lastReport,
      lastSuccess: this.lastSuccess,
    });
  }
}
