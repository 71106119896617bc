/**
 * AbortSignal helpers built on plain controllers and listeners: AbortSignal.any and
 * AbortSignal.timeout can lose their listeners to garbage collection on Node 20, so a shutdown or
 * a lost leadership would go unnoticed; and signals composed with AbortSignal.any stay referenced
 * by their sources (nodejs/node#55351), a leak on a signal that lives as long as a leadership.
 *
 * For one call on a long-lived signal, use `withSignal` (or `linkedSignal` and release it): the
 * call gets a signal of its own, and the long-lived one carries at most one listener, however many
 * calls are in flight, and none once they are done (more than 10 listeners on one signal make Node
 * print a plain-text MaxListenersExceededWarning).
 */

interface Links {
  readonly children: Set<AbortController>;
  readonly onAbort: () => void;
}

/** A parent signal → the controllers linked to it, sharing one listener on the parent. */
const links = new WeakMap<AbortSignal, Links>();

function link(parent: AbortSignal, child: AbortController): () => void {
  let entry = links.get(parent);
  if (entry === undefined) {
    const children = new Set<AbortController>();
    const onAbort = (): void => {
      links.delete(parent);
      for (const c of children) c.abort(parent.reason);
      children.clear();
    };
    entry = { children, onAbort };
    links.set(parent, entry);
    parent.addEventListener('abort', onAbort, { once: true });
  }
  const { children, onAbort } = entry;
  children.add(child);
  return () => {
    if (!children.delete(child) || children.size > 0) return;
    parent.removeEventListener('abort', onAbort);
    if (links.get(parent) === entry) links.delete(parent);
  };
}

/** A signal of one call's own: aborts with `parent` (or after `timeoutMs`) until `release()`. */
export interface LinkedSignal {
  readonly signal: AbortSignal;
  /** Whether it was the timeout (not the parent) that aborted it. */
  readonly timedOut: boolean;
  /** Detaches it from the parent and stops the timer; call exactly when the call ends. */
  release(): void;
}

export function linkedSignal(parent: AbortSignal, timeoutMs?: number, timeoutReason?: () => unknown): LinkedSignal {
  const controller = new AbortController();
  let timedOut = false;
  if (parent.aborted) {
    controller.abort(parent.reason);
    return { signal: controller.signal, timedOut, release: () => undefined };
  }
  const unlink = link(parent, controller);
  const timer =
    timeoutMs === undefined
      ? undefined
      : setTimeout(() => {
          timedOut = true;
          unlink();
          controller.abort(timeoutReason?.() ?? timeoutError(timeoutMs));
        }, timeoutMs);
  return {
    signal: controller.signal,
    get timedOut() {
      return timedOut;
    },
    release: () => {
      if (timer !== undefined) clearTimeout(timer);
      unlink();
    },
  };
}

/** Runs `work` with a signal of its own (see linkedSignal), released when `work` settles. */
export async function withSignal<T>(
  parent: AbortSignal,
  work: (signal: AbortSignal, linked: LinkedSignal) => Promise<T>,
  timeoutMs?: number,
): Promise<T> {
  parent.throwIfAborted();
  const linked = linkedSignal(parent, timeoutMs);
  try {
    return await work(linked.signal, linked);
  } finally {
    linked.release();
  }
}

/** Settles as `work` does, or rejects with the signal's reason if it aborts first (work that takes no signal). */
export function untilAborted<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) {
    work.catch(() => undefined); // settles unobserved: its failure must not surface as unhandled
    return Promise.reject(signal.reason as Error);
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason as Error);
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (err: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(err);
      },
    );
  });
}

/** Waits `ms`; rejects with the signal's reason on abort, leaving no listener behind. */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.reject(signal.reason as Error);
  return new Promise<void>((resolve, reject) => {
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal.reason as Error);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

function timeoutError(ms: number): Error {
  return Object.assign(new Error(`gave up after ${ms} ms`), { name: 'TimeoutError', code: 'ETIMEDOUT' });
}

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
