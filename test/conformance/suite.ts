/**
 * The provider conformance suite (one set of scenarios, so every provider behaves alike): the core end-to-end scenarios, written once against
 * the RouteProvider interface and the Reconciler with a static lease view, and run for every
 * provider through a harness that knows how to build that provider's world and read it back.
 *
 * Provider-specific rules are parameters, not copies of the suite:
 * - `callsPerReplace`: a moved lease costs 1 mutating call (AWS ReplaceRoute) or 2 (GCE delete + insert);
 * - `forwardingOff`: a node that cannot forward is `fixed` (AWS SourceDestCheck) or `skipped` (GCE canIpForward);
 * - `baselineCounted`: routes of a fresh world that count toward the limit (AWS `local`, GCE default internet route).
 *
 * Every scenario runs for each family: IPv4 leases (10.1.i.0/24 → the node's IPv4 address) and the
 * IPv6 halves of dual-stack leases (fc00:0:0:i::/64 → its IPv6 address); the harness builds nodes
 * with both. Every scenario ends with an idempotency check: a second pass makes no mutating call.
 */
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import type { RouteProvider } from '../../providers/provider.js';
import type { Family, Lease, LeaseSnapshot } from '../../src/leases/types.js';
import { Reconciler, exitCodeFor, type PassReport } from '../../src/reconcile/reconciler.js';

export const FLANNEL_NETWORK = '10.1.0.0/16';
export const FLANNEL_IPV6_NETWORK = 'fc00::/48';

export interface WorldSpec {
  /** Nodes 1..n, each able to hold a route. */
  readonly nodes: number;
  /** The route limit of the (one) managed table, counting the world's baseline routes. */
  readonly limit: number;
  /** Nodes (1-based) that cannot forward packets at the start. */
  readonly forwardingOff?: readonly number[];
  /** The family of the scenario's leases: the nodes hold addresses of both either way. */
  readonly family: Family;
}

export interface ConformanceWorld {
  readonly provider: RouteProvider;
  /** The IP flannel's lease of node i carries for the world's family (PublicIP, or PublicIPv6). */
  nodeIp(i: number): string;
  /** The route target the provider reports for node i (AWS ENI id, GCE instance path). */
  targetOf(i: number): string;
  /** routesync's routes as the cloud holds them now: destination → target. */
  ownedRoutes(): Promise<Map<string, string>>;
  /** Every route routesync does not own, serialised, for before/after comparisons. */
  foreignSnapshot(): Promise<string>;
  /** Adds a route someone else made, at `destination` of either family (it counts toward the limit). */
  addForeignRoute(destination: string): Promise<void>;
  /** The node's instance is terminated / deleted. */
  removeNode(i: number): Promise<void>;
  /** Mutating cloud calls since the last reset. */
  mutatingCalls(): Promise<number>;
  resetCalls(): Promise<void>;
  /** The next route creation fails with a permanent (lease-level) error. */
  failNextCreate(): Promise<void>;
  close(): Promise<void>;
}

export interface ConformanceHarness {
  readonly name: string;
  readonly rules: {
    readonly callsPerReplace: number;
    readonly forwardingOff: 'fixed' | 'skipped';
    /** Per family: AWS counts each family's `local` route in its own pool; GCE's default route counts for both. */
    readonly baselineCounted: number;
  };
  createWorld(spec: WorldSpec): Promise<ConformanceWorld>;
}

const logger = pino({ level: 'silent' });
const signal = new AbortController().signal;

/** Destinations of the scenarios, per family: lease subnets inside the network, and one outside it. */
const DESTINATIONS: Readonly<Record<Family, { subnet(i: number): string; outside: string }>> = {
  ipv4: { subnet: (i) => `10.1.${i}.0/24`, outside: '192.168.0.0/16' },
  ipv6: { subnet: (i) => `fc00:0:0:${i.toString(16)}::/64`, outside: '2001:db8::/32' },
};

/** A static lease view the scenarios change between passes: one family's halves of dual-stack leases. */
class StaticLeases {
  private leases = new Map<string, Lease>();
  private revision = 1;

  constructor(private readonly family: Family) {}

  snapshot(): LeaseSnapshot {
    return {
      revision: this.revision,
      config: { network: FLANNEL_NETWORK, subnetLen: 24, enableIPv4: true, enableIPv6: true, ipv6Network: FLANNEL_IPV6_NETWORK, ipv6SubnetLen: 64, backendType: 'alloc' },
      leases: [...this.leases.values()],
      invalid: [],
    };
  }

  /** Node `subnetIndex`'s lease half held by `nodeIp`; later calls are younger leases. */
  put(subnetIndex: number, nodeIp: string): void {
    this.revision += 1;
    const subnet = DESTINATIONS[this.family].subnet(subnetIndex);
    const existing = this.leases.get(subnet);
    this.leases.set(subnet, {
      key: `/coreos.com/network/subnets/10.1.${subnetIndex}.0-24&fc00:0:0:${subnetIndex.toString(16)}::-64`,
      ...(this.family === 'ipv6' ? { family: 'ipv6' as const } : {}),
      subnet,
      nodeIp,
      createRevision: existing?.createRevision ?? this.revision,
      modRevision: this.revision,
      reservation: false,
    });
  }

  remove(subnetIndex: number): void {
    this.revision += 1;
    this.leases.delete(DESTINATIONS[this.family].subnet(subnetIndex));
  }
}

/** The capacity pool of the scenario's family in the one table: AWS counts IPv6 routes apart. */
function poolOf(report: PassReport, family: Family): { limit: number; capacity: number; ownedAfter: number; foreignCounted: number } | undefined {
  const table = report.tables[0];
  return family === 'ipv6' ? (table?.ipv6 ?? table) : table;
}

export function defineConformanceSuite(harness: ConformanceHarness): void {
  for (const family of ['ipv4', 'ipv6'] as const) defineFamilySuite(harness, family);
}

function defineFamilySuite(harness: ConformanceHarness, family: Family): void {
  const subnetOf = DESTINATIONS[family].subnet;
  describe(`provider conformance: ${harness.name}, ${family}`, () => {
    let world: ConformanceWorld | undefined;

    afterEach(async () => {
      await world?.provider.close();
      await world?.close();
      world = undefined;
    });

    async function setup(spec: Omit<WorldSpec, 'family'>): Promise<{ world: ConformanceWorld; leases: StaticLeases; reconciler: Reconciler }> {
      world = await harness.createWorld({ ...spec, family });
      const leases = new StaticLeases(family);
      const reconciler = new Reconciler(
        world.provider,
        leases,
        {
          dryRun: false,
          policy: { allowEmpty: false, maxDeletesPerPass: { kind: 'percent', value: 100 } },
          apply: { baseDelayMs: 2, maxDelayMs: 10, concurrency: 4 },
        },
        logger,
      );
      return { world, leases, reconciler };
    }

    /** Leases for nodes in the given order (first = oldest), each node's own subnet. */
    function leaseNodes(w: ConformanceWorld, leases: StaticLeases, nodes: readonly number[]): void {
      for (const i of nodes) leases.put(i, w.nodeIp(i));
    }

    function expected(w: ConformanceWorld, nodes: readonly number[]): Map<string, string> {
      return new Map(nodes.map((i) => [subnetOf(i), w.targetOf(i)]));
    }

    function sorted(map: Map<string, string>): Array<[string, string]> {
      return [...map.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    }

    function stateOf(report: PassReport, i: number): string | undefined {
      const lease = report.leases.find((l) => l.subnet === subnetOf(i));
      return lease === undefined ? undefined : `${lease.state}${lease.reason !== undefined ? `/${lease.reason}` : ''}`;
    }

    /** A second pass makes no mutating call and reports the same lease states. */
    async function expectIdempotent(w: ConformanceWorld, reconciler: Reconciler, previous: PassReport): Promise<void> {
      await w.resetCalls();
      const again = await reconciler.pass(signal);
      expect(again.outcome).toBe('applied');
      expect(again.results).toEqual([]);
      expect(await w.mutatingCalls()).toBe(0);
      const states = (r: PassReport): string[] => r.leases.map((l) => `${l.subnet} ${l.state}${l.reason !== undefined ? `/${l.reason}` : ''}`).sort();
      expect(states(again)).toEqual(states(previous));
      expect(exitCodeFor(again)).toBe(exitCodeFor(previous));
    }

    it('converges up to the limit, oldest leases first, and reports the rest as unrouted', async () => {
      const limit = 6;
      const capacity = limit - harness.rules.baselineCounted;
      const nodes = capacity + 3;
      const { world: w, leases, reconciler } = await setup({ nodes, limit });
      // The newest subnets are the oldest leases.
      const order = Array.from({ length: nodes }, (_, k) => nodes - k);
      leaseNodes(w, leases, order);

      const report = await reconciler.pass(signal);
      expect(report.outcome).toBe('applied');
      const winners = order.slice(0, capacity);
      const losers = order.slice(capacity);
      expect(sorted(await w.ownedRoutes())).toEqual(sorted(expected(w, winners)));
      for (const i of losers) expect(stateOf(report, i)).toBe('unrouted/route-limit');
      for (const i of winners) expect(stateOf(report, i)).toBe('routed');
      expect(report.results.filter((r) => !r.ok)).toEqual([]);
      expect(poolOf(report, family)).toMatchObject({ limit, capacity, ownedAfter: capacity });
      expect(exitCodeFor(report)).toBe(3);
      await expectIdempotent(w, reconciler, report);
    });

    it('creates the route of a new lease, and only that', async () => {
      const { world: w, leases, reconciler } = await setup({ nodes: 3, limit: 10 });
      leaseNodes(w, leases, [1, 2]);
      await reconciler.pass(signal);
      await w.resetCalls();

      leaseNodes(w, leases, [3]);
      const report = await reconciler.pass(signal);
      expect(exitCodeFor(report)).toBe(0);
      expect(sorted(await w.ownedRoutes())).toEqual(sorted(expected(w, [1, 2, 3])));
      expect(report.results.map((r) => `${r.change.kind} ${'destination' in r.change ? r.change.destination : ''}`)).toEqual([`create ${subnetOf(3)}`]);
      expect(await w.mutatingCalls()).toBe(1);
      await expectIdempotent(w, reconciler, report);
    });

    it('deletes the route of a lease that is gone', async () => {
      const { world: w, leases, reconciler } = await setup({ nodes: 3, limit: 10 });
      leaseNodes(w, leases, [1, 2, 3]);
      await reconciler.pass(signal);
      await w.resetCalls();

      leases.remove(2);
      const report = await reconciler.pass(signal);
      expect(exitCodeFor(report)).toBe(0);
      expect(sorted(await w.ownedRoutes())).toEqual(sorted(expected(w, [1, 3])));
      expect(report.results.map((r) => r.change.kind)).toEqual(['delete']);
      expect(await w.mutatingCalls()).toBe(1);
      await expectIdempotent(w, reconciler, report);
    });

    it('moves the route of a lease that moved to another node', async () => {
      const { world: w, leases, reconciler } = await setup({ nodes: 3, limit: 10 });
      leaseNodes(w, leases, [1, 2, 3]);
      await reconciler.pass(signal);
      await w.resetCalls();

      leases.put(1, w.nodeIp(3));
      const report = await reconciler.pass(signal);
      expect(exitCodeFor(report)).toBe(0);
      const routes = await w.ownedRoutes();
      expect(routes.get(subnetOf(1))).toBe(w.targetOf(3));
      expect(routes.size).toBe(3);
      expect(report.results.map((r) => r.change.kind)).toEqual(['replace']);
      expect(await w.mutatingCalls()).toBe(harness.rules.callsPerReplace);
      await expectIdempotent(w, reconciler, report);
    });

    it('never touches foreign routes, and reports a lease whose destination one holds', async () => {
      const { world: w, leases, reconciler } = await setup({ nodes: 3, limit: 10 });
      await w.addForeignRoute(DESTINATIONS[family].outside);
      await w.addForeignRoute(subnetOf(2));
      await w.addForeignRoute(subnetOf(200));
      const before = await w.foreignSnapshot();
      leaseNodes(w, leases, [1, 2, 3]);

      const report = await reconciler.pass(signal);
      expect(await w.foreignSnapshot()).toBe(before);
      expect(sorted(await w.ownedRoutes())).toEqual(sorted(expected(w, [1, 3])));
      expect(stateOf(report, 2)).toBe('conflict/conflict');
      expect(poolOf(report, family)?.foreignCounted).toBe(harness.rules.baselineCounted + 3);
      expect(exitCodeFor(report)).toBe(3);
      await expectIdempotent(w, reconciler, report);
      expect(await w.foreignSnapshot()).toBe(before);
    });

    it("deletes the route of a node that is gone and reports its lease, freeing the place", async () => {
      const limit = 4;
      const capacity = limit - harness.rules.baselineCounted;
      const { world: w, leases, reconciler } = await setup({ nodes: capacity + 1, limit });
      const all = Array.from({ length: capacity + 1 }, (_, k) => k + 1);
      leaseNodes(w, leases, all);
      const first = await reconciler.pass(signal);
      const waiting = capacity + 1;
      expect(stateOf(first, waiting)).toBe('unrouted/route-limit');

      await w.removeNode(2);
      await w.resetCalls();
      // Node 2's lease stays (flannel keeps leases 24 h): its route goes, the waiting lease takes the place.
      const report = await reconciler.pass(signal);
      expect(stateOf(report, 2)).toBe('unrouted/node-not-found');
      expect(stateOf(report, waiting)).toBe('routed');
      expect(sorted(await w.ownedRoutes())).toEqual(sorted(expected(w, all.filter((i) => i !== 2))));
      expect(exitCodeFor(report)).toBe(3);
      await expectIdempotent(w, reconciler, report);
    });

    it(`handles a node that cannot forward packets: ${harness.rules.forwardingOff}`, async () => {
      const { world: w, leases, reconciler } = await setup({ nodes: 3, limit: 10, forwardingOff: [2] });
      leaseNodes(w, leases, [1, 2, 3]);
      const report = await reconciler.pass(signal);
      if (harness.rules.forwardingOff === 'fixed') {
        expect(report.results.filter((r) => r.change.kind === 'enable-forwarding').map((r) => r.ok)).toEqual([true]);
        expect(sorted(await w.ownedRoutes())).toEqual(sorted(expected(w, [1, 2, 3])));
        expect(exitCodeFor(report)).toBe(0);
      } else {
        expect(report.results.some((r) => r.change.kind === 'enable-forwarding')).toBe(false);
        expect(sorted(await w.ownedRoutes())).toEqual(sorted(expected(w, [1, 3])));
        expect(stateOf(report, 2)).toBe('unrouted/forwarding-disabled');
        expect(exitCodeFor(report)).toBe(3);
      }
      await expectIdempotent(w, reconciler, report);
    });

    it('lets one failing change fail alone, and routes it in a later pass', async () => {
      const { world: w, leases, reconciler } = await setup({ nodes: 4, limit: 10 });
      leaseNodes(w, leases, [1, 2, 3, 4]);
      await w.failNextCreate();
      const report = await reconciler.pass(signal);
      const failed = report.results.filter((r) => !r.ok);
      expect(failed).toHaveLength(1);
      expect(failed[0]?.attempts).toBe(1);
      expect(report.leases.filter((l) => l.state === 'error')).toHaveLength(1);
      expect(report.leases.filter((l) => l.state === 'routed')).toHaveLength(3);
      expect((await w.ownedRoutes()).size).toBe(3);
      expect(exitCodeFor(report)).toBe(1);

      const next = await reconciler.pass(signal);
      expect(next.results.map((r) => `${r.change.kind} ${r.ok}`)).toEqual(['create true']);
      expect(sorted(await w.ownedRoutes())).toEqual(sorted(expected(w, [1, 2, 3, 4])));
      expect(exitCodeFor(next)).toBe(0);
      await expectIdempotent(w, reconciler, next);
    });
  });
}
