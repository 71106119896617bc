/**
 * The one reconcile trigger: lease events, the periodic resync and leadership all call request();
 * requests coalesce, passes never overlap, and a request that arrives during a pass causes exactly
 * one more pass after it.
 *
 * The trigger also owns retry backoff. A pass that asks for a retry (`request('retry')`, usually
 * during the pass) or that crashes is followed by another pass only after an exponential, jittered
 * delay capped at the resync interval; a pass that asks for none resets the delay. While a retry
 * waits, every other request joins that retry pass: a failing cloud must not be hammered.
 */
export type TriggerReason = 'startup' | 'lease-event' | 'resync' | 'retry' | 'leadership';

export interface TriggerOptions {
  /** Lease events wait this long for more events before a pass starts. */
  readonly debounceMs: number;
  readonly resyncIntervalMs: number;
  readonly run: (reasons: ReadonlySet<TriggerReason>, signal: AbortSignal) => Promise<void>;
  readonly onError: (err: unknown) => void;
  /** First retry delay (default 1 s); it doubles per failed pass. */
  readonly retryBaseMs?: number;
  /** Upper bound of the retry delay (default: the resync interval, at most 5 minutes). */
  readonly retryMaxMs?: number;
  /** Source of jitter in [0, 1) (default Math.random); tests pin it. */
  readonly random?: () => number;
  /** Told each time a retry is scheduled, e.g. to log it. */
  readonly onRetryScheduled?: (delayMs: number, failures: number) => void;
}

const DEFAULT_RETRY_BASE_MS = 1000;
// With a long resync interval, a lease event after the cloud recovers must not wait an hour.
const DEFAULT_RETRY_CEILING_MS = 5 * 60_000;

type TimerKind = 'debounce' | 'now' | 'backoff';

export class ReconcileTrigger {
  private pending = new Set<TriggerReason>();
  private timer: NodeJS.Timeout | undefined;
  private timerKind: TimerKind | undefined;
  private resyncTimer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;
  /** Consecutive passes that asked for a retry (or crashed). */
  private failures = 0;
  /** Set when a retry is requested during the running pass. */
  private retryWanted = false;

  constructor(
    private readonly options: TriggerOptions,
    private readonly signal: AbortSignal,
  ) {
    if (signal.aborted) this.stop();
    else signal.addEventListener('abort', () => this.stop(), { once: true });
  }

  /** Starts the periodic resync and runs a first pass at once. */
  start(): void {
    if (this.stopped) return;
    this.resyncTimer = setInterval(() => this.request('resync'), this.options.resyncIntervalMs);
    this.resyncTimer.unref();
    this.request('startup');
  }

  request(reason: TriggerReason): void {
    if (this.stopped) return;
    if (reason === 'retry') {
      if (this.running !== undefined) {
        this.retryWanted = true;
        return;
      }
      if (this.timerKind === 'backoff') return;
      this.failures += 1;
      this.pending.add('retry');
      this.scheduleBackoff();
      return;
    }
    this.pending.add(reason);
    if (this.running !== undefined || this.timerKind === 'backoff') return;
    if (reason === 'lease-event') {
      if (this.timer === undefined) this.schedule('debounce', this.options.debounceMs);
      return;
    }
    if (this.timerKind !== 'now') this.schedule('now', 0);
  }

  /** Resolves when no pass is running (after stop(), once the current pass has ended). */
  async idle(): Promise<void> {
    while (this.running !== undefined) await this.running;
  }

  stop(): void {
    this.stopped = true;
    this.clearTimer();
    clearInterval(this.resyncTimer);
  }

  /** The delay before retry number `failures` (from 1): doubling, capped, with equal jitter. */
  retryDelayMs(failures: number): number {
    const base = this.options.retryBaseMs ?? DEFAULT_RETRY_BASE_MS;
    const cap = this.options.retryMaxMs ?? Math.min(this.options.resyncIntervalMs, DEFAULT_RETRY_CEILING_MS);
    const full = Math.min(cap, base * 2 ** Math.min(failures - 1, 30));
    // Half fixed, half random: replicas and restarts spread out, and the delay never collapses to 0.
    const random = this.options.random ?? Math.random;
    return Math.round(full / 2 + (random() * full) / 2);
  }

  private schedule(kind: TimerKind, delayMs: number): void {
    this.clearTimer();
    this.timerKind = kind;
    this.timer = setTimeout(() => this.drain(), delayMs);
  }

  private scheduleBackoff(): void {
    const delayMs = this.retryDelayMs(this.failures);
    this.schedule('backoff', delayMs);
    this.options.onRetryScheduled?.(delayMs, this.failures);
  }

  private clearTimer(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.timerKind = undefined;
  }

  private drain(): void {
    this.timer = undefined;
    this.timerKind = undefined;
    if (this.stopped || this.running !== undefined || this.pending.size === 0) return;
    const reasons = this.pending;
    this.pending = new Set();
    this.retryWanted = false;
    let crashed = false;
    this.running = this.options
      .run(reasons, this.signal)
      .catch((err: unknown) => {
        crashed = true;
        this.options.onError(err);
      })
      .finally(() => {
        this.running = undefined;
        if (this.stopped) return;
        if (this.retryWanted || crashed) {
          this.retryWanted = false;
          this.failures += 1;
          this.pending.add('retry');
          this.scheduleBackoff();
          return;
        }
        this.failures = 0;
        if (this.pending.size > 0) {
          const onlyEvents = [...this.pending].every((r) => r === 'lease-event');
          this.schedule(onlyEvents ? 'debounce' : 'now', onlyEvents ? this.options.debounceMs : 0);
        }
      });
  }
}
