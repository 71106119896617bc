/**
 * GCE routes ↔ routesync's view of them: route names and descriptions (its owner marks), resource
 * paths, the facts of each listed route, and the body of a route to insert (docs/architecture.md,
 * 'GCE facts').
 */
import { createHash } from 'node:crypto';
import { canonicalCidr } from '../../src/net/cidr.js';
import { formatCidr6, parseCidr6 } from '../../src/net/cidr6.js';
import type { ActualRoute, RouteOrigin, TargetKind } from '../provider.js';
import type { GceRoute } from './compute-api.js';

/** GCE's default priority; routesync's routes use it. */
export const ROUTE_PRIORITY = 1000;
/** Where GCE's selfLinks point, whatever endpoint was called. */
export const SELF_LINK_BASE = 'https://www.googleapis.com/compute/v1';

/** Route names are at most 63 characters; the alternate name (`-b`) must fit too. */
const MAX_NAME = 63 - 2;

/**
 * `<cluster>-10-1-19-0-24` for `10.1.19.0/24` (at most 50 characters). IPv6: `<cluster>-v6-` and the
 * compressed form with `:` and `/` as `-` (`fc00:0:0:1::/64` → `…-v6-fc00-0-0-1---64`; the last `-`
 * is always the `/`, so no two destinations share a name), or, when that is too long,
 * `<cluster>-v6-h<16 hex of its SHA-256>-<len>`. Lowercase RFC 1035 either way.
 */
export function routeName(clusterName: string, destination: string): string {
  if (!destination.includes(':')) return `${clusterName}-${destination.replace(/[./]/g, '-')}`;
  const readable = `${clusterName}-v6-${destination.replace(/[:/]/g, '-')}`;
  if (readable.length <= MAX_NAME) return readable;
  const length = destination.slice(destination.indexOf('/') + 1);
  return `${clusterName}-v6-h${createHash('sha256').update(destination).digest('hex').slice(0, 16)}-${length}`;
}

/** A destRange as routesync writes destinations: canonical IPv4 or IPv6 text; undefined when it is neither. */
export function canonicalDestination(destRange: string): { readonly destination: string; readonly family: 'ipv4' | 'ipv6' } | undefined {
  try {
    if (destRange.includes(':')) return { destination: formatCidr6(parseCidr6(destRange)), family: 'ipv6' };
    return { destination: canonicalCidr(destRange), family: 'ipv4' };
  } catch {
    return undefined;
  }
}

/**
 * The second name of a destination's route (`…-b`, at most 52 characters): a move inserts the new
 * route under the name the old one does not hold, so both exist for a moment.
 */
export function alternateRouteName(clusterName: string, destination: string): string {
  return `${routeName(clusterName, destination)}-b`;
}

/**
 * The priority of a moved route: one below the old route's, so that GCE selects it while both
 * exist (lower wins: https://cloud.google.com/vpc/docs/routes#routeselection). Two alternating
 * values cannot always win (from 999, 1000 loses), so it steps down; at 0 there is none.
 */
export function movedRoutePriority(old: number): number | undefined {
  return old > 0 ? old - 1 : undefined;
}

/** The description that marks routesync's routes of one cluster. */
export function routeDescription(clusterName: string): string {
  return `routesync:${clusterName}`;
}

/**
 * A comparable form of a resource URL: `projects/{p}/…` without scheme, host and API version.
 * Partial URLs without the project (`zones/z/instances/n`, `global/networks/n`) get `project`.
 */
export function resourcePath(url: string, project: string): string {
  const trimmed = url.trim().replace(/^https?:\/\/[^/]+/, '').replace(/^\/+/, '');
  const withoutVersion = trimmed.replace(/^(?:compute\/)?(?:v1|beta|alpha)\//, '');
  const projectAt = withoutVersion.indexOf('projects/');
  if (projectAt >= 0) return withoutVersion.slice(projectAt);
  return `projects/${project}/${withoutVersion}`;
}

/** The instance path `projects/{p}/zones/{z}/instances/{n}` of a nextHopInstance or selfLink, or undefined. */
export function instancePath(url: string, project: string): string | undefined {
  const path = resourcePath(url, project);
  return /^projects\/[^/]+\/zones\/[^/]+\/instances\/[^/]+$/.test(path) ? path : undefined;
}

export function networkPath(project: string, network: string): string {
  return `projects/${project}/global/networks/${network}`;
}

export interface MappingContext {
  readonly project: string;
  readonly clusterName: string;
  /** networkPath of --gce-network: the one table. */
  readonly tableId: string;
}

export interface MappedRoutes {
  /** Every route of the project, the canonically named owner-marked ones first. */
  readonly routes: ActualRoute[];
  /** Names of the owner-marked routes of the managed space per destination, the one GCE selects first. */
  readonly markedNames: Map<string, string[]>;
  /** Priority of each owner-marked route of the managed space, by name. */
  readonly markedPriorities: Map<string, number>;
  /** Static routes outside the managed space: in other networks, and unparseable ones in this network. */
  readonly staticOutside: { readonly otherNetworks: number; readonly unsupported: number };
}

/** The project's routes as facts: those of --gce-network in the managed space, the others sharing its quota. */
export function mapRoutes(all: readonly GceRoute[], context: MappingContext): MappedRoutes {
  const prefix = `${context.clusterName}-`;
  const description = routeDescription(context.clusterName);
  const mapped: Array<{ route: ActualRoute; canonical: boolean; name: string; priority: number }> = [];
  const staticOutside = { otherNetworks: 0, unsupported: 0 };
  for (const route of all) {
    const name = route.name ?? '';
    const origin = originOf(route);
    const inNetwork = (route.network ? resourcePath(route.network, context.project) : '') === context.tableId;
    // IPv4 and IPv6 routes of the network are the managed space; anything unparseable only uses quota.
    const parsed = canonicalDestination(route.destRange ?? '');
    const destination = parsed?.destination;
    const inManagedSpace = inNetwork && destination !== undefined;
    if (!inManagedSpace && origin === 'created') {
      if (inNetwork) staticOutside.unsupported += 1;
      else staticOutside.otherNetworks += 1;
    }
    const marked = name.startsWith(prefix) && route.description === description;
    mapped.push({
      name,
      priority: route.priority ?? ROUTE_PRIORITY,
      canonical: inManagedSpace && marked && destination !== undefined && name === routeName(context.clusterName, destination),
      route: {
        destination: destination ?? route.destRange ?? '',
        target: route.nextHopInstance ? (instancePath(route.nextHopInstance, context.project) ?? route.nextHopInstance) : null,
        targetKind: targetKindOf(route),
        origin,
        quotaWeight: 1,
        ...(parsed?.family === 'ipv6' ? { family: 'ipv6' as const } : {}),
        blackhole: (route.warnings ?? []).some((w) => w.code === 'NEXT_HOP_INSTANCE_NOT_FOUND'),
        bearsOwnerMarks: marked,
        inManagedSpace,
        via: `route ${name} → ${hopOf(route)}`,
      },
    });
  }
  // Of two owned routes for one destination the planner keeps the first: the one GCE selects (the
  // lowest priority value; a move interrupted between its insert and its delete leaves two), then
  // the canonically named one.
  mapped.sort((a, b) => a.priority - b.priority || Number(b.canonical) - Number(a.canonical));
  const markedNames = new Map<string, string[]>();
  const markedPriorities = new Map<string, number>();
  for (const { route, name, priority } of mapped) {
    if (!route.bearsOwnerMarks || !route.inManagedSpace) continue;
    markedPriorities.set(name, priority);
    const names = markedNames.get(route.destination) ?? [];
    names.push(name);
    markedNames.set(route.destination, names);
  }
  return { routes: mapped.map((m) => m.route), markedNames, markedPriorities, staticOutside };
}

/**
 * Subnet routes come with the network's subnets; peering, Cloud Router (BGP) and transit routes are
 * imported (should a listing ever show them); every other route is a static route someone made.
 */
function originOf(route: GceRoute): RouteOrigin {
  if ((route.nextHopNetwork ?? '') !== '' || route.routeType === 'SUBNET') return 'table-default';
  if ((route.nextHopPeering ?? '') !== '' || route.routeType === 'BGP' || route.routeType === 'TRANSIT') return 'propagated';
  return 'created';
}

function targetKindOf(route: GceRoute): TargetKind {
  if (route.nextHopInstance) return 'instance';
  if (route.nextHopIp) return 'address';
  if (route.nextHopNetwork) return 'network';
  if (route.nextHopGateway || route.nextHopVpnTunnel || route.nextHopIlb || route.nextHopPeering) return 'gateway';
  return 'none';
}

/** The body of routesync's route for `destination` in the table (a moved one: another name and priority). */
export function routeBody(
  context: MappingContext,
  destination: string,
  target: string,
  as: { readonly name?: string; readonly priority?: number } = {},
): GceRoute {
  return {
    name: as.name ?? routeName(context.clusterName, destination),
    network: `${SELF_LINK_BASE}/${context.tableId}`,
    destRange: destination,
    priority: as.priority ?? ROUTE_PRIORITY,
    nextHopInstance: `${SELF_LINK_BASE}/${resourcePath(target, context.project)}`,
    description: routeDescription(context.clusterName),
  };
}

/** After a 409: is the route of that name the one we wanted? */
export function sameRoute(found: GceRoute, wanted: GceRoute, project: string): boolean {
  const same = (a: string | null | undefined, b: string | null | undefined): boolean => resourcePath(a ?? '', project) === resourcePath(b ?? '', project);
  return (
    canonicalDestination(found.destRange ?? '')?.destination === wanted.destRange &&
    same(found.network, wanted.network) &&
    same(found.nextHopInstance, wanted.nextHopInstance) &&
    (found.priority ?? ROUTE_PRIORITY) === wanted.priority &&
    found.description === wanted.description
  );
}

function hopOf(route: GceRoute): string {
  const last = (url: string | null | undefined): string => url?.split('/').slice(-1)[0] ?? '';
  if (route.nextHopInstance) return last(route.nextHopInstance);
  if (route.nextHopGateway) return last(route.nextHopGateway);
  if (route.nextHopIp) return route.nextHopIp;
  if (route.nextHopNetwork) return `subnet of ${last(route.nextHopNetwork)}`;
  if (route.nextHopVpnTunnel) return last(route.nextHopVpnTunnel);
  if (route.nextHopIlb) return last(route.nextHopIlb);
  if (route.nextHopPeering) return `peering ${route.nextHopPeering}`;
  return 'unknown';
}
