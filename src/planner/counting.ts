/**
 * What counts toward a table's limit: the one place that decides it. Providers report facts about
 * each route (origin, quota weight, managed space); each quota's rule below says which routes count.
 * Sources: docs/architecture.md, 'AWS facts' and 'GCE facts'.
 */
import type { ActualRoute, RouteQuota, RouteTable } from '../../providers/provider.js';

/**
 * A capacity pool of a table: `main` is the table's `limit` (AWS: the IPv4 routes; GCE: every
 * static route, both families); `ipv6` exists only where the quota counts IPv6 routes apart (AWS),
 * with the table's `ipv6Limit`.
 */
export type Pool = 'main' | 'ipv6';

type CountingRule = (route: ActualRoute, pool: Pool) => boolean;

const familyOf = (route: ActualRoute): 'ipv4' | 'ipv6' => route.family ?? 'ipv4';

const RULES: Readonly<Record<RouteQuota, CountingRule>> = {
  // AWS counts every route of the table, the `local` route included, except VGW-propagated ones,
  // IPv4 and IPv6 routes (and routes to prefix lists of each family) each against a quota of its own.
  'aws-vpc-routes-per-table': (route, pool) => route.origin !== 'propagated' && (familyOf(route) === 'ipv6') === (pool === 'ipv6'),
  // GCE counts the static routes of every network of the project, IPv6 ones included: not subnet routes, not imported ones.
  'gce-routes-per-project': (route, pool) => pool === 'main' && route.origin === 'created',
};

/** Whether the quota counts IPv6 routes in a pool of their own. */
export function separateIpv6Pool(quota: RouteQuota): boolean {
  return quota === 'aws-vpc-routes-per-table';
}

/** The pool a route (or a desired route) of this family draws from. */
export function poolOf(family: 'ipv4' | 'ipv6' | undefined, quota: RouteQuota): Pool {
  return family === 'ipv6' && separateIpv6Pool(quota) ? 'ipv6' : 'main';
}

/** The limit of one pool of the table. */
export function poolLimit(table: RouteTable, pool: Pool): number {
  return pool === 'ipv6' ? (table.ipv6Limit ?? table.limit) : table.limit;
}

/** Whether the route counts toward the limit of a table of this quota (in `pool`, the main one by default). */
export function counts(route: ActualRoute, quota: RouteQuota, pool: Pool = 'main'): boolean {
  return RULES[quota](route, pool);
}

/** How much of the pool's limit the route uses: its quota weight when it counts, else 0. */
export function weightOf(route: ActualRoute, quota: RouteQuota, pool: Pool = 'main'): number {
  return counts(route, quota, pool) ? route.quotaWeight : 0;
}

/** A table's limit and use, as far as the managed space is concerned. */
export interface TableCount {
  /**
   * The limit left to the managed space: the table's limit less what counted routes outside it
   * use (GCE: other networks of the project share its ROUTES quota).
   */
  readonly limit: number;
  /** Weight of the counted routes in the managed space, owned or not. */
  readonly counted: number;
  /** Weight of the counted routes in the managed space that are not routesync's. */
  readonly foreignCounted: number;
  /** Weight of every counted route of the table, inside the managed space or not: what the quota's own usage should say. */
  readonly total: number;
}

export function countTable(table: RouteTable, isOwned: (route: ActualRoute) => boolean, pool: Pool = 'main'): TableCount {
  let outside = 0;
  let counted = 0;
  let foreignCounted = 0;
  for (const route of table.routes) {
    const weight = weightOf(route, table.quota, pool);
    if (!route.inManagedSpace) {
      outside += weight;
      continue;
    }
    counted += weight;
    if (!isOwned(route)) foreignCounted += weight;
  }
  return { limit: Math.max(0, poolLimit(table, pool) - outside), counted, foreignCounted, total: counted + outside };
}

/** Slots of the table's limit free before any change of a pass: what a make-before-break replace may hold for a moment. */
export function spareSlots(table: RouteTable): number {
  let used = 0;
  for (const route of table.routes) used += weightOf(route, table.quota);
  return Math.max(0, table.limit - used);
}
