/**
 * The planner's rules for both families in one plan: each lease half is a desired route of its
 * family; ownership, conflicts and blackholes per family; capacity per family where the quota
 * counts them apart (AWS) and shared where it does not (GCE). Every case is planned again once
 * applied (idempotency).
 */
import { describe, expect, it } from 'vitest';

import { plan, type PlanInput, type PlanPolicy } from '../../src/planner/plan.js';
import type { Lease } from '../../src/leases/types.js';
import type { ActualRoute, Change, NodeResolution, RouteQuota, RouteTable } from '../../providers/provider.js';
import { FOREIGN, OWNER_MARKED, TABLE_DEFAULT } from '../helpers/route-facts.js';

const POLICY: PlanPolicy = { allowEmpty: false, maxDeletesPerPass: { kind: 'percent', value: 100 } };
const eni = (n: number): string => `eni-${String(n).padStart(4, '0')}`;
const key = (n: number): string => `/coreos.com/network/subnets/10.1.${n}.0-24&fc00:0:0:${n}::-64`;
const v6subnet = (n: number): string => `fc00:0:0:${n}::/64`;

/** The IPv4 half of dual-stack lease n: 10.1.n.0/24 → 172.31.0.n. */
function v4(n: number, rev = 100 + n): Lease {
  return { key: key(n), subnet: `10.1.${n}.0/24`, nodeIp: `172.31.0.${n}`, createRevision: rev, modRevision: rev, reservation: false };
}
/** Its IPv6 half: fc00:0:0:n::/64 → 2600:1f18::n. */
function v6(n: number, rev = 100 + n): Lease {
  return { key: key(n), family: 'ipv6', subnet: v6subnet(n), nodeIp: `2600:1f18::${n.toString(16)}`, createRevision: rev, modRevision: rev, reservation: false };
}
const both = (...ns: number[]): Lease[] => ns.flatMap((n) => [v4(n), v6(n)]);

function owned(destination: string, target: string | null, blackhole = false): ActualRoute {
  return { destination, target, blackhole, ...OWNER_MARKED, ...(destination.includes(':') ? { family: 'ipv6' as const } : {}), via: target ?? 'blackhole' };
}
const LOCAL4: ActualRoute = { destination: '172.31.0.0/16', target: null, blackhole: false, ...TABLE_DEFAULT, via: 'local' };
const LOCAL6: ActualRoute = { destination: '2600:1f18::/56', target: null, blackhole: false, ...TABLE_DEFAULT, family: 'ipv6', via: 'local' };

function table(routes: ActualRoute[], limits: { limit?: number; ipv6Limit?: number; quota?: RouteQuota } = {}): RouteTable {
  const quota = limits.quota ?? 'aws-vpc-routes-per-table';
  const base = quota === 'aws-vpc-routes-per-table' ? [LOCAL4, LOCAL6] : [];
  return {
    id: 'rtb-a',
    limit: limits.limit ?? 50,
    ...(limits.ipv6Limit === undefined ? {} : { ipv6Limit: limits.ipv6Limit }),
    quota,
    routes: [...base, ...routes],
  };
}

/** Both addresses of node n are on ENI n (one ENI, both families). */
function resolveAll(leases: Lease[], override: Record<string, NodeResolution> = {}): Map<string, NodeResolution> {
  const map = new Map<string, NodeResolution>();
  for (const l of leases) {
    const n = Number(l.key.match(/10\.1\.(\d+)\.0/)?.[1]);
    map.set(l.nodeIp, override[l.nodeIp] ?? { status: 'found', target: eni(n), forwarding: 'enabled' });
  }
  return map;
}

function input(leases: Lease[], tables: RouteTable[], extra: Partial<PlanInput> = {}): PlanInput {
  return { network: '10.1.0.0/16', ipv6Network: 'fc00::/48', leases, protectedSubnets: [], tables, resolutions: resolveAll(leases), policy: POLICY, ...extra };
}

/** An IPv6-only cluster: flannel's config names no IPv4 Network. */
function withoutIpv4(i: PlanInput): PlanInput {
  const { network: _none, ...rest } = i;
  return rest;
}

function kinds(changes: readonly Change[]): string[] {
  return changes.map((c) => (c.kind === 'enable-forwarding' ? `${c.kind} ${c.target}` : `${c.kind} ${c.destination}`));
}

/** Applies a plan as a perfect cloud would. */
function applied(tables: readonly RouteTable[], changes: readonly Change[]): RouteTable[] {
  return tables.map((t) => {
    let routes = [...t.routes];
    for (const c of changes) {
      if (c.kind === 'enable-forwarding' || c.table !== t.id) continue;
      routes = routes.filter((r) => r.destination !== c.destination);
      if (c.kind !== 'delete') routes.push(owned(c.destination, c.target));
    }
    return { ...t, routes };
  });
}

interface Case {
  readonly name: string;
  readonly input: PlanInput;
  readonly changes: string[];
  /** `family subnet` → `state` or `state/reason`. */
  readonly states?: Record<string, string>;
}

const cases: Case[] = [
  {
    name: 'a dual-stack lease gets both routes to its one ENI, and one forwarding fix covers both',
    input: input(both(1), [table([])], {
      resolutions: new Map<string, NodeResolution>([
        ['172.31.0.1', { status: 'found', target: eni(1), forwarding: 'fixable' }],
        ['2600:1f18::1', { status: 'found', target: eni(1), forwarding: 'fixable' }],
      ]),
    }),
    changes: ['enable-forwarding eni-0001', 'create 10.1.1.0/24', 'create fc00:0:0:1::/64'],
    states: { 'ipv4 10.1.1.0/24': 'pending', 'ipv6 fc00:0:0:1::/64': 'pending' },
  },
  {
    name: 'routes in place: nothing to do for either half',
    input: input(both(1), [table([owned('10.1.1.0/24', eni(1)), owned(v6subnet(1), eni(1))])]),
    changes: [],
    states: { 'ipv4 10.1.1.0/24': 'routed', 'ipv6 fc00:0:0:1::/64': 'routed' },
  },
  {
    name: 'IPv6-only leases (no IPv4 Network): only IPv6 routes',
    input: withoutIpv4(input([v6(1), v6(2)], [table([])])),
    changes: ['create fc00:0:0:1::/64', 'create fc00:0:0:2::/64'],
  },
  {
    name: 'ownership per family: a marked IPv6 route outside IPv6Network is foreign, one inside with no lease is deleted',
    input: input(both(1), [table([owned('10.1.1.0/24', eni(1)), owned(v6subnet(1), eni(1)), owned('fd00:0:0:9::/64', eni(9)), owned(v6subnet(9), eni(9))])]),
    changes: ['delete fc00:0:0:9::/64'],
  },
  {
    name: 'a foreign IPv6 route on the lease\'s IPv6 subnet is a conflict for that half only',
    input: input(both(1), [table([{ destination: v6subnet(1), target: 'igw-1', blackhole: false, ...FOREIGN, family: 'ipv6', via: 'igw-1' }])]),
    changes: ['create 10.1.1.0/24'],
    states: { 'ipv4 10.1.1.0/24': 'pending', 'ipv6 fc00:0:0:1::/64': 'conflict/conflict' },
  },
  {
    name: 'an IPv6 blackhole with no lease is deleted; one whose lease resolves is replaced',
    input: input(both(1), [table([owned('10.1.1.0/24', eni(1)), owned(v6subnet(1), 'eni-dead', true), owned(v6subnet(7), 'eni-gone', true)])]),
    changes: ['replace fc00:0:0:1::/64', 'delete fc00:0:0:7::/64'],
    states: { 'ipv4 10.1.1.0/24': 'routed', 'ipv6 fc00:0:0:1::/64': 'pending' },
  },
  {
    name: 'AWS counts families apart: a full IPv4 pool leaves the IPv6 pool free, and the halves of lease 2 differ',
    // IPv4: local + 1 = 2; IPv6: local + 2 = 3.
    input: input(both(1, 2), [table([], { limit: 2, ipv6Limit: 3 })]),
    changes: ['create 10.1.1.0/24', 'create fc00:0:0:1::/64', 'create fc00:0:0:2::/64'],
    states: { 'ipv4 10.1.2.0/24': 'unrouted/route-limit', 'ipv6 fc00:0:0:2::/64': 'pending' },
  },
  {
    name: 'AWS: a full IPv6 pool leaves IPv4 creates alone',
    input: input(both(1, 2), [table([], { limit: 50, ipv6Limit: 2 })]),
    changes: ['create 10.1.1.0/24', 'create fc00:0:0:1::/64', 'create 10.1.2.0/24'],
    states: { 'ipv4 10.1.2.0/24': 'pending', 'ipv6 fc00:0:0:2::/64': 'unrouted/route-limit' },
  },
  {
    name: 'GCE counts both families in one quota: older leases first, IPv4 half before IPv6 half',
    input: input(both(1, 2), [table([], { limit: 3, quota: 'gce-routes-per-project' })]),
    changes: ['create 10.1.1.0/24', 'create fc00:0:0:1::/64', 'create 10.1.2.0/24'],
    states: { 'ipv4 10.1.2.0/24': 'pending', 'ipv6 fc00:0:0:2::/64': 'unrouted/route-limit' },
  },
  {
    name: 'a node without an IPv6 interface: the IPv6 half is no-ipv6-interface and its old route goes, the IPv4 half is routed',
    input: input(both(1), [table([owned(v6subnet(1), 'instances/old')], { quota: 'gce-routes-per-project' })], {
      resolutions: new Map<string, NodeResolution>([
        ['172.31.0.1', { status: 'found', target: 'instances/n1', forwarding: 'enabled', ipv6Capable: false }],
        ['2600:1f18::1', { status: 'not-found' }],
      ]),
    }),
    changes: ['delete fc00:0:0:1::/64', 'create 10.1.1.0/24'],
    states: { 'ipv4 10.1.1.0/24': 'pending', 'ipv6 fc00:0:0:1::/64': 'unrouted/no-ipv6-interface' },
  },
  {
    name: 'an IPv6 half whose address no interface holds is node-not-found, the IPv4 half is routed',
    input: input(both(1), [table([])], {
      resolutions: new Map<string, NodeResolution>([
        ['172.31.0.1', { status: 'found', target: eni(1), forwarding: 'enabled' }],
        ['2600:1f18::1', { status: 'not-found' }],
      ]),
    }),
    changes: ['create 10.1.1.0/24'],
    states: { 'ipv4 10.1.1.0/24': 'pending', 'ipv6 fc00:0:0:1::/64': 'unrouted/node-not-found' },
  },
];

describe('planner, both families', () => {
  for (const c of cases) {
    it(c.name, () => {
      const result = plan(c.input);
      expect(kinds(result.changes)).toEqual(c.changes);
      for (const [half, expected] of Object.entries(c.states ?? {})) {
        const [family, subnet] = half.split(' ');
        const outcome = result.leases.find((l) => l.family === family && l.subnet === subnet);
        const [state, reason] = expected.split('/');
        expect(outcome?.state, half).toBe(state);
        if (reason !== undefined) expect(outcome?.reason, half).toBe(reason);
      }
      const again = plan({ ...c.input, tables: applied(c.input.tables, result.changes) });
      expect(kinds(again.changes).filter((k) => !k.startsWith('enable-forwarding')), 'planning again once applied').toEqual([]);
    });
  }

  it('shows both halves of a lease, each with its key and family', () => {
    const result = plan(input(both(2), [table([], { limit: 2, ipv6Limit: 50 })]));
    expect(result.leases.map((l) => [l.key, l.family, l.subnet, l.state])).toEqual([
      [key(2), 'ipv4', '10.1.2.0/24', 'pending'],
      [key(2), 'ipv6', 'fc00:0:0:2::/64', 'pending'],
    ]);
  });

  it('AWS: a table outcome and a budget per pool; GCE: one', () => {
    const aws = plan(input(both(1), [table([], { limit: 10, ipv6Limit: 20 })]));
    expect(aws.budgets).toEqual([
      { table: 'rtb-a', limit: 10, countedBefore: 1, uncountedDeletes: [] },
      { table: 'rtb-a', family: 'ipv6', limit: 20, countedBefore: 1, uncountedDeletes: [] },
    ]);
    expect(aws.tables[0]).toMatchObject({ limit: 10, capacity: 9, ownedAfter: 1, creates: 2, ipv6: { limit: 20, quotaLimit: 20, capacity: 19, ownedAfter: 1, creates: 1 } });
    const gce = plan(input(both(1), [table([], { limit: 10, quota: 'gce-routes-per-project' })]));
    expect(gce.budgets).toEqual([{ table: 'rtb-a', limit: 10, countedBefore: 0, uncountedDeletes: [] }]);
    expect(gce.tables[0]?.ipv6).toBeUndefined();
    expect(gce.tables[0]).toMatchObject({ capacity: 10, ownedAfter: 2, creates: 2 });
  });

  it('AWS with IPv4 only: no IPv6 pool is reported', () => {
    const result = plan(input([v4(1)], [{ id: 'rtb-a', limit: 10, quota: 'aws-vpc-routes-per-table', routes: [LOCAL4] }]));
    expect(result.tables[0]?.ipv6).toBeUndefined();
    expect(result.budgets).toHaveLength(1);
  });
});
