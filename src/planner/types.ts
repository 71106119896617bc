/** What the planner takes and gives: its input, its policy and the plan with what became of every lease and table. */
import type { Family, Lease } from '../leases/types.js';
import type { Change, LimitSource, NodeResolution, RouteTable } from '../../providers/provider.js';
import type { DeleteCap } from './policy/delete-cap.js';

export interface PlanPolicy {
  /** Delete owned routes even when there is no valid lease at all (--allow-empty). */
  readonly allowEmpty: boolean;
  /** --max-deletes-per-pass; a percentage is of the owned routes in the table, and allows at least one. */
  readonly maxDeletesPerPass: DeleteCap;
}

export interface PlanInput {
  /** The flannel Network, `a.b.c.d/len`: IPv4 routes inside it are routesync's (absent: none). */
  readonly network?: string;
  /** flannel's IPv6Network: IPv6 routes inside it are routesync's (absent: none). */
  readonly ipv6Network?: string;
  /**
   * flannel's multi-network mode: every network with a usable config, in place of `network` and
   * `ipv6Network`. A lease belongs to the entry its `network` names; a route is owned by the network
   * whose space holds it. A network without a usable config is left out: its routes are then no
   * network's, so they are foreign and kept.
   */
  readonly networks?: readonly PlanNetwork[];
  /** Valid lease halves only (a dual-stack lease is one entry per family). */
  readonly leases: readonly Lease[];
  /** Subnets of leases whose key parsed but whose value did not: their routes are left as they are. */
  readonly protectedSubnets: readonly string[];
  readonly tables: readonly RouteTable[];
  /** One entry per lease node IP; a missing entry is treated as a failed lookup. */
  readonly resolutions: ReadonlyMap<string, NodeResolution>;
  readonly policy: PlanPolicy;
}

/** One network of flannel's multi-network mode, as the planner sees it. */
export interface PlanNetwork {
  readonly name: string;
  readonly network?: string;
  readonly ipv6Network?: string;
}

/** `partial`: routed in some managed tables and not in others (see routedIn / missingIn). */
export type LeaseState = 'routed' | 'pending' | 'partial' | 'unrouted' | 'conflict' | 'error';

/**
 * node-stopped: the node's instance is stopped, so its route is a blackhole to the lease's own
 * target; the route is kept and turns active again when the instance starts. node-not-eligible:
 * the lease's IP is held by a machine that is not a cluster node (no node tag or label, or outside
 * the node subnets); it gets no route. no-ipv6-interface: an IPv6 half whose node has no IPv6
 * interface (GCE stack type IPV4_ONLY) and so cannot take an IPv6 route.
 */
export type UnroutedReason =
  | 'route-limit'
  | 'node-not-found'
  | 'node-not-eligible'
  | 'node-stopped'
  | 'forwarding-disabled'
  | 'lookup-failed'
  | 'conflict'
  | 'no-ipv6-interface';

/** What became of one lease half: a dual-stack lease has two outcomes, one per family, with the same key. */
export interface LeaseOutcome {
  /** The lease's etcd key, shared by its two halves. */
  readonly key: string;
  /** flannel's multi-network mode: the lease's network. */
  readonly network?: string;
  readonly family: Family;
  readonly subnet: string;
  readonly nodeIp: string;
  readonly createRevision: number;
  readonly state: LeaseState;
  readonly reason?: UnroutedReason;
  /** Human detail: which tables are full, what the conflicting route points at, the lookup error. */
  readonly detail?: string;
  /** The route target when the node resolved. */
  readonly target?: string;
  /** For a partial lease: the tables that route it (or are about to), and those that do not. */
  readonly routedIn?: readonly string[];
  readonly missingIn?: readonly string[];
}

export interface TableOutcome {
  readonly id: string;
  /** The table's limit less what counted routes outside the managed space use (GCE: other networks). */
  readonly limit: number;
  /** The table's whole limit (RouteTable.limit) and where it came from. */
  readonly quotaLimit: number;
  readonly limitSource: LimitSource;
  /**
   * The cloud's own usage count of the quota disagrees with what the listing counted (GCE ROUTES
   * `usage`): the counting rule or the listing misses something, or the routes changed between the two reads.
   */
  readonly usageDisagreement?: { readonly reported: number; readonly counted: number };
  /** Counted routes of the managed space that are not routesync's (the `local` route included on AWS). */
  readonly foreignCounted: number;
  /** limit − foreignCounted: how many routes routesync may hold in this table. */
  readonly capacity: number;
  /** Owned routes once the plan is applied. */
  readonly ownedAfter: number;
  readonly creates: number;
  readonly replaces: number;
  readonly deletes: number;
  /** Deletes held back by the safety valves (empty-view guard, --max-deletes-per-pass), left for a later pass. */
  readonly deferredDeletes: number;
  /**
   * Where the quota counts IPv6 routes apart (AWS) and the table has IPv6 routes or leases: the IPv6
   * pool. Then `limit`, `quotaLimit`, `foreignCounted`, `capacity` and `ownedAfter` above are the IPv4
   * routes'; `creates`, `replaces` and `deletes` stay the table's totals.
   */
  readonly ipv6?: PoolOutcome;
}

/** One capacity pool of a table (the IPv6 routes of an AWS table). */
export interface PoolOutcome {
  readonly limit: number;
  readonly quotaLimit: number;
  readonly foreignCounted: number;
  readonly capacity: number;
  readonly ownedAfter: number;
  readonly creates: number;
}

/**
 * What apply needs to keep a table within its limit whatever becomes of the deletes: a create may
 * be sent only while countedBefore − successful deletes of counted routes + creates sent ≤ limit.
 */
export interface TableBudget {
  readonly table: string;
  /** `ipv6`: the budget of the table's IPv6 routes, a pool of their own (AWS); absent: every other change of the table. */
  readonly family?: 'ipv6';
  /** As TableOutcome.limit. */
  readonly limit: number;
  /** Weight of the managed space's counted routes before the pass, owned or not. */
  readonly countedBefore: number;
  /** Planned deletes of routes that do not count toward the limit (they free no room). */
  readonly uncountedDeletes: readonly string[];
}

export interface Plan {
  /** Forwarding fixes first, then replaces, deletes (freeing capacity), and creates. */
  readonly changes: readonly Change[];
  readonly leases: readonly LeaseOutcome[];
  readonly tables: readonly TableOutcome[];
  /** One per table, in the order of `tables`. */
  readonly budgets: readonly TableBudget[];
  readonly warnings: readonly string[];
}

