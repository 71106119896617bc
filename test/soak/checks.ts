/**
 * The soak's invariant checks, apart from the run that feeds them so each can be shown to fire
 * (test/soak/checks.test.ts). State checks watch the EC2 world after every change; log checks
 * read the whole call log or a replica's log lines, so no instant is skipped.
 */
import type { Ec2Call, Ec2World } from '../sim/ec2/world.js';

export type LogLine = Record<string, unknown>;

export const msgOf = (line: LogLine): string => String(line['msg'] ?? '');
export const timeOf = (line: LogLine): number => (typeof line['time'] === 'number' ? line['time'] : 0);

/** [start, end) of each leadership term in a replica's log (end: released, lost, or `diedAt`). */
export function termsOf(lines: readonly LogLine[], diedAt?: number): Array<[number, number]> {
  const result: Array<[number, number]> = [];
  let start: number | undefined;
  for (const line of lines) {
    const msg = msgOf(line);
    if (msg === 'elected leader') start = timeOf(line);
    else if (start !== undefined && (msg.startsWith('leadership lost') || msg === 'resigning leadership' || msg === 'leadership released')) {
      result.push([start, timeOf(line)]);
      start = undefined;
    }
  }
  if (start !== undefined) result.push([start, diedAt ?? Number.POSITIVE_INFINITY]);
  return result;
}

export interface StateWatchOptions {
  readonly world: Ec2World;
  readonly tables: readonly string[];
  readonly routeLimit: number;
  /** Undisturbed ms an active route may target an ENI whose SourceDestCheck is still on. */
  readonly forwardingWindowMs: number;
  /** While true, the forwarding clock stands still (faults, outages, takeovers). */
  readonly disturbed: (now: number) => boolean;
  readonly now: () => number;
  readonly violate: (check: 'route-limit' | 'forwarding', message: string) => void;
}

/** Counted routes ≤ limit and forwarding on for routed ENIs, judged at every observe(). */
export class StateWatch {
  private readonly overLimit = new Set<string>();
  readonly maxCounted = new Map<string, number>();
  /** ENI → undisturbed ms it has been the target of an active route with SourceDestCheck on. */
  private readonly checking = new Map<string, { waitedMs: number; since: number; reported: boolean }>();
  private lastObserved: number;

  constructor(private readonly options: StateWatchOptions) {
    this.lastObserved = options.now();
  }

  /** No ENI is still inside its forwarding window (each is fixed, or already reported). */
  settled(): boolean {
    return [...this.checking.values()].every((entry) => entry.reported);
  }

  observe(): void {
    const { world, tables, routeLimit, forwardingWindowMs, violate } = this.options;
    const now = this.options.now();
    // The state was constant since the last observation: that span counts unless disturbed.
    if (!this.options.disturbed(now)) for (const entry of this.checking.values()) entry.waitedMs += now - this.lastObserved;
    this.lastObserved = now;
    const targeted = new Map<string, string[]>();
    for (const table of tables) {
      const counted = world.countedRoutesOf(table);
      this.maxCounted.set(table, Math.max(this.maxCounted.get(table) ?? 0, counted));
      if (counted > routeLimit && !this.overLimit.has(table)) {
        this.overLimit.add(table);
        const last = world.calls().at(-1);
        violate('route-limit', `${table} holds ${counted} counted routes (limit ${routeLimit}) at ${now}, after call ${last === undefined ? '-' : `${last.seq} ${last.action} ${last.params['DestinationCidrBlock'] ?? ''}`}`);
      } else if (counted <= routeLimit) this.overLimit.delete(table);
      for (const route of world.routes(table)) {
        if (route.state !== 'active' || route.networkInterfaceId === undefined) continue;
        targeted.set(route.networkInterfaceId, [...(targeted.get(route.networkInterfaceId) ?? []), table]);
      }
    }
    for (const eni of targeted.keys()) {
      if (!world.networkInterface(eni).sourceDestCheck) this.checking.delete(eni);
      else if (!this.checking.has(eni)) this.checking.set(eni, { waitedMs: 0, since: now, reported: false });
    }
    for (const [eni, entry] of this.checking) {
      if (!targeted.has(eni)) this.checking.delete(eni);
      else if (entry.waitedMs > forwardingWindowMs && !entry.reported) {
        entry.reported = true;
        violate('forwarding', `${eni} still has SourceDestCheck on ${Math.round(entry.waitedMs)} ms (undisturbed) after an active route in ${targeted.get(eni)?.join(', ')} targeted it (since ${entry.since})`);
      }
    }
  }
}

export const failedCall = (call: Ec2Call): boolean => call.httpStatus < 200 || call.httpStatus >= 300;

/** Failed calls per action in every 60-s window: the most seen, and each breach of the budget. */
export function failedCallBudget(calls: readonly Ec2Call[], perMinute: number): { maxPerMinute: Record<string, number>; breaches: string[] } {
  const failures = new Map<string, number[]>();
  for (const call of calls) {
    if (!failedCall(call)) continue;
    const times = failures.get(call.action) ?? [];
    times.push(call.time);
    failures.set(call.action, times);
  }
  const maxPerMinute: Record<string, number> = {};
  const breaches: string[] = [];
  for (const [action, unsorted] of failures) {
    const times = [...unsorted].sort((a, b) => a - b);
    let from = 0;
    let breached = false;
    for (let i = 0; i < times.length; i += 1) {
      while ((times[i] ?? 0) - (times[from] ?? 0) >= 60_000) from += 1;
      const inWindow = i - from + 1;
      maxPerMinute[action] = Math.max(maxPerMinute[action] ?? 0, inWindow);
      if (inWindow > perMinute && !breached) {
        breached = true;
        breaches.push(`${inWindow} failed ${action} calls in the minute up to ${times[i]} (budget ${perMinute})`);
      } else if (inWindow <= perMinute) breached = false;
    }
  }
  return { maxPerMinute, breaches };
}

const PASS_MESSAGES = new Set(['reconcile pass done', 'reconcile pass made no change']);

/**
 * Elections in one replica's log whose first pass was cut short by 'leadership lost' (excused
 * when etcd was down between a TTL before the election and the loss), and how many elections came
 * after campaigning longer than `longWaitMs`.
 */
export function firstPassChecks(
  lines: readonly LogLine[],
  options: { readonly etcdDown: ReadonlyArray<readonly [number, number]>; readonly ttlMs: number; readonly longWaitMs: number },
): { violations: string[]; longWaitElections: number } {
  const violations: string[] = [];
  let longWaitElections = 0;
  let campaignAt: number | undefined;
  for (let i = 0; i < lines.length; i += 1) {
    const line = lines[i] ?? {};
    const msg = msgOf(line);
    if (msg === 'campaigning for leadership') campaignAt = timeOf(line);
    if (msg !== 'elected leader') continue;
    const electedAt = timeOf(line);
    const waited = campaignAt === undefined ? undefined : electedAt - campaignAt;
    if (waited !== undefined && waited > options.longWaitMs) longWaitElections += 1;
    let next: LogLine | undefined;
    for (let j = i + 1; j < lines.length && next === undefined; j += 1) {
      const m = msgOf(lines[j] ?? {});
      if (PASS_MESSAGES.has(m) || m.startsWith('leadership lost') || m === 'resigning leadership') next = lines[j];
    }
    if (next === undefined || !msgOf(next).startsWith('leadership lost')) continue;
    const lostAt = timeOf(next);
    if (options.etcdDown.some(([from, to]) => from <= lostAt && to >= electedAt - options.ttlMs)) continue;
    // For judging: how long before the election etcd last came back.
    const back = options.etcdDown.filter(([, to]) => to <= electedAt).at(-1)?.[1];
    const since = back === undefined ? 'no etcd restart before' : `etcd back ${electedAt - back} ms before`;
    violations.push(`elected at ${electedAt} after campaigning ${waited ?? '?'} ms (${since}), lost leadership ${lostAt - electedAt} ms later before its first pass ended: "${msgOf(next)}"`);
  }
  return { violations, longWaitElections };
}
