/** Checks of flag values shared by the common flags and the providers' own; each names the flag and the value. */
import { UsageError } from '../config-types.js';

export function bad(flag: string, value: string, expected: string): UsageError {
  return new UsageError(`invalid value for ${flag}: ${JSON.stringify(value)} (${expected})`);
}

/** A check that the whole value matches `pattern`; `expected` says what was wanted, with an example. */
export function matching(pattern: RegExp, expected: string): (value: string, label: string) => void {
  return (value, label) => {
    if (!pattern.test(value)) throw bad(label, value, expected);
  };
}

export function positiveInt(flag: string, value: string, max = 1_000_000): number {
  if (!/^\d+$/.test(value) || Number(value) < 1 || Number(value) > max) throw bad(flag, value, `expected a whole number from 1 to ${max}`);
  return Number(value);
}

export function url(flag: string, value: string): string {
  let parsed: URL;
  try {
    parsed = new URL(value);
  } catch {
    throw bad(flag, value, 'expected a URL such as http://127.0.0.1:2379');
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw bad(flag, value, 'expected an http:// or https:// URL');
  return value;
}

/** flannel network names (`--networks`): one path segment each, so `<prefix>/<name>/config` stays unambiguous. */
const NETWORK_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;

export function networkNames(flag: string, names: readonly string[]): string[] {
  const seen = new Set<string>();
  for (const name of names) {
    // `subnets` and `config` are the single network's own keys under the prefix.
    if (!NETWORK_NAME.test(name) || name === 'subnets' || name === 'config') {
      throw bad(flag, name, 'expected network names of letters, digits, ".", "_" or "-", other than subnets and config');
    }
    if (seen.has(name)) throw bad(flag, name, 'expected each network once');
    seen.add(name);
  }
  return [...seen];
}
