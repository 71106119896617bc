/**
 * IPv6 text for the simulators: EC2 and GCE answer IPv6 CIDRs and addresses in their compressed lower-case
 * form, and a route is keyed by its destination, so both are kept canonical (RFC 5952, as ipaddr.js
 * prints them). The simulators import nothing of routesync's beyond src/net/cidr.ts: this uses ipaddr.js.
 */
import ipaddr from 'ipaddr.js';

/** `addr/len` with host bits zero, canonical; throws on anything else. */
export function canonicalIpv6Cidr(text: string): string {
  const [address, length] = ipaddr.IPv6.parseCIDR(text);
  const network = ipaddr.IPv6.networkAddressFromCIDR(text);
  if (network.toString() !== address.toString()) throw new Error(`${text} has host bits set`);
  return `${network.toString()}/${length}`;
}

export function isIpv6Text(text: string): boolean {
  return /^[0-9a-fA-F:]+$/.test(text) && ipaddr.IPv6.isValid(text);
}

export function canonicalIpv6(text: string): string {
  return ipaddr.IPv6.parse(text).toString();
}

export function ipv6InCidr(address: string, cidr: string): boolean {
  return ipaddr.IPv6.parse(address).match(ipaddr.IPv6.parseCIDR(cidr));
}

export function prefixLength(cidr: string): number {
  return ipaddr.IPv6.parseCIDR(cidr)[1];
}
