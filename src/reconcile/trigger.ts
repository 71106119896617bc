/**
 * The one reconcile trigger (DESIGN §2.6): lease events, the periodic resync and leadership all
 * call request(); requests coalesce, passes never overlap, and a request that arrives during a
 * pass causes exactly one more pass after it.
 */
export type TriggerReason = 'startup' | 'lease-event' | 'resync' | 'retry' | 'leadership';

export interface TriggerOptions {
  /** Lease events wait this long for more events before a pass starts. */
  readonly debounceMs: number;
  readonly resyncIntervalMs: number;
  readonly run: (reasons: ReadonlySet<TriggerReason>, signal: AbortSignal) => Promise<void>;
  readonly onError: (err: unknown) => void;
}

export class ReconcileTrigger {
  private pending = new Set<TriggerReason>();
  private timer: NodeJS.Timeout | undefined;
  private resyncTimer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;

  constructor(
    private readonly options: TriggerOptions,
    private readonly signal: AbortSignal,
  ) {
    signal.addEventListener('abort', () => this.stop(), { once: true });
  }

  /** Starts the periodic resync and runs a first pass at once. */
  start(): void {
    this.resyncTimer = setInterval(() => this.request('resync'), this.options.resyncIntervalMs);
    this.resyncTimer.unref();
    this.request('startup');
  }

  request(reason: TriggerReason, delayMs = reason === 'lease-event' ? this.options.debounceMs : 0): void {
    if (this.stopped) return;
    this.pending.add(reason);
    if (this.running !== undefined) return;
    if (this.timer !== undefined && delayMs > 0) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.drain(), delayMs);
  }

  /** Resolves when no pass is running (after stop(), once the current pass has ended). */
  async idle(): Promise<void> {
    while (this.running !== undefined) await this.running;
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    clearInterval(this.resyncTimer);
  }

  private drain(): void {
    this.timer = undefined;
    if (this.stopped || this.running !== undefined || this.pending.size === 0) return;
    const reasons = this.pending;
    this.pending = new Set();
    this.running = this.options
      .run(reasons, this.signal)
      .catch((err: unknown) => this.options.onError(err))
      .finally(() => {
        this.running = undefined;
        if (this.pending.size > 0 && !this.stopped) {
          const onlyEvents = [...this.pending].every((r) => r === 'lease-event');
          this.timer = setTimeout(() => this.drain(), onlyEvents ? this.options.debounceMs : 0);
        }
      });
  }
}
