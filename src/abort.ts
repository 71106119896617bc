/**
 * AbortSignal helpers built on plain controllers and listeners: AbortSignal.any and
 * AbortSignal.timeout can lose their listeners to garbage collection on Node 20, so a shutdown or
 * a lost leadership would go unnoticed.
 */

/** A signal that aborts when any of `signals` does, with that signal's reason. */
export function anySignal(signals: readonly AbortSignal[]): AbortSignal {
  const controller = new AbortController();
  for (const signal of signals) {
    if (signal.aborted) {
      controller.abort(signal.reason);
      return controller.signal;
    }
  }
  const onAbort = (event: Event): void => {
    controller.abort((event.target as AbortSignal).reason);
    for (const signal of signals) signal.removeEventListener('abort', onAbort);
  };
  for (const signal of signals) signal.addEventListener('abort', onAbort, { once: true });
  return controller.signal;
}

/** Runs `work` with a signal that aborts when `signal` does or after `ms`. */
export async function withDeadline<T>(signal: AbortSignal, ms: number, work: (deadline: AbortSignal) => Promise<T>): Promise<T> {
  const timeout = new AbortController();
  const timer = setTimeout(() => timeout.abort(new Error(`gave up after ${ms} ms`)), ms);
  try {
    return await work(anySignal([signal, timeout.signal]));
  } finally {
    // Only the timer stops: a signal derived from the deadline (a leadership) must stay usable.
    clearTimeout(timer);
  }
}
