/** /readyz: whether this replica should receive traffic, from facts the service keeps. */
import type { PassReport } from '../reconcile/reconciler.js';
import { systemClock } from '../pacing/clock.js';

export interface ReadinessInput {
  readonly leaseViewFresh: boolean;
  readonly leading: boolean;
  readonly leaderElect: boolean;
  /** Milliseconds since the last pass that read the cloud (applied or dry-run) under this leadership. */
  readonly sinceCloudReadMs: number | undefined;
  readonly resyncIntervalMs: number;
}

/**
 * Ready: the lease view is fresh, and this replica is a standby, or a leader that keeps completing
 * passes that read the cloud. Errors of single leases or changes are reported on them; they do not
 * make the replica unready, or one bad change (or --dry-run) would stall every rollout.
 */
export function readiness(input: ReadinessInput): { ready: boolean; reason: string } {
  if (!input.leaseViewFresh) return { ready: false, reason: 'lease view from etcd is not fresh' };
  if (!input.leading && input.leaderElect) return { ready: true, reason: 'standby: watching leases' };
  const since = input.sinceCloudReadMs;
  if (since === undefined) return { ready: false, reason: 'leader: no pass has read the cloud yet' };
  if (since > 3 * input.resyncIntervalMs) return { ready: false, reason: `leader: last pass that read the cloud ${Math.round(since / 1000)}s ago` };
  return { ready: true, reason: 'leader: reconciling' };
}

/** Monotonic time of the last pass that read the cloud, for readiness. */
export class CloudReads {
  private last: number | undefined;

  constructor(private readonly now: () => number = systemClock.now) {}

  record(report: PassReport): void {
    if (report.outcome === 'applied' || report.outcome === 'dry-run') this.last = this.now();
  }

  reset(): void {
    this.last = undefined;
  }

  sinceMs(): number | undefined {
    return this.last === undefined ? undefined : this.now() - this.last;
  }
}
