/**
 * Make before break on tables whose provider declares replaceNeedsSpareSlot (GCE): a moved lease's
 * replace gets makeBeforeBreak only while a slot of the limit is free at the listing, one slot per
 * replace; the rest break before they make. Other tables' replaces carry no mark.
 */
import { describe, expect, it } from 'vitest';
import { plan, type PlanInput } from '../../src/planner/plan.js';
import type { Lease } from '../../src/leases/types.js';
import type { ActualRoute, Change, NodeResolution, RouteTable } from '../../providers/provider.js';
import { FOREIGN, OWNER_MARKED } from '../helpers/route-facts.js';

const lease = (n: number): Lease => ({
  key: `/coreos.com/network/subnets/10.1.${n}.0-24`,
  subnet: `10.1.${n}.0/24`,
  nodeIp: `10.240.0.${n}`,
  createRevision: 100 + n,
  modRevision: 100 + n,
  reservation: false,
});
const instance = (name: string): string => `projects/p/zones/z/instances/${name}`;
const owned = (n: number, target: string): ActualRoute => ({ destination: `10.1.${n}.0/24`, target, blackhole: false, ...OWNER_MARKED, targetKind: 'instance', via: target });
const internet: ActualRoute = { destination: '0.0.0.0/0', target: null, blackhole: false, ...FOREIGN, via: 'default-internet-gateway' };

function gceTable(routes: ActualRoute[], limit: number, replaceNeedsSpareSlot = true): RouteTable {
  return { id: 'projects/p/global/networks/default', limit, quota: 'gce-routes-per-project', routes: [internet, ...routes], ...(replaceNeedsSpareSlot ? { replaceNeedsSpareSlot } : {}) };
}

/** Leases 1..count, each on node-n-new: every existing route to node-n is a move. */
function moved(count: number, table: RouteTable): PlanInput {
  const leases = Array.from({ length: count }, (_, i) => lease(i + 1));
  const resolutions = new Map<string, NodeResolution>(leases.map((l, i) => [l.nodeIp, { status: 'found', target: instance(`node-${i + 1}-new`), forwarding: 'enabled' }]));
  return { network: '10.1.0.0/16', leases, protectedSubnets: [], tables: [table], resolutions, policy: { allowEmpty: false, maxDeletesPerPass: { kind: 'percent', value: 100 } } };
}

const replaces = (changes: readonly Change[]): Array<boolean | undefined> =>
  changes.flatMap((c) => (c.kind === 'replace' ? [c.makeBeforeBreak] : []));

describe('make before break (replaceNeedsSpareSlot)', () => {
  it('lends each replace a free slot while there is one, and no more', () => {
    const routes = [1, 2, 3].map((n) => owned(n, instance(`node-${n}`)));
    // 1 internet route + 3 owned = 4 used: a limit of 6 leaves 2 slots for 3 moves.
    expect(replaces(plan(moved(3, gceTable(routes, 6))).changes)).toEqual([true, true, false]);
    expect(replaces(plan(moved(3, gceTable(routes, 10))).changes)).toEqual([true, true, true]);
    // A full table: every move breaks before it makes.
    expect(replaces(plan(moved(3, gceTable(routes, 4))).changes)).toEqual([false, false, false]);
  });

  it('counts what the quota counts: a foreign counted route takes a slot', () => {
    const routes = [owned(1, instance('node-1')), { ...internet, destination: '192.168.0.0/16', via: 'vpn' }];
    expect(replaces(plan(moved(1, gceTable(routes, 4))).changes)).toEqual([true]);
    expect(replaces(plan(moved(1, gceTable(routes, 3))).changes)).toEqual([false]);
  });

  it('leaves replaces of other tables unmarked, and is idempotent once the move is done', () => {
    const routes = [owned(1, instance('node-1'))];
    expect(replaces(plan(moved(1, gceTable(routes, 10, false))).changes)).toEqual([undefined]);
    const done = plan(moved(1, gceTable([owned(1, instance('node-1-new'))], 10)));
    expect(done.changes).toEqual([]);
  });
});
