/**
 * Node IP → the last definitive answer of a provider's node lookups, and when each not-found answer
 * was given: a not-found answer is trusted only for a while, since a node may come up on that IP.
 * The aws-vpc node cache and the gce instance lookups both keep their answers here.
 */
import type { NodeResolution } from './provider.js';

/** How long a not-found answer stands before a resync looks the IP up again. */
export const NOT_FOUND_LIFETIME_MS = 10_000;

export class NodeAnswers<A extends NodeResolution> {
  private answers = new Map<string, A>();
  private readonly notFoundAt = new Map<string, number>();

  /** `now`: a monotonic clock, ms. */
  constructor(private readonly now: () => number) {}

  get(ip: string): A | undefined {
    return this.answers.get(ip);
  }

  has(ip: string): boolean {
    return this.answers.has(ip);
  }

  keys(): IterableIterator<string> {
    return this.answers.keys();
  }

  [Symbol.iterator](): IterableIterator<[string, A]> {
    return this.answers.entries();
  }

  /** Caches an answer, noting when a not-found one was given. */
  remember(ip: string, answer: A): void {
    this.answers.set(ip, answer);
    if (answer.status === 'not-found') this.notFoundAt.set(ip, this.now());
    else this.notFoundAt.delete(ip);
  }

  forget(ip: string): void {
    this.answers.delete(ip);
    this.notFoundAt.delete(ip);
  }

  /** Every answer at once (a whole listing): its not-found answers count as already old. */
  replaceAll(answers: Iterable<readonly [string, A]>): void {
    this.answers = new Map(answers);
    this.notFoundAt.clear();
  }

  /** Whether the not-found answer for `ip` was given `lifetimeMs` ago or longer (or at no known time). */
  notFoundExpired(ip: string, now: number, lifetimeMs = NOT_FOUND_LIFETIME_MS): boolean {
    const at = this.notFoundAt.get(ip);
    return at === undefined || now - at >= lifetimeMs;
  }
}
