/**
 * The time source of the pacing layer: a monotonic clock and one-shot timers. Production uses the
 * system clock; tests drive a ManualPacingClock by hand, so pacing is proven on counts and order,
 * never on wall-clock time.
 */

export interface PacingClock {
  /** Milliseconds on a monotonic clock (only differences matter). */
  now(): number;
  /** Calls `callback` once, `ms` from now; the returned function cancels it. */
  schedule(ms: number, callback: () => void): () => void;
}

export const systemClock: PacingClock = {
  now: () => performance.now(),
  schedule: (ms, callback) => {
    const timer = setTimeout(callback, Math.max(0, ms));
    return () => clearTimeout(timer);
  },
};

interface ManualTimer {
  readonly at: number;
  readonly seq: number;
  readonly callback: () => void;
}

/** A clock that moves only when told to; due timers fire in time order (then creation order). */
export class ManualPacingClock implements PacingClock {
  private current: number;
  private seq = 0;
  private timers: ManualTimer[] = [];

  constructor(start = 0) {
    this.current = start;
  }

  readonly now = (): number => this.current;

  readonly schedule = (ms: number, callback: () => void): (() => void) => {
    const timer: ManualTimer = { at: this.current + Math.max(0, ms), seq: this.seq++, callback };
    this.timers.push(timer);
    return () => {
      this.timers = this.timers.filter((t) => t !== timer);
    };
  };

  /** When the next timer is due, or undefined when none is pending. */
  nextTimerAt(): number | undefined {
    let next: number | undefined;
    for (const timer of this.timers) if (next === undefined || timer.at < next) next = timer.at;
    return next;
  }

  pendingTimers(): number {
    return this.timers.length;
  }

  /** Moves time forward by `ms`, firing every timer that falls due on the way, in order. */
  advance(ms: number): void {
    this.advanceTo(this.current + ms);
  }

  /** Moves time to `at` (never backwards), firing due timers in order. */
  advanceTo(at: number): void {
    for (;;) {
      const due = this.timers
        .filter((t) => t.at <= at)
        .sort((a, b) => a.at - b.at || a.seq - b.seq)[0];
      if (due === undefined) break;
      this.timers = this.timers.filter((t) => t !== due);
      this.current = Math.max(this.current, due.at);
      due.callback();
    }
    this.current = Math.max(this.current, at);
  }

  /** Jumps to the next pending timer and fires it (and any due at the same time). False when none is pending. */
  runNext(): boolean {
    const next = this.nextTimerAt();
    if (next === undefined) return false;
    this.advanceTo(next);
    return true;
  }
}

/** Waits `ms` on `clock`; rejects with the signal's reason when it aborts first. */
export function sleepOn(clock: PacingClock, ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<void>((resolve, reject) => {
    const onAbort = (): void => {
      cancel();
      reject(signal.reason);
    };
    const cancel = clock.schedule(ms, () => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    });
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
