/**
 * Applies a plan's changes through the provider: a bounded number of calls on the wire per kind of
 * change, retries for throttling and transient errors, and no retry for errors that are permanent
 * for a lease. A failing change never blocks the others.
 *
 * Pacing (why: docs/architecture.md, 'AWS facts', throttling): a provider with a pacer (RouteProvider.pacer) paces each of its calls on the
 * token bucket of the API action it makes, mirroring the cloud's own limits, so changes go out at
 * the cloud's rate. Here that means:
 * - each kind of change (create, replace, delete, enable-forwarding: one API action each) has its
 *   own queue of `concurrency` slots, as it has its own bucket: changes waiting for one action's
 *   refill never hold up changes of another; late creates have a queue of their own too, of at
 *   most LATE_CONCURRENCY slots (on GCE, whose concurrency is 500, this bounds the extra in flight);
 * - a throttled answer (someone else spends the account's tokens too) has already drained the
 *   bucket, so the change is retried at once and waits there for the next refill, instead of
 *   sleeping blindly; without a pacer, throttling backs off exponentially with jitter.
 */
import PQueue from 'p-queue';
import type { Change, RouteProvider } from '../../providers/provider.js';
import type { TableBudget } from '../planner/plan.js';
import { familyOfDestination } from '../net/cidr6.js';
import { classifyError, isRetryable, type ClassifiedError } from '../errors.js';
import { sleep, withSignal } from '../abort.js';
import type { LateCreateSource } from './late-creates.js';

export interface ApplyOptions {
  /** Calls on the wire at once, per kind of change (unless the provider declares its own). */
  readonly concurrency: number;
  readonly maxAttempts: number;
  /** First back-off after a transient error; throttling waits five times longer (unpaced providers). */
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
  readonly random?: () => number;
  /** Waits between attempts (tests pass a fake clock's); default: timers. */
  readonly sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
  readonly onAttemptFailed?: (change: Change, error: ClassifiedError, attempt: number, retryInMs: number | undefined) => void;
  readonly onResult?: (result: ChangeResult) => void;
}

/** Slots of the late creates' queue (at most the provider's concurrency): a few leases at a time. */
const LATE_CONCURRENCY = 50;

export const DEFAULT_APPLY_OPTIONS: ApplyOptions = { concurrency: 8, maxAttempts: 6, baseDelayMs: 200, maxDelayMs: 10_000 };

export type ChangeResult =
  | { readonly change: Change; readonly ok: true; readonly attempts: number }
  | {
      readonly change: Change;
      readonly ok: false;
      readonly attempts: number;
      readonly error: ClassifiedError;
      /** A create never sent: the table would have gone over its limit (a delete it needed failed). */
      readonly heldBack?: true;
    };

/** The error code of a create held back to keep its table within the limit. */
export const HELD_BACK_CODE = 'RouteLimitHeldBack';

export function backoffMs(error: ClassifiedError, attempt: number, options: ApplyOptions): number {
  const base = error.class === 'throttled' ? options.baseDelayMs * 5 : options.baseDelayMs;
  const ceiling = Math.min(options.maxDelayMs, base * 2 ** (attempt - 1));
  // "Equal jitter": at least half the ceiling, so retries spread without collapsing to zero.
  return ceiling / 2 + (options.random ?? Math.random)() * (ceiling / 2);
}

/** The wait before the next attempt; a paced provider's throttled call waits in its drained bucket instead. */
export function retryDelayMs(error: ClassifiedError, attempt: number, options: ApplyOptions, paced: boolean): number {
  if (paced && error.class === 'throttled') return 0;
  return backoffMs(error, attempt, options);
}

/**
 * One change with a signal of its own: p-queue and the back-off sleep each add an abort listener per
 * waiting change, and on the long-lived pass signal hundreds of them would make Node print a
 * plain-text MaxListenersExceededWarning; the pass signal keeps one shared listener instead.
 */
async function applyOne(provider: RouteProvider, change: Change, passSignal: AbortSignal, options: ApplyOptions, queue: PQueue, priority = 0): Promise<ChangeResult> {
  if (passSignal.aborted) return { change, ok: false, attempts: 0, error: classifyError(passSignal.reason) };
  return withSignal(passSignal, (signal) => attempts(provider, change, signal, options, queue, priority));
}

async function attempts(provider: RouteProvider, change: Change, signal: AbortSignal, options: ApplyOptions, queue: PQueue, priority: number): Promise<ChangeResult> {
  const paced = provider.pacer !== undefined;
  for (let attempt = 1; ; attempt += 1) {
    try {
      await queue.add(
        async () => {
          signal.throwIfAborted();
          // A late create (priority) is urgent at the rate limit too: it goes ahead of the calls waiting there.
          await provider.apply(change, signal, priority > 0 ? { urgent: true } : undefined);
        },
        { signal, priority },
      );
      return { change, ok: true, attempts: attempt };
    } catch (err) {
      const error = classifyError(signal.aborted ? signal.reason ?? err : err);
      const retry = isRetryable(error) && attempt < options.maxAttempts && !signal.aborted;
      const delay = retry ? retryDelayMs(error, attempt, options, paced) : undefined;
      options.onAttemptFailed?.(change, error, attempt, delay);
      if (delay === undefined) return { change, ok: false, attempts: attempt, error };
      if (delay > 0) {
        try {
          await (options.sleep ?? sleep)(delay, signal);
        } catch {
          return { change, ok: false, attempts: attempt, error: classifyError(signal.reason) };
        }
      }
    }
  }
}

/** Creates of several tables, taken in turn (table A's first, table B's first, …): each node gets all its routes early. */
function interleaveByTable(creates: readonly Change[]): Change[] {
  const byTable = new Map<string, Change[]>();
  for (const change of creates) {
    const table = change.kind === 'enable-forwarding' ? '' : change.table;
    let list = byTable.get(table);
    if (list === undefined) byTable.set(table, (list = []));
    list.push(change);
  }
  if (byTable.size <= 1) return [...creates];
  const lists = [...byTable.values()];
  const out: Change[] = [];
  for (let i = 0; out.length < creates.length; i += 1) {
    for (const list of lists) {
      const change = list[i];
      if (change !== undefined) out.push(change);
    }
  }
  return out;
}

/**
 * Splits the creates (in their order) into those that keep each table within its limit given the
 * deletes that succeeded, and those held back. A table without a budget holds nothing back.
 */
function admitCreates(
  creates: readonly Change[],
  budgets: readonly TableBudget[],
  deleteResults: readonly ChangeResult[],
): { readonly send: Change[]; readonly held: ChangeResult[] } {
  // A table's IPv6 routes have a budget of their own where the quota counts them apart (AWS).
  const roomKey = (table: string, family: 'ipv6' | undefined): string => `${table}\n${family ?? ''}`;
  const budgetOf = (change: Change & { kind: 'create' }): TableBudget | undefined =>
    (familyOfDestination(change.destination) === 'ipv6' ? budgets.find((b) => b.table === change.table && b.family === 'ipv6') : undefined) ??
    budgets.find((b) => b.table === change.table && b.family === undefined);
  const room = new Map<string, number>();
  for (const budget of budgets) {
    const uncounted = new Set(budget.uncountedDeletes);
    const freed = deleteResults.filter(
      (r) => r.ok && r.change.kind === 'delete' && r.change.table === budget.table && !uncounted.has(r.change.destination),
    ).length;
    room.set(roomKey(budget.table, budget.family), budget.limit - (budget.countedBefore - freed));
  }
  const send: Change[] = [];
  const held: ChangeResult[] = [];
  for (const change of creates) {
    if (change.kind !== 'create') continue;
    const budget = budgetOf(change);
    const key = budget === undefined ? undefined : roomKey(budget.table, budget.family);
    const left = key === undefined ? undefined : room.get(key);
    if (left === undefined || left > 0) {
      if (key !== undefined && left !== undefined) room.set(key, left - 1);
      send.push(change);
      continue;
    }
    const limit = budget?.limit;
    const failed = deleteResults.filter((r) => !r.ok && r.change.kind === 'delete' && r.change.table === change.table);
    const why =
      failed.length > 0
        ? `the delete it waited for failed (${failed.map((r) => describeDelete(r.change)).join(', ')})`
        : 'the deletes that free its room did not happen';
    held.push({
      change,
      ok: false,
      attempts: 0,
      heldBack: true,
      error: {
        class: 'lease',
        code: HELD_BACK_CODE,
        httpStatus: undefined,
        message: `not sent: ${change.table} would exceed its route limit of ${limit ?? '?'}: ${why}`,
      },
    });
  }
  return { send, held };
}

function describeDelete(change: Change): string {
  return change.kind === 'delete' ? `delete ${change.destination} (${change.reason}) from ${change.table}` : change.kind;
}

/**
 * Replaces and deletes go first; creates follow once the deletes that free their capacity are
 * done, and only as many as each table's budget allows given the deletes that succeeded.
 * Forwarding fixes (another API action, another bucket) run alongside both.
 */
export async function applyChanges(
  provider: RouteProvider,
  changes: readonly Change[],
  signal: AbortSignal,
  options: ApplyOptions = DEFAULT_APPLY_OPTIONS,
  budgets?: readonly TableBudget[],
  /** Creates for leases that appear during the pass, sent ahead of its waiting creates (late-creates.ts). */
  late?: LateCreateSource,
): Promise<ChangeResult[]> {
  const concurrency = provider.concurrency ?? options.concurrency;
  const queues = new Map<Change['kind'], PQueue>();
  const queueFor = (kind: Change['kind']): PQueue => {
    let queue = queues.get(kind);
    if (queue === undefined) queues.set(kind, (queue = new PQueue({ concurrency })));
    return queue;
  };
  const results: ChangeResult[] = [];
  const run = async (batch: readonly Change[]): Promise<void> => {
    await Promise.all(
      batch.map(async (change) => {
        const result = await applyOne(provider, change, signal, options, queueFor(change.kind));
        results.push(result);
        options.onResult?.(result);
      }),
    );
  };
  const fixes = run(changes.filter((c) => c.kind === 'enable-forwarding'));
  const lateRuns: Array<Promise<void>> = [];
  try {
    await run(changes.filter((c) => c.kind === 'replace' || c.kind === 'delete'));
    const creates = interleaveByTable(changes.filter((c) => c.kind === 'create'));
    let send = creates;
    if (budgets !== undefined) {
      const admitted = admitCreates(creates, budgets, results);
      for (const result of admitted.held) {
        results.push(result);
        options.onResult?.(result);
      }
      send = admitted.send;
    }
    // Late creates jump the queue: slots of their own (the pass's creates may hold every slot of
    // theirs, waiting for the rate limit), and urgent at the rate limit itself.
    const lateQueue = new PQueue({ concurrency: Math.min(concurrency, LATE_CONCURRENCY) });
    late?.open((change) => {
      lateRuns.push(
        applyOne(provider, change, signal, options, lateQueue, 1).then((result) => {
          results.push(result);
          options.onResult?.(result);
        }),
      );
    });
    await run(send);
  } finally {
    await late?.close();
    await Promise.all(lateRuns);
    await fixes;
  }
  return results;
}
