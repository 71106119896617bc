/**
 * Fault injection and the call log, as both simulators keep them: scripted faults for the next
 * matching request(s), a seeded random error rate, added latency, and the log of requests served.
 * The clouds name things their own way (EC2: an `action` failing with an error `code`; GCE: a
 * `method` failing with a `reason`), so the records take those key names as parameters.
 */

/** The settings every simulator's `FaultSettings` has (each adds its own scope field). */
export interface BaseFaultSettings {
  /** Probability (0..1) of a random error per request. */
  readonly errorRate: number;
  /** Latency added to every request, in ms (divided by timeScale). */
  readonly latencyMs: number;
  /** Uniform random extra latency 0..jitter ms (seeded). */
  readonly latencyJitterMs: number;
}

/** A planned fault: `T` names the field of the operation it applies to, `E` the field of its error. */
export type ScriptedFaultOf<T extends string, E extends string> = { readonly [K in T | E]: string } & {
  readonly kind: 'error' | 'reset';
  readonly message: string;
  readonly httpStatus: number;
  /** Perform the request first, then fail (the client sees an error for work that was done). */
  readonly afterApply: boolean;
  remaining: number;
};

/** A random error, its name under the key `E`. */
export type RandomFaultOf<E extends string> = { readonly [K in E]: string } & { readonly httpStatus: number; readonly message: string };

export interface FaultInjectorOptions<S extends BaseFaultSettings, T extends string, E extends string> {
  /** The scripted fault's field naming the operation (`action`, `method`). */
  readonly targetKey: T;
  /** The field naming the error (`code`, `reason`). */
  readonly errorKey: E;
  /** The settings field restricting random errors to some operations. */
  readonly scopeKey: Exclude<keyof S, keyof BaseFaultSettings>;
  /** A random error is one of these two, equally likely. */
  readonly randomErrors: readonly [string, string];
  /** The cloud's HTTP status for an error. */
  readonly statusFor: (error: string) => number;
  /** The cloud's message for an error, where it has one. */
  readonly messages: Readonly<Record<string, string>>;
  /** Seeded: the same seed replays the same random errors and jitter. */
  readonly random: () => number;
  readonly timeScale: () => number;
  /** Initial error rate and latency (default 0). */
  readonly errorRate?: number | undefined;
  readonly latencyMs?: number | undefined;
}

export class FaultInjector<S extends BaseFaultSettings, T extends string, E extends string> {
  private current: S;
  private scripted: Array<ScriptedFaultOf<T, E>> = [];

  constructor(private readonly options: FaultInjectorOptions<S, T, E>) {
    this.current = { errorRate: options.errorRate ?? 0, latencyMs: options.latencyMs ?? 0, latencyJitterMs: 0 } as S;
  }

  get settings(): S {
    return this.current;
  }

  /** Sets the random error rate and added latency; omitted fields keep their value. */
  set(settings: Partial<S>): void {
    if (settings.errorRate !== undefined && (settings.errorRate < 0 || settings.errorRate > 1)) {
      throw new Error(`errorRate must be within 0..1, got ${settings.errorRate}`);
    }
    this.current = { ...this.current, ...settings };
  }

  /** The next `times` requests for `target` (`*` = any) fail with `error`. */
  failNext(
    target: string,
    error: string,
    times = 1,
    httpStatus?: number,
    options: { readonly afterApply?: boolean; readonly message?: string } = {},
  ): void {
    const { targetKey, errorKey, messages, statusFor } = this.options;
    this.scripted.push({
      [targetKey]: target,
      kind: 'error',
      [errorKey]: error,
      message: options.message ?? messages[error] ?? `Injected ${error}`,
      httpStatus: httpStatus ?? statusFor(error),
      afterApply: options.afterApply ?? false,
      remaining: times,
    } as ScriptedFaultOf<T, E>);
  }

  /** The next `times` requests for `target` (`*` = any) get their connection destroyed, no answer. */
  resetConnectionNext(target = '*', times = 1, options: { readonly afterApply?: boolean } = {}): void {
    const { targetKey, errorKey } = this.options;
    this.scripted.push({
      [targetKey]: target,
      kind: 'reset',
      [errorKey]: 'ECONNRESET',
      message: 'connection reset by simulator',
      httpStatus: 0,
      afterApply: options.afterApply ?? false,
      remaining: times,
    } as ScriptedFaultOf<T, E>);
  }

  /** Drops scripted faults and sets error rate and latency back to zero. */
  clear(): void {
    this.scripted = [];
    this.current = { errorRate: 0, latencyMs: 0, latencyJitterMs: 0 } as S;
  }

  /** Consumes the scripted fault that applies to this request, if any. */
  take(target: string): ScriptedFaultOf<T, E> | undefined {
    const key = this.options.targetKey;
    const index = this.scripted.findIndex((f) => f.remaining > 0 && (f[key] === '*' || f[key] === target));
    if (index < 0) return undefined;
    const fault = this.scripted[index];
    if (fault === undefined) return undefined;
    fault.remaining -= 1;
    if (fault.remaining <= 0) this.scripted.splice(index, 1);
    return { ...fault };
  }

  /** Rolls the dice for a random error. */
  roll(target: string): RandomFaultOf<E> | undefined {
    const { errorKey, scopeKey, randomErrors, statusFor, messages, random } = this.options;
    const { errorRate } = this.current;
    const scope = this.current[scopeKey] as readonly string[] | undefined;
    if (errorRate <= 0) return undefined;
    if (scope !== undefined && !scope.includes(target)) return undefined;
    if (random() >= errorRate) return undefined;
    const error = random() < 0.5 ? randomErrors[0] : randomErrors[1];
    return { [errorKey]: error, httpStatus: statusFor(error), message: messages[error] ?? error } as RandomFaultOf<E>;
  }

  /** Latency to add to the next request, already divided by the time scale. */
  nextLatencyMs(): number {
    const { latencyMs, latencyJitterMs } = this.current;
    const jitter = latencyJitterMs > 0 ? this.options.random() * latencyJitterMs : 0;
    return (latencyMs + jitter) / this.options.timeScale();
  }
}

/** Requests as served, in arrival order, and how many are still unanswered. */
export class CallLog<C extends { readonly seq: number }> {
  private readonly log: C[] = [];
  private seq = 0;
  private pending = 0;

  /** `nameOf`: the operation a call is for (what `calls(name)` filters by). */
  constructor(private readonly nameOf: (call: C) => string) {}

  /** A new request: its sequence number. */
  nextSeq(): number {
    this.seq += 1;
    this.pending += 1;
    return this.seq;
  }

  /** Requests received and not answered yet. */
  inFlight(): number {
    return this.pending;
  }

  record(call: C): void {
    this.pending -= 1;
    this.log.push(call);
  }

  /** Every request so far (or those for one operation), in arrival order. */
  calls(name?: string): C[] {
    const all = [...this.log].sort((a, b) => a.seq - b.seq);
    return name === undefined ? all : all.filter((c) => this.nameOf(c) === name);
  }

  clear(): void {
    this.log.length = 0;
  }
}
