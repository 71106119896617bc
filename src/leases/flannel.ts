/**
 * Pure parsing and validation of flannel's leases in etcd (docs/architecture.md, 'flannel and etcd
 * facts'): keys `<prefix>/subnets/<a.b.c.d>-<len>[&<ipv6>-<len6>]` and values
 * `{"PublicIP":"…","PublicIPv6":…}`, against the network config (flannel-config.ts). No I/O: the etcd
 * lease source feeds raw key/values in and gets a {@link LeaseSnapshot} out. Nothing here throws on
 * any input.
 *
 * A lease has up to two halves, each validated on its own: IPv4 (the key's IPv4 subnet → PublicIP)
 * and IPv6 (the key's IPv6 subnet → PublicIPv6). A bad half is reported; the good one is still used.
 * Values are decoded as Go's encoding/json does (go-json.ts).
 */
import ipaddr from 'ipaddr.js';

import { cidrContains, compareCidrs, formatCidr, isIpv4, parseCidr, type Ipv4Cidr } from '../net/cidr.js';
import { cidr6Contains, compareCidrs6, formatCidr6, isIpv6, parseCidr6, type Ipv6Cidr } from '../net/cidr6.js';
import { parseNetworkConfig } from './flannel-config.js';
import { describe, field, MAX_VALUE_BYTES, parseJsonObject, type JsonObject } from './go-json.js';
import type { Family, InvalidLease, Lease, LeaseSnapshot, NetworkConfig } from './types.js';

export { parseNetworkConfig, ROUTE_PROGRAMMING_BACKENDS, type ParseConfigResult } from './flannel-config.js';
export { MAX_JSON_DEPTH, MAX_VALUE_BYTES } from './go-json.js';

/** flannel's default etcd prefix. */
export const DEFAULT_PREFIX = '/coreos.com/network';

/** A key's subnets: at least one of the two (an IPv6-only key has no IPv4 subnet). */
export type ParseLeaseKeyResult =
  | { readonly subnet?: string; readonly ipv6Subnet?: string }
  | { readonly error: string }
  | { readonly skip: true };

export type ParseLeaseValueResult = { readonly publicIp: string } | { readonly error: string };
export type ParsePublicIpv6Result = { readonly publicIpv6: string } | { readonly error: string };

/** One key/value as read from etcd, before any interpretation. */
export interface RawKeyValue {
  readonly key: string;
  readonly value: Buffer | string;
  /** etcd create_revision (etcd3 reports int64 as decimal strings; both are accepted). */
  readonly createRevision: number | string;
  readonly modRevision: number | string;
  /** The etcd lease id the key is attached to; `'0'` (or 0) for a reservation. */
  readonly lease: string | number;
}

export interface SnapshotInput {
  /** flannel's etcd prefix, e.g. `/coreos.com/network` (a trailing `/` is ignored). */
  readonly prefix: string;
  /** The etcd revision the data was read at. */
  readonly revision: number;
  /** The value of `<prefix>/config`, or null when the key does not exist. */
  readonly configText: Buffer | string | null;
  /** Keys under `<prefix>/subnets/` (any other key is skipped). */
  readonly kvs: Iterable<RawKeyValue>;
}


// ---------------------------------------------------------------------------------------------
// Keys

/** The prefix without trailing slashes: `/coreos.com/network/` → `/coreos.com/network`. */
export function normalizePrefix(prefix: string): string {
  return prefix.replace(/\/+$/, '');
}

export function configKey(prefix: string): string {
  return `${normalizePrefix(prefix)}/config`;
}

/** `<prefix>/subnets/`, with the trailing slash, for range reads and watches. */
export function subnetsPrefix(prefix: string): string {
  return `${normalizePrefix(prefix)}/subnets/`;
}

/**
 * The etcd key flannel uses for a lease: `10.1.19.0/24` → `<prefix>/subnets/10.1.19.0-24`, with an
 * IPv6 subnet `…&fc00::-64`. flannel writes an IPv6-only lease with the empty IPv4 net
 * (`0.0.0.0-0&fc00::-64`: MakeSubnetKey in pkg/subnet/subnet.go); pass `undefined` for it.
 */
export function leaseKeyFor(prefix: string, subnet: string | undefined, ipv6Subnet?: string): string {
  const v4 = (subnet ?? '0.0.0.0/0').replace('/', '-');
  return `${subnetsPrefix(prefix)}${v4}${ipv6Subnet === undefined ? '' : `&${ipv6Subnet.replace('/', '-')}`}`;
}


/** Anything that starts like a lease name: digits and dots, a dash, digits. */
const LOOKS_LIKE_LEASE = /^[0-9.]+-[0-9]+(?:&.*)?$/s;
const LEASE_NAME = /^([0-9.]+)-(0|[1-9][0-9]?)(?:&([0-9a-f:]+)-(0|[1-9][0-9]{0,2}))?$/;

/**
 * Interprets a key under `<prefix>/subnets/`. Keys that are not lease names at all (nested paths,
 * other names, keys outside `subnets/`) are skipped; names that look like a lease but do not
 * parse (bad octet, host bits set, bad prefix length, in either part) are errors, so they can be
 * reported. `0.0.0.0-0` before the `&` is flannel's empty IPv4 net: the lease is IPv6-only.
 */
export function parseLeaseKey(key: string, prefix: string): ParseLeaseKeyResult {
  const base = subnetsPrefix(prefix);
  if (!key.startsWith(base)) return { skip: true };
  const name = key.slice(base.length);
  if (name.includes('/') || !LOOKS_LIKE_LEASE.test(name)) return { skip: true };
  const match = LEASE_NAME.exec(name);
  if (match === null) return { error: `malformed lease key ${JSON.stringify(name)}: expected <a.b.c.d>-<len>[&<ipv6>-<len>]` };
  const [, address = '', length = '', v6Address, v6Length] = match;
  if (!isIpv4(address)) return { error: `lease key ${JSON.stringify(name)}: ${JSON.stringify(address)} is not an IPv4 address` };
  if (Number(length) > 32) return { error: `lease key ${JSON.stringify(name)}: prefix length ${length} is over 32` };
  let subnet: Ipv4Cidr;
  try {
    subnet = parseCidr(`${address}/${length}`);
  } catch (err) {
    return { error: `lease key ${JSON.stringify(name)}: ${(err as Error).message}` };
  }
  if (v6Address === undefined || v6Length === undefined) return { subnet: formatCidr(subnet) };
  if (!isIpv6(v6Address) || Number(v6Length) > 128) {
    return { error: `lease key ${JSON.stringify(name)}: ${JSON.stringify(`${v6Address}/${v6Length}`)} is not an IPv6 subnet` };
  }
  let subnet6: Ipv6Cidr;
  try {
    subnet6 = parseCidr6(`${v6Address}/${v6Length}`);
  } catch (err) {
    return { error: `lease key ${JSON.stringify(name)}: ${(err as Error).message}` };
  }
  const ipv6Subnet = formatCidr6(subnet6);
  if (subnet6.length === 0 && subnet6.base === 0n) return { error: `lease key ${JSON.stringify(name)}: the IPv6 part is empty` };
  return subnet.base === 0 && subnet.length === 0 ? { ipv6Subnet } : { subnet: formatCidr(subnet), ipv6Subnet };
}

// ---------------------------------------------------------------------------------------------
// Lease values and validation

/** The value as a JSON object, or why it is not one. */
function leaseValueObject(text: string): { value: JsonObject } | { error: string } {
  return parseJsonObject(text, 'lease value');
}

function publicIpOf(obj: JsonObject): ParseLeaseValueResult {
  const publicIp = field(obj, 'PublicIP');
  if (publicIp === undefined) return { error: 'lease value has no PublicIP' };
  if (typeof publicIp !== 'string' || !isIpv4(publicIp)) {
    return { error: `PublicIP ${describe(publicIp)} is not an IPv4 address` };
  }
  if (publicIp === '0.0.0.0') return { error: 'PublicIP is 0.0.0.0 (no IPv4 node address)' };
  return { publicIp };
}

/** Ranges no cloud interface's own IPv6 address lies in: a route to one could not work. */
const UNUSABLE_IPV6_RANGES: ReadonlySet<string> = new Set(['unspecified', 'loopback', 'linkLocal', 'multicast', 'ipv4Mapped']);

function publicIpv6Of(obj: JsonObject): ParsePublicIpv6Result {
  const value = field(obj, 'PublicIPv6');
  if (value === undefined) return { error: 'lease value has no PublicIPv6' };
  if (typeof value !== 'string' || !isIpv6(value)) return { error: `PublicIPv6 ${describe(value)} is not an IPv6 address` };
  const address = ipaddr.IPv6.parse(value);
  const range = address.range();
  if (UNUSABLE_IPV6_RANGES.has(range)) return { error: `PublicIPv6 ${value} is a ${range} address, not a node's address` };
  return { publicIpv6: address.toString() };
}

/** Parses a lease value; PublicIP must be a dotted-quad IPv4 address (not 0.0.0.0). */
export function parseLeaseValue(text: string): ParseLeaseValueResult {
  const parsed = leaseValueObject(text);
  return 'error' in parsed ? parsed : publicIpOf(parsed.value);
}

/** The IPv6 half of a lease value: PublicIPv6 must be a node's IPv6 address (canonical form returned). */
export function parsePublicIpv6(text: string): ParsePublicIpv6Result {
  const parsed = leaseValueObject(text);
  return 'error' in parsed ? parsed : publicIpv6Of(parsed.value);
}

/**
 * Checks a (canonical) IPv4 lease subnet against the network config: it must lie inside Network and
 * be exactly SubnetLen long. Returns the reason it is invalid, or undefined when it is valid.
 */
export function validateLease(subnet: string, config: NetworkConfig): string | undefined {
  if (!config.enableIPv4) return 'EnableIPv4 is false in the network config';
  if (config.network === undefined) return 'the network config has no Network';
  let cidr: Ipv4Cidr;
  let network: Ipv4Cidr;
  try {
    cidr = parseCidr(subnet);
    network = parseCidr(config.network);
  } catch (err) {
    return (err as Error).message;
  }
  if (!cidrContains(network, cidr)) return `subnet ${subnet} is outside Network ${config.network}`;
  if (cidr.length !== config.subnetLen) {
    return `subnet ${subnet} is a /${cidr.length}, but SubnetLen is ${config.subnetLen}`;
  }
  return undefined;
}

/** As validateLease, for an IPv6 subnet: EnableIPv6, inside IPv6Network, exactly IPv6SubnetLen long. */
export function validateIpv6Lease(subnet: string, config: NetworkConfig): string | undefined {
  if (config.enableIPv6 !== true || config.ipv6Network === undefined) return 'EnableIPv6 is false in the network config';
  let cidr: Ipv6Cidr;
  let network: Ipv6Cidr;
  try {
    cidr = parseCidr6(subnet);
    network = parseCidr6(config.ipv6Network);
  } catch (err) {
    return (err as Error).message;
  }
  if (!cidr6Contains(network, cidr)) return `subnet ${subnet} is outside IPv6Network ${config.ipv6Network}`;
  if (cidr.length !== config.ipv6SubnetLen) {
    return `subnet ${subnet} is a /${cidr.length}, but IPv6SubnetLen is ${config.ipv6SubnetLen ?? 64}`;
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Snapshot

function text(value: Buffer | string): string {
  return typeof value === 'string' ? value : value.toString('utf8');
}

function revisionNumber(value: number | string): number {
  const n = typeof value === 'number' ? value : Number(value);
  return Number.isFinite(n) ? n : 0;
}

function isReservation(lease: string | number): boolean {
  return lease === 0 || lease === '0' || lease === '';
}

/** Parses the config value (null: key missing) into the pieces a snapshot carries. */
export function configFromText(
  configText: Buffer | string | null,
  prefix: string,
): { config: NetworkConfig; warnings: readonly string[] } | { error: string } {
  if (configText === null) return { error: `no flannel network config at ${configKey(prefix)}` };
  const source = typeof configText === 'string' ? configText : configText.length > MAX_VALUE_BYTES ? null : configText.toString('utf8');
  if (source === null) return { error: `network config is larger than ${MAX_VALUE_BYTES} bytes` };
  return parseNetworkConfig(source);
}

/** A valid lease half with its parsed subnet, before duplicates are resolved. */
export interface LeaseCandidate {
  readonly lease: Lease;
  /** The IPv4 half's subnet; absent for an IPv6 half. */
  readonly cidr?: Ipv4Cidr;
  /** The IPv6 half's subnet; absent for an IPv4 half. */
  readonly cidr6?: Ipv6Cidr;
}

/**
 * What one key under `subnets/` is on its own: skipped, or its valid halves and the invalid ones
 * (a whole-key problem is one entry without `family`). Duplicates depend on the other keys.
 */
export type ParsedLeaseKv =
  | { readonly skip: true }
  | { readonly candidates: readonly LeaseCandidate[]; readonly invalid: readonly InvalidLease[] };

/**
 * Interprets one key/value against the parsed config (`config` null: it is missing or unusable,
 * and `configError` says why). Each half is judged on its own: a key with two halves reports the
 * bad one (`family`, and the reason names the half) and keeps the good one.
 */
export function parseLeaseKv(kv: RawKeyValue, prefix: string, config: NetworkConfig | null, configError?: string): ParsedLeaseKv {
  const key = kv.key;
  const parsedKey = parseLeaseKey(key, prefix);
  if ('skip' in parsedKey) return { skip: true };
  if ('error' in parsedKey) return { candidates: [], invalid: [{ key, reason: parsedKey.error }] };
  const { subnet, ipv6Subnet } = parsedKey;
  if (config === null) {
    const any = subnet ?? ipv6Subnet;
    return { candidates: [], invalid: [{ key, ...(any === undefined ? {} : { subnet: any }), reason: `not validated: ${configError ?? 'no network config'}` }] };
  }
  // A key with one half reports its problems as the key's; with two, each half's under its name.
  const both = subnet !== undefined && ipv6Subnet !== undefined;
  const bad = (family: Family, half: string, reason: string): InvalidLease =>
    both ? { key, family, subnet: half, reason: `${family === 'ipv4' ? 'IPv4' : 'IPv6'} half ${half}: ${reason}` } : { key, subnet: half, reason };

  const problems: Array<[Family, string, string]> = [];
  if (subnet !== undefined) {
    const why = validateLease(subnet, config);
    if (why !== undefined) problems.push(['ipv4', subnet, why]);
  }
  if (ipv6Subnet !== undefined) {
    const why = validateIpv6Lease(ipv6Subnet, config);
    if (why !== undefined) problems.push(['ipv6', ipv6Subnet, why]);
  }
  const judged = new Set(problems.map(([family]) => family));
  const wantsValue = (subnet !== undefined && !judged.has('ipv4')) || (ipv6Subnet !== undefined && !judged.has('ipv6'));
  const candidates: LeaseCandidate[] = [];
  if (wantsValue) {
    const valueText = typeof kv.value === 'string' ? kv.value : kv.value.length > MAX_VALUE_BYTES ? null : text(kv.value);
    const value = valueText === null ? { error: `lease value is larger than ${MAX_VALUE_BYTES} bytes` } : leaseValueObject(valueText);
    const common = {
      key,
      createRevision: revisionNumber(kv.createRevision),
      modRevision: revisionNumber(kv.modRevision),
      reservation: isReservation(kv.lease),
    };
    if (subnet !== undefined && !judged.has('ipv4')) {
      const ip = 'error' in value ? value : publicIpOf(value.value);
      if ('error' in ip) problems.push(['ipv4', subnet, ip.error]);
      else candidates.push({ cidr: parseCidr(subnet), lease: { ...common, subnet, nodeIp: ip.publicIp } });
    }
    if (ipv6Subnet !== undefined && !judged.has('ipv6')) {
      const ip = 'error' in value ? value : publicIpv6Of(value.value);
      if ('error' in ip) problems.push(['ipv6', ipv6Subnet, ip.error]);
      else candidates.push({ cidr6: parseCidr6(ipv6Subnet), lease: { ...common, family: 'ipv6', subnet: ipv6Subnet, nodeIp: ip.publicIpv6 } });
    }
  }
  problems.sort(([a], [b]) => (a === b ? 0 : a === 'ipv4' ? -1 : 1));
  return { candidates, invalid: problems.map(([family, half, reason]) => bad(family, half, reason)) };
}

/** IPv4 halves before IPv6 ones, each by address and length. */
function compareSubnets(a: LeaseCandidate, b: LeaseCandidate): number {
  if (a.cidr !== undefined && b.cidr !== undefined) return compareCidrs(a.cidr, b.cidr);
  if (a.cidr6 !== undefined && b.cidr6 !== undefined) return compareCidrs6(a.cidr6, b.cidr6);
  return a.cidr !== undefined ? -1 : 1;
}

/** Older first (lower create_revision), then by subnet, then by key: the order of a snapshot's leases. */
export function compareCandidates(a: LeaseCandidate, b: LeaseCandidate): number {
  return (
    a.lease.createRevision - b.lease.createRevision ||
    compareSubnets(a, b) ||
    (a.lease.key < b.lease.key ? -1 : a.lease.key > b.lease.key ? 1 : 0)
  );
}

/** The invalid entry of a key's half that lost its subnet to an older key. */
export function duplicateLease(lease: Lease, holder: Lease): InvalidLease {
  // No `subnet` here: the subnet has a valid lease, its route must not be "left alone".
  return {
    key: lease.key,
    ...(lease.family === 'ipv6' || lease.key.includes('&') ? { family: lease.family ?? 'ipv4' } : {}),
    reason: `duplicate lease for ${lease.subnet}: the older key ${holder.key} (node ${holder.nodeIp}) is used`,
  };
}

/** By key, a whole-key entry first, then IPv4, then IPv6. */
export function compareInvalid(a: InvalidLease, b: InvalidLease): number {
  if (a.key !== b.key) return a.key < b.key ? -1 : 1;
  const rank = (f: Family | undefined): number => (f === undefined ? 0 : f === 'ipv4' ? 1 : 2);
  return rank(a.family) - rank(b.family);
}

/**
 * Turns raw key/values and the config text into a complete snapshot. Valid lease halves are sorted
 * by create_revision, then subnet; invalid entries by key. When two keys name the same subnet
 * (e.g. `10.5.1.0-24` and `10.5.1.0-24&fc00::-64`), the older key's half wins and the other is
 * reported. Without a usable config no lease can be validated: every lease-like key is reported.
 */
export function buildLeaseSnapshot(input: SnapshotInput): LeaseSnapshot {
  const parsedConfig = configFromText(input.configText, input.prefix);
  const config = 'config' in parsedConfig ? parsedConfig.config : null;
  const configError = 'error' in parsedConfig ? parsedConfig.error : undefined;

  const candidates: LeaseCandidate[] = [];
  const invalid: InvalidLease[] = [];
  for (const kv of input.kvs) {
    const parsed = parseLeaseKv(kv, input.prefix, config, configError);
    if ('skip' in parsed) continue;
    invalid.push(...parsed.invalid);
    candidates.push(...parsed.candidates);
  }

  candidates.sort(compareCandidates);
  const bySubnet = new Map<string, Lease>();
  const leases: Lease[] = [];
  for (const { lease } of candidates) {
    const holder = bySubnet.get(lease.subnet);
    if (holder !== undefined) {
      invalid.push(duplicateLease(lease, holder));
      continue;
    }
    bySubnet.set(lease.subnet, lease);
    leases.push(lease);
  }
  invalid.sort(compareInvalid);

  return {
    revision: input.revision,
    config,
    ...(configError === undefined ? {} : { configError }),
    leases,
    invalid,
  };
}
