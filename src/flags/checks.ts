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
