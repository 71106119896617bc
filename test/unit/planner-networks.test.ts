/** flannel's multi-network mode in the planner: per-network ownership, shared capacity, per-network safety. */
import { describe, expect, it } from 'vitest';
import { plan, type PlanInput, type PlanNetwork } from '../../src/planner/plan.js';
import type { Lease } from '../../src/leases/types.js';
import type { ActualRoute, Change, NodeResolution, RouteTable } from '../../providers/provider.js';
import { FOREIGN, OWNER_MARKED, TABLE_DEFAULT } from '../helpers/route-facts.js';

/** blue 10.1/16, green 10.2/16, red 10.3/16: a lease `blue:5` is 10.1.5.0/24. */
const OCTET: Record<string, number> = { blue: 1, green: 2, red: 3 };
const NETWORKS: PlanNetwork[] = Object.entries(OCTET).map(([name, o]) => ({ name, network: `10.${o}.0.0/16` }));

type Ref = `${string}:${number}`;

function subnet(ref: Ref): string {
  const [net = '', n = ''] = ref.split(':');
  return `10.${OCTET[net] ?? 9}.${n}.0/24`;
}

/** A lease of `network` named by its ref, with create_revision `rev` (global across networks in etcd). */
function lease(ref: Ref, rev: number, network: string = ref.split(':')[0] ?? ''): Lease {
  const s = subnet(ref);
  return {
    key: `/coreos.com/network/${network}/subnets/${s.replace('/', '-')}`,
    network,
    subnet: s,
    nodeIp: `172.31.${OCTET[ref.split(':')[0] ?? ''] ?? 9}.${ref.split(':')[1]}`,
    createRevision: rev,
    modRevision: rev,
    reservation: false,
  };
}

const target = (s: string): string => `eni-${s}`;

function owned(ref: Ref, to = target(subnet(ref))): ActualRoute {
  return { destination: subnet(ref), target: to, blackhole: false, ...OWNER_MARKED, via: to };
}

const LOCAL: ActualRoute = { destination: '172.31.0.0/16', target: null, blackhole: false, ...TABLE_DEFAULT, via: 'local' };

function table(routes: ActualRoute[], limit = 50): RouteTable {
  return { id: 'rtb-a', limit, quota: 'aws-vpc-routes-per-table', routes: [LOCAL, ...routes] };
}

function input(leases: Lease[], routes: ActualRoute[], extra: Partial<PlanInput> & { limit?: number } = {}): PlanInput {
  const resolutions = new Map<string, NodeResolution>(leases.map((l) => [l.nodeIp, { status: 'found', target: target(l.subnet), forwarding: 'enabled' }]));
  const { limit, ...rest } = extra;
  return {
    networks: NETWORKS,
    leases,
    protectedSubnets: [],
    tables: [table(routes, limit)],
    resolutions,
    policy: { allowEmpty: false, maxDeletesPerPass: { kind: 'percent', value: 100 } },
    ...rest,
  };
}

const describeChanges = (changes: readonly Change[]): string[] =>
  changes.flatMap((c) => (c.kind === 'enable-forwarding' ? [] : [`${c.kind} ${c.destination}`]));

describe('plan: multi-network mode', () => {
  it.each<{ name: string; leases: Lease[]; routes: ActualRoute[]; limit?: number; allowEmpty?: boolean; networks?: PlanNetwork[]; changes: string[]; unrouted?: string[] }>([
    {
      name: 'each network routes its leases',
      leases: [lease('blue:1', 10), lease('green:1', 11), lease('red:1', 12)],
      routes: [],
      changes: ['create 10.1.1.0/24', 'create 10.2.1.0/24', 'create 10.3.1.0/24'],
    },
    {
      // limit 4 = local + 3: two routes exist (kept), one slot left for the oldest waiting lease.
      name: 'shared capacity: existing routes keep their place, then the oldest lease across networks',
      leases: [lease('blue:1', 50), lease('green:1', 40), lease('red:1', 30), lease('red:2', 20)],
      routes: [owned('blue:1'), owned('green:1')],
      limit: 4,
      changes: ['create 10.3.2.0/24'],
      unrouted: ['10.3.1.0/24'],
    },
    {
      name: 'shared capacity: equal create_revision goes to the lower subnet',
      leases: [lease('red:1', 30), lease('blue:7', 30)],
      routes: [],
      limit: 2,
      changes: ['create 10.1.7.0/24'],
      unrouted: ['10.3.1.0/24'],
    },
    {
      name: "a network's stale route is deleted, another network's route stays",
      leases: [lease('blue:1', 10), lease('green:1', 11)],
      routes: [owned('blue:1'), owned('green:1'), owned('green:9')],
      changes: ['delete 10.2.9.0/24'],
    },
    {
      // A green lease naming a blue subnet is not green's (its validation rejects it): no route, no delete.
      name: "one network's lease does not take over another network's route",
      leases: [lease('blue:1', 10), lease('blue:2', 12, 'green')],
      routes: [owned('blue:1'), owned('blue:2')],
      changes: ['delete 10.1.2.0/24'],
    },
    {
      name: 'a network with no valid lease keeps its owned routes',
      leases: [lease('blue:1', 10)],
      routes: [owned('blue:1'), owned('green:1'), owned('green:2')],
      changes: [],
    },
    {
      name: '--allow-empty lets a network with no valid lease lose its routes',
      leases: [lease('blue:1', 10)],
      routes: [owned('blue:1'), owned('green:1')],
      allowEmpty: true,
      changes: ['delete 10.2.1.0/24'],
    },
    {
      // red has no usable config: it is left out of the networks, so its routes are foreign and count.
      name: 'a network without a usable config: its routes stay, and still take capacity',
      leases: [lease('blue:1', 10), lease('blue:2', 11)],
      routes: [owned('red:1'), owned('red:2')],
      networks: NETWORKS.filter((n) => n.name !== 'red'),
      limit: 4,
      allowEmpty: true,
      changes: ['create 10.1.1.0/24'],
      unrouted: ['10.1.2.0/24'],
    },
    {
      name: 'a foreign route over one network\'s subnet is that lease\'s conflict only',
      leases: [lease('blue:1', 10), lease('green:1', 11)],
      routes: [{ ...owned('blue:1'), ...FOREIGN, via: 'pcx-1' }],
      changes: ['create 10.2.1.0/24'],
    },
  ])('$name', ({ leases, routes, limit, allowEmpty, networks, changes, unrouted }) => {
    const computed = plan(
      input(leases, routes, {
        ...(limit === undefined ? {} : { limit }),
        ...(networks === undefined ? {} : { networks }),
        ...(allowEmpty === true ? { policy: { allowEmpty: true, maxDeletesPerPass: { kind: 'percent', value: 100 } } } : {}),
      }),
    );
    expect(describeChanges(computed.changes).sort()).toEqual([...changes].sort());
    const full = computed.leases.filter((l) => l.reason === 'route-limit').map((l) => l.subnet);
    expect(full.sort()).toEqual([...(unrouted ?? [])].sort());
    // Every outcome names its network.
    for (const outcome of computed.leases) expect(outcome.network).toBe(leases.find((l) => l.subnet === outcome.subnet)?.network);
  });

  it('is idempotent: the routes it creates are kept as they are by the next plan', () => {
    const leases = [lease('blue:1', 50), lease('green:1', 40), lease('red:1', 30), lease('red:2', 20)];
    const first = plan(input(leases, [], { limit: 3 }));
    const created = first.changes.flatMap((c) => (c.kind === 'create' ? [{ ...owned('blue:1'), destination: c.destination, target: c.target, via: c.target }] : []));
    expect(created.map((r) => r.destination).sort()).toEqual(['10.3.1.0/24', '10.3.2.0/24']);
    expect(describeChanges(plan(input(leases, created, { limit: 3 })).changes)).toEqual([]);
  });

  it('warns per network when a network with no valid lease keeps its routes', () => {
    const computed = plan(input([lease('blue:1', 10)], [owned('blue:1'), owned('green:1')]));
    expect(computed.warnings).toEqual([expect.stringContaining('network green')]);
    expect(computed.tables[0]?.deferredDeletes).toBe(1);
  });
});
