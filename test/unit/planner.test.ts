import { describe, expect, it } from 'vitest';
import { plan, type PlanInput, type PlanPolicy } from '../../src/planner/plan.js';
import type { Lease } from '../../src/leases/types.js';
import type { ActualRoute, Change, NodeResolution, RouteTable } from '../../providers/provider.js';
import { FOREIGN, OWNER_MARKED, PROPAGATED, TABLE_DEFAULT } from '../helpers/route-facts.js';

const NETWORK = '10.1.0.0/16';
const DEFAULT_POLICY: PlanPolicy = { allowEmpty: false, maxDeletesPerPass: { kind: 'percent', value: 20 } };

/** Lease n: subnet 10.1.n.0/24 on node 172.31.0.n, created at revision 100 + n unless given. */
function lease(n: number, overrides: Partial<Lease> = {}): Lease {
  return {
    key: `/coreos.com/network/subnets/10.1.${n}.0-24`,
    subnet: `10.1.${n}.0/24`,
    nodeIp: `172.31.0.${n}`,
    createRevision: 100 + n,
    modRevision: 100 + n,
    reservation: false,
    ...overrides,
  };
}

const eni = (n: number): string => `eni-${String(n).padStart(4, '0')}`;

function owned(n: number, target: string | null = eni(n), blackhole = false): ActualRoute {
  return { destination: `10.1.${n}.0/24`, target, blackhole, ...OWNER_MARKED, via: target ?? 'blackhole' };
}

const LOCAL: ActualRoute = {
  destination: '172.31.0.0/16',
  target: null,
  blackhole: false,
  ...TABLE_DEFAULT,
  via: 'local',
};

function table(routes: ActualRoute[], limit = 50, id = 'rtb-a'): RouteTable {
  return { id, limit, quota: 'aws-vpc-routes-per-table', routes: [LOCAL, ...routes] };
}

function found(n: number, forwarding: 'enabled' | 'fixable' | 'disabled' = 'enabled'): NodeResolution {
  return { status: 'found', target: eni(n), forwarding };
}

/** An interface that holds the lease's IP but is not a cluster node's. */
function notEligible(n: number): NodeResolution {
  return { status: 'not-eligible', target: eni(n), why: 'carries no node tag' };
}

function resolveAll(leases: Lease[], override: Record<string, NodeResolution> = {}): Map<string, NodeResolution> {
  const map = new Map<string, NodeResolution>();
  for (const l of leases) {
    const n = Number(l.nodeIp.split('.')[3]);
    map.set(l.nodeIp, override[l.nodeIp] ?? found(n));
  }
  return map;
}

function input(leases: Lease[], tables: RouteTable[], extra: Partial<PlanInput> = {}): PlanInput {
  return {
    network: NETWORK,
    leases,
    protectedSubnets: [],
    tables,
    resolutions: resolveAll(leases),
    policy: DEFAULT_POLICY,
    ...extra,
  };
}

const range = (from: number, to: number): number[] => Array.from({ length: to - from + 1 }, (_, i) => from + i);

function kinds(changes: readonly Change[]): string[] {
  return changes.map((c) => (c.kind === 'enable-forwarding' ? `${c.kind} ${c.target}` : `${c.kind} ${c.table} ${c.destination}`));
}

/** The resolutions once a plan's forwarding fixes are made: those targets forward. */
function appliedResolutions(resolutions: ReadonlyMap<string, NodeResolution>, changes: readonly Change[]): Map<string, NodeResolution> {
  const fixed = new Set(changes.flatMap((c) => (c.kind === 'enable-forwarding' ? [c.target] : [])));
  const out = new Map<string, NodeResolution>();
  for (const [ip, r] of resolutions) out.set(ip, r.status === 'found' && fixed.has(r.target) ? { ...r, forwarding: 'enabled' } : r);
  return out;
}

/** Applies a plan to the tables as a perfect cloud would, to check idempotency. */
function applied(tables: RouteTable[], changes: readonly Change[]): RouteTable[] {
  return tables.map((t) => {
    let routes = [...t.routes];
    for (const c of changes) {
      if (c.kind === 'enable-forwarding' || c.table !== t.id) continue;
      if (c.kind === 'delete') {
        // One route: of duplicates, the one the delete names by its target.
        const gone = routes.findIndex((r) => r.destination === c.destination && r.bearsOwnerMarks && r.target === c.previousTarget);
        if (gone >= 0) routes.splice(gone, 1);
        continue;
      }
      routes = routes.filter((r) => r.destination !== c.destination);
      routes.push({ destination: c.destination, target: c.target, blackhole: false, ...OWNER_MARKED, via: c.target });
    }
    return { ...t, routes };
  });
}

describe('planner', () => {
  interface Case {
    name: string;
    input: PlanInput;
    changes: string[];
    /** `state` or `state/reason` per subnet. */
    states?: Record<string, string>;
    /** The changes of a second plan once these are applied: none unless given (idempotency). */
    again?: string[];
  }

  const cases: Case[] = [
    {
      name: 'creates a route for each new lease, targeting the resolved ENI',
      input: input([lease(1), lease(2)], [table([])]),
      changes: ['create rtb-a 10.1.1.0/24', 'create rtb-a 10.1.2.0/24'],
      states: { '10.1.1.0/24': 'pending', '10.1.2.0/24': 'pending' },
    },
    {
      name: 'leaves a correct route alone',
      input: input([lease(1)], [table([owned(1)])]),
      changes: [],
      states: { '10.1.1.0/24': 'routed' },
    },
    {
      name: 'replaces a route whose lease moved to another node',
      input: input([lease(1, { nodeIp: '172.31.0.9' })], [table([owned(1)])], {
        resolutions: new Map([['172.31.0.9', found(9)]]),
      }),
      changes: ['replace rtb-a 10.1.1.0/24'],
      states: { '10.1.1.0/24': 'pending' },
    },
    {
      name: 'deletes an owned route whose lease is gone',
      input: input([lease(1)], [table([owned(1), owned(2)])]),
      changes: ['delete rtb-a 10.1.2.0/24'],
    },
    {
      name: 'deletes an owned blackhole route with no lease',
      input: input([lease(1)], [table([owned(1), owned(3, eni(3), true)])]),
      changes: ['delete rtb-a 10.1.3.0/24'],
    },
    {
      name: 'replaces a blackhole route when its lease resolves to a live ENI',
      input: input([lease(1)], [table([owned(1, 'eni-dead', true)])]),
      changes: ['replace rtb-a 10.1.1.0/24'],
    },
    {
      name: 'deletes the route of a lease whose node is gone, and reports the lease',
      input: input([lease(1), lease(2)], [table([owned(1), owned(2, eni(2), true)])], {
        resolutions: new Map<string, NodeResolution>([
          ['172.31.0.1', found(1)],
          ['172.31.0.2', { status: 'not-found' }],
        ]),
      }),
      changes: ['delete rtb-a 10.1.2.0/24'],
      states: { '10.1.1.0/24': 'routed', '10.1.2.0/24': 'unrouted' },
    },
    {
      name: 'a lease whose node is not eligible gets no route, and its owned route is deleted',
      input: input([lease(1), lease(2), lease(3)], [table([owned(1), owned(2)]), table([owned(2)], 50, 'rtb-b')], {
        resolutions: new Map<string, NodeResolution>([
          ['172.31.0.1', found(1)],
          ['172.31.0.2', notEligible(2)],
          ['172.31.0.3', notEligible(3)],
        ]),
        policy: { allowEmpty: false, maxDeletesPerPass: { kind: 'percent', value: 100 } },
      }),
      changes: ['delete rtb-a 10.1.2.0/24', 'delete rtb-b 10.1.2.0/24', 'create rtb-b 10.1.1.0/24'],
      states: { '10.1.1.0/24': 'pending', '10.1.2.0/24': 'unrouted/node-not-eligible', '10.1.3.0/24': 'unrouted/node-not-eligible' },
    },
    {
      name: 'a not-eligible machine gets no create and no forwarding fix, even with room',
      input: input([lease(4)], [table([])], { resolutions: new Map([['172.31.0.4', notEligible(4)]]) }),
      changes: [],
      states: { '10.1.4.0/24': 'unrouted/node-not-eligible' },
    },
    {
      name: 'a lease that moves from a not-eligible machine to a node has its route replaced',
      input: input([lease(1, { nodeIp: '172.31.0.9' })], [table([owned(1, eni(1))])], { resolutions: new Map([['172.31.0.9', found(9)]]) }),
      changes: ['replace rtb-a 10.1.1.0/24'],
      states: { '10.1.1.0/24': 'pending' },
    },
    {
      name: 'deletes of not-eligible routes are capped like any other',
      input: input(
        range(1, 10).map((n) => lease(n)),
        [table(range(1, 10).map((n) => owned(n)))],
        { resolutions: new Map(range(1, 10).map((n): [string, NodeResolution] => [`172.31.0.${n}`, n <= 5 ? notEligible(n) : found(n)])) },
      ),
      changes: ['delete rtb-a 10.1.1.0/24', 'delete rtb-a 10.1.2.0/24'],
      states: { '10.1.3.0/24': 'unrouted/node-not-eligible', '10.1.6.0/24': 'routed' },
      again: ['delete rtb-a 10.1.3.0/24', 'delete rtb-a 10.1.4.0/24'],
    },
    {
      name: 'a failed lookup changes nothing for that lease',
      input: input([lease(1), lease(2)], [table([owned(1, 'eni-old')])], {
        resolutions: new Map<string, NodeResolution>([
          ['172.31.0.1', { status: 'lookup-failed', error: 'boom' }],
          ['172.31.0.2', { status: 'lookup-failed', error: 'boom' }],
        ]),
      }),
      changes: [],
      states: { '10.1.1.0/24': 'error', '10.1.2.0/24': 'error' },
    },
    {
      name: 'never touches foreign routes, even inside the Network',
      input: input(
        [lease(1)],
        [
          table([
            owned(1),
            { destination: '0.0.0.0/0', target: null, blackhole: false, ...FOREIGN, via: 'igw-1' },
            { destination: '10.1.200.0/24', target: null, blackhole: false, ...FOREIGN, via: 'nat-1' },
            // CreateRoute to an ENI but outside the flannel Network: someone else's route.
            { destination: '192.168.0.0/24', target: 'eni-x', blackhole: false, ...OWNER_MARKED, via: 'eni-x' },
            { destination: '10.1.250.0/24', target: 'eni-y', blackhole: true, ...FOREIGN, via: 'eni-y' },
          ]),
        ],
      ),
      changes: [],
    },
    {
      name: 'a foreign route on a lease subnet is a conflict for that lease',
      input: input(
        [lease(1), lease(2)],
        [table([{ destination: '10.1.1.0/24', target: null, blackhole: false, ...FOREIGN, via: 'igw-1' }])],
      ),
      changes: ['create rtb-a 10.1.2.0/24'],
      states: { '10.1.1.0/24': 'conflict', '10.1.2.0/24': 'pending' },
    },
    {
      name: 'turns forwarding on once per target that gets or holds a route',
      input: input([lease(1), lease(2, { nodeIp: '172.31.0.1' })], [table([owned(1)])], {
        resolutions: new Map([['172.31.0.1', found(1, 'fixable')]]),
      }),
      changes: ['enable-forwarding eni-0001', 'create rtb-a 10.1.2.0/24'],
    },
    {
      name: 'no route to an instance that cannot forward (GCE canIpForward false)',
      input: input([lease(1)], [table([])], { resolutions: new Map([['172.31.0.1', found(1, 'disabled')]]) }),
      changes: [],
      states: { '10.1.1.0/24': 'unrouted' },
    },
    {
      name: 'an empty lease set deletes nothing',
      input: input([], [table([owned(1), owned(2)])]),
      changes: [],
    },
    {
      name: '--allow-empty lets an empty lease set delete (within the cap)',
      input: input([], [table([owned(1), owned(2)])], {
        policy: { allowEmpty: true, maxDeletesPerPass: { kind: 'percent', value: 100 } },
      }),
      changes: ['delete rtb-a 10.1.1.0/24', 'delete rtb-a 10.1.2.0/24'],
    },
    {
      name: 'deletes are capped per pass: 20% of 10 owned routes is 2, blackholes first',
      input: input([], [table([...range(1, 9).map((n) => owned(n)), owned(10, eni(10), true)])], {
        policy: { allowEmpty: true, maxDeletesPerPass: { kind: 'percent', value: 20 } },
      }),
      changes: ['delete rtb-a 10.1.10.0/24', 'delete rtb-a 10.1.1.0/24'],
      again: ['delete rtb-a 10.1.2.0/24', 'delete rtb-a 10.1.3.0/24'],
    },
    {
      name: 'a delete cap given as a count',
      input: input([lease(1)], [table([owned(1), owned(2), owned(3), owned(4)])], {
        policy: { allowEmpty: false, maxDeletesPerPass: { kind: 'count', value: 1 } },
      }),
      changes: ['delete rtb-a 10.1.2.0/24'],
      again: ['delete rtb-a 10.1.3.0/24'],
    },
    {
      name: 'a route of a lease whose value is unreadable is left alone',
      input: input([lease(1)], [table([owned(1), owned(2)])], { protectedSubnets: ['10.1.2.0/24'] }),
      changes: [],
    },
    {
      name: 'route limit: the local route counts, the oldest leases win',
      input: input([lease(3, { createRevision: 5 }), lease(1), lease(2)], [table([], 3)]),
      changes: ['create rtb-a 10.1.3.0/24', 'create rtb-a 10.1.1.0/24'],
      states: { '10.1.3.0/24': 'pending', '10.1.1.0/24': 'pending', '10.1.2.0/24': 'unrouted' },
    },
    {
      name: 'route limit: existing routes keep their place over older leases (no flapping)',
      input: input([lease(1), lease(2), lease(3)], [table([owned(3)], 3)]),
      changes: ['create rtb-a 10.1.1.0/24'],
      states: { '10.1.3.0/24': 'routed', '10.1.1.0/24': 'pending', '10.1.2.0/24': 'unrouted' },
    },
    {
      name: 'route limit: equal age falls back to the lower subnet',
      input: input([lease(20, { createRevision: 7 }), lease(3, { createRevision: 7 })], [table([], 2)]),
      changes: ['create rtb-a 10.1.3.0/24'],
    },
    {
      name: 'route limit: a deleted route frees its place for a waiting lease in the same pass',
      input: input([lease(2), lease(3)], [table([owned(1), owned(2)], 3)]),
      changes: ['delete rtb-a 10.1.1.0/24', 'create rtb-a 10.1.3.0/24'],
    },
    {
      name: 'route limit: a deferred delete keeps its place',
      input: input([lease(3), lease(4)], [table([owned(1), owned(2)], 3)], {
        policy: { allowEmpty: false, maxDeletesPerPass: { kind: 'count', value: 1 } },
      }),
      changes: ['delete rtb-a 10.1.1.0/24', 'create rtb-a 10.1.3.0/24'],
      states: { '10.1.3.0/24': 'pending', '10.1.4.0/24': 'unrouted' },
      again: ['delete rtb-a 10.1.2.0/24', 'create rtb-a 10.1.4.0/24'],
    },
    {
      name: 'route limit: propagated routes do not count, foreign ones do',
      input: input(
        [lease(1), lease(2)],
        [
          table(
            [
              { destination: '192.168.0.0/16', target: null, blackhole: false, ...PROPAGATED, via: 'vgw-1' },
              { destination: '0.0.0.0/0', target: null, blackhole: false, ...FOREIGN, via: 'igw-1' },
            ],
            3,
          ),
        ],
      ),
      changes: ['create rtb-a 10.1.1.0/24'],
    },
    {
      name: 'route limit already exceeded by foreign routes: nothing is created, nothing owned is removed',
      input: input([lease(1), lease(2)], [table([owned(1)], 1)]),
      changes: [],
      states: { '10.1.1.0/24': 'routed', '10.1.2.0/24': 'unrouted' },
    },
    {
      name: 'every managed table gets every route, each within its own limit',
      input: input([lease(1), lease(2)], [table([owned(1)], 50, 'rtb-a'), table([], 2, 'rtb-b')]),
      changes: ['create rtb-a 10.1.2.0/24', 'create rtb-b 10.1.1.0/24'],
      states: { '10.1.1.0/24': 'pending', '10.1.2.0/24': 'partial/route-limit' },
    },
    {
      name: 'route limit in every table: the lease is unrouted, not partial',
      input: input([lease(1), lease(2)], [table([owned(1)], 2, 'rtb-a'), table([owned(1)], 2, 'rtb-b')]),
      changes: [],
      states: { '10.1.1.0/24': 'routed', '10.1.2.0/24': 'unrouted/route-limit' },
    },
    {
      name: 'partial: forwarding is fixed for a lease that fits in one table only (it gets a create there)',
      input: input([lease(1), lease(2)], [table([owned(1)], 2, 'rtb-a'), table([], 50, 'rtb-b')], {
        resolutions: new Map([
          ['172.31.0.1', found(1, 'fixable')],
          ['172.31.0.2', found(2, 'fixable')],
        ]),
      }),
      changes: ['enable-forwarding eni-0001', 'enable-forwarding eni-0002', 'create rtb-b 10.1.1.0/24', 'create rtb-b 10.1.2.0/24'],
      states: { '10.1.1.0/24': 'pending', '10.1.2.0/24': 'partial/route-limit' },
    },
    {
      name: 'partial: forwarding is fixed for a lease already routed in one table only',
      input: input([lease(1), lease(2)], [table([owned(1)], 2, 'rtb-a'), table([owned(1), owned(2)], 50, 'rtb-b')], {
        resolutions: new Map([
          ['172.31.0.1', found(1, 'enabled')],
          ['172.31.0.2', found(2, 'fixable')],
        ]),
      }),
      changes: ['enable-forwarding eni-0002'],
      states: { '10.1.1.0/24': 'routed', '10.1.2.0/24': 'partial/route-limit' },
    },
    {
      name: 'no forwarding fix for a lease no table routes to',
      input: input([lease(1), lease(2)], [table([owned(1)], 2, 'rtb-a')], {
        resolutions: new Map([
          ['172.31.0.1', found(1, 'enabled')],
          ['172.31.0.2', found(2, 'fixable')],
        ]),
      }),
      changes: [],
      states: { '10.1.2.0/24': 'unrouted/route-limit' },
    },
    {
      name: 'a stopped instance: a blackhole route to the lease\'s own target is left alone, the lease is node-stopped',
      input: input([lease(1), lease(2)], [table([owned(1, eni(1), true), owned(2)])]),
      changes: [],
      states: { '10.1.1.0/24': 'unrouted/node-stopped', '10.1.2.0/24': 'routed' },
    },
    {
      name: 'a stopped instance keeps its route\'s place in a full table',
      input: input([lease(1), lease(2)], [table([owned(1, eni(1), true)], 2)]),
      changes: [],
      states: { '10.1.1.0/24': 'unrouted/node-stopped', '10.1.2.0/24': 'unrouted/route-limit' },
    },
    {
      name: 'a stopped instance gets no forwarding fix for its blackhole route',
      input: input([lease(1)], [table([owned(1, eni(1), true)])], { resolutions: new Map([['172.31.0.1', found(1, 'fixable')]]) }),
      changes: [],
      states: { '10.1.1.0/24': 'unrouted/node-stopped' },
    },
    {
      name: 'a node that cannot forward: an owned route still pointing at the previous node is deleted',
      input: input([lease(1)], [table([owned(1, 'eni-previous')])], {
        resolutions: new Map([['172.31.0.1', found(1, 'disabled')]]),
      }),
      changes: ['delete rtb-a 10.1.1.0/24'],
      states: { '10.1.1.0/24': 'unrouted/forwarding-disabled' },
    },
    {
      name: 'a node that cannot forward: a route already at its own target stays',
      input: input([lease(1)], [table([owned(1)])], { resolutions: new Map([['172.31.0.1', found(1, 'disabled')]]) }),
      changes: [],
      states: { '10.1.1.0/24': 'unrouted/forwarding-disabled' },
    },
    {
      name: 'a second owned route for one destination is deleted as a duplicate',
      input: input([lease(1)], [table([owned(1), owned(1, 'eni-other')])]),
      changes: ['delete rtb-a 10.1.1.0/24'],
    },
  ];

  for (const c of cases) {
    it(c.name, () => {
      const result = plan(c.input);
      expect(kinds(result.changes)).toEqual(c.changes);
      for (const [subnet, expected] of Object.entries(c.states ?? {})) {
        const outcome = result.leases.find((l) => l.subnet === subnet);
        const [state, reason] = expected.split('/');
        expect(outcome?.state, subnet).toBe(state);
        if (reason !== undefined) expect(outcome?.reason, subnet).toBe(reason);
      }
      const again = plan({
        ...c.input,
        tables: applied([...c.input.tables], result.changes),
        resolutions: appliedResolutions(c.input.resolutions, result.changes),
      });
      expect(kinds(again.changes), 'planning again once applied').toEqual(c.again ?? []);
    });
  }

  it('is idempotent: applying the plan and planning again yields no change', () => {
    const leases = range(1, 60).map((n) => lease(n));
    const tables = [table([owned(70), owned(5, 'eni-old'), owned(6, 'eni-dead', true)], 50), table([], 40, 'rtb-b')];
    const first = plan(input(leases, tables, { policy: { allowEmpty: false, maxDeletesPerPass: { kind: 'percent', value: 100 } } }));
    expect(first.changes.length).toBeGreaterThan(0);
    const second = plan(input(leases, applied(tables, first.changes)));
    expect(second.changes).toEqual([]);
    expect(second.leases.filter((l) => l.state === 'routed')).toHaveLength(39);
    // Table A has room for 49, table B for 39: ten leases are routed in A only.
    const partial = second.leases.filter((l) => l.state === 'partial');
    expect(partial).toHaveLength(10);
    for (const l of partial) expect(l).toMatchObject({ reason: 'route-limit', routedIn: ['rtb-a'], missingIn: ['rtb-b'] });
    expect(second.leases.filter((l) => l.state === 'unrouted' && l.reason === 'route-limit')).toHaveLength(11);
  });

  it('routes exactly the capacity, oldest first: 60 leases into a 50-route table', () => {
    // Creation order is the reverse of subnet order, so "oldest first" is not "lowest subnet first".
    const leases = range(1, 60).map((n) => lease(n, { createRevision: 1000 - n }));
    const result = plan(input(leases, [table([], 50)]));
    const created = result.changes.filter((c) => c.kind === 'create').map((c) => (c.kind === 'create' ? c.destination : ''));
    expect(created).toHaveLength(49);
    expect(new Set(created)).toEqual(new Set(range(12, 60).map((n) => `10.1.${n}.0/24`)));
    expect(result.tables[0]).toMatchObject({ capacity: 49, foreignCounted: 1, creates: 49, ownedAfter: 49 });
    const unrouted = result.leases.filter((l) => l.reason === 'route-limit').map((l) => l.subnet);
    expect(unrouted).toEqual(range(1, 11).reverse().map((n) => `10.1.${n}.0/24`));
  });

  it('a partial lease says where it is routed and where not', () => {
    const result = plan(input([lease(1), lease(2)], [table([owned(1)], 2, 'rtb-a'), table([], 50, 'rtb-b')]));
    expect(result.leases.find((l) => l.subnet === '10.1.2.0/24')).toMatchObject({
      state: 'partial',
      reason: 'route-limit',
      routedIn: ['rtb-b'],
      missingIn: ['rtb-a'],
      detail: 'routed in rtb-b; not in rtb-a: route limit reached in rtb-a',
    });
  });

  it("the delete of a route to a node's previous target gives the reason forwarding-disabled", () => {
    const result = plan(input([lease(1)], [table([owned(1, 'eni-previous')])], { resolutions: new Map([['172.31.0.1', found(1, 'disabled')]]) }));
    expect(result.changes).toEqual([
      { kind: 'delete', table: 'rtb-a', destination: '10.1.1.0/24', previousTarget: 'eni-previous', reason: 'forwarding-disabled' },
    ]);
  });

  it('a stopped lease gets no new route in a table that lacks one, and says so', () => {
    const result = plan(input([lease(1)], [table([owned(1, eni(1), true)], 50, 'rtb-a'), table([], 50, 'rtb-b')]));
    expect(result.changes).toEqual([]);
    expect(result.leases[0]).toMatchObject({ state: 'unrouted', reason: 'node-stopped' });
    expect(result.leases[0]?.detail).toContain('rtb-b');
  });

  it('gives apply each table\'s limit and counted routes before the pass', () => {
    const result = plan(input([lease(2), lease(3)], [table([owned(1), owned(2)], 3)]));
    expect(result.budgets).toEqual([{ table: 'rtb-a', limit: 3, countedBefore: 3, uncountedDeletes: [] }]);
  });

  it('ignores leases outside the Network', () => {
    const stray = lease(1, { subnet: '10.2.1.0/24' });
    expect(plan(input([stray], [table([])])).changes).toEqual([]);
  });

  it('creates target the ENI the node resolved to', () => {
    const result = plan(input([lease(4)], [table([])]));
    expect(result.changes).toEqual([{ kind: 'create', table: 'rtb-a', destination: '10.1.4.0/24', target: 'eni-0004', nodeIp: '172.31.0.4' }]);
  });
});
