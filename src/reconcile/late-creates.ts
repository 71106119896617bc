/**
 * Creates for leases that appear while a pass applies its changes (a long cold start), sent in the
 * same pass ahead of its remaining creates instead of after the whole pass. Passes still never
 * overlap and the pass is still the only writer: the late creates go through a create queue of the
 * pass (of their own, so that they need not wait for slots the pass's creates hold), for
 * destinations the pass does not touch.
 *
 * The planner decides them, over every lease of a fresh snapshot and the pass's listing with its
 * planned and late creates added as routes (they hold their slots) and no deletes (the pass's own
 * may not be done yet, so their slots are not lent): only creates for leases new since the plan
 * are taken. A lease the limit leaves out waits for the next pass, as before.
 */
import type { ActualRoute, Change, NodeResolution, RouteProvider } from '../../providers/provider.js';
import { plan, type Plan, type PlanInput } from '../planner/plan.js';
import type { LeaseSnapshot } from '../leases/types.js';

/** What applyChanges needs of a source of late creates. */
export interface LateCreateSource {
  /** The pass's create phase began: submit late creates from now on. */
  open(submit: (change: Change) => void): void;
  /** The pass's own creates are done: finish what is being decided, then submit nothing more. */
  close(): Promise<void>;
}

interface LateContext {
  readonly provider: RouteProvider;
  readonly snapshot: () => LeaseSnapshot | null;
  /** What the pass planned from: its network, listing, resolutions and policy. */
  readonly input: PlanInput;
  readonly plan: Plan;
  readonly signal: AbortSignal;
  readonly onError: (err: unknown) => void;
}

export class LateCreates implements LateCreateSource {
  private submit: ((change: Change) => void) | undefined;
  private closed = false;
  private running: Promise<void> | undefined;
  private again = false;
  /** Destinations of the pass's changes and of late creates sent: never written twice in one pass. */
  private readonly touched = new Set<string>();
  private readonly known: ReadonlySet<string>;
  /** Per table: the pass's planned creates and the late ones sent, as routes holding their slots. */
  private readonly added = new Map<string, ActualRoute[]>();
  private readonly resolutions: Map<string, NodeResolution>;

  constructor(private readonly context: LateContext) {
    this.known = new Set(context.plan.leases.map((l) => l.subnet));
    this.resolutions = new Map(context.input.resolutions);
    for (const change of context.plan.changes) {
      if (change.kind === 'enable-forwarding') continue;
      this.touched.add(`${change.table}\n${change.destination}`);
      if (change.kind === 'create') this.hold(change);
    }
  }

  open(submit: (change: Change) => void): void {
    if (this.closed) return;
    this.submit = submit;
    // Leases that came while the pass listed, planned, replaced and deleted.
    void this.leaseEvent();
  }

  async close(): Promise<void> {
    this.closed = true;
    while (this.running !== undefined) await this.running;
    this.submit = undefined;
  }

  /** A lease changed: decide creates for new leases (one decision at a time; events meanwhile make one more). */
  leaseEvent(): Promise<void> {
    if (this.submit === undefined || this.closed) return Promise.resolve();
    if (this.running !== undefined) {
      this.again = true;
      return this.running;
    }
    this.running = (async () => {
      do {
        this.again = false;
        try {
          await this.decide();
        } catch (err) {
          if (!this.context.signal.aborted) this.context.onError(err);
        }
      } while (this.again && !this.closed);
    })().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private async decide(): Promise<void> {
    const snapshot = this.context.snapshot();
    if (snapshot === null || snapshot.config === null) return;
    const fresh = snapshot.leases.filter((l) => !this.known.has(l.subnet));
    if (fresh.length === 0) return;
    // Only the new nodes are looked up (an event-driven lookup: known IPs come from the cache).
    const unknownIps = [...new Set(fresh.map((l) => l.nodeIp))].filter((ip) => !this.resolutions.has(ip));
    if (unknownIps.length > 0) {
      for (const [ip, answer] of await this.context.provider.resolveNodes(unknownIps, this.context.signal, { refresh: false })) this.resolutions.set(ip, answer);
    }
    if (this.closed || this.submit === undefined) return;
    const input = this.context.input;
    // The pass's network: a changed flannel config is the next pass's business.
    const decided = plan({
      ...input,
      leases: snapshot.leases,
      protectedSubnets: [...input.protectedSubnets, ...snapshot.invalid.flatMap((invalid) => (invalid.subnet !== undefined ? [invalid.subnet] : []))],
      tables: input.tables.map((table) => ({ ...table, routes: [...table.routes, ...(this.added.get(table.id) ?? [])] })),
      resolutions: this.resolutions,
      // No deletes: the routes the pass deletes keep their slots until it is done with them.
      policy: { ...input.policy, maxDeletesPerPass: { kind: 'count', value: 0 } },
    });
    const freshSubnets = new Set(fresh.map((l) => l.subnet));
    for (const change of decided.changes) {
      if (change.kind !== 'create' || !freshSubnets.has(change.destination)) continue;
      const key = `${change.table}\n${change.destination}`;
      if (this.touched.has(key)) continue;
      this.touched.add(key);
      this.hold(change);
      this.submit(change);
    }
  }

  private hold(change: Change & { kind: 'create' }): void {
    const list = this.added.get(change.table) ?? [];
    list.push(plannedRoute(change.destination, change.target));
    this.added.set(change.table, list);
  }
}

/** A create of this pass, as the route it will be: owned, counted, weight 1. */
function plannedRoute(destination: string, target: string): ActualRoute {
  return {
    destination,
    target,
    targetKind: 'instance',
    origin: 'created',
    quotaWeight: 1,
    blackhole: false,
    bearsOwnerMarks: true,
    inManagedSpace: true,
    ...(destination.includes(':') ? { family: 'ipv6' as const } : {}),
    via: `planned create → ${target}`,
  };
}
