/**
 * Pure parsing and validation of flannel's state in etcd (docs/architecture.md, 'flannel and etcd facts'): the network config at
 * `<prefix>/config`, lease keys `<prefix>/subnets/<a.b.c.d>-<len>[&<ipv6>-<len6>]` and lease
 * values `{"PublicIP":"…"}`. No I/O: the etcd lease source feeds raw key/values in and gets a
 * {@link LeaseSnapshot} out. Nothing here throws on any input.
 *
 * flannel decodes its JSON with Go's encoding/json, so object keys match field names
 * case-insensitively (`"network"`, `"subnetlen"`, `"publicip"` all work) and, when a field is
 * given twice, the last one wins. The config rules follow flannel's `ParseConfig` and
 * `CheckNetworkConfig` (pkg/subnet/config.go): a config flanneld would refuse is refused here.
 */
import ipaddr from 'ipaddr.js';

import { cidrContains, compareCidrs, formatCidr, isIpv4, parseCidr, type Ipv4Cidr } from '../net/cidr.js';
import type { InvalidLease, Lease, LeaseSnapshot, NetworkConfig } from './types.js';

/** flannel's default etcd prefix. */
export const DEFAULT_PREFIX = '/coreos.com/network';

/** Larger config or lease values are refused without parsing (etcd's own default cap is 1.5 MiB). */
export const MAX_VALUE_BYTES = 1024 * 1024;

/** Backends with which every node programs cloud routes itself: they fight routesync. */
export const ROUTE_PROGRAMMING_BACKENDS: ReadonlySet<string> = new Set(['aws-vpc', 'gce']);

export type ParseConfigResult =
  | { readonly config: NetworkConfig; readonly warnings: readonly string[] }
  | { readonly error: string };

export type ParseLeaseKeyResult =
  | { readonly subnet: string; readonly ipv6Subnet?: string }
  | { readonly error: string }
  | { readonly skip: true };

export type ParseLeaseValueResult = { readonly publicIp: string } | { readonly error: string };

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

/** The etcd key flannel uses for a subnet: `10.1.19.0/24` → `<prefix>/subnets/10.1.19.0-24`. */
export function leaseKeyFor(prefix: string, subnet: string, ipv6Subnet?: string): string {
  const v4 = subnet.replace('/', '-');
  return `${subnetsPrefix(prefix)}${v4}${ipv6Subnet === undefined ? '' : `&${ipv6Subnet.replace('/', '-')}`}`;
}

/** Anything that starts like a lease name: digits and dots, a dash, digits. */
const LOOKS_LIKE_LEASE = /^[0-9.]+-[0-9]+(?:&.*)?$/s;
const LEASE_NAME = /^([0-9.]+)-(0|[1-9][0-9]?)(?:&([0-9a-f:]+)-(0|[1-9][0-9]{0,2}))?$/;

/**
 * Interprets a key under `<prefix>/subnets/`. Keys that are not lease names at all (nested paths,
 * other names, keys outside `subnets/`) are skipped; names that look like a lease but do not
 * parse (bad octet, host bits set, bad prefix length) are errors, so they can be reported.
 * The IPv4 part is what routesync routes; a dual-stack name's IPv6 part is checked and returned.
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
  if (!ipaddr.IPv6.isValid(v6Address) || Number(v6Length) > 128) {
    return { error: `lease key ${JSON.stringify(name)}: ${JSON.stringify(`${v6Address}/${v6Length}`)} is not an IPv6 subnet` };
  }
  return { subnet: formatCidr(subnet), ipv6Subnet: `${ipaddr.IPv6.parse(v6Address).toString()}/${v6Length}` };
}

// ---------------------------------------------------------------------------------------------
// JSON helpers (Go encoding/json semantics where flannel depends on them)

type JsonObject = Record<string, unknown>;

function byteLength(text: string): number {
  return Buffer.byteLength(text, 'utf8');
}

/** Deeper JSON is refused before parsing (Go's encoding/json stops at 10000; flannel's values are 3 deep). */
export const MAX_JSON_DEPTH = 100;

/** The deepest nesting of arrays/objects in `text`, counting only brackets outside strings; stops past `limit`. */
function jsonDepth(text: string, limit: number): number {
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c /* \ */) i++;
      else if (c === 0x22 /* " */) inString = false;
    } else if (c === 0x22) {
      inString = true;
    } else if (c === 0x5b /* [ */ || c === 0x7b /* { */) {
      depth++;
      if (depth > max) max = depth;
      if (max > limit) return max;
    } else if (c === 0x5d /* ] */ || c === 0x7d /* } */) {
      depth--;
    }
  }
  return max;
}

function parseJsonObject(text: string, what: string): { value: JsonObject } | { error: string } {
  if (byteLength(text) > MAX_VALUE_BYTES) return { error: `${what} is larger than ${MAX_VALUE_BYTES} bytes` };
  if (jsonDepth(text, MAX_JSON_DEPTH) > MAX_JSON_DEPTH) return { error: `${what} is nested more than ${MAX_JSON_DEPTH} levels deep` };
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    return { error: `${what} is not valid JSON: ${message.slice(0, 200)}` };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { error: `${what} must be a JSON object, got ${describe(value)}` };
  }
  return { value: value as JsonObject };
}

/** Go's encoding/json matches names with Unicode simple case folding; for ASCII names that adds ſ and K (Kelvin). */
function fold(name: string): string {
  return name.replace(/\u017f/g, 's').replace(/\u212a/g, 'k').toLowerCase();
}

/** The value of `field` matched case-insensitively (last match wins); `undefined` when absent or null. */
function field(obj: JsonObject, name: string): unknown {
  const wanted = fold(name);
  let found: unknown;
  for (const key of Object.keys(obj)) {
    if (fold(key) === wanted) found = obj[key];
  }
  return found === null ? undefined : found;
}

function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    text = Array.isArray(value) ? 'an array' : typeof value;
  }
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

// ---------------------------------------------------------------------------------------------
// Network config

const mask = (length: number): number => (length === 0 ? 0 : (0xffffffff << (32 - length)) >>> 0);

function parseNetworkField(value: unknown): { cidr: Ipv4Cidr; warning?: string } | { error: string } {
  if (typeof value !== 'string') return { error: `Network must be an IPv4 CIDR string, got ${describe(value)}` };
  let cidr: Ipv4Cidr;
  try {
    // flannel (Go net.ParseCIDR) accepts host bits and uses the network address.
    cidr = parseCidr(value, false);
  } catch (err) {
    return { error: `Network ${JSON.stringify(value)} is not an IPv4 CIDR: ${(err as Error).message}` };
  }
  const canonical = formatCidr(cidr);
  if (canonical !== value) {
    return { cidr, warning: `Network ${JSON.stringify(value)} is not in canonical form; using ${canonical} as flannel does` };
  }
  return { cidr };
}

function parseSubnetBound(
  name: 'SubnetMin' | 'SubnetMax',
  value: unknown,
  network: Ipv4Cidr,
  subnetLen: number,
): { error: string } | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || !isIpv4(value)) {
    return { error: `${name} must be an IPv4 address, got ${describe(value)}` };
  }
  const address = parseCidr(`${value}/32`);
  if (address.base === 0) return undefined; // 0.0.0.0 means "default" to flannel
  if (!cidrContains(network, address)) {
    return { error: `${name} ${value} is not in the range of the Network ${formatCidr(network)}` };
  }
  if (((address.base & mask(subnetLen)) >>> 0) !== address.base) {
    return { error: `${name} ${value} is not on a SubnetLen (/${subnetLen}) boundary` };
  }
  return undefined;
}

/**
 * Parses flannel's network config JSON. The result is what flanneld would run with: SubnetLen
 * defaults to 24 when Network is /22 or larger, otherwise to Network's length + 2 (networks
 * smaller than /28 are refused); an explicit SubnetLen must be at most 30 and leave room for at
 * least four subnets (≥ Network's length + 2). `Backend.Type` is lower-cased, `udp` when Backend
 * is missing. Warnings (non-canonical Network, a route-programming backend) do not make the
 * config unusable.
 */
export function parseNetworkConfig(text: string): ParseConfigResult {
  const parsed = parseJsonObject(text, 'network config');
  if ('error' in parsed) return parsed;
  const obj = parsed.value;
  const warnings: string[] = [];

  const enableIPv4Value = field(obj, 'EnableIPv4');
  if (enableIPv4Value !== undefined && typeof enableIPv4Value !== 'boolean') {
    return { error: `EnableIPv4 must be true or false, got ${describe(enableIPv4Value)}` };
  }
  const enableIPv4 = enableIPv4Value ?? true;

  let backendType = 'udp';
  const backend = field(obj, 'Backend');
  if (backend !== undefined) {
    if (typeof backend !== 'object' || backend === null || Array.isArray(backend)) {
      return { error: `Backend must be a JSON object, got ${describe(backend)}` };
    }
    const type = field(backend as JsonObject, 'Type');
    if (type !== undefined && typeof type !== 'string') {
      return { error: `Backend.Type must be a string, got ${describe(type)}` };
    }
    backendType = (type ?? '').toLowerCase();
  }
  if (ROUTE_PROGRAMMING_BACKENDS.has(backendType)) {
    warnings.push(
      `Backend.Type is ${JSON.stringify(backendType)}: every node programs cloud routes itself and will fight routesync; use {"Type":"alloc"}`,
    );
  }

  const networkValue = field(obj, 'Network');
  if (networkValue === undefined) {
    return {
      error: enableIPv4
        ? 'Network is missing: flannel needs an IPv4 Network when EnableIPv4 is true'
        : 'Network is missing and EnableIPv4 is false: routesync routes IPv4 subnets only',
    };
  }
  const network = parseNetworkField(networkValue);
  if ('error' in network) return network;
  if (network.warning !== undefined) warnings.push(network.warning);
  const prefixLength = network.cidr.length;

  const subnetLenValue = field(obj, 'SubnetLen');
  if (
    subnetLenValue !== undefined &&
    (typeof subnetLenValue !== 'number' || !Number.isInteger(subnetLenValue) || subnetLenValue < 0)
  ) {
    return { error: `SubnetLen must be a non-negative integer, got ${describe(subnetLenValue)}` };
  }
  let subnetLen = subnetLenValue ?? 0;
  if (subnetLen > 0) {
    if (subnetLen > 30) return { error: `SubnetLen ${subnetLen} is too long: it must be at most 30` };
    if (subnetLen < prefixLength + 2) {
      return {
        error: `SubnetLen ${subnetLen} is too short for Network ${formatCidr(network.cidr)}: it must be at least ${prefixLength + 2} so the network holds four subnets`,
      };
    }
  } else if (prefixLength > 28) {
    return { error: `Network ${formatCidr(network.cidr)} is too small: the smallest useful flannel Network is a /28` };
  } else {
    subnetLen = prefixLength <= 22 ? 24 : prefixLength + 2;
  }

  if (enableIPv4) {
    for (const name of ['SubnetMin', 'SubnetMax'] as const) {
      const bad = parseSubnetBound(name, field(obj, name), network.cidr, subnetLen);
      if (bad !== undefined) return bad;
    }
  }

  return {
    config: { network: formatCidr(network.cidr), subnetLen, enableIPv4, backendType },
    warnings,
  };
}

// ---------------------------------------------------------------------------------------------
// Lease values and validation

/** Parses a lease value; PublicIP must be a dotted-quad IPv4 address (not 0.0.0.0). */
export function parseLeaseValue(text: string): ParseLeaseValueResult {
  const parsed = parseJsonObject(text, 'lease value');
  if ('error' in parsed) return parsed;
  const publicIp = field(parsed.value, 'PublicIP');
  if (publicIp === undefined) return { error: 'lease value has no PublicIP' };
  if (typeof publicIp !== 'string' || !isIpv4(publicIp)) {
    return { error: `PublicIP ${describe(publicIp)} is not an IPv4 address` };
  }
  if (publicIp === '0.0.0.0') return { error: 'PublicIP is 0.0.0.0 (no IPv4 node address)' };
  return { publicIp };
}

/**
 * Checks a (canonical) lease subnet against the network config: it must lie inside Network and
 * be exactly SubnetLen long. Returns the reason it is invalid, or undefined when it is valid.
 */
export function validateLease(subnet: string, config: NetworkConfig): string | undefined {
  if (!config.enableIPv4) return 'EnableIPv4 is false in the network config';
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

/** A valid lease with its parsed subnet, before duplicates are resolved. */
export interface LeaseCandidate {
  readonly lease: Lease;
  readonly cidr: Ipv4Cidr;
}

/** What one key under `subnets/` is on its own: skipped, invalid, or a candidate lease. */
export type ParsedLeaseKv = { readonly skip: true } | { readonly invalid: InvalidLease } | { readonly candidate: LeaseCandidate };

/**
 * Interprets one key/value against the parsed config (`config` null: it is missing or unusable,
 * and `configError` says why). Duplicates are not known here: they depend on the other keys.
 */
export function parseLeaseKv(kv: RawKeyValue, prefix: string, config: NetworkConfig | null, configError?: string): ParsedLeaseKv {
  const key = kv.key;
  const parsedKey = parseLeaseKey(key, prefix);
  if ('skip' in parsedKey) return { skip: true };
  if ('error' in parsedKey) return { invalid: { key, reason: parsedKey.error } };
  const subnet = parsedKey.subnet;
  if (config === null) return { invalid: { key, subnet, reason: `not validated: ${configError ?? 'no network config'}` } };
  const subnetProblem = validateLease(subnet, config);
  if (subnetProblem !== undefined) return { invalid: { key, subnet, reason: subnetProblem } };
  const valueText = typeof kv.value === 'string' ? kv.value : kv.value.length > MAX_VALUE_BYTES ? null : text(kv.value);
  const parsedValue =
    valueText === null ? { error: `lease value is larger than ${MAX_VALUE_BYTES} bytes` } : parseLeaseValue(valueText);
  if ('error' in parsedValue) return { invalid: { key, subnet, reason: parsedValue.error } };
  return {
    candidate: {
      cidr: parseCidr(subnet),
      lease: {
        key,
        subnet,
        nodeIp: parsedValue.publicIp,
        createRevision: revisionNumber(kv.createRevision),
        modRevision: revisionNumber(kv.modRevision),
        reservation: isReservation(kv.lease),
      },
    },
  };
}

/** Older first (lower create_revision), then by subnet, then by key: the order of a snapshot's leases. */
export function compareCandidates(a: LeaseCandidate, b: LeaseCandidate): number {
  return (
    a.lease.createRevision - b.lease.createRevision ||
    compareCidrs(a.cidr, b.cidr) ||
    (a.lease.key < b.lease.key ? -1 : a.lease.key > b.lease.key ? 1 : 0)
  );
}

/** The invalid entry of a key that lost its subnet to an older one. */
export function duplicateLease(lease: Lease, holder: Lease): InvalidLease {
  // No `subnet` here: the subnet has a valid lease, its route must not be "left alone".
  return {
    key: lease.key,
    reason: `duplicate lease for ${lease.subnet}: the older key ${holder.key} (node ${holder.nodeIp}) is used`,
  };
}

export function compareInvalid(a: InvalidLease, b: InvalidLease): number {
  return a.key < b.key ? -1 : a.key > b.key ? 1 : 0;
}

/**
 * Turns raw key/values and the config text into a complete snapshot. Valid leases are sorted by
 * create_revision, then subnet; invalid keys by key. When two keys name the same IPv4 subnet
 * (e.g. `10.5.1.0-24` and `10.5.1.0-24&fc00::-64`), the older lease wins and the other is reported.
 * Without a usable config no lease can be validated: every lease-like key is reported invalid.
 */
export function buildLeaseSnapshot(input: SnapshotInput): LeaseSnapshot {
  const parsedConfig = configFromText(input.configText, input.prefix);
  const config = 'config' in parsedConfig ? parsedConfig.config : null;
  const configError = 'error' in parsedConfig ? parsedConfig.error : undefined;

  const candidates: LeaseCandidate[] = [];
  const invalid: InvalidLease[] = [];
  for (const kv of input.kvs) {
    const parsed = parseLeaseKv(kv, input.prefix, config, configError);
    if ('invalid' in parsed) invalid.push(parsed.invalid);
    else if ('candidate' in parsed) candidates.push(parsed.candidate);
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
