/**
 * The addresses an ENI holds, of both families, and the DescribeNetworkInterfaces filter that finds
 * ENIs by them: `addresses.private-ip-address` for IPv4, `ipv6-addresses.ipv6-address` for IPv6
 * (https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DescribeNetworkInterfaces.html).
 * Filters of different names are ANDed, so one call asks for one family.
 */
import type { Filter, NetworkInterface } from '@aws-sdk/client-ec2';
import { isIpv4 } from '../../src/net/cidr.js';
import { canonicalIpv6, isIpv6 } from '../../src/net/cidr6.js';

/** A node address routesync can look up: dotted IPv4, or IPv6 (canonical text expected). */
export function isNodeAddress(ip: string): boolean {
  return isIpv4(ip) || isIpv6(ip);
}

/** The filter for one family's addresses; `ips` must all be of that family. */
export function addressFilter(family: 'ipv4' | 'ipv6', ips: readonly string[]): Filter {
  return { Name: family === 'ipv6' ? 'ipv6-addresses.ipv6-address' : 'addresses.private-ip-address', Values: [...ips] };
}

/** The batch split by family, each non-empty. */
export function byFamily(ips: readonly string[]): Array<['ipv4' | 'ipv6', string[]]> {
  const v4 = ips.filter((ip) => !ip.includes(':'));
  const v6 = ips.filter((ip) => ip.includes(':'));
  return [
    ...(v4.length > 0 ? [['ipv4', v4] as ['ipv4', string[]]] : []),
    ...(v6.length > 0 ? [['ipv6', v6] as ['ipv6', string[]]] : []),
  ];
}

/** Every address of the ENI: its private IPv4 addresses and its IPv6 addresses (canonical text, as leases carry them). */
export function addressesOf(eni: NetworkInterface): Set<string> {
  const ips = new Set<string>();
  if (eni.PrivateIpAddress !== undefined) ips.add(eni.PrivateIpAddress);
  for (const address of eni.PrivateIpAddresses ?? []) {
    if (address.PrivateIpAddress !== undefined) ips.add(address.PrivateIpAddress);
  }
  for (const address of eni.Ipv6Addresses ?? []) {
    const ip = address.Ipv6Address;
    if (ip !== undefined && isIpv6(ip)) ips.add(canonicalIpv6(ip));
  }
  return ips;
}
