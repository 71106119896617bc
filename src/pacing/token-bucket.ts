/**
 * A client-side token bucket that mirrors a cloud's server-side one (docs/architecture.md, 'AWS facts': AWS refills each
 * action's bucket once a second), so that routesync sends at the cloud's rate without being refused.
 *
 * The client cannot see the server's bucket — neither its level nor when it refills — only its own
 * calls, so it stays on the safe side of it, without assuming anything about latency:
 *
 * - Refills are discrete, like the server's: `refill` tokens every `intervalMs`, never a continuous
 *   trickle (a trickle would send a call 200 ms after a burst, before the server's next refill).
 * - While full the bucket has no phase. After the first call from full, the first refill comes one
 *   interval after that call's answer: by then the call has reached the server, and the server's
 *   first refill after it has come too (a refill the server made while still full was wasted, and
 *   is not counted).
 * - Each refill is matched with the one server refill in the interval before it, and adds no more
 *   than that one can have: a server that is nearly full wastes part of its refill, so the client
 *   adds at most `capacity` minus its highest level in that interval, its level being its tokens
 *   plus the calls not answered yet (which may not have reached the server).
 * - Adaptive backoff: a call the server throttles anyway (someone else shares the account's bucket,
 *   or a previous replica drained it) empties the bucket, counts the calls still on the wire as
 *   spent (refunded when they come back throttled too), restarts the phase from that answer and
 *   halves the refill rate; the rate recovers additively, `recovery` per refill.
 *
 * Waiters are served first come, first served, except that an urgent one (a lease that came during
 * a long pass: src/reconcile/late-creates.ts) goes ahead of every waiter that is not. So while
 * urgent callers come faster than the refill, the others wait (the total rate is the same); leases
 * do not arrive at several a second for long. Every wait
 * honours its AbortSignal. Every permit must be reported (`done`), or the bucket counts its call as
 * on the wire forever.
 */
import type { AcquireOptions, PacedOutcome, PacerPermit, RateLimit } from '../../providers/provider.js';
import { systemClock, type PacingClock } from './clock.js';

export interface BucketOptions {
  /** Rate multiplier applied on a throttled answer (0..1). Default 0.5. */
  readonly decrease?: number;
  /** Added to the rate multiplier at each refill until it is back to 1. Default 0.1. */
  readonly recovery?: number;
  /** The rate multiplier never drops below this. Default 0.1. */
  readonly minRate?: number;
  /** Called when an answer comes back throttled; `drained` says whether it emptied the bucket. */
  readonly onThrottled?: (drained: boolean) => void;
}

export interface BucketStats {
  /** Permits handed out. */
  readonly acquired: number;
  /** Calls reported throttled. */
  readonly throttled: number;
  /** Times a throttled answer emptied the bucket. */
  readonly drains: number;
  /** Permits that had to wait for a refill. */
  readonly waited: number;
}

interface Waiter {
  readonly urgent: boolean;
  readonly resolve: (permit: PacerPermit) => void;
  readonly reject: (reason: unknown) => void;
  cleanup: () => void;
}

/** full: no phase; starting: left full, the phase starts at the next answer; running: refills due at nextRefillAt. */
type Phase = { readonly kind: 'full' } | { readonly kind: 'starting' } | { readonly kind: 'running'; nextRefillAt: number };

export class TokenBucket {
  private tokens: number;
  private phase: Phase = { kind: 'full' };
  /** The highest level in the current refill interval; undefined until it is first looked at. */
  private peak: number | undefined;
  private rateFactor = 1;
  private epoch = 0;
  /** Calls granted and not answered yet. */
  private onTheWire = 0;
  private readonly waiters: Waiter[] = [];
  private cancelTimer: (() => void) | undefined;
  private timerAt: number | undefined;
  private readonly decrease: number;
  private readonly recovery: number;
  private readonly minRate: number;
  private counts = { acquired: 0, throttled: 0, drains: 0, waited: 0 };

  constructor(
    readonly limit: RateLimit,
    private readonly clock: PacingClock = systemClock,
    private readonly options: BucketOptions = {},
  ) {
    if (!(limit.capacity >= 1) || !(limit.refill > 0) || !(limit.intervalMs > 0)) {
      throw new RangeError(`a rate limit needs capacity ≥ 1, refill > 0 and intervalMs > 0, got ${JSON.stringify(limit)}`);
    }
    this.tokens = limit.capacity;
    this.decrease = options.decrease ?? 0.5;
    this.recovery = options.recovery ?? 0.1;
    this.minRate = options.minRate ?? 0.1;
  }

  /** Whole tokens available now. */
  available(): number {
    this.advance(this.clock.now());
    return Math.max(0, Math.floor(this.tokens));
  }

  /** Calls granted and not reported yet. */
  inFlight(): number {
    return this.onTheWire;
  }

  /** Callers waiting for a token. */
  waiting(): number {
    return this.waiters.length;
  }

  /** The current fraction of the nominal refill rate (1 unless recently throttled). */
  rate(): number {
    this.advance(this.clock.now());
    return this.rateFactor;
  }

  /** When the next refill is due; undefined while full, or until the first answer after leaving full. */
  nextRefill(): number | undefined {
    this.advance(this.clock.now());
    return this.phase.kind === 'running' ? this.phase.nextRefillAt : undefined;
  }

  stats(): BucketStats {
    return { ...this.counts };
  }

  /** A permit now, or undefined when none is free (or others are already waiting). */
  tryAcquire(): PacerPermit | undefined {
    const now = this.clock.now();
    this.advance(now);
    if (this.waiters.length > 0 || this.tokens < 1) return undefined;
    return this.take(now);
  }

  /** Waits for a token (first come, first served; urgent before the rest); rejects with the signal's reason on abort. */
  acquire(signal: AbortSignal, options: AcquireOptions = {}): Promise<PacerPermit> {
    if (signal.aborted) return Promise.reject(signal.reason);
    const urgent = options.urgent === true;
    const now = this.clock.now();
    this.advance(now);
    if (this.waiters.length === 0 && this.tokens >= 1) return Promise.resolve(this.take(now));
    this.counts.waited += 1;
    return new Promise<PacerPermit>((resolve, reject) => {
      const onAbort = (): void => {
        const index = this.waiters.indexOf(waiter);
        if (index >= 0) this.waiters.splice(index, 1);
        reject(signal.reason);
        this.schedule();
      };
      const waiter: Waiter = { urgent, resolve, reject, cleanup: () => signal.removeEventListener('abort', onAbort) };
      signal.addEventListener('abort', onAbort, { once: true });
      // Behind the urgent waiters already there, ahead of the others.
      const at = urgent ? this.waiters.findIndex((w) => !w.urgent) : -1;
      if (at >= 0) this.waiters.splice(at, 0, waiter);
      else this.waiters.push(waiter);
      this.schedule();
    });
  }

  private take(now: number): PacerPermit {
    if (this.phase.kind === 'full') this.phase = { kind: 'starting' };
    this.tokens -= 1;
    this.onTheWire += 1;
    this.counts.acquired += 1;
    this.notePeak(now);
    const epoch = this.epoch;
    let finished = false;
    return {
      done: (outcome: PacedOutcome) => {
        if (finished) return;
        finished = true;
        this.finish(epoch, outcome);
      },
    };
  }

  private finish(epoch: number, outcome: PacedOutcome): void {
    const now = this.clock.now();
    this.advance(now);
    this.onTheWire -= 1;
    if (this.phase.kind === 'starting') {
      // The first answer since leaving full: that call has reached the server; so has, within one
      // interval, the server's next refill.
      this.phase = { kind: 'running', nextRefillAt: now + this.limit.intervalMs };
      this.peak = undefined;
    }
    if (outcome === 'throttled') {
      this.counts.throttled += 1;
      if (epoch === this.epoch) {
        this.drain(now);
        this.options.onThrottled?.(true);
      } else {
        // Sent before the last drain, which counted it as spent: it was not, give it back.
        this.tokens = Math.min(this.limit.capacity - this.onTheWire, this.tokens + 1);
        this.options.onThrottled?.(false);
      }
    }
    this.notePeak(now);
    this.pump();
  }

  private drain(now: number): void {
    this.epoch += 1;
    this.counts.drains += 1;
    // The calls still on the wire may yet take the server's next tokens: count them as spent.
    this.tokens = -this.onTheWire;
    this.rateFactor = Math.max(this.minRate, this.rateFactor * this.decrease);
    // The server was empty when the throttled call arrived, before this answer: one interval from
    // now is past its next refill.
    this.phase = { kind: 'running', nextRefillAt: now + this.limit.intervalMs };
    this.peak = undefined;
  }

  /** Tokens plus the calls not answered yet: at most what the server may hold, as far as we know. */
  private level(): number {
    return this.tokens + this.onTheWire;
  }

  /**
   * Records the level now as a candidate peak of the refill interval under way, (start, next
   * refill]: open at its start, so what happens at that very instant counts by its final state.
   */
  private notePeak(now: number): void {
    if (this.phase.kind !== 'running') return;
    const start = this.phase.nextRefillAt - this.limit.intervalMs;
    if (now <= start) return;
    // The first look since the interval began: nothing changed since its start, whose level counts too.
    this.peak = Math.max(this.peak ?? this.level(), this.level());
  }

  /**
   * Brings the bucket to `now`: applies the refills due, each bounded by the room the matched server
   * refill had. Nothing changed since the last call, so the level at the start of an interval that
   * began meanwhile is the level now.
   */
  private advance(now: number): void {
    const { capacity, refill, intervalMs } = this.limit;
    while (this.phase.kind === 'running' && now >= this.phase.nextRefillAt) {
      const at = this.phase.nextRefillAt;
      const cap = capacity - this.onTheWire;
      if (this.tokens >= cap && this.rateFactor >= 1) {
        // Capped by the calls on the wire, at full rate: further refills change nothing but the phase.
        this.phase.nextRefillAt += (Math.floor((now - at) / intervalMs) + 1) * intervalMs;
        this.peak = undefined;
        break;
      }
      const peak = this.peak ?? this.level();
      const gain = Math.max(0, Math.min(refill * this.rateFactor, capacity - peak));
      this.tokens = Math.max(this.tokens, Math.min(cap, this.tokens + gain));
      this.rateFactor = Math.min(1, this.rateFactor + this.recovery);
      this.phase.nextRefillAt = at + intervalMs;
      // The next interval's peak starts from the level at `at` once that instant is over (lazily).
      this.peak = undefined;
    }
    if (this.tokens >= capacity) {
      // Full: idle long enough that nothing says the server is short; back to the nominal rate.
      this.tokens = capacity;
      this.phase = { kind: 'full' };
      this.peak = undefined;
      this.rateFactor = 1;
      return;
    }
    this.notePeak(now);
  }

  /** Serves waiters while tokens last, then sets the timer for the next refill. */
  private pump(): void {
    const now = this.clock.now();
    this.advance(now);
    while (this.waiters.length > 0 && this.tokens >= 1) {
      const waiter = this.waiters.shift();
      if (waiter === undefined) break;
      waiter.cleanup();
      waiter.resolve(this.take(now));
    }
    this.schedule();
  }

  private schedule(): void {
    // While starting, the first answer (not a timer) moves the bucket on.
    const at = this.waiters.length > 0 && this.phase.kind === 'running' ? this.phase.nextRefillAt : undefined;
    if (at === this.timerAt) return;
    this.cancelTimer?.();
    this.cancelTimer = undefined;
    this.timerAt = at;
    if (at === undefined) return;
    this.cancelTimer = this.clock.schedule(at - this.clock.now(), () => {
      this.cancelTimer = undefined;
      this.timerAt = undefined;
      this.pump();
    });
  }
}
