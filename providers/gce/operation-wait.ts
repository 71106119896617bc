/** Waiting for a GCE operation to be DONE: backed-off waits, a deadline, errors inside DONE operations. */
import { linkedSignal, sleep } from '../../src/abort.js';
import type { GceApi, GceOperation } from './compute-api.js';
import { GceApiError, GceOperationError } from './api-errors.js';

/** How long one change waits for its operation. */
export interface OperationWaitOptions {
  /**
   * Give up after this long, ms (default 10 minutes; route operations take seconds): the change
   * fails as transient, and a later pass lists what became of it.
   */
  readonly deadlineMs?: number;
  /** Pause after a wait answered before DONE, ms: first (default 1 s), doubled up to max (default 10 s). */
  readonly firstDelayMs?: number;
  readonly maxDelayMs?: number;
}

export interface WaitClock {
  now(): number;
  sleep(ms: number, signal: AbortSignal): Promise<void>;
}

export const OPERATION_DEADLINE_MS = 600_000;
const SYSTEM_CLOCK: WaitClock = { now: () => performance.now(), sleep };

/**
 * Waits until the operation is DONE, until the deadline at most; a DONE operation with an error
 * throws GceOperationError. A wait may answer before DONE (GCE's wait returns after about two
 * minutes, or sooner: globalOperations.wait reference), so a pause comes before the next one.
 */
export async function waitDone(
  api: GceApi,
  project: string,
  operation: GceOperation,
  signal: AbortSignal,
  options: { readonly clock?: WaitClock; readonly operationWait?: OperationWaitOptions },
): Promise<void> {
  const clock = options.clock ?? SYSTEM_CLOCK;
  const wait = options.operationWait ?? {};
  const deadlineMs = wait.deadlineMs ?? OPERATION_DEADLINE_MS;
  const maxDelayMs = wait.maxDelayMs ?? 10_000;
  let delayMs = Math.min(wait.firstDelayMs ?? 1_000, maxDelayMs);
  const deadline = clock.now() + deadlineMs;
  let current = operation;
  const gaveUp = (): GceApiError =>
    new GceApiError(
      `operation ${current.name ?? '?'} (${current.operationType ?? '?'}) not DONE after ${deadlineMs} ms: no longer waiting for it`,
      { status: 503, reason: 'operationWaitTimeout' },
    );
  while (String(current.status) !== 'DONE') {
    if (!current.name) throw new Error('GCE answered an operation without a name');
    const left = deadline - clock.now();
    if (left <= 0) throw gaveUp();
    // The wait request itself ends at the deadline too.
    const bounded = linkedSignal(signal, left, gaveUp);
    try {
      current = await api.waitOperation(project, current.name, bounded.signal);
    } finally {
      bounded.release();
    }
    if (String(current.status) === 'DONE') break;
    const pause = Math.min(delayMs, deadline - clock.now());
    if (pause > 0) await clock.sleep(pause, signal);
    delayMs = Math.min(delayMs * 2, maxDelayMs);
  }
  if ((current.error?.errors?.length ?? 0) > 0) throw new GceOperationError(current);
}
