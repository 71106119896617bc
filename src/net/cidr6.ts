/**
 * IPv6 prefixes as (bigint, length), and the few helpers that treat a destination of either family.
 * Text is canonical RFC 5952 (lower case, longest zero run compressed), as Go's net.IP.String and
 * the clouds print it, so that a lease's subnet and a listed route compare as strings.
 */
import ipaddr from 'ipaddr.js';

import { compareCidrs, tryParseCidr } from './cidr.js';

export type Family = 'ipv4' | 'ipv6';

export interface Ipv6Cidr {
  readonly base: bigint;
  readonly length: number;
}

const ALL = (1n << 128n) - 1n;

function mask(length: number): bigint {
  return length === 0 ? 0n : (ALL << BigInt(128 - length)) & ALL;
}

/**
 * A plain IPv6 address: no zone (`%eth0`), no dotted IPv4 tail (`::ffff:1.2.3.4`): neither names
 * an address a cloud interface holds, and Go and ipaddr.js disagree on some of them.
 */
export function isIpv6(text: string): boolean {
  return /^[0-9a-fA-F:]+$/.test(text) && text.includes(':') && ipaddr.IPv6.isValid(text);
}

function toBigInt(text: string): bigint {
  let value = 0n;
  for (const part of ipaddr.IPv6.parse(text).parts) value = (value << 16n) | BigInt(part);
  return value;
}

function fromBigInt(value: bigint): string {
  const parts: number[] = [];
  for (let i = 7; i >= 0; i--) parts.push(Number((value >> BigInt(i * 16)) & 0xffffn));
  return new ipaddr.IPv6(parts).toString();
}

/** Canonical text of an IPv6 address (throws when it is not one). */
export function canonicalIpv6(text: string): string {
  if (!isIpv6(text)) throw new Error(`not an IPv6 address: ${JSON.stringify(text)}`);
  return fromBigInt(toBigInt(text));
}

/** Parses `addr/len`; with `requireAligned` (the default) host bits must be zero. */
export function parseCidr6(text: string, requireAligned = true): Ipv6Cidr {
  const slash = text.indexOf('/');
  if (slash < 0) throw new Error(`not a CIDR (no prefix length): ${JSON.stringify(text)}`);
  const address = text.slice(0, slash);
  const lengthText = text.slice(slash + 1);
  if (!/^\d{1,3}$/.test(lengthText) || Number(lengthText) > 128) throw new Error(`bad prefix length in ${JSON.stringify(text)}`);
  if (!isIpv6(address)) throw new Error(`not an IPv6 address: ${JSON.stringify(address)}`);
  const length = Number(lengthText);
  const value = toBigInt(address);
  const base = value & mask(length);
  if (requireAligned && base !== value) {
    throw new Error(`${text} has host bits set (network address is ${fromBigInt(base)}/${length})`);
  }
  return { base, length };
}

export function tryParseCidr6(text: string): Ipv6Cidr | undefined {
  try {
    return parseCidr6(text);
  } catch {
    return undefined;
  }
}

export function formatCidr6(cidr: Ipv6Cidr): string {
  return `${fromBigInt(cidr.base)}/${cidr.length}`;
}

export function cidr6Contains(outer: Ipv6Cidr, inner: Ipv6Cidr): boolean {
  return inner.length >= outer.length && (inner.base & mask(outer.length)) === outer.base;
}

/** The address lies on a `length` boundary (host bits zero). */
export function ipv6Aligned(address: string, length: number): boolean {
  const value = toBigInt(address);
  return (value & mask(length)) === value;
}

export function ipv6InCidr(address: string, cidr: Ipv6Cidr): boolean {
  return (toBigInt(address) & mask(cidr.length)) === cidr.base;
}

export function compareCidrs6(a: Ipv6Cidr, b: Ipv6Cidr): number {
  return a.base < b.base ? -1 : a.base > b.base ? 1 : a.length - b.length;
}

/** The family of a destination by its text: a colon means IPv6. */
export function familyOfDestination(text: string): Family {
  return text.includes(':') ? 'ipv6' : 'ipv4';
}

/** Orders destinations of both families: IPv4 first, then by address and length; unparsable ones last, by text. */
export function compareDestinations(a: string, b: string): number {
  const fa = familyOfDestination(a);
  const fb = familyOfDestination(b);
  if (fa !== fb) return fa === 'ipv4' ? -1 : 1;
  if (fa === 'ipv4') {
    const ca = tryParseCidr(a);
    const cb = tryParseCidr(b);
    if (ca !== undefined && cb !== undefined) return compareCidrs(ca, cb);
  } else {
    const ca = tryParseCidr6(a);
    const cb = tryParseCidr6(b);
    if (ca !== undefined && cb !== undefined) return compareCidrs6(ca, cb);
  }
  return a < b ? -1 : a > b ? 1 : 0;
}
