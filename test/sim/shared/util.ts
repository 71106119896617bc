/** Small pieces both simulators build on: the clock, seeded randomness and hashing, number checks. */

/** Milliseconds since some origin; injectable so tests can drive time by hand. */
export type Clock = () => number;

/** A clock tests move by hand: `new ManualClock()`, pass `clock.now` as the world's clock. */
export class ManualClock {
  private current: number;

  constructor(start = 0) {
    this.current = start;
  }

  readonly now = (): number => this.current;

  advance(ms: number): void {
    this.current += ms;
  }
}

/** mulberry32: a small seedable PRNG, so fault injection replays with the same seed. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** 16 hex digits from the seed and a text (two FNV-1a-style 32-bit hashes). */
export function seededHash(seed: number, text: string): string {
  let a = (0x811c9dc5 ^ seed) >>> 0;
  let b = (0x01000193 ^ Math.imul(seed, 2654435761)) >>> 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193) >>> 0;
    b = Math.imul(b ^ c, 0x5bd1e995) >>> 0;
    b ^= b >>> 13;
  }
  a = Math.imul(a ^ (a >>> 16), 0x85ebca6b) >>> 0;
  b = Math.imul(b ^ (b >>> 15), 0xc2b2ae35) >>> 0;
  return a.toString(16).padStart(8, '0') + b.toString(16).padStart(8, '0');
}

export function positive(value: number, what: string): number {
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${what} must be a positive number, got ${value}`);
  return value;
}

export function nonNegative(value: number, what: string): number {
  if (!Number.isFinite(value) || value < 0) throw new Error(`${what} must be a non-negative number, got ${value}`);
  return value;
}
