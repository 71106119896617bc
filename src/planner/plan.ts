/**
 * The planner: a pure function from (leases, network, actual routes, node resolutions, policy) to
 * the changes that make the cloud match flannel, plus what became of every lease and table.
 * No I/O, no clock, no logging: everything it needs arrives as arguments, so it is table-tested
 * without a cloud (rules: docs/architecture.md, 'Planner rules'). Ownership (ownership.ts), what
 * counts (counting.ts) and the safety valves (policy/) are steps of their own; this file composes them.
 */
import type { ActualRoute, Change, DeleteReason } from '../../providers/provider.js';
import { cidrContains, compareCidrs, parseCidr, tryParseCidr } from '../net/cidr.js';
import { countTable, counts, weightOf, type TableCount } from './counting.js';
import { leaseOutcome, type LeaseVerdicts, type ParsedLease } from './lease-outcome.js';
import { ownership } from './ownership.js';
import { applyPolicies, type Changes, type PlannedDelete } from './policy/changes.js';
import { deleteCap } from './policy/delete-cap.js';
import { emptyViewGuard } from './policy/empty-view-guard.js';
import { markMakeBeforeBreak } from './spare-slots.js';
import type { LeaseOutcome, Plan, PlanInput, TableBudget, TableOutcome } from './types.js';

export type { DeleteCap } from './policy/delete-cap.js';
export { partialOutcome } from './lease-outcome.js';
export type {
  LeaseOutcome,
  LeaseState,
  Plan,
  PlanInput,
  PlanPolicy,
  TableBudget,
  TableOutcome,
  UnroutedReason,
} from './types.js';

const DELETE_PRIORITY: Readonly<Record<DeleteReason, number>> = {
  duplicate: 0,
  blackhole: 1,
  'node-not-found': 2,
  'node-not-eligible': 3,
  'forwarding-disabled': 4,
  'no-lease': 5,
};

/** Older leases first (lower create_revision), then lower subnet. */
function compareLeases(a: ParsedLease, b: ParsedLease): number {
  return a.lease.createRevision - b.lease.createRevision || compareCidrs(a.cidr, b.cidr);
}

/** One table after its own routes were judged: what stays, what is replaced, what could be deleted. */
interface JudgedTable {
  readonly count: TableCount;
  readonly owned: number;
  readonly kept: readonly ActualRoute[];
  readonly candidates: readonly PlannedDelete[];
  readonly replaces: readonly Change[];
  /** Foreign routes of the managed space by destination: a lease's subnet among them is a conflict. */
  readonly foreignByDestination: ReadonlyMap<string, ActualRoute>;
  /** Destinations that hold an owned route: no create for them. */
  readonly seenDestinations: ReadonlySet<string>;
}

export function plan(input: PlanInput): Plan {
  const network = parseCidr(input.network);
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

  // A lease's subnet lies inside the Network: no need to parse it again.
  const isOwned = ownership(network, leaseBySubnet);

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

  const verdicts = new Map<string, LeaseVerdicts>();
  const verdictOf = (subnet: string): LeaseVerdicts => {
    let verdict = verdicts.get(subnet);
    if (verdict === undefined) {
      verdict = { changing: false, conflicts: [], full: [], routedIn: [], stopped: [], waiting: [] };
      verdicts.set(subnet, verdict);
    }
    return verdict;
  };

  // 1. Each table's own routes: owned or foreign, kept, replaced or proposed for deletion.
  const judged = input.tables.map((table): JudgedTable => {
    const owned: ActualRoute[] = [];
    const foreignByDestination = new Map<string, ActualRoute>();
    for (const route of table.routes) {
      // Routes outside the managed space only use quota (counting.ts): never owned, never a conflict.
      if (!route.inManagedSpace) continue;
      if (isOwned(route)) owned.push(route);
      else foreignByDestination.set(route.destination, route);
    }

    const kept: ActualRoute[] = [];
    const candidates: PlannedDelete[] = [];
    const replaces: Change[] = [];
    const seenDestinations = new Set<string>();
    for (const route of owned) {
      if (seenDestinations.has(route.destination)) {
        candidates.push({ route, reason: 'duplicate' });
        continue;
      }
      seenDestinations.add(route.destination);
      const leased = leaseBySubnet.get(route.destination);
      if (leased === undefined) {
        if (protectedSubnets.has(route.destination)) kept.push(route);
        else candidates.push({ route, reason: route.blackhole ? 'blackhole' : 'no-lease' });
        continue;
      }
      const resolution = leased.resolution;
      switch (resolution.status) {
        case 'not-found':
          candidates.push({ route, reason: 'node-not-found' });
          break;
        case 'not-eligible':
          // Whatever it points at, the lease may not be routed: its IP is not a cluster node's.
          candidates.push({ route, reason: 'node-not-eligible' });
          break;
        case 'lookup-failed':
          kept.push(route);
          break;
        case 'found':
          if (resolution.forwarding === 'disabled') {
            // The lease is reported as unable to forward; a route to another target (the previous
            // node) is wrong for it, one to its own target can stay.
            if (route.target !== resolution.target) candidates.push({ route, reason: 'forwarding-disabled' });
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
            verdictOf(route.destination).changing = true;
            verdictOf(route.destination).routedIn.push(table.id);
          } else {
            verdictOf(route.destination).routedIn.push(table.id);
          }
          break;
      }
    }
    candidates.sort(
      (a, b) =>
        DELETE_PRIORITY[a.reason] - DELETE_PRIORITY[b.reason] ||
        compareCidrs(parseCidr(a.route.destination), parseCidr(b.route.destination)),
    );
    return { count: countTable(table, isOwned), owned: owned.length, kept, candidates, replaces, foreignByDestination, seenDestinations };
  });

  // 2. The safety valves decide which proposed deletes go out this pass.
  const proposed: Changes = {
    tables: input.tables.map((table, i) => ({ table: table.id, owned: judged[i]?.owned ?? 0, deletes: judged[i]?.candidates ?? [], held: [] })),
    warnings: [],
  };
  const decided = applyPolicies(proposed, [
    emptyViewGuard({ validLeases: leases.length, allowEmpty: input.policy.allowEmpty }),
    deleteCap(input.policy.maxDeletesPerPass),
  ]);

  // 3. Deletes, budgets and creates per table: kept routes and held deletes occupy capacity first.
  const replaces: Change[] = [];
  const deletes: Change[] = [];
  const creates: Change[] = [];
  const tableOutcomes: TableOutcome[] = [];
  const budgets: TableBudget[] = [];
  input.tables.forEach((table, i) => {
    const judge = judged[i];
    const decision = decided.tables[i];
    if (judge === undefined || decision === undefined) return;
    const { count, kept, foreignByDestination, seenDestinations } = judge;
    replaces.push(...judge.replaces);
    const capacity = count.limit - count.foreignCounted;
    const planned = decision.deletes;
    const deferred = decision.held.length;
    budgets.push({
      table: table.id,
      limit: count.limit,
      countedBefore: count.counted,
      uncountedDeletes: planned.filter(({ route }) => !counts(route, table.quota)).map(({ route }) => route.destination),
    });
    for (const { route, reason } of planned) {
      deletes.push({ kind: 'delete', table: table.id, destination: route.destination, previousTarget: route.target, reason });
    }

    const occupied = kept.reduce((sum, route) => sum + weightOf(route, table.quota), 0) + deferred;
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
      // routesync's own routes weigh 1: plain destination → target routes.
      free -= 1;
      createCount += 1;
      creates.push({ kind: 'create', table: table.id, destination: subnet, target: resolution.target, nodeIp: parsed.lease.nodeIp });
      verdictOf(subnet).changing = true;
      verdictOf(subnet).routedIn.push(table.id);
    }

    tableOutcomes.push({
      id: table.id,
      limit: count.limit,
      quotaLimit: table.limit,
      limitSource: table.limitSource ?? 'flag',
      ...(table.quotaUsage !== undefined && table.quotaUsage !== count.total
        ? { usageDisagreement: { reported: table.quotaUsage, counted: count.total } }
        : {}),
      foreignCounted: count.foreignCounted,
      capacity,
      ownedAfter: kept.length + deferred + createCount,
      creates: createCount,
      replaces: judge.replaces.length,
      deletes: planned.length,
      deferredDeletes: deferred,
    });
  });

  // Tables were judged before creates were planned: list each lease's tables in table order.
  const tableOrder = new Map(input.tables.map((table, i) => [table.id, i]));
  const leaseOutcomes: LeaseOutcome[] = [];
  const forwardingFixes: Change[] = [];
  const fixedTargets = new Set<string>();
  for (const parsed of leases) {
    const verdict = verdicts.get(parsed.lease.subnet);
    verdict?.routedIn.sort((a, b) => (tableOrder.get(a) ?? 0) - (tableOrder.get(b) ?? 0));
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
    changes: [...forwardingFixes, ...markMakeBeforeBreak(replaces, input.tables), ...deletes, ...creates],
    leases: leaseOutcomes,
    tables: tableOutcomes,
    budgets,
    warnings: [...decided.warnings],
  };
}
