/** Property-based checks of the planner's rules over random worlds (fast-check). */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { counts } from '../../src/planner/counting.js';
import { plan, type PlanInput } from '../../src/planner/plan.js';
import type { ActualRoute, Change, NodeResolution, RouteTable } from '../../providers/provider.js';
import type { Lease } from '../../src/leases/types.js';
import { OWNER_MARKED } from '../helpers/route-facts.js';

const NETWORK = '10.1.0.0/16';

const leaseArb = fc.record({
  third: fc.integer({ min: 0, max: 40 }),
  node: fc.integer({ min: 1, max: 30 }),
  revision: fc.integer({ min: 1, max: 1000 }),
});

const routeArb = fc.record({
  third: fc.integer({ min: 0, max: 40 }),
  outside: fc.boolean(),
  marked: fc.boolean(),
  counts: fc.boolean(),
  blackhole: fc.boolean(),
  node: fc.integer({ min: 1, max: 35 }),
});

const resolutionArb = fc.constantFrom<'found' | 'fixable' | 'disabled' | 'not-found' | 'lookup-failed'>('found', 'fixable', 'disabled', 'not-found', 'lookup-failed');

const worldArb = fc.record({
  leases: fc.array(leaseArb, { maxLength: 40 }),
  tables: fc.array(fc.record({ limit: fc.integer({ min: 1, max: 45 }), routes: fc.array(routeArb, { maxLength: 45 }) }), { minLength: 1, maxLength: 3 }),
  resolutions: fc.array(resolutionArb, { minLength: 35, maxLength: 35 }),
  allowEmpty: fc.boolean(),
  cap: fc.oneof(fc.record({ kind: fc.constant('percent' as const), value: fc.integer({ min: 1, max: 100 }) }), fc.record({ kind: fc.constant('count' as const), value: fc.integer({ min: 0, max: 10 }) })),
});

type World = typeof worldArb extends fc.Arbitrary<infer T> ? T : never;

function build(world: World): PlanInput {
  const seen = new Set<string>();
  const leases: Lease[] = [];
  for (const l of world.leases) {
    const subnet = `10.1.${l.third}.0/24`;
    if (seen.has(subnet)) continue;
    seen.add(subnet);
    leases.push({ key: subnet, subnet, nodeIp: `172.31.0.${l.node}`, createRevision: l.revision, modRevision: l.revision, reservation: false });
  }
  const tables: RouteTable[] = world.tables.map((t, index) => {
    const destinations = new Set<string>();
    const routes: ActualRoute[] = [];
    for (const r of t.routes) {
      const destination = r.outside ? `192.168.${r.third}.0/24` : `10.1.${r.third}.0/24`;
      if (destinations.has(destination)) continue;
      destinations.add(destination);
      const target = r.marked ? `eni-${r.node}` : null;
      routes.push({
        destination,
        target,
        targetKind: r.marked ? 'interface' : 'gateway',
        origin: r.counts || r.marked ? 'created' : 'propagated',
        quotaWeight: 1,
        blackhole: r.blackhole,
        bearsOwnerMarks: r.marked,
        inManagedSpace: true,
        via: target ?? 'igw-1',
      });
    }
    return { id: `rtb-${index}`, limit: t.limit, quota: 'aws-vpc-routes-per-table', routes };
  });
  const resolutions = new Map<string, NodeResolution>();
  world.resolutions.forEach((kind, i) => {
    const ip = `172.31.0.${i + 1}`;
    const target = `eni-${i + 1}`;
    if (kind === 'found') resolutions.set(ip, { status: 'found', target, forwarding: 'enabled' });
    else if (kind === 'fixable') resolutions.set(ip, { status: 'found', target, forwarding: 'fixable' });
    else if (kind === 'disabled') resolutions.set(ip, { status: 'found', target, forwarding: 'disabled' });
    else if (kind === 'not-found') resolutions.set(ip, { status: 'not-found' });
    else resolutions.set(ip, { status: 'lookup-failed', error: 'boom' });
  });
  return { network: NETWORK, leases, protectedSubnets: [], tables, resolutions, policy: { allowEmpty: world.allowEmpty, maxDeletesPerPass: world.cap } };
}

function routeChanges(changes: readonly Change[]): Array<Exclude<Change, { kind: 'enable-forwarding' }>> {
  return changes.filter((c): c is Exclude<Change, { kind: 'enable-forwarding' }> => c.kind !== 'enable-forwarding');
}

describe('planner properties', () => {
  it('never changes a route it does not own, nor one outside the Network', () => {
    fc.assert(
      fc.property(worldArb, (world) => {
        const input = build(world);
        for (const change of routeChanges(plan(input).changes)) {
          if (change.kind === 'create') continue;
          const route = input.tables.find((t) => t.id === change.table)?.routes.find((r) => r.destination === change.destination);
          expect(route?.bearsOwnerMarks).toBe(true);
          expect(change.destination.startsWith('10.1.')).toBe(true);
        }
      }),
    );
  });

  it('never creates beyond a table capacity, and never creates over an existing route', () => {
    fc.assert(
      fc.property(worldArb, (world) => {
        const input = build(world);
        const result = plan(input);
        for (const table of input.tables) {
          const changes = routeChanges(result.changes).filter((c) => c.table === table.id);
          const creates = changes.filter((c) => c.kind === 'create');
          const deletes = changes.filter((c) => c.kind === 'delete').length;
          const counted = table.routes.filter((r) => counts(r, table.quota)).length;
          if (creates.length > 0) expect(counted - deletes + creates.length).toBeLessThanOrEqual(table.limit);
          for (const create of creates) expect(table.routes.some((r) => r.destination === create.destination)).toBe(false);
        }
      }),
    );
  });

  it('deletes nothing when there is no valid lease, unless allowed', () => {
    fc.assert(
      fc.property(worldArb, (world) => {
        const input = build({ ...world, leases: [], allowEmpty: false });
        expect(plan(input).changes.filter((c) => c.kind === 'delete')).toEqual([]);
      }),
    );
  });

  it('never deletes or replaces the route of a lease whose lookup failed', () => {
    fc.assert(
      fc.property(worldArb, (world) => {
        const input = build(world);
        const failed = new Set(input.leases.filter((l) => input.resolutions.get(l.nodeIp)?.status === 'lookup-failed').map((l) => l.subnet));
        const touched = routeChanges(plan(input).changes).filter((c) => c.kind !== 'create' && failed.has(c.destination));
        expect(touched).toEqual([]);
      }),
    );
  });

  it('is idempotent: once its changes are applied, the next plan changes no route', () => {
    fc.assert(
      fc.property(worldArb, (world) => {
        const input = build({ ...world, cap: { kind: 'percent', value: 100 } });
        const first = plan(input);
        const tables = input.tables.map((t) => {
          let routes = [...t.routes];
          for (const c of routeChanges(first.changes).filter((change) => change.table === t.id)) {
            routes = routes.filter((r) => r.destination !== c.destination);
            if (c.kind !== 'delete') routes.push({ destination: c.destination, target: c.target, blackhole: false, ...OWNER_MARKED, via: c.target });
          }
          return { ...t, routes };
        });
        expect(routeChanges(plan({ ...input, tables }).changes)).toEqual([]);
      }),
    );
  });
});
