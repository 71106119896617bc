/**
 * flannel's network config (`<prefix>/config`), parsed as flanneld parses it: `ParseConfig` and
 * `CheckNetworkConfig` in flannel's pkg/subnet/config.go. A config flanneld would refuse is refused
 * here. Both families: Network/SubnetLen/SubnetMin/SubnetMax (IPv4, enabled by default) and
 * IPv6Network/IPv6SubnetLen/IPv6SubnetMin/IPv6SubnetMax (IPv6, with EnableIPv6).
 */
import { cidrContains, formatCidr, isIpv4, parseCidr, type Ipv4Cidr } from '../net/cidr.js';
import { cidr6Contains, formatCidr6, ipv6Aligned, isIpv6, parseCidr6, canonicalIpv6, type Ipv6Cidr } from '../net/cidr6.js';
import { describe, field, parseJsonObject, type JsonObject } from './go-json.js';
import type { NetworkConfig } from './types.js';

/** Backends with which every node programs cloud routes itself: they fight routesync. */
export const ROUTE_PROGRAMMING_BACKENDS: ReadonlySet<string> = new Set(['aws-vpc', 'gce']);

export type ParseConfigResult =
  | { readonly config: NetworkConfig; readonly warnings: readonly string[] }
  | { readonly error: string };

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

type V6Result = { readonly network?: Ipv6Cidr; readonly subnetLen?: number; readonly warning?: string } | { readonly error: string };

/**
 * The IPv6 fields. Go decodes them whatever EnableIPv6 says, so a malformed IPv6Network or
 * IPv6SubnetMin/Max is an error either way; the coherence rules (CheckNetworkConfig) apply only with
 * EnableIPv6: IPv6SubnetLen ≤ 126 and ≥ IPv6Network's length + 2, default 64 when IPv6Network is a
 * /62 or larger, else its length + 2 (smaller than /124: refused); the bounds inside and aligned.
 */
function parseIpv6Fields(obj: JsonObject, enableIPv6: boolean): V6Result {
  const networkValue = field(obj, 'IPv6Network');
  let network: Ipv6Cidr | undefined;
  let warning: string | undefined;
  if (networkValue !== undefined) {
    const address = typeof networkValue === 'string' ? networkValue.slice(0, networkValue.indexOf('/')) : '';
    if (typeof networkValue !== 'string' || !isIpv6(address)) {
      return { error: `IPv6Network must be an IPv6 CIDR string, got ${describe(networkValue)}` };
    }
    try {
      // Go net.ParseCIDR accepts host bits and keeps the network address.
      network = parseCidr6(networkValue, false);
    } catch (err) {
      return { error: `IPv6Network ${JSON.stringify(networkValue)} is not an IPv6 CIDR: ${(err as Error).message}` };
    }
    const canonical = formatCidr6(network);
    if (canonical !== networkValue) warning = `IPv6Network ${JSON.stringify(networkValue)} is not in canonical form; using ${canonical} as flannel does`;
  }
  const bounds: Array<['IPv6SubnetMin' | 'IPv6SubnetMax', string]> = [];
  for (const name of ['IPv6SubnetMin', 'IPv6SubnetMax'] as const) {
    const value = field(obj, name);
    if (value === undefined) continue;
    if (typeof value !== 'string' || !isIpv6(value)) return { error: `${name} must be an IPv6 address, got ${describe(value)}` };
    bounds.push([name, canonicalIpv6(value)]);
  }
  const lenValue = field(obj, 'IPv6SubnetLen');
  if (lenValue !== undefined && (typeof lenValue !== 'number' || !Number.isInteger(lenValue) || lenValue < 0)) {
    return { error: `IPv6SubnetLen must be a non-negative integer, got ${describe(lenValue)}` };
  }
  if (!enableIPv6) return { ...(network === undefined ? {} : { network }), ...(warning === undefined ? {} : { warning }) };
  if (network === undefined || (network.base === 0n && network.length === 0)) {
    return { error: 'IPv6Network is missing: flannel needs an IPv6Network when EnableIPv6 is true' };
  }
  let subnetLen = lenValue ?? 0;
  if (subnetLen > 0) {
    if (subnetLen > 126) return { error: `IPv6SubnetLen ${subnetLen} is too long: it must be at most 126` };
    if (subnetLen < network.length + 2) {
      return {
        error: `IPv6SubnetLen ${subnetLen} is too short for IPv6Network ${formatCidr6(network)}: it must be at least ${network.length + 2} so the network holds four subnets`,
      };
    }
  } else if (network.length > 124) {
    return { error: `IPv6Network ${formatCidr6(network)} is too small: the smallest useful flannel IPv6Network is a /124` };
  } else {
    subnetLen = network.length <= 62 ? 64 : network.length + 2;
  }
  for (const [name, address] of bounds) {
    if (address === '::') continue; // the zero address means "default" to flannel
    if (!cidr6Contains(network, parseCidr6(`${address}/128`))) {
      return { error: `${name} ${address} is not in the range of the IPv6Network ${formatCidr6(network)}` };
    }
    if (!ipv6Aligned(address, subnetLen)) return { error: `${name} ${address} is not on an IPv6SubnetLen (/${subnetLen}) boundary` };
  }
  return { network, subnetLen, ...(warning === undefined ? {} : { warning }) };
}

function parseBool(obj: JsonObject, name: 'EnableIPv4' | 'EnableIPv6'): boolean | undefined | { error: string } {
  const value = field(obj, name);
  if (value !== undefined && typeof value !== 'boolean') return { error: `${name} must be true or false, got ${describe(value)}` };
  return value;
}

/**
 * Parses flannel's network config JSON. The result is what flanneld would run with: SubnetLen
 * defaults to 24 when Network is /22 or larger, otherwise to Network's length + 2 (networks
 * smaller than /28 are refused); an explicit SubnetLen must be at most 30 and leave room for at
 * least four subnets (≥ Network's length + 2); the IPv6 fields follow the same rules at their scale
 * (see parseIpv6Fields). `Backend.Type` is lower-cased, `udp` when Backend is missing. Warnings
 * (non-canonical networks, a route-programming backend) do not make the config unusable.
 */
export function parseNetworkConfig(text: string): ParseConfigResult {
  const parsed = parseJsonObject(text, 'network config');
  if ('error' in parsed) return parsed;
  const obj = parsed.value;
  const warnings: string[] = [];

  const enableIPv4Value = parseBool(obj, 'EnableIPv4');
  if (typeof enableIPv4Value === 'object') return enableIPv4Value;
  const enableIPv4 = enableIPv4Value ?? true;
  const enableIPv6Value = parseBool(obj, 'EnableIPv6');
  if (typeof enableIPv6Value === 'object') return enableIPv6Value;
  const enableIPv6 = enableIPv6Value ?? false;

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

  const v6 = parseIpv6Fields(obj, enableIPv6);
  if ('error' in v6) return v6;
  if (v6.warning !== undefined) warnings.push(v6.warning);
  const ipv6 = {
    enableIPv6,
    ...(v6.network === undefined ? {} : { ipv6Network: formatCidr6(v6.network) }),
    ...(v6.subnetLen === undefined ? {} : { ipv6SubnetLen: v6.subnetLen }),
  };

  const networkValue = field(obj, 'Network');
  if (networkValue === undefined) {
    if (enableIPv4) return { error: 'Network is missing: flannel needs an IPv4 Network when EnableIPv4 is true' };
    if (!enableIPv6) return { error: 'EnableIPv4 and EnableIPv6 are both false: there is no subnet to route' };
    return { config: { subnetLen: 0, enableIPv4, ...ipv6, backendType }, warnings };
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
    config: { network: formatCidr(network.cidr), subnetLen, enableIPv4, ...ipv6, backendType },
    warnings,
  };
}
