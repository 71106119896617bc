/**
 * The planner: a pure function from (leases, network, actual routes, node resolutions, policy) to
 * the changes that make the cloud match flannel, plus what became of every lease and table.
 * No I/O, no clock, no logging: everything it needs arrives as arguments, so it is table-tested
 * without a cloud (rules: docs/architecture.md, 'Planner rules'). Ownership (ownership.ts), what
 * counts (counting.ts) and the safety valves (policy/) are steps of their own; this file composes them.
 * One plan covers both families: each lease half is a desired route of its family, owned inside
 * its family's network, and drawing from its family's capacity pool where the quota counts
 * families apart (AWS), from the one shared pool where it does not (GCE).
 */
import type { ActualRoute, Change, DeleteReason } from '../../providers/provider.js';
import { cidrContains, compareCidrs, parseCidr, tryParseCidr } from '../net/cidr.js';
import { cidr6Contains, compareCidrs6, compareDestinations, parseCidr6, tryParseCidr6 } from '../net/cidr6.js';
import { countTable, counts, poolOf, separateIpv6Pool, weightOf, type Pool, type TableCount } from './counting.js';
import { leaseOutcome, type LeaseVerdicts, type ParsedLease } from './lease-outcome.js';
import { ownerNetwork, type NamedNetworks } from './ownership.js';
import { applyPolicies, type Changes, type PlannedDelete } from './policy/changes.js';
import { deleteCap } from './policy/delete-cap.js';
import { emptyViewGuard } from './policy/empty-view-guard.js';
import { markMakeBeforeBreak } from './spare-slots.js';
import type { LeaseOutcome, Plan, PlanInput, PoolOutcome, TableBudget, TableOutcome } from './types.js';

export type { DeleteCap } from './policy/delete-cap.js';
export { partialOutcome } from './lease-outcome.js';
export type {
  LeaseOutcome,
  LeaseState,
  Plan,
  PlanInput,
  PlanNetwork,
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

/** Older leases first (lower create_revision), then lower subnet (IPv4 halves before IPv6 ones). */
function compareLeases(a: ParsedLease, b: ParsedLease): number {
  return a.lease.createRevision - b.lease.createRevision || compareSubnets(a, b);
}

function compareSubnets(a: ParsedLease, b: ParsedLease): number {
  if (a.cidr !== undefined && b.cidr !== undefined) return compareCidrs(a.cidr, b.cidr);
  if (a.cidr6 !== undefined && b.cidr6 !== undefined) return compareCidrs6(a.cidr6, b.cidr6);
  return a.cidr !== undefined ? -1 : 1;
}

/** Multi-network mode: the routes owned by a network that has no valid lease. */
function emptyNetworkRoutes(leases: readonly ParsedLease[], ownerOf: (route: ActualRoute) => NamedNetworks | undefined): (route: ActualRoute) => string | undefined {
  const leased = new Set(leases.map((parsed) => parsed.lease.network));
  return (route) => {
    const owner = ownerOf(route);
    return owner?.name !== undefined && !leased.has(owner.name) ? owner.name : undefined;
  };
}

const familyOfRoute = (route: ActualRoute): 'ipv4' | 'ipv6' => route.family ?? 'ipv4';

/** One table after its own routes were judged: what stays, what is replaced, what could be deleted. */
interface JudgedTable {
  /** Per capacity pool of the table: `main`, and `ipv6` where the quota counts IPv6 apart and IPv6 is in play. */
  readonly counted: ReadonlyMap<Pool, TableCount>;
  readonly owned: number;
  readonly kept: readonly ActualRoute[];
  readonly candidates: readonly PlannedDelete[];
  readonly replaces: readonly Change[];
  /** Foreign routes of the managed space by destination: a lease's subnet among them is a conflict. */
  readonly foreignByDestination: ReadonlyMap<string, ActualRoute>;
  /** Destinations that hold an owned route: no create for them. */
  readonly seenDestinations: ReadonlySet<string>;
}

/** A lease's verdicts while they are gathered, with the rank of the table it was last routed in. */
interface Verdicts extends LeaseVerdicts {
  lastRank: number;
  /** Some table was listed after a table of higher rank: routedIn needs sorting. */
  unordered: boolean;
}

/** One capacity pool of a table while creates are planned. */
interface PoolState {
  readonly count: TableCount;
  readonly capacity: number;
  free: number;
  readonly kept: number;
  readonly deferred: number;
  creates: number;
}

/** The networks' spaces: the single network, or each of the multi-network mode's. */
function spacesOf(input: PlanInput): NamedNetworks[] {
  const entries = input.networks ?? [{ name: undefined, network: input.network, ipv6Network: input.ipv6Network }];
  return entries.map((entry) => ({
    name: entry.name,
    ...(entry.network === undefined ? {} : { ipv4: parseCidr(entry.network) }),
    ...(entry.ipv6Network === undefined ? {} : { ipv6: parseCidr6(entry.ipv6Network) }),
  }));
}

/**
 * An IPv6 half its node cannot take: the node (found by the IPv4 half, or by the IPv6 address
 * itself) has no IPv6 interface. It is treated as a lease whose node is not found.
 */
function markIpv6Incapable(leases: ParsedLease[], leaseBySubnet: Map<string, ParsedLease>): void {
  const ipv4HalfByKey = new Map<string, ParsedLease>();
  for (const parsed of leases) if (parsed.family === 'ipv4') ipv4HalfByKey.set(parsed.lease.key, parsed);
  leases.forEach((parsed, i) => {
    if (parsed.family !== 'ipv6') return;
    const own = parsed.resolution;
    const sibling = ipv4HalfByKey.get(parsed.lease.key)?.resolution;
    const incapable =
      own.status === 'found' && own.ipv6Capable === false
        ? own.target
        : own.status === 'not-found' && sibling?.status === 'found' && sibling.ipv6Capable === false
          ? sibling.target
          : undefined;
    if (incapable === undefined) return;
    const marked: ParsedLease = { ...parsed, resolution: { status: 'not-found' }, noIpv6Interface: incapable };
    leases[i] = marked;
    leaseBySubnet.set(parsed.lease.subnet, marked);
  });
}

export function plan(input: PlanInput): Plan {
  const spaces = spacesOf(input);
  const spaceByName = new Map(spaces.map((space) => [space.name, space]));
  const multi = input.networks !== undefined;
  const protectedSubnets = new Set(input.protectedSubnets);

  const leases: ParsedLease[] = [];
  const leaseBySubnet = new Map<string, ParsedLease>();
  for (const lease of input.leases) {
    if (leaseBySubnet.has(lease.subnet)) continue;
    // Each lease is judged by its own network's space: another network's Network is not its.
    const space = spaceByName.get(multi ? lease.network : undefined);
    if (space === undefined) continue;
    const resolution = input.resolutions.get(lease.nodeIp) ?? { status: 'lookup-failed', error: 'node IP was not looked up' };
    let parsed: ParsedLease;
    if (lease.family === 'ipv6') {
      const cidr6 = tryParseCidr6(lease.subnet);
      if (cidr6 === undefined || space.ipv6 === undefined || !cidr6Contains(space.ipv6, cidr6)) continue;
      parsed = { lease, family: 'ipv6', cidr6, space, resolution };
    } else {
      const cidr = tryParseCidr(lease.subnet);
      if (cidr === undefined || space.ipv4 === undefined || !cidrContains(space.ipv4, cidr)) continue;
      parsed = { lease, family: 'ipv4', cidr, space, resolution };
    }
    leases.push(parsed);
    leaseBySubnet.set(lease.subnet, parsed);
  }
  const hasIpv6Leases = leases.some((l) => l.family === 'ipv6');
  if (hasIpv6Leases) markIpv6Incapable(leases, leaseBySubnet);
  leases.sort(compareLeases);

  // A lease's subnet lies inside its network's space: no need to parse it again.
  const ownerOf = ownerNetwork(spaces, leaseBySubnet);
  const isOwned = (route: ActualRoute): boolean => ownerOf(route) !== undefined;

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

  // A lease lists its tables in table order (a table's rank: the last index of its id). Routes are
  // judged in every table before any create is planned, so a list can come out of that order: it
  // is sorted at the end, and only then (sorting every lease's list cost ~3 ms at 10,000 leases).
  const tableOrder = new Map(input.tables.map((table, i) => [table.id, i]));
  const rankOf = input.tables.map((table) => tableOrder.get(table.id) ?? 0);
  const verdicts = new Map<string, Verdicts>();
  const verdictOf = (subnet: string): Verdicts => {
    let verdict = verdicts.get(subnet);
    if (verdict === undefined) {
      verdict = { changing: false, routedIn: [], lastRank: -1, unordered: false };
      verdicts.set(subnet, verdict);
    }
    return verdict;
  };
  const routeIn = (verdict: Verdicts, tableIndex: number, table: string): void => {
    const rank = rankOf[tableIndex] ?? 0;
    if (rank < verdict.lastRank) verdict.unordered = true;
    verdict.lastRank = rank;
    verdict.routedIn.push(table);
  };

  // 1. Each table's own routes: owned or foreign, kept, replaced or proposed for deletion.
  const judged = input.tables.map((table, tableIndex): JudgedTable => {
    const foreignByDestination = new Map<string, ActualRoute>();
    const kept: ActualRoute[] = [];
    const candidates: PlannedDelete[] = [];
    const replaces: Change[] = [];
    const seenDestinations = new Set<string>();
    let owned = 0;
    for (const route of table.routes) {
      // Routes outside the managed space only use quota (counting.ts): never owned, never a conflict.
      if (!route.inManagedSpace) continue;
      if (!isOwned(route)) {
        foreignByDestination.set(route.destination, route);
        continue;
      }
      owned += 1;
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
        case 'found': {
          if (resolution.forwarding === 'disabled') {
            // The lease is reported as unable to forward; a route to another target (the previous
            // node) is wrong for it, one to its own target can stay.
            if (route.target !== resolution.target) candidates.push({ route, reason: 'forwarding-disabled' });
            else kept.push(route);
            break;
          }
          kept.push(route);
          const verdict = verdictOf(route.destination);
          if (route.blackhole && route.target === resolution.target) {
            (verdict.stopped ??= []).push(table.id);
            break;
          }
          if (route.blackhole || route.target !== resolution.target) {
            replaces.push({
              kind: 'replace',
              table: table.id,
              destination: route.destination,
              target: resolution.target,
              previousTarget: route.target,
              nodeIp: leased.lease.nodeIp,
            });
            verdict.changing = true;
          }
          routeIn(verdict, tableIndex, table.id);
          break;
        }
      }
    }
    candidates.sort((a, b) => DELETE_PRIORITY[a.reason] - DELETE_PRIORITY[b.reason] || compareDestinations(a.route.destination, b.route.destination));
    const pools: Pool[] = separateIpv6Pool(table.quota) && (hasIpv6Leases || table.routes.some((r) => familyOfRoute(r) === 'ipv6')) ? ['main', 'ipv6'] : ['main'];
    const counted = new Map(pools.map((pool) => [pool, countTable(table, isOwned, pool)] as const));
    return { counted, owned, kept, candidates, replaces, foreignByDestination, seenDestinations };
  });

  // 2. The safety valves decide which proposed deletes go out this pass.
  const proposed: Changes = {
    tables: input.tables.map((table, i) => ({ table: table.id, owned: judged[i]?.owned ?? 0, deletes: judged[i]?.candidates ?? [], held: [] })),
    warnings: [],
  };
  const decided = applyPolicies(proposed, [
    emptyViewGuard({
      validLeases: leases.length,
      allowEmpty: input.policy.allowEmpty,
      // Each network's view on its own: one network with no valid lease deletes none of its routes.
      ...(multi ? { ofEmptyNetwork: emptyNetworkRoutes(leases, ownerOf) } : {}),
    }),
    deleteCap(input.policy.maxDeletesPerPass),
  ]);

  // 3. Deletes, budgets and creates per table: kept routes and held deletes occupy capacity first.
  const replaces: Change[] = [];
  const deletes: Change[] = [];
  const creates: Change[] = [];
  const tableOutcomes: TableOutcome[] = [];
  const budgets: TableBudget[] = [];
  input.tables.forEach((table, tableIndex) => {
    const judge = judged[tableIndex];
    const decision = decided.tables[tableIndex];
    if (judge === undefined || decision === undefined) return;
    const { kept, foreignByDestination, seenDestinations } = judge;
    replaces.push(...judge.replaces);
    const planned = decision.deletes;
    for (const { route, reason } of planned) {
      deletes.push({ kind: 'delete', table: table.id, destination: route.destination, previousTarget: route.target, reason });
    }

    // Each pool: its capacity, what kept routes and held deletes occupy first, what is free.
    const pools = [...judge.counted.keys()];
    const poolOfRoute = (route: ActualRoute): Pool => (pools.includes('ipv6') ? poolOf(familyOfRoute(route), table.quota) : 'main');
    const state = new Map(
      pools.map((pool) => {
        const count = judge.counted.get(pool) as TableCount;
        const capacity = count.limit - count.foreignCounted;
        const keptHere = kept.filter((route) => poolOfRoute(route) === pool);
        const deferred = decision.held.filter(({ route }) => poolOfRoute(route) === pool).length;
        const occupied = keptHere.reduce((sum, route) => sum + weightOf(route, table.quota, pool), 0) + deferred;
        budgets.push({
          table: table.id,
          ...(pool === 'ipv6' ? { family: 'ipv6' as const } : {}),
          limit: count.limit,
          countedBefore: count.counted,
          uncountedDeletes: planned.filter(({ route }) => !counts(route, table.quota, pool)).map(({ route }) => route.destination),
        });
        const entry: PoolState = { count, capacity, free: Math.max(0, capacity - occupied), kept: keptHere.length, deferred, creates: 0 };
        return [pool, entry] as const;
      }),
    );

    let createCount = 0;
    for (const parsed of leases) {
      const subnet = parsed.lease.subnet;
      if (seenDestinations.has(subnet)) continue;
      const resolution = parsed.resolution;
      if (resolution.status !== 'found' || resolution.forwarding === 'disabled') continue;
      const verdict = verdictOf(subnet);
      const foreign = foreignByDestination.get(subnet);
      if (foreign !== undefined) {
        (verdict.conflicts ??= []).push({ table: table.id, via: foreign.via });
        continue;
      }
      if (stoppedSubnets.has(subnet)) {
        // A route to a stopped instance would be a blackhole taking the place of a waiting lease.
        (verdict.waiting ??= []).push(table.id);
        continue;
      }
      const pool = state.get(pools.includes('ipv6') ? poolOf(parsed.family, table.quota) : 'main');
      if (pool === undefined || pool.free <= 0) {
        (verdict.full ??= []).push(table.id);
        continue;
      }
      // routesync's own routes weigh 1: plain destination → target routes.
      pool.free -= 1;
      pool.creates += 1;
      createCount += 1;
      creates.push({ kind: 'create', table: table.id, destination: subnet, target: resolution.target, nodeIp: parsed.lease.nodeIp });
      verdict.changing = true;
      routeIn(verdict, tableIndex, table.id);
    }

    const main = state.get('main');
    const v6 = state.get('ipv6');
    if (main === undefined) return;
    const ipv6: PoolOutcome | undefined =
      v6 === undefined
        ? undefined
        : {
            limit: v6.count.limit,
            quotaLimit: table.ipv6Limit ?? table.limit,
            foreignCounted: v6.count.foreignCounted,
            capacity: v6.capacity,
            ownedAfter: v6.kept + v6.deferred + v6.creates,
            creates: v6.creates,
          };
    tableOutcomes.push({
      id: table.id,
      limit: main.count.limit,
      quotaLimit: table.limit,
      limitSource: table.limitSource ?? 'flag',
      ...(table.quotaUsage !== undefined && table.quotaUsage !== main.count.total
        ? { usageDisagreement: { reported: table.quotaUsage, counted: main.count.total } }
        : {}),
      foreignCounted: main.count.foreignCounted,
      capacity: main.capacity,
      ownedAfter: main.kept + main.deferred + main.creates,
      creates: createCount,
      replaces: judge.replaces.length,
      deletes: planned.length,
      deferredDeletes: decision.held.length,
      ...(ipv6 === undefined ? {} : { ipv6 }),
    });
  });

  const byTableOrder = (a: string, b: string): number => (tableOrder.get(a) ?? 0) - (tableOrder.get(b) ?? 0);
  const leaseOutcomes: LeaseOutcome[] = [];
  const forwardingFixes: Change[] = [];
  const fixedTargets = new Set<string>();
  for (const parsed of leases) {
    const verdict = verdicts.get(parsed.lease.subnet);
    if (verdict?.unordered === true) verdict.routedIn.sort(byTableOrder);
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
