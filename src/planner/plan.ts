/**
 * The planner: a pure function from (leases, network, actual routes, node resolutions, policy) to
 * the changes that make the cloud match flannel, plus what became of every lease and table.
 * No I/O, no clock, no logging: everything it needs arrives as arguments, so it is table-tested without a cloud (rules: docs/architecture.md, 'Planner rules').
 */
import type { Lease } from '../leases/types.js';
import type {
  ActualRoute,
  Change,
  DeleteReason,
  NodeResolution,
  RouteTable,
} from '../../providers/provider.js';
import { cidrContains, compareCidrs, parseCidr, tryParseCidr, type Ipv4Cidr } from '../net/cidr.js';

/** How many owned routes one pass may delete in one table. */
export type DeleteCap = { readonly kind: 'count'; readonly value: number } | { readonly kind: 'percent'; readonly value: number };

export interface PlanPolicy {
  /** Delete owned routes even when there is no valid lease at all (--allow-empty). */
  readonly allowEmpty: boolean;
  /** --max-deletes-per-pass; a percentage is of the owned routes in the table, and allows at least one. */
  readonly maxDeletesPerPass: DeleteCap;
}

export interface PlanInput {
  /** The flannel Network, `a.b.c.d/len`. */
  readonly network: string;
  /** Valid leases only. */
  readonly leases: readonly Lease[];
  /** Subnets of leases whose key parsed but whose value did not: their routes are left as they are. */
  readonly protectedSubnets: readonly string[];
  readonly tables: readonly RouteTable[];
  /** One entry per lease node IP; a missing entry is treated as a failed lookup. */
  readonly resolutions: ReadonlyMap<string, NodeResolution>;
  readonly policy: PlanPolicy;
}

/** `partial`: routed in some managed tables and not in others (see routedIn / missingIn). */
export type LeaseState = 'routed' | 'pending' | 'partial' | 'unrouted' | 'conflict' | 'error';

/**
 * node-stopped: the node's instance is stopped, so its route is a blackhole to the lease's own
 * target; the route is kept and turns active again when the instance starts.
 */
export type UnroutedReason = 'route-limit' | 'node-not-found' | 'node-stopped' | 'forwarding-disabled' | 'lookup-failed' | 'conflict';

export interface LeaseOutcome {
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
  readonly limit: number;
  /** Routes that count toward the limit and are not routesync's (the `local` route included on AWS). */
  readonly foreignCounted: number;
  /** limit − foreignCounted: how many routes routesync may hold in this table. */
  readonly capacity: number;
  /** Owned routes once the plan is applied. */
  readonly ownedAfter: number;
  readonly creates: number;
  readonly replaces: number;
  readonly deletes: number;
  /** Deletes held back by --max-deletes-per-pass, left for a later pass. */
  readonly deferredDeletes: number;
}

/**
 * What apply needs to keep a table within its limit whatever becomes of the deletes: a create may
 * be sent only while countedBefore − successful deletes of counted routes + creates sent ≤ limit.
 */
export interface TableBudget {
  readonly table: string;
  readonly limit: number;
  /** Routes that count toward the limit before the pass, owned or not. */
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

/** What the tables decided for one lease, gathered as the tables are planned. */
interface LeaseVerdicts {
  /** A create or replace is planned in some table. */
  changing: boolean;
  /** Tables where a foreign route holds the lease's subnet, with what it points at. */
  readonly conflicts: Array<{ readonly table: string; readonly via: string }>;
  /** Tables with no room left for the lease. */
  readonly full: string[];
  /** Tables that hold a correct route for the lease, or get a create or replace for it. */
  readonly routedIn: string[];
  /** Tables whose route for the lease is a blackhole to its own target: the instance is stopped. */
  readonly stopped: string[];
  /** Tables without a route for a stopped lease: none is created until the instance runs. */
  readonly waiting: string[];
}

interface DeleteCandidate {
  readonly route: ActualRoute;
  readonly reason: DeleteReason;
}

const DELETE_PRIORITY: Readonly<Record<DeleteReason, number>> = {
  duplicate: 0,
  blackhole: 1,
  'node-not-found': 2,
  'forwarding-disabled': 3,
  'no-lease': 4,
};

/** Older leases first (lower create_revision), then lower subnet. */
function compareLeases(a: ParsedLease, b: ParsedLease): number {
  return a.lease.createRevision - b.lease.createRevision || compareCidrs(a.cidr, b.cidr);
}

interface ParsedLease {
  readonly lease: Lease;
  readonly cidr: Ipv4Cidr;
  readonly resolution: NodeResolution;
}

function deleteCap(cap: DeleteCap, ownedInTable: number): number {
  if (cap.kind === 'count') return Math.max(0, Math.floor(cap.value));
  return Math.max(1, Math.ceil((cap.value / 100) * ownedInTable));
}

export function plan(input: PlanInput): Plan {
  const network = parseCidr(input.network);
  const warnings: string[] = [];
  const protectedSubnets = new Set(input.protectedSubnets);

  const leases: ParsedLease[] = [];
  const leaseBySubnet = new Map<string, ParsedLease>();
  for (const lease of input.leases) {
    const cidr = tryParseCidr(lease.subnet);
    if (cidr === undefined || !cidrContains(network, cidr) || leaseBySubnet.has(lease.subnet)) continue;
    const parsed: ParsedLease = {
      lease,
      cidr,
      resolution: input.resolutions.get(lease.nodeIp) ?? { status: 'lookup-failed', error: 'node IP was not looked up' },
    };
    leases.push(parsed);
    leaseBySubnet.set(lease.subnet, parsed);
  }
  leases.sort(compareLeases);

  const isOwned = (route: ActualRoute): boolean => {
    if (!route.ownable) return false;
    // A lease's subnet lies inside the Network: no need to parse it again.
    if (leaseBySubnet.has(route.destination)) return true;
    const cidr = tryParseCidr(route.destination);
    return cidr !== undefined && cidrContains(network, cidr);
  };

  // Counted only when it matters: with no valid lease at all.
  const ownedTotal = leases.length === 0 ? input.tables.reduce((sum, table) => sum + table.routes.filter(isOwned).length, 0) : 0;
  const holdAllDeletes = leases.length === 0 && ownedTotal > 0 && !input.policy.allowEmpty;
  if (holdAllDeletes) {
    warnings.push(
      `no valid lease in etcd while ${ownedTotal} owned route(s) exist: deleting nothing (pass --allow-empty to allow it)`,
    );
  }

  // A blackhole route to the very target the lease resolves to: its instance is stopped (the ENI
  // stays attached with the same id); replacing it would change nothing.
  const stoppedSubnets = new Set<string>();
  for (const table of input.tables) {
    for (const route of table.routes) {
      if (!route.blackhole || !isOwned(route)) continue;
      const resolution = leaseBySubnet.get(route.destination)?.resolution;
      if (resolution?.status === 'found' && resolution.forwarding !== 'disabled' && resolution.target === route.target) {
        stoppedSubnets.add(route.destination);
      }
    }
  }

  const forwardingFixes: Change[] = [];
  const replaces: Change[] = [];
  const deletes: Change[] = [];
  const creates: Change[] = [];
  const tableOutcomes: TableOutcome[] = [];
  const budgets: TableBudget[] = [];
  const verdicts = new Map<string, LeaseVerdicts>();
  const verdictOf = (subnet: string): LeaseVerdicts => {
    let verdict = verdicts.get(subnet);
    if (verdict === undefined) {
      verdict = { changing: false, conflicts: [], full: [], routedIn: [], stopped: [], waiting: [] };
      verdicts.set(subnet, verdict);
    }
    return verdict;
  };

  for (const table of input.tables) {
    const owned: ActualRoute[] = [];
    const foreignByDestination = new Map<string, ActualRoute>();
    let foreignCounted = 0;
    let countedBefore = 0;
    for (const route of table.routes) {
      if (route.countsTowardLimit) countedBefore += 1;
      if (isOwned(route)) {
        owned.push(route);
      } else {
        if (route.countsTowardLimit) foreignCounted += 1;
        foreignByDestination.set(route.destination, route);
      }
    }
    const capacity = table.limit - foreignCounted;

    const kept: ActualRoute[] = [];
    const deleteCandidates: DeleteCandidate[] = [];
    const seenDestinations = new Set<string>();
    let replaceCount = 0;
    for (const route of owned) {
      if (seenDestinations.has(route.destination)) {
        deleteCandidates.push({ route, reason: 'duplicate' });
        continue;
      }
      seenDestinations.add(route.destination);
      const leased = leaseBySubnet.get(route.destination);
      if (leased === undefined) {
        if (protectedSubnets.has(route.destination)) kept.push(route);
        else deleteCandidates.push({ route, reason: route.blackhole ? 'blackhole' : 'no-lease' });
        continue;
      }
      const resolution = leased.resolution;
      switch (resolution.status) {
        case 'not-found':
          deleteCandidates.push({ route, reason: 'node-not-found' });
          break;
        case 'lookup-failed':
          kept.push(route);
          break;
        case 'found':
          if (resolution.forwarding === 'disabled') {
            // The lease is reported as unable to forward; a route to another target (the previous
            // node) is wrong for it, one to its own target can stay.
            if (route.target !== resolution.target) deleteCandidates.push({ route, reason: 'forwarding-disabled' });
            else kept.push(route);
            break;
          }
          kept.push(route);
          if (route.blackhole && route.target === resolution.target) {
            verdictOf(route.destination).stopped.push(table.id);
          } else if (route.blackhole || route.target !== resolution.target) {
            replaces.push({
              kind: 'replace',
              table: table.id,
              destination: route.destination,
              target: resolution.target,
              previousTarget: route.target,
              nodeIp: leased.lease.nodeIp,
            });
            replaceCount += 1;
            verdictOf(route.destination).changing = true;
            verdictOf(route.destination).routedIn.push(table.id);
          } else {
            verdictOf(route.destination).routedIn.push(table.id);
          }
          break;
      }
    }

    deleteCandidates.sort(
      (a, b) =>
        DELETE_PRIORITY[a.reason] - DELETE_PRIORITY[b.reason] ||
        compareCidrs(parseCidr(a.route.destination), parseCidr(b.route.destination)),
    );
    const allowedDeletes = holdAllDeletes ? 0 : deleteCap(input.policy.maxDeletesPerPass, owned.length);
    const planned = deleteCandidates.slice(0, allowedDeletes);
    const deferred = deleteCandidates.length - planned.length;
    budgets.push({
      table: table.id,
      limit: table.limit,
      countedBefore,
      uncountedDeletes: planned.filter(({ route }) => !route.countsTowardLimit).map(({ route }) => route.destination),
    });
    for (const { route, reason } of planned) {
      deletes.push({
        kind: 'delete',
        table: table.id,
        destination: route.destination,
        previousTarget: route.target,
        reason,
      });
    }

    const occupied = kept.filter((route) => route.countsTowardLimit).length + deferred;
    let free = Math.max(0, capacity - occupied);
    let createCount = 0;
    for (const parsed of leases) {
      const subnet = parsed.lease.subnet;
      if (seenDestinations.has(subnet)) continue;
      const resolution = parsed.resolution;
      if (resolution.status !== 'found' || resolution.forwarding === 'disabled') continue;
      const foreign = foreignByDestination.get(subnet);
      if (foreign !== undefined) {
        verdictOf(subnet).conflicts.push({ table: table.id, via: foreign.via });
        continue;
      }
      if (stoppedSubnets.has(subnet)) {
        // A route to a stopped instance would be a blackhole taking the place of a waiting lease.
        verdictOf(subnet).waiting.push(table.id);
        continue;
      }
      if (free <= 0) {
        verdictOf(subnet).full.push(table.id);
        continue;
      }
      free -= 1;
      createCount += 1;
      creates.push({ kind: 'create', table: table.id, destination: subnet, target: resolution.target, nodeIp: parsed.lease.nodeIp });
      verdictOf(subnet).changing = true;
      verdictOf(subnet).routedIn.push(table.id);
    }

    tableOutcomes.push({
      id: table.id,
      limit: table.limit,
      foreignCounted,
      capacity,
      ownedAfter: kept.length + deferred + createCount,
      creates: createCount,
      replaces: replaceCount,
      deletes: planned.length,
      deferredDeletes: deferred,
    });
    if (deferred > 0) {
      warnings.push(`table ${table.id}: ${deferred} delete(s) deferred by --max-deletes-per-pass (${planned.length} this pass)`);
    }
  }

  const leaseOutcomes: LeaseOutcome[] = [];
  const fixedTargets = new Set<string>();
  for (const parsed of leases) {
    const verdict = verdicts.get(parsed.lease.subnet);
    leaseOutcomes.push(leaseOutcome(parsed, verdict));
    const resolution = parsed.resolution;
    // Every target that some table routes to (or is about to) must forward, whatever the other tables say.
    const routedSomewhere = (verdict?.routedIn.length ?? 0) > 0;
    if (resolution.status === 'found' && resolution.forwarding === 'fixable' && routedSomewhere && !fixedTargets.has(resolution.target)) {
      fixedTargets.add(resolution.target);
      forwardingFixes.push({ kind: 'enable-forwarding', target: resolution.target, nodeIp: parsed.lease.nodeIp });
    }
  }

  return {
    changes: [...forwardingFixes, ...replaces, ...deletes, ...creates],
    leases: leaseOutcomes,
    tables: tableOutcomes,
    budgets,
    warnings,
  };
}

function leaseOutcome(parsed: ParsedLease, verdict: LeaseVerdicts | undefined): LeaseOutcome {
  const { lease, resolution } = parsed;
  const base = { subnet: lease.subnet, nodeIp: lease.nodeIp, createRevision: lease.createRevision };
  switch (resolution.status) {
    case 'not-found':
      return { ...base, state: 'unrouted', reason: 'node-not-found', detail: `no network interface holds ${lease.nodeIp}` };
    case 'lookup-failed':
      return { ...base, state: 'error', reason: 'lookup-failed', detail: resolution.error };
    case 'found':
      break;
  }
  const withTarget = { ...base, target: resolution.target };
  if (resolution.forwarding === 'disabled') {
    return { ...withTarget, state: 'unrouted', reason: 'forwarding-disabled', detail: `${resolution.target} cannot forward packets` };
  }
  if (verdict === undefined) return { ...withTarget, state: 'routed' };
  if (verdict.conflicts.length > 0) {
    const detail = verdict.conflicts.map(({ table, via }) => `${table}: ${lease.subnet} is held by a foreign route via ${via}`).join('; ');
    return { ...withTarget, state: 'conflict', reason: 'conflict', detail };
  }
  if (verdict.stopped.length > 0) {
    const waiting = verdict.waiting.length > 0 ? `; no route made in ${verdict.waiting.join(', ')} until it runs` : '';
    const full = verdict.full.length > 0 ? `; route limit reached in ${verdict.full.join(', ')}` : '';
    return {
      ...withTarget,
      state: 'unrouted',
      reason: 'node-stopped',
      detail: `the instance of ${resolution.target} is stopped: its route is a blackhole in ${verdict.stopped.join(', ')}${waiting}${full}`,
    };
  }
  if (verdict.full.length > 0) {
    const limited = `route limit reached in ${verdict.full.join(', ')}`;
    if (verdict.routedIn.length === 0) return { ...withTarget, state: 'unrouted', reason: 'route-limit', detail: limited };
    return partialOutcome(withTarget, verdict.routedIn, verdict.full, limited);
  }
  return { ...withTarget, state: verdict.changing ? 'pending' : 'routed' };
}

/** A lease routed in some tables only: reason route-limit, with where it is and is not. */
export function partialOutcome(
  outcome: Omit<LeaseOutcome, 'state'>,
  routedIn: readonly string[],
  missingIn: readonly string[],
  why: string,
): LeaseOutcome {
  return {
    ...outcome,
    state: 'partial',
    reason: 'route-limit',
    routedIn: [...routedIn],
    missingIn: [...missingIn],
    detail: `routed in ${routedIn.join(', ')}; not in ${missingIn.join(', ')}: ${why}`,
  };
}
