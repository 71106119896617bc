/**
 * The chaos soak: three routesync replicas (real processes), a real etcd and the EC2 simulator,
 * with random lease churn, injected cloud faults, a long cloud-read outage, etcd restarts and
 * leader kills. Two managed tables of different capacity; routesync's --route-limit is below the
 * simulator's quota, so only routesync's own planning keeps a table within it.
 *
 * Invariants, each with its own violation count in the report:
 * - route-limit: counted routes ≤ --route-limit in every managed table, sampled after every
 *   simulator call (the world changes only inside a call or a harness step, both observed);
 * - forwarding: an ENI that an active route of a managed table targets has SourceDestCheck off
 *   within FORWARDING_WINDOW_MS (one resync plus a pass) of undisturbed time; time while a fault,
 *   an outage, an etcd restart or a takeover is on, and one resync after it, does not count;
 * - call-budget: failed calls (any non-2xx answer or reset) per action ≤ FAILED_CALLS_PER_MINUTE
 *   in every 60-s window, and during the read outage ≤ OUTAGE_START_ALLOWANCE + two per resync
 *   interval (the backoff's floor: a retry waits at least half of its cap, the resync interval);
 * - first-pass: after 'elected leader' no 'leadership lost' before that term's first pass ends
 *   (unless etcd was down meanwhile); the run includes standbys elected after > 3 × TTL waiting;
 * - quiet-etcd: over a quiet phase (no churn, no faults, status document settled) the etcd
 *   revision does not move;
 * - json-stderr: every stderr line of every replica is a JSON object;
 * - and as before: foreign routes untouched, one writer at a time and only in its term, no route
 *   deleted while its lease is live, convergence within a bound once the faults stop.
 * Used by `npm run soak` (minutes) and by a short run in `npm test`.
 */
import { startEtcd, putLease, deleteLease, waitFor, type EtcdServer } from '../helpers/etcd.js';
import { clusterArgs, startAwsCluster, writeFlannel, type AwsCluster, type Node } from '../helpers/aws-cluster.js';
import { checkedElsewhere, replicaOf, startRoutesync, stderrViolations, type RoutesyncProcess } from '../helpers/routesync.js';
import { seededRandom } from '../sim/ec2/throttle.js';
import type { Ec2Call } from '../sim/ec2/world.js';
import { failedCall, failedCallBudget, firstPassChecks, StateWatch, termsOf } from './checks.js';

export interface SoakOptions {
  /** Length of the chaos (outage, takeovers, random faults); setup, quiet phases and convergence come on top. */
  readonly durationMs: number;
  readonly seed?: number;
  /** Upper bound on convergence once the faults stop. */
  readonly convergenceBoundMs?: number;
  readonly log?: (line: string) => void;
}

export const CHECKS = [
  'route-limit',
  'forwarding',
  'call-budget',
  'first-pass',
  'quiet-etcd',
  'json-stderr',
  'foreign-routes',
  'single-writer',
  'live-route-deleted',
  'convergence',
  'takeover',
  'crash',
  'scenario',
] as const;
export type Check = (typeof CHECKS)[number];

export interface SoakReport {
  readonly durationMs: number;
  readonly faults: Record<string, number>;
  readonly failovers: number;
  readonly maxTakeoverMs: number;
  readonly convergenceAfterLastFaultMs: number;
  /** Every violation, named by its check (at most MAX_SHOWN per check, then a count). */
  readonly violations: string[];
  readonly violationCounts: Record<Check, number>;
  readonly mutatingCalls: number;
  /** Elections won by a replica that had campaigned for more than 3 × the leader TTL. */
  readonly longWaitElections: number;
  readonly readOutage: { readonly ms: number; readonly failedReads: number; readonly budget: number };
  readonly quietPhases: ReadonlyArray<{ readonly ms: number; readonly revisions: number }>;
  /** The most failed calls of each action in any 60-s window. */
  readonly maxFailedPerMinute: Record<string, number>;
  readonly notes: string[];
}

const PREFIX = '/coreos.com/network';
const CLUSTER = 'soak';
const LEASE_TTL_S = 3;
const RESYNC_MS = 2_000;
/** routesync's --route-limit; the simulator's quota is far above it. */
const ROUTE_LIMIT = 20;
const SIM_QUOTA = 500;
/** One pass after a resync: how long an active route may target an ENI that still checks source/dest. */
const FORWARDING_WINDOW_MS = RESYNC_MS + 3_000;
/** After a disturbance ends, routesync may first need a resync (and its backoff to reset). */
const RECOVERY_GRACE_MS = RESYNC_MS;
const FAILED_CALLS_PER_MINUTE = 120;
/** Failed reads allowed for the exponential start of a backoff, before it reaches its cap. */
const OUTAGE_START_ALLOWANCE = 5;
const LONG_WAIT_MS = 3 * LEASE_TTL_S * 1000;
/** The status publisher writes at most once per 15 s: settling may take that long, plus passes. */
const STATUS_SETTLE_MS = 15_000 + 3 * RESYNC_MS + 2_000;
/**
 * A change that reached the publisher just after a write is written up to 15 s later: the status key
 * unchanged for longer than that means no write is still pending, so any write after it is idle.
 */
const STATUS_STILL_MS = 15_000 + 1_000;
const MAX_SHOWN = 10;

/** Foreign routes per table; with `local`, table A keeps 3 counted routes it does not own, table B 2. */
const FOREIGN_A = [
  { destinationCidrBlock: '0.0.0.0/0', gatewayId: 'igw-0a1b2c3d4e5f60718' },
  { destinationCidrBlock: '10.1.250.0/24', natGatewayId: 'nat-0a1b2c3d4e5f60718' },
];
const FOREIGN_B = [{ destinationCidrBlock: '0.0.0.0/0', gatewayId: 'igw-0a1b2c3d4e5f60718' }];

interface Replica {
  readonly name: string;
  readonly proc: RoutesyncProcess;
  diedAt?: number;
}

/** [start, end) of each leadership term of a replica, from its logs (end: released, lost, or death). */
const terms = (replica: Replica): Array<[number, number]> => termsOf(replica.proc.logs(), replica.diedAt);
const clamp = (value: number, min: number, max: number): number => Math.min(max, Math.max(min, value));
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export async function runSoak(options: SoakOptions): Promise<SoakReport> {
  const log = options.log ?? (() => undefined);
  const seed = options.seed ?? 1;
  const random = seededRandom(seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
  const faults: Record<string, number> = {};
  const count = (kind: string): void => {
    faults[kind] = (faults[kind] ?? 0) + 1;
  };
  const counts = Object.fromEntries(CHECKS.map((c) => [c, 0])) as Record<Check, number>;
  const violations: string[] = [];
  const violate = (check: Check, message: string): void => {
    counts[check] += 1;
    if (counts[check] <= MAX_SHOWN) violations.push(`${check}: ${message}`);
  };
  const notes: string[] = [];
  const replicas: Replica[] = [];
  let etcd: EtcdServer | undefined;
  let cluster: AwsCluster | undefined;
  let ticker: NodeJS.Timeout | undefined;
  const started = Date.now();
  const takeovers: number[] = [];
  const etcdDown: Array<[number, number]> = [];
  const quietPhases: Array<{ ms: number; revisions: number }> = [];
  const outageMs = clamp(Math.round(options.durationMs * 0.4), 4 * RESYNC_MS, 60_000);
  const outageBudget = OUTAGE_START_ALLOWANCE + 2 * Math.ceil(outageMs / RESYNC_MS);
  let outage: [number, number] | undefined;

  try {
    etcd = await startEtcd();
    cluster = await startAwsCluster({ nodes: 40, routeLimit: ROUTE_LIMIT, clusterName: CLUSTER, sim: { seed, routeLimit: SIM_QUOTA } });
    const c = cluster;
    const e = etcd;
    const world = c.world;
    const tableB = world.createRouteTable({ vpcId: c.vpcId, tags: { 'routesync/cluster': CLUSTER } }).routeTableId;
    const foreign = new Map([[c.tableId, FOREIGN_A], [tableB, FOREIGN_B]]);
    for (const [table, routes] of foreign) for (const route of routes) world.addForeignRoute(table, route);
    const tables = [...foreign.keys()];
    const capacity = new Map(tables.map((t) => [t, ROUTE_LIMIT - world.countedRoutesOf(t)]));
    const foreignSnapshot = (): string =>
      JSON.stringify([...foreign].map(([t, routes]) => routes.map((f) => world.route(t, f.destinationCidrBlock))));
    const foreignBefore = foreignSnapshot();

    // ---- what disturbs routesync: while any is on (and one resync after), forwarding time stands still
    const active = new Set<string>();
    let graceUntil = 0;
    const begin = (kind: string): void => {
      active.add(kind);
    };
    const end = (kind: string): void => {
      active.delete(kind);
      graceUntil = Math.max(graceUntil, Date.now() + RECOVERY_GRACE_MS);
    };
    const pulse = (ms: number): void => {
      graceUntil = Math.max(graceUntil, Date.now() + ms);
    };

    const alive = (): Replica[] => replicas.filter((r) => r.diedAt === undefined);
    const leader = (): Replica | undefined =>
      alive().find((r) => {
        const t = terms(r).at(-1);
        return t !== undefined && t[1] === Number.POSITIVE_INFINITY;
      });
    let leaderless = false;
    const disturbed = (now: number): boolean => active.size > 0 || now < graceUntil || leaderless;

    // ---- route-limit and forwarding, observed after every simulator call and every harness step
    const watch = new StateWatch({
      world,
      tables,
      routeLimit: ROUTE_LIMIT,
      forwardingWindowMs: FORWARDING_WINDOW_MS,
      disturbed,
      now: Date.now,
      violate,
    });
    const observe = (): void => watch.observe();
    const record = world.record.bind(world);
    world.record = (call: Ec2Call): void => {
      record(call);
      observe();
    };
    ticker = setInterval(() => {
      const was = leaderless;
      leaderless = leader() === undefined;
      if (was && !leaderless) pulse(RECOVERY_GRACE_MS);
      observe();
    }, 100);

    // ---- leases: the model follows etcd only for writes etcd confirmed
    const live = new Map<string, Node>();
    const presence = new Map<string, Array<[number, number]>>();
    const setLive = (subnet: string, node: Node | undefined): void => {
      const now = Date.now();
      const spans = presence.get(subnet) ?? [];
      if (node !== undefined && !live.has(subnet)) spans.push([now, Number.POSITIVE_INFINITY]);
      if (node === undefined && live.has(subnet)) {
        const last = spans.at(-1);
        if (last !== undefined) last[1] = now;
      }
      presence.set(subnet, spans);
      if (node === undefined) live.delete(subnet);
      else live.set(subnet, node);
    };
    const written = async (write: Promise<unknown>): Promise<boolean> => {
      try {
        await write;
        return true;
      } catch {
        count('etcd-write-failed');
        return false;
      }
    };
    const spareNodes = (): Node[] => {
      const used = new Set([...live.values()]);
      return c.nodes.filter((n) => !used.has(n) && !live.has(n.subnet));
    };
    /** One step of lease churn: add, delete or move a lease. */
    const churn = async (): Promise<void> => {
      const roll = random();
      const spare = spareNodes();
      if (roll < 0.5 && spare.length > 0) {
        const node = pick(spare);
        if (await written(putLease(e.client, PREFIX, node.subnet, node.ip))) {
          setLive(node.subnet, node);
          count('lease-added');
        }
      } else if (roll < 0.83 && live.size > 5) {
        const subnet = pick([...live.keys()]);
        if (await written(deleteLease(e.client, PREFIX, subnet))) {
          setLive(subnet, undefined);
          count('lease-deleted');
        }
      } else if (live.size > 0 && spare.length > 0) {
        const subnet = pick([...live.keys()]);
        const target = pick(spare);
        if (await written(putLease(e.client, PREFIX, subnet, target.ip))) {
          live.set(subnet, target);
          count('lease-moved');
        }
      }
    };

    await writeFlannel(e.client, PREFIX, c.nodes.slice(0, 24));
    for (const node of c.nodes.slice(0, 24)) setLive(node.subnet, node);

    // ---- replicas
    let counter = 0;
    const launch = (): Replica => {
      counter += 1;
      const proc = startRoutesync(
        clusterArgs(c, e.endpoint, PREFIX, ['--leader-lease-ttl', `${LEASE_TTL_S}s`, '--resync-interval', `${RESYNC_MS / 1000}s`, '--leader-election-key', `/routesync/${CLUSTER}/leader`]),
      );
      checkedElsewhere(proc);
      const replica = { name: `r${counter}`, proc };
      replicas.push(replica);
      return replica;
    };
    for (let i = 0; i < 3; i += 1) launch();
    await waitFor(() => leader(), { timeoutMs: 30_000, message: 'no leader at start' });

    const waitTakeover = async (since: number): Promise<Replica | undefined> => {
      const next = await waitFor(
        () => {
          const l = leader();
          const t = l === undefined ? undefined : terms(l).at(-1)?.[0];
          return l !== undefined && t !== undefined && t >= since ? ([l, t] as const) : undefined;
        },
        { timeoutMs: 30_000, message: 'no takeover' },
      ).catch(() => undefined);
      if (next === undefined) {
        violate('takeover', `no leader within 30 s of a leader stop at ${since}`);
        return undefined;
      }
      takeovers.push(next[1] - since);
      return next[0];
    };
    const stopLeader = async (current: Replica, kind: NodeJS.Signals): Promise<void> => {
      const at = Date.now();
      begin('takeover');
      await current.proc.stop(kind);
      current.diedAt = Date.now();
      count(`leader-${kind}`);
      launch();
      await waitTakeover(at);
      end('takeover');
    };

    // ---- convergence: in each table, only live leases' routes to their node, as many as fit
    const converged = (): boolean => {
      for (const table of tables) {
        const routes = c.flannelRoutes(table);
        if (routes.size !== Math.min(live.size, capacity.get(table) ?? 0)) return false;
        for (const [subnet, eni] of routes) if (live.get(subnet)?.eniId !== eni) return false;
      }
      return true;
    };
    const waitConverged = async (what: string): Promise<number | undefined> => {
      const bound = options.convergenceBoundMs ?? 30_000;
      const at = await waitFor(() => (converged() ? Date.now() : undefined), { timeoutMs: bound, intervalMs: 50 }).catch(() => undefined);
      if (at === undefined) {
        const sizes = tables.map((t) => `${t}: ${c.flannelRoutes(t).size}/${Math.min(live.size, capacity.get(t) ?? 0)}`).join(', ');
        violate('convergence', `${what}: not converged within ${bound} ms (${sizes} routes for ${live.size} live leases)`);
      }
      return at;
    };

    // ---- quiet phase: nothing changes, so routesync must not write to etcd
    const revision = async (): Promise<number> => Number((await e.client.get(`/routesync/${CLUSTER}/quiet-probe`).exec()).header.revision);
    /** The status document in etcd describes the world as it is (so no write is legitimately pending). */
    const statusSettled = async (): Promise<boolean> => {
      const text = await e.client.get(`/routesync/${CLUSTER}/status`).string().catch(() => null);
      if (text === null) return false;
      const doc = JSON.parse(text) as { leases?: unknown[]; tables?: Array<{ id?: string; owned?: number }> };
      if (!Array.isArray(doc.leases) || doc.leases.length !== live.size || !Array.isArray(doc.tables)) return false;
      return tables.every((t) => doc.tables?.find((d) => d.id === t)?.owned === c.flannelRoutes(t).size);
    };
    /**
     * Every live replica holds its campaign key: a standby whose session the last etcd restart ended
     * re-campaigns after its back-off (up to 10 s), a write that answers that fault, not an idle one.
     */
    const campaignsSettled = async (): Promise<boolean> => {
      const keys = await e.client.getAll().prefix(`election//routesync/${CLUSTER}/leader/`).keys().catch(() => null);
      return keys !== null && keys.length === alive().length;
    };
    /** Mod revision of the status key and since when it has not moved (harness clock). */
    let statusSeen: { revision: string; since: number } | undefined;
    const statusStill = async (): Promise<boolean> => {
      const kv = (await e.client.get(`/routesync/${CLUSTER}/status`).exec().catch(() => null))?.kvs[0];
      const revision = kv === undefined ? '' : String(kv.mod_revision);
      if (statusSeen?.revision !== revision) statusSeen = { revision, since: Date.now() };
      return Date.now() - statusSeen.since >= STATUS_STILL_MS;
    };
    const quietPhase = async (ms: number): Promise<void> => {
      const settleFrom = Date.now();
      statusSeen = undefined;
      const settled = await waitFor(
        async () => ((await statusSettled()) && (await campaignsSettled()) && (await statusStill()) ? true : undefined),
        { timeoutMs: STATUS_SETTLE_MS + STATUS_STILL_MS, intervalMs: 250 },
      ).catch(() => false);
      if (!settled) notes.push(`quiet phase: the status document and the campaigns in etcd did not settle within ${STATUS_SETTLE_MS + STATUS_STILL_MS} ms`);
      const settleMs = Date.now() - settleFrom;
      const from = await revision();
      const fromAt = Date.now();
      await sleep(ms);
      const to = await revision();
      quietPhases.push({ ms, revisions: to - from });
      if (to !== from) {
        const all = await e.client.getAll().exec();
        const keys = all.kvs.filter((kv) => Number(kv.mod_revision) > from).map((kv) => `${kv.key.toString()}@${kv.mod_revision}`);
        counts['quiet-etcd'] += to - from - 1; // one violation per revision
        violate('quiet-etcd', `${to - from} etcd revision(s) in a quiet ${ms} ms from ${fromAt} (after ${settleMs} ms of settling): ${keys.join(', ') || 'keys deleted'}`);
      }
    };

    await waitConverged('start');
    await quietPhase(clamp(Math.round(options.durationMs / 10), 3 * RESYNC_MS, 30_000));

    // ---- phase A: the cloud read fails for a whole window, leases keep changing; then the leader,
    // which by now has held for longer than 3 × TTL, is stopped: the winning standby waited long.
    const chaosStart = Date.now();
    const outageCode = random() < 0.5 ? 'Unavailable' : 'UnauthorizedOperation';
    world.failNext('DescribeRouteTables', outageCode, Number.MAX_SAFE_INTEGER, outageCode === 'Unavailable' ? 503 : 403);
    begin('read-outage');
    outage = [Date.now(), Number.POSITIVE_INFINITY];
    count(`read-outage-${outageCode}`);
    while (Date.now() < outage[0] + outageMs) {
      await churn();
      await sleep(150 + random() * 500);
    }
    world.clearFaults();
    outage[1] = Date.now();
    end('read-outage');
    const holder = await waitFor(() => leader(), { timeoutMs: 30_000, message: 'no leader after the read outage' });
    const held = Date.now() - (terms(holder).at(-1)?.[0] ?? Date.now());
    if (held < LONG_WAIT_MS) notes.push(`the leader before the long-wait takeover had held only ${held} ms`);
    await stopLeader(holder, random() < 0.5 ? 'SIGKILL' : 'SIGTERM');

    // ---- phase B: everything at random
    const chaosEnd = chaosStart + options.durationMs;
    while (Date.now() < chaosEnd) {
      const roll = random();
      if (roll < 0.5) {
        await churn();
      } else if (roll < 0.6) {
        world.setFaults({ errorRate: 0.15, latencyMs: 5, latencyJitterMs: 20 });
        begin('cloud-faults');
        count('cloud-faults-on');
      } else if (roll < 0.66) {
        world.resetConnectionNext('*', 2);
        world.failNext('CreateRoute', 'RequestLimitExceeded', 3, 503);
        pulse(3_000);
        count('cloud-resets-and-throttling');
      } else if (roll < 0.72) {
        // One delete refused (not retryable) while leases wait for room: creates must not count on that room.
        const routed = [...live.keys()].filter((s) => tables.some((t) => c.flannelRoutes(t).has(s)));
        if (routed.length > 0 && live.size > Math.min(...capacity.values())) {
          world.failNext('DeleteRoute', 'UnauthorizedOperation', 1, 403);
          const subnet = pick(routed);
          if (await written(deleteLease(e.client, PREFIX, subnet))) setLive(subnet, undefined);
          count('delete-refused');
        }
      } else if (roll < 0.77) {
        // Someone turns source/dest check back on for a routed node.
        const targets = [...new Set(tables.flatMap((t) => [...c.flannelRoutes(t).values()]))].filter((id) => id.startsWith('eni-'));
        if (targets.length > 0) {
          world.setSourceDestCheck(pick(targets), true);
          observe();
          count('source-dest-check-on');
        }
      } else if (roll < 0.85) {
        world.clearFaults();
        if (active.has('cloud-faults')) end('cloud-faults');
        count('cloud-faults-off');
      } else if (roll < 0.93) {
        const current = leader();
        if (current !== undefined) await stopLeader(current, random() < 0.5 ? 'SIGKILL' : 'SIGTERM');
      } else {
        const down: [number, number] = [Date.now(), Number.POSITIVE_INFINITY];
        etcdDown.push(down);
        begin('etcd');
        await e.halt({ signal: random() < 0.5 ? 'SIGKILL' : 'SIGTERM' });
        await sleep(300 + random() * 1000);
        await e.restart();
        down[1] = Date.now();
        end('etcd');
        count('etcd-restart');
      }
      await sleep(150 + random() * 500);
    }

    // ---- faults stop: the world must converge, then stay quiet
    world.clearFaults();
    if (active.has('cloud-faults')) end('cloud-faults');
    const lastFault = Date.now();
    const convergedAt = await waitConverged('after the faults');
    if (options.durationMs >= 120_000) await quietPhase(30_000);
    // Routes of the last changes get their forwarding window to run out (or their check turned off).
    await waitFor(() => (watch.settled() ? true : undefined), {
      timeoutMs: FORWARDING_WINDOW_MS + RECOVERY_GRACE_MS + 1_000,
      intervalMs: 100,
    }).catch(() => undefined);
    observe();

    // ---- invariants from the call log and the replicas' logs
    if (foreignSnapshot() !== foreignBefore) violate('foreign-routes', 'a foreign route changed');
    const calls = world.calls();
    const foreignKeys = new Set([...foreign].flatMap(([t, routes]) => routes.map((r) => `${t} ${r.destinationCidrBlock}`)));
    const ids = replicas.map((r) => [r, replicaOf(r.proc) ?? `?${r.name}`] as const);
    const allTerms = replicas.flatMap((r) => terms(r).map(([from, to]) => ({ replica: r.name, from, to })));
    allTerms.sort((a, b) => a.from - b.from);
    for (let i = 1; i < allTerms.length; i += 1) {
      const prev = allTerms[i - 1]!;
      const next = allTerms[i]!;
      if (next.from < prev.to) violate('single-writer', `overlapping leadership: ${prev.replica} [${prev.from}, ${prev.to}) and ${next.replica} from ${next.from}`);
    }
    for (const call of world.mutatingCalls()) {
      const destination = call.params['DestinationCidrBlock'];
      const table = call.params['RouteTableId'];
      if (destination !== undefined && foreignKeys.has(`${table} ${destination}`)) violate('foreign-routes', `${call.action} on foreign route ${table} ${destination}`);
      const writer = ids.find(([, id]) => call.userAgent.includes(id))?.[0];
      if (writer === undefined) {
        violate('single-writer', `call ${call.seq} from an unknown writer`);
        continue;
      }
      // A request sent just before a term ended may arrive a moment later.
      if (!terms(writer).some(([from, to]) => call.time >= from && call.time <= to + 250)) {
        violate('single-writer', `${writer.name} sent ${call.action} ${destination ?? ''} outside its leadership (call ${call.seq} at ${call.time})`);
      }
      if (call.action === 'DeleteRoute' && call.httpStatus === 200 && destination !== undefined) {
        const spans = presence.get(destination) ?? [];
        // A delete is planned from one consistent snapshot and may land after retries: allow a pass's length.
        const window = 12_000;
        if (spans.some(([from, to]) => from <= call.time - window && to >= call.time)) {
          violate('live-route-deleted', `route ${destination} deleted while its lease was live (call ${call.seq})`);
        }
      }
    }

    // call-budget: every 60-s window of failed calls, per action
    const { maxPerMinute: maxFailedPerMinute, breaches } = failedCallBudget(calls, FAILED_CALLS_PER_MINUTE);
    for (const breach of breaches) violate('call-budget', breach);
    const [outFrom, outTo] = outage;
    const failedReads = calls.filter((call) => call.action === 'DescribeRouteTables' && failedCall(call) && call.time >= outFrom && call.time <= outTo).length;
    if (failedReads > outageBudget) {
      violate('call-budget', `${failedReads} failed DescribeRouteTables in a ${outTo - outFrom} ms read outage (budget ${outageBudget}: ${OUTAGE_START_ALLOWANCE} + two per resync interval)`);
    }
    if (failedReads === 0) violate('scenario', 'the read outage made no read fail');

    // first-pass: a new leader's first pass is not cut short by its own fence
    let longWaitElections = 0;
    for (const replica of replicas) {
      const result = firstPassChecks(replica.proc.logs(), { etcdDown, ttlMs: LEASE_TTL_S * 1000, longWaitMs: LONG_WAIT_MS });
      longWaitElections += result.longWaitElections;
      for (const v of result.violations) violate('first-pass', `${replica.name} ${v}`);
    }
    if (longWaitElections === 0) violate('scenario', `no standby was elected after campaigning for more than ${LONG_WAIT_MS} ms`);

    // No replica may exit on its own (only the harness stops them).
    for (const replica of replicas) {
      const { exitCode, signalCode } = replica.proc.child;
      if (replica.diedAt === undefined && (exitCode !== null || signalCode !== null)) {
        violate('crash', `${replica.name} exited on its own (code ${exitCode}, signal ${signalCode})`);
      }
    }
    clearInterval(ticker);
    ticker = undefined;
    await Promise.all(replicas.map((r) => r.proc.stop('SIGTERM', 5_000)));
    for (const replica of replicas) {
      for (const line of stderrViolations(replica.proc)) violate('json-stderr', `${replica.name}: ${JSON.stringify(line.slice(0, 300))}`);
    }

    const report: SoakReport = {
      durationMs: Date.now() - started,
      faults,
      failovers: Math.max(0, allTerms.length - 1),
      maxTakeoverMs: takeovers.length === 0 ? 0 : Math.max(...takeovers),
      convergenceAfterLastFaultMs: convergedAt === undefined ? Number.NaN : convergedAt - lastFault,
      violations: [...violations, ...CHECKS.filter((k) => counts[k] > MAX_SHOWN).map((k) => `${k}: … ${counts[k] - MAX_SHOWN} more`)],
      violationCounts: counts,
      mutatingCalls: world.mutatingCalls().length,
      longWaitElections,
      readOutage: { ms: outTo - outFrom, failedReads, budget: outageBudget },
      quietPhases,
      maxFailedPerMinute,
      notes: [...notes, `max counted routes: ${tables.map((t) => `${t} ${watch.maxCounted.get(t) ?? 0}`).join(', ')} (limit ${ROUTE_LIMIT})`],
    };
    log(`soak: ${JSON.stringify(report)}`);
    return report;
  } finally {
    if (ticker !== undefined) clearInterval(ticker);
    await Promise.all(replicas.map((r) => r.proc.stop('SIGKILL', 5_000)));
    await cluster?.close();
    await etcd?.stop();
  }
}

export function formatSoakReport(report: SoakReport): string {
  const total = Object.values(report.violationCounts).reduce((a, b) => a + b, 0);
  const n = (check: Check): number => report.violationCounts[check];
  const quiet = report.quietPhases.map((q) => `${q.revisions} revisions in ${(q.ms / 1000).toFixed(0)} s`).join(', ') || 'none';
  const lines = [
    `chaos soak: ${(report.durationMs / 1000).toFixed(1)} s, 3 replicas, real etcd, EC2 simulator (2 tables, --route-limit ${ROUTE_LIMIT})`,
    `  faults injected:          ${Object.entries(report.faults).map(([k, v]) => `${k} ${v}`).join(', ') || 'none'}`,
    `  failovers:                ${report.failovers} (${report.longWaitElections} won after waiting > ${LONG_WAIT_MS / 1000} s)`,
    `  max takeover time:        ${report.maxTakeoverMs} ms (leader stopped → next leader elected)`,
    `  convergence after faults: ${Number.isNaN(report.convergenceAfterLastFaultMs) ? 'NOT CONVERGED' : `${report.convergenceAfterLastFaultMs} ms`}`,
    `  mutating calls:           ${report.mutatingCalls}`,
    `  read outage:              ${(report.readOutage.ms / 1000).toFixed(1)} s, ${report.readOutage.failedReads} failed reads (budget ${report.readOutage.budget})`,
    `  failed calls, max/minute: ${Object.entries(report.maxFailedPerMinute).map(([k, v]) => `${k} ${v}`).join(', ') || 'none'} (budget ${FAILED_CALLS_PER_MINUTE})`,
    `  quiet etcd:               ${quiet}`,
    `  violations per invariant:`,
    `    counted routes ≤ limit, every instant:           ${n('route-limit')}`,
    `    source/dest check off within ${FORWARDING_WINDOW_MS / 1000} s of a route:    ${n('forwarding')}`,
    `    failed calls within budget (no hot loop):        ${n('call-budget')}`,
    `    new leader's first pass not fenced:              ${n('first-pass')}`,
    `    no etcd revision while quiet:                    ${n('quiet-etcd')}`,
    `    every stderr line JSON:                          ${n('json-stderr')}`,
    `    foreign routes untouched:                        ${n('foreign-routes')}`,
    `    one writer, only in its term:                    ${n('single-writer')}`,
    `    no route deleted while its lease is live:        ${n('live-route-deleted')}`,
    `    converged once the faults stop:                  ${n('convergence')}`,
    `    a leader within 30 s of each stop:               ${n('takeover')}`,
    `    no replica exits on its own:                     ${n('crash')}`,
    `    scenarios exercised (outage, long wait):         ${n('scenario')}`,
    `  violations:               ${total}`,
    ...report.violations.map((v) => `    - ${v}`),
    ...report.notes.map((v) => `  note: ${v}`),
  ];
  return `${lines.join('\n')}\n`;
}
