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
  /** /status as served. At 10,000 leases it is ~2.4 MB to render on the loop the fence runs on, so once per pass. */
  private rendered: { readonly leaseViewFresh: boolean; readonly body: Buffer } | undefined;
  private renders = 0;

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
    if (leader !== this.leader) this.rendered = undefined;
    this.leader = leader;
    this.metrics.setLeader(leader);
  }

  isLeader(): boolean {
    return this.leader;
  }

  record(report: PassReport): void {
    this.lastReport = report;
    this.rendered = undefined;
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

  /**
   * The /status body: rendered on the first request after a pass (or a change of leadership or
   * lease-view freshness), then the same bytes for every request until the next one.
   */
  statusBody(): Buffer {
    const leaseViewFresh = this.leaseViewFresh();
    if (this.rendered?.leaseViewFresh === leaseViewFresh) return this.rendered.body;
    const body = Buffer.from(`${JSON.stringify(this.status(), null, 2)}\n`);
    this.rendered = { leaseViewFresh, body };
    this.renders += 1;
    return body;
  }

  /** How many times statusBody() rendered the document (for tests: once per pass, not per request). */
  get statusRenders(): number {
    return this.renders;
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
