/** An IPv4 prefix as two numbers, so containment and ordering are arithmetic. */
export interface Ipv4Cidr {
  readonly base: number;
  readonly length: number;
}

/**
 * The value of dotted-quad IPv4 text in text[start, end), or undefined when it is not exactly four
 * decimal octets of 0–255 without leading zeros (what /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.…){3}$/
 * accepts). Scanned by hand, without a regular expression or split: the planner parses every
 * lease's subnet on every pass.
 */
function scanIpv4(text: string, start: number, end: number): number | undefined {
  let value = 0;
  let octet = 0;
  let digits = 0;
  let dots = 0;
  for (let i = start; i < end; i += 1) {
    const code = text.charCodeAt(i);
    if (code === 46 /* . */) {
      if (digits === 0 || dots === 3) return undefined;
      value = value * 256 + octet;
      octet = 0;
      digits = 0;
      dots += 1;
    } else if (code >= 48 && code <= 57 /* 0-9 */) {
      if (digits > 0 && octet === 0) return undefined; // a leading zero
      octet = octet * 10 + (code - 48);
      digits += 1;
      if (octet > 255) return undefined;
    } else {
      return undefined;
    }
  }
  if (dots !== 3 || digits === 0) return undefined;
  return value * 256 + octet;
}

/** Dotted-quad IPv4 only: rejects the octal, hex and short forms that inet_aton would accept. */
export function isIpv4(text: string): boolean {
  return scanIpv4(text, 0, text.length) !== undefined;
}

export function ipv4ToNumber(text: string): number {
  const value = scanIpv4(text, 0, text.length);
  if (value === undefined) throw new Error(`not an IPv4 address: ${JSON.stringify(text)}`);
  return value;
}

export function numberToIpv4(value: number): string {
  return [value >>> 24, (value >>> 16) & 255, (value >>> 8) & 255, value & 255].join('.');
}

function mask(length: number): number {
  return length === 0 ? 0 : (0xffffffff << (32 - length)) >>> 0;
}

/**
 * Parses `a.b.c.d/len`. With `requireAligned` (the default) host bits must be zero,
 * as for a flannel subnet or a route destination.
 */
export function parseCidr(text: string, requireAligned = true): Ipv4Cidr {
  const slash = text.indexOf('/');
  if (slash < 0) throw new Error(`not a CIDR (no prefix length): ${JSON.stringify(text)}`);
  const lengthText = text.slice(slash + 1);
  if (!/^\d{1,2}$/.test(lengthText) || Number(lengthText) > 32) {
    throw new Error(`bad prefix length in ${JSON.stringify(text)}`);
  }
  const length = Number(lengthText);
  const value = scanIpv4(text, 0, slash);
  if (value === undefined) throw new Error(`not an IPv4 address: ${JSON.stringify(text.slice(0, slash))}`);
  const base = (value & mask(length)) >>> 0;
  if (requireAligned && base !== value) {
    throw new Error(`${text} has host bits set (network address is ${numberToIpv4(base)}/${length})`);
  }
  return { base, length };
}

export function tryParseCidr(text: string): Ipv4Cidr | undefined {
  try {
    return parseCidr(text);
  } catch {
    return undefined;
  }
}

export function formatCidr(cidr: Ipv4Cidr): string {
  return `${numberToIpv4(cidr.base)}/${cidr.length}`;
}

/** True when `inner` lies entirely inside `outer`. */
export function cidrContains(outer: Ipv4Cidr, inner: Ipv4Cidr): boolean {
  return inner.length >= outer.length && ((inner.base & mask(outer.length)) >>> 0) === outer.base;
}

export function ipInCidr(ip: string, cidr: Ipv4Cidr): boolean {
  return ((ipv4ToNumber(ip) & mask(cidr.length)) >>> 0) === cidr.base;
}

/** Orders prefixes by address, then by length: "lower subnet first". */
export function compareCidrs(a: Ipv4Cidr, b: Ipv4Cidr): number {
  return a.base - b.base || a.length - b.length;
}

/** Canonical text of a CIDR string (`10.1.019.0/24` is rejected, `10.1.19.0/24` stays). */
export function canonicalCidr(text: string): string {
  return formatCidr(parseCidr(text));
}
