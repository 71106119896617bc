/** The planner's seams on their own: ownership, what counts, and each safety valve over a Changes value. */
import { describe, expect, it } from 'vitest';
import { countTable, counts, weightOf } from '../../src/planner/counting.js';
import { ownership } from '../../src/planner/ownership.js';
import { applyPolicies, type Changes, type PlannedDelete } from '../../src/planner/policy/changes.js';
import { allowedDeletes, deleteCap } from '../../src/planner/policy/delete-cap.js';
import { emptyViewGuard } from '../../src/planner/policy/empty-view-guard.js';
import { parseCidr } from '../../src/net/cidr.js';
import type { ActualRoute } from '../../providers/provider.js';
import { FOREIGN, OWNER_MARKED, PROPAGATED, TABLE_DEFAULT } from '../helpers/route-facts.js';

const route = (destination: string, facts = OWNER_MARKED, extra: Partial<ActualRoute> = {}): ActualRoute => ({
  destination,
  target: facts.bearsOwnerMarks ? 'eni-1' : null,
  blackhole: false,
  ...facts,
  via: 'x',
  ...extra,
});

const deletes = (...destinations: string[]): PlannedDelete[] => destinations.map((d) => ({ route: route(d), reason: 'no-lease' }));

function changes(...tables: Array<{ owned: number; deletes: PlannedDelete[] }>): Changes {
  return { tables: tables.map((t, i) => ({ table: `rtb-${i}`, owned: t.owned, deletes: t.deletes, held: [] })), warnings: [] };
}

describe('ownership', () => {
  const isOwned = ownership({ ipv4: parseCidr('10.1.0.0/16') }, new Set(['10.1.1.0/24']));
  it('needs the owner marks, the managed space and a destination inside the Network', () => {
    expect(isOwned(route('10.1.1.0/24'))).toBe(true);
    expect(isOwned(route('10.1.2.0/24'))).toBe(true);
    expect(isOwned(route('10.2.1.0/24'))).toBe(false);
    expect(isOwned(route('10.1.2.0/24', FOREIGN))).toBe(false);
    expect(isOwned(route('10.1.2.0/24', { ...OWNER_MARKED, inManagedSpace: false }))).toBe(false);
    expect(isOwned(route('fd00::/64'))).toBe(false);
  });
});

describe('counting', () => {
  it('AWS: every route but propagated ones, the local route included', () => {
    expect(counts(route('10.0.0.0/16', TABLE_DEFAULT), 'aws-vpc-routes-per-table')).toBe(true);
    expect(counts(route('0.0.0.0/0', FOREIGN), 'aws-vpc-routes-per-table')).toBe(true);
    expect(counts(route('172.16.0.0/12', PROPAGATED), 'aws-vpc-routes-per-table')).toBe(false);
  });

  // AWS's "routes per route table" quota is IPv4 only; a prefix-list route weighs its list's maximum entries.
  const PREFIX_LIST = { ...FOREIGN, quotaWeight: 20 };
  it.each<[string, ActualRoute, number]>([
    ['an IPv4 gateway route', route('0.0.0.0/0', FOREIGN), 1],
    ['the local route', route('10.0.0.0/16', TABLE_DEFAULT), 1],
    ['a propagated IPv4 route', route('172.16.0.0/12', PROPAGATED), 0],
    ['a route to an IPv4 prefix list of 20 max entries', route('pl-0123456789abcdef0', PREFIX_LIST, { family: 'ipv4' }), 20],
    ['a route to an IPv6 prefix list of 20 max entries', route('pl-0123456789abcdef1', PREFIX_LIST, { family: 'ipv6' }), 0],
    ['an IPv6 route', route('::/0', FOREIGN, { family: 'ipv6', inManagedSpace: false }), 0],
    ['the IPv6 local route', route('2600:1f18::/56', TABLE_DEFAULT, { family: 'ipv6', inManagedSpace: false }), 0],
  ])('AWS weighs %s as %i', (_name, r, weight) => {
    expect(weightOf(r, 'aws-vpc-routes-per-table')).toBe(weight);
  });

  it('AWS: a prefix-list route is foreign and counted; IPv6 routes take nothing off the IPv4 limit', () => {
    const table = {
      id: 'rtb-1',
      limit: 50,
      quota: 'aws-vpc-routes-per-table' as const,
      routes: [
        route('10.0.0.0/16', TABLE_DEFAULT),
        route('pl-0123456789abcdef0', PREFIX_LIST, { family: 'ipv4' }),
        route('::/0', FOREIGN, { family: 'ipv6', inManagedSpace: false }),
        route('10.1.1.0/24'),
      ],
    };
    const isOwned = ownership({ ipv4: parseCidr('10.1.0.0/16') }, new Set());
    expect(countTable(table, isOwned)).toEqual({ limit: 50, counted: 22, foreignCounted: 21, total: 22 });
  });

  it('GCE: static routes only, not subnet or imported routes', () => {
    expect(counts(route('0.0.0.0/0', FOREIGN), 'gce-routes-per-project')).toBe(true);
    expect(counts(route('10.240.0.0/20', TABLE_DEFAULT), 'gce-routes-per-project')).toBe(false);
    expect(counts(route('10.9.0.0/16', PROPAGATED), 'gce-routes-per-project')).toBe(false);
  });

  it('weighs a counted route by its quota weight', () => {
    expect(weightOf(route('10.0.0.0/16', { ...FOREIGN, quotaWeight: 20 }), 'aws-vpc-routes-per-table')).toBe(20);
    expect(weightOf(route('10.0.0.0/16', { ...PROPAGATED, quotaWeight: 20 }), 'aws-vpc-routes-per-table')).toBe(0);
  });

  it('takes counted routes outside the managed space off the limit, and counts the rest', () => {
    const isOwned = (r: ActualRoute): boolean => r.bearsOwnerMarks && r.inManagedSpace;
    const outside = { ...FOREIGN, inManagedSpace: false };
    const table = {
      id: 'net',
      limit: 10,
      quota: 'gce-routes-per-project' as const,
      routes: [
        route('0.0.0.0/0', FOREIGN),
        route('10.240.0.0/20', TABLE_DEFAULT),
        route('10.1.1.0/24'),
        route('192.168.0.0/16', outside),
        route('fd00::/64', outside),
        route('10.50.0.0/20', { ...TABLE_DEFAULT, inManagedSpace: false }),
      ],
    };
    expect(countTable(table, isOwned)).toEqual({ limit: 8, counted: 2, foreignCounted: 1, total: 4 });
    expect(countTable({ ...table, limit: 1 }, isOwned).limit).toBe(0);
  });
});

describe('empty-view guard', () => {
  it('holds every delete when no lease is valid while owned routes exist', () => {
    const out = emptyViewGuard({ validLeases: 0, allowEmpty: false })(changes({ owned: 2, deletes: deletes('10.1.1.0/24', '10.1.2.0/24') }, { owned: 1, deletes: [] }));
    expect(out.tables.map((t) => [t.deletes.length, t.held.length])).toEqual([
      [0, 2],
      [0, 0],
    ]);
    expect(out.warnings).toEqual(['no valid lease in etcd while 3 owned route(s) exist: deleting nothing (pass --allow-empty to allow it)']);
  });

  it('lets deletes through with --allow-empty, with valid leases, or with nothing owned', () => {
    const input = changes({ owned: 1, deletes: deletes('10.1.1.0/24') });
    expect(emptyViewGuard({ validLeases: 0, allowEmpty: true })(input)).toBe(input);
    expect(emptyViewGuard({ validLeases: 1, allowEmpty: false })(input)).toBe(input);
    const none = changes({ owned: 0, deletes: [] });
    expect(emptyViewGuard({ validLeases: 0, allowEmpty: false })(none)).toBe(none);
  });
});

describe('delete cap', () => {
  it('a count caps each table; a percentage is of its owned routes and allows at least one', () => {
    expect(allowedDeletes({ kind: 'count', value: 3 }, 100)).toBe(3);
    expect(allowedDeletes({ kind: 'count', value: 0 }, 100)).toBe(0);
    expect(allowedDeletes({ kind: 'percent', value: 20 }, 10)).toBe(2);
    expect(allowedDeletes({ kind: 'percent', value: 20 }, 1)).toBe(1);
    expect(allowedDeletes({ kind: 'percent', value: 20 }, 11)).toBe(3);
  });

  it('keeps the first deletes (the most urgent) and holds the rest, per table, with a warning', () => {
    const out = deleteCap({ kind: 'count', value: 1 })(changes({ owned: 5, deletes: deletes('10.1.1.0/24', '10.1.2.0/24', '10.1.3.0/24') }, { owned: 5, deletes: deletes('10.1.4.0/24') }));
    expect(out.tables.map((t) => t.deletes.map((d) => d.route.destination))).toEqual([['10.1.1.0/24'], ['10.1.4.0/24']]);
    expect(out.tables[0]?.held.map((d) => d.route.destination)).toEqual(['10.1.2.0/24', '10.1.3.0/24']);
    expect(out.warnings).toEqual(['table rtb-0: 2 delete(s) deferred by --max-deletes-per-pass (1 this pass)']);
  });

  it('composes after the guard: what the guard held stays held, and the cap adds no warning', () => {
    const out = applyPolicies(changes({ owned: 3, deletes: deletes('10.1.1.0/24', '10.1.2.0/24', '10.1.3.0/24') }), [
      emptyViewGuard({ validLeases: 0, allowEmpty: false }),
      deleteCap({ kind: 'count', value: 1 }),
    ]);
    expect(out.tables[0]?.deletes).toEqual([]);
    expect(out.tables[0]?.held).toHaveLength(3);
    expect(out.warnings).toHaveLength(1);
  });
});
