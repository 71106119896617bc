/**
 * What counts toward a table's limit: the one place that decides it. Providers report facts about
 * each route (origin, quota weight, managed space); each quota's rule below says which routes count.
 * Sources: docs/architecture.md, 'AWS facts' and 'GCE facts'.
 */
import type { ActualRoute, RouteQuota, RouteTable } from '../../providers/provider.js';

type CountingRule = (route: ActualRoute) => boolean;

const RULES: Readonly<Record<RouteQuota, CountingRule>> = {
  // AWS counts every IPv4 route of the table, the `local` route included, except VGW-propagated
  // ones; IPv6 routes (and routes to IPv6 prefix lists) count toward a separate IPv6 quota.
  'aws-vpc-routes-per-table': (route) => route.origin !== 'propagated' && route.family !== 'ipv6',
  // GCE counts the static routes of every network of the project: not subnet routes, not imported ones.
  'gce-routes-per-project': (route) => route.origin === 'created',
};

/** Whether the route counts toward the limit of a table of this quota. */
export function counts(route: ActualRoute, quota: RouteQuota): boolean {
  return RULES[quota](route);
}

/** How much of the limit the route uses: its quota weight when it counts, else 0. */
export function weightOf(route: ActualRoute, quota: RouteQuota): number {
  return counts(route, quota) ? route.quotaWeight : 0;
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

export function countTable(table: RouteTable, isOwned: (route: ActualRoute) => boolean): TableCount {
  let outside = 0;
  let counted = 0;
  let foreignCounted = 0;
  for (const route of table.routes) {
    const weight = weightOf(route, table.quota);
    if (!route.inManagedSpace) {
      outside += weight;
      continue;
    }
    counted += weight;
    if (!isOwned(route)) foreignCounted += weight;
  }
  return { limit: Math.max(0, table.limit - outside), counted, foreignCounted, total: counted + outside };
}

/** Slots of the table's limit free before any change of a pass: what a make-before-break replace may hold for a moment. */
export function spareSlots(table: RouteTable): number {
  let used = 0;
  for (const route of table.routes) used += weightOf(route, table.quota);
  return Math.max(0, table.limit - used);
}
