/** The /status document: what one replica knows about its last pass, built from the pass report. */
import type { PassReport } from '../reconcile/reconciler.js';
import { VERSION } from '../version.js';

export interface StatusDocument {
  /** routesync's version (package.json). */
  readonly version: string;
  readonly identity: string;
  readonly provider: string;
  readonly clusterName: string;
  readonly leader: boolean;
  readonly leaseViewFresh: boolean;
  readonly lastPass: {
    readonly startedAt: string;
    readonly durationMs: number;
    readonly outcome: string;
    readonly reason?: string;
    /** Valid leases in the etcd snapshot, also when no plan was made (the cloud read failed). */
    readonly validLeases?: number;
  } | null;
  readonly lastSuccessAt: string | null;
  readonly leases: ReadonlyArray<{
    /** flannel's multi-network mode: the lease's network. */
    network?: string;
    subnet: string;
    nodeIp: string;
    state: string;
    reason?: string;
    detail?: string;
    target?: string;
    /** A partial lease: the tables that route it, and those that do not. */
    routedIn?: readonly string[];
    missingIn?: readonly string[];
  }>;
  readonly invalidLeases: ReadonlyArray<{ key: string; network?: string; reason: string }>;
  /**
   * `foreignCounted`: routes that are not routesync's but count toward the table's limit.
   * `quotaLimit` and `limitSource`: the table's whole limit and where it came from (flag,
   * quota-api, default-api, fallback, learned-from-refusal); `limit` is what is left of it to the managed space.
   * `usageDisagreement`: the cloud's usage count of the quota differs from what the listing counted.
   */
  readonly tables: ReadonlyArray<{
    id: string;
    limit: number;
    quotaLimit: number;
    limitSource: string;
    capacity: number;
    owned: number;
    foreignCounted: number;
    usageDisagreement?: { reported: number; counted: number };
  }>;
}

export interface StatusFacts {
  readonly identity: string;
  readonly provider: string;
  readonly clusterName: string;
  readonly leader: boolean;
  readonly leaseViewFresh: boolean;
  readonly lastReport: PassReport | undefined;
  readonly lastSuccess: Date | undefined;
}

export function buildStatus(facts: StatusFacts): StatusDocument {
  const report = facts.lastReport;
  return {
    version: VERSION,
    identity: facts.identity,
    provider: facts.provider,
    clusterName: facts.clusterName,
    leader: facts.leader,
    leaseViewFresh: facts.leaseViewFresh,
    lastPass:
      report === undefined
        ? null
        : {
            startedAt: report.startedAt.toISOString(),
            durationMs: report.durationMs,
            outcome: report.outcome,
            ...(report.reason !== undefined ? { reason: report.reason } : {}),
            ...(report.validLeases !== undefined ? { validLeases: report.validLeases } : {}),
          },
    lastSuccessAt: facts.lastSuccess?.toISOString() ?? null,
    // One entry per lease half: a dual-stack lease shows both, with the same key.
    leases: (report?.leases ?? []).map((l) => ({
      key: l.key,
      ...(l.network !== undefined ? { network: l.network } : {}),
      family: l.family,
      subnet: l.subnet,
      nodeIp: l.nodeIp,
      state: l.state,
      ...(l.reason !== undefined ? { reason: l.reason } : {}),
      ...(l.detail !== undefined ? { detail: l.detail } : {}),
      ...(l.target !== undefined ? { target: l.target } : {}),
      ...(l.routedIn !== undefined ? { routedIn: l.routedIn } : {}),
      ...(l.missingIn !== undefined ? { missingIn: l.missingIn } : {}),
    })),
    invalidLeases: (report?.invalid ?? []).map((i) => ({ key: i.key, ...(i.network !== undefined ? { network: i.network } : {}), ...(i.family !== undefined ? { family: i.family } : {}), reason: i.reason })),
    tables: (report?.tables ?? []).map((t) => ({
      id: t.id,
      limit: t.limit,
      quotaLimit: t.quotaLimit,
      limitSource: t.limitSource,
      capacity: t.capacity,
      owned: t.ownedAfter,
      foreignCounted: t.foreignCounted,
      ...(t.usageDisagreement !== undefined ? { usageDisagreement: { ...t.usageDisagreement } } : {}),
      ...(t.ipv6 !== undefined ? { ipv6: { limit: t.ipv6.limit, quotaLimit: t.ipv6.quotaLimit, capacity: t.ipv6.capacity, owned: t.ipv6.ownedAfter, foreignCounted: t.ipv6.foreignCounted } } : {}),
    })),
  };
}
