/**
 * Which actual routes are routesync's (its "registry", in external-dns's terms). Only these are ever
 * replaced or deleted; every other route is foreign and is never touched.
 */
import type { ActualRoute } from '../../providers/provider.js';
import { cidrContains, tryParseCidr, type Ipv4Cidr } from '../net/cidr.js';
import { cidr6Contains, tryParseCidr6, type Ipv6Cidr } from '../net/cidr6.js';

/** flannel's networks, one per enabled family: Network (IPv4) and IPv6Network. */
export interface OwnedNetworks {
  readonly ipv4?: Ipv4Cidr;
  readonly ipv6?: Ipv6Cidr;
}

/**
 * A route is owned when it bears routesync's owner marks, lies in the managed space and its
 * destination lies inside flannel's network of its family (IPv4 routes inside Network, IPv6 routes
 * inside IPv6Network). `inside`: destinations already known to lie inside (the leases' subnets),
 * so that they need not be parsed again.
 */
export function ownership(networks: OwnedNetworks, inside: ReadonlySet<string> | ReadonlyMap<string, unknown>): (route: ActualRoute) => boolean {
  return (route) => {
    if (!route.bearsOwnerMarks || !route.inManagedSpace) return false;
    if (inside.has(route.destination)) return true;
    if (route.family === 'ipv6') {
      const cidr = tryParseCidr6(route.destination);
      return cidr !== undefined && networks.ipv6 !== undefined && cidr6Contains(networks.ipv6, cidr);
    }
    const cidr = tryParseCidr(route.destination);
    return cidr !== undefined && networks.ipv4 !== undefined && cidrContains(networks.ipv4, cidr);
  };
}

/** One network's space, named in flannel's multi-network mode (undefined: the single network). */
export interface NamedNetworks extends OwnedNetworks {
  readonly name: string | undefined;
}

/**
 * The network that owns a route, by the same rule as ownership(), or undefined when none does.
 * `inside`: lease subnets with the network space each was found inside (so they are not parsed again).
 */
export function ownerNetwork(
  spaces: readonly NamedNetworks[],
  inside: ReadonlyMap<string, { readonly space: NamedNetworks }>,
): (route: ActualRoute) => NamedNetworks | undefined {
  const owns = spaces.map((space) => [space, ownership(space, new Set<string>())] as const);
  return (route) => {
    if (!route.bearsOwnerMarks || !route.inManagedSpace) return undefined;
    const leased = inside.get(route.destination);
    if (leased !== undefined) return leased.space;
    return owns.find(([, owned]) => owned(route))?.[0];
  };
}
