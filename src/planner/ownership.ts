/**
 * Which actual routes are routesync's (its "registry", in external-dns's terms). Only these are ever
 * replaced or deleted; every other route is foreign and is never touched.
 */
import type { ActualRoute } from '../../providers/provider.js';
import { cidrContains, tryParseCidr, type Ipv4Cidr } from '../net/cidr.js';

/**
 * A route is owned when it bears routesync's owner marks, lies in the managed space and its
 * destination lies inside the flannel Network. `inside`: destinations already known to lie inside
 * (the leases' subnets), so that they need not be parsed again.
 */
export function ownership(network: Ipv4Cidr, inside: ReadonlySet<string> | ReadonlyMap<string, unknown>): (route: ActualRoute) => boolean {
  return (route) => {
    if (!route.bearsOwnerMarks || !route.inManagedSpace) return false;
    if (inside.has(route.destination)) return true;
    const cidr = tryParseCidr(route.destination);
    return cidr !== undefined && cidrContains(network, cidr);
  };
}
