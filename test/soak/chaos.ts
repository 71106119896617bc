/**
 * The chaos soak: three routesync replicas (real processes), a real etcd and the EC2 simulator,
 * with random lease churn, injected cloud faults, etcd restarts and leader kills. Invariants are
 * checked against the simulator's call log and the replicas' own logs:
 * - no foreign route is ever changed;
 * - no two replicas write in overlapping leadership terms, and nobody writes outside its term;
 * - no route is deleted while its lease is live (moves are replaced, not deleted);
 * - once the faults stop, the world converges within a bound.
 * Used by `npm run soak` (minutes) and by a short run in `npm test`.
 */
import { startEtcd, putLease, deleteLease, waitFor, type EtcdServer } from '../helpers/etcd.js';
import { clusterArgs, startAwsCluster, writeFlannel, type AwsCluster, type Node } from '../helpers/aws-cluster.js';
import { loggedAt, replicaOf, startRoutesync, type RoutesyncProcess } from '../helpers/routesync.js';
import { seededRandom } from '../sim/ec2/throttle.js';

export interface SoakOptions {
  readonly durationMs: number;
  readonly seed?: number;
  /** Upper bound on convergence once the faults stop. */
  readonly convergenceBoundMs?: number;
  readonly log?: (line: string) => void;
}

export interface SoakReport {
  readonly durationMs: number;
  readonly faults: Record<string, number>;
  readonly failovers: number;
  readonly maxTakeoverMs: number;
  readonly convergenceAfterLastFaultMs: number;
  readonly violations: string[];
  readonly mutatingCalls: number;
}

const PREFIX = '/coreos.com/network';
const LEASE_TTL = '3s';
const FOREIGN = [
  { destinationCidrBlock: '0.0.0.0/0', gatewayId: 'igw-0a1b2c3d4e5f60718' },
  { destinationCidrBlock: '10.1.250.0/24', natGatewayId: 'nat-0a1b2c3d4e5f60718' },
];

interface Replica {
  readonly name: string;
  readonly proc: RoutesyncProcess;
  diedAt?: number;
}

/** [start, end) of each leadership term of a replica, from its logs (end: released, lost, or death). */
function terms(replica: Replica): Array<[number, number]> {
  const result: Array<[number, number]> = [];
  let start: number | undefined;
  for (const line of replica.proc.logs()) {
    const time = typeof line['time'] === 'number' ? line['time'] : 0;
    const msg = String(line['msg'] ?? '');
    if (msg === 'elected leader') start = time;
    else if (start !== undefined && (msg.startsWith('leadership lost') || msg === 'resigning leadership' || msg === 'leadership released')) {
      result.push([start, time]);
      start = undefined;
    }
  }
  if (start !== undefined) result.push([start, replica.diedAt ?? Number.POSITIVE_INFINITY]);
  return result;
}

export async function runSoak(options: SoakOptions): Promise<SoakReport> {
  const log = options.log ?? (() => undefined);
  const random = seededRandom(options.seed ?? 1);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
  const faults: Record<string, number> = {};
  const count = (kind: string): void => {
    faults[kind] = (faults[kind] ?? 0) + 1;
  };
  const violations: string[] = [];
  const replicas: Replica[] = [];
  let etcd: EtcdServer | undefined;
  let cluster: AwsCluster | undefined;
  const started = Date.now();
  const takeovers: number[] = [];

  try {
    etcd = await startEtcd();
    cluster = await startAwsCluster({ nodes: 40, routeLimit: 100, clusterName: 'soak', sim: { seed: options.seed ?? 1 } });
    const c = cluster;
    const e = etcd;
    for (const route of FOREIGN) c.world.addForeignRoute(c.tableId, route);
    const foreignBefore = JSON.stringify(FOREIGN.map((f) => c.world.route(c.tableId, f.destinationCidrBlock)));

    // Lease timeline: when each subnet was present, to judge deletes.
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
    await writeFlannel(e.client, PREFIX, c.nodes.slice(0, 20));
    for (const node of c.nodes.slice(0, 20)) setLive(node.subnet, node);

    let counter = 0;
    const launch = (): Replica => {
      counter += 1;
      const proc = startRoutesync(
        clusterArgs(c, e.endpoint, PREFIX, ['--leader-lease-ttl', LEASE_TTL, '--resync-interval', '2s', '--leader-election-key', '/routesync/soak/leader']),
      );
      const replica = { name: `r${counter}`, proc };
      replicas.push(replica);
      return replica;
    };
    for (let i = 0; i < 3; i += 1) launch();
    const alive = (): Replica[] => replicas.filter((r) => r.diedAt === undefined);
    const leader = (): Replica | undefined => alive().find((r) => {
      const t = terms(r).at(-1);
      return t !== undefined && t[1] === Number.POSITIVE_INFINITY;
    });
    await waitFor(() => leader(), { timeoutMs: 30_000, message: 'no leader at start' });

    const waitTakeover = async (since: number): Promise<void> => {
      const next = await waitFor(() => {
        const l = leader();
        const t = l === undefined ? undefined : terms(l).at(-1)?.[0];
        return t !== undefined && t >= since ? t : undefined;
      }, { timeoutMs: 30_000, message: 'no takeover' }).catch(() => undefined);
      if (next === undefined) violations.push(`no leader within 30 s of a leader stop at ${since}`);
      else takeovers.push(next - since);
    };

    // The model follows etcd only for writes etcd confirmed (right after a restart a write can fail).
    const written = async (write: Promise<unknown>): Promise<boolean> => {
      try {
        await write;
        return true;
      } catch {
        count('etcd-write-failed');
        return false;
      }
    };

    const chaosEnd = started + options.durationMs;
    while (Date.now() < chaosEnd) {
      const roll = random();
      const spare = c.nodes.filter((n) => ![...live.values()].includes(n) && !live.has(n.subnet));
      if (roll < 0.3 && spare.length > 0) {
        const node = pick(spare);
        if (await written(putLease(e.client, PREFIX, node.subnet, node.ip))) {
          setLive(node.subnet, node);
          count('lease-added');
        }
      } else if (roll < 0.5 && live.size > 5) {
        const subnet = pick([...live.keys()]);
        if (await written(deleteLease(e.client, PREFIX, subnet))) {
          setLive(subnet, undefined);
          count('lease-deleted');
        }
      } else if (roll < 0.6 && live.size > 0 && spare.length > 0) {
        const subnet = pick([...live.keys()]);
        const target = pick(spare);
        if (await written(putLease(e.client, PREFIX, subnet, target.ip))) {
          live.set(subnet, target);
          count('lease-moved');
        }
      } else if (roll < 0.72) {
        c.world.setFaults({ errorRate: 0.15, latencyMs: 5, latencyJitterMs: 20 });
        count('cloud-faults-on');
      } else if (roll < 0.8) {
        c.world.resetConnectionNext('*', 2);
        c.world.failNext('CreateRoute', 'RequestLimitExceeded', 3, 503);
        count('cloud-resets-and-throttling');
      } else if (roll < 0.88) {
        c.world.clearFaults();
        count('cloud-faults-off');
      } else if (roll < 0.94) {
        const current = leader();
        if (current !== undefined) {
          const kind = random() < 0.5 ? 'SIGKILL' : 'SIGTERM';
          const at = Date.now();
          await current.proc.stop(kind);
          current.diedAt = Date.now();
          count(`leader-${kind}`);
          launch();
          await waitTakeover(at);
        }
      } else {
        await e.halt({ signal: random() < 0.5 ? 'SIGKILL' : 'SIGTERM' });
        await new Promise((resolve) => setTimeout(resolve, 300 + random() * 1000));
        await e.restart();
        count('etcd-restart');
      }
      await new Promise((resolve) => setTimeout(resolve, 150 + random() * 500));
    }

    // Faults stop: the world must converge to exactly the live leases.
    c.world.clearFaults();
    const lastFault = Date.now();
    const expected = (): boolean => {
      const routes = c.flannelRoutes();
      if (routes.size !== live.size) return false;
      for (const [subnet, node] of live) if (routes.get(subnet) !== node.eniId) return false;
      return true;
    };
    const bound = options.convergenceBoundMs ?? 30_000;
    const convergedAt = await waitFor(() => (expected() ? Date.now() : undefined), { timeoutMs: bound, intervalMs: 50 }).catch(() => undefined);
    if (convergedAt === undefined) {
      const routes = c.flannelRoutes();
      violations.push(`not converged within ${bound} ms: ${routes.size} routes for ${live.size} live leases`);
    }

    // Invariants from the call log.
    if (JSON.stringify(FOREIGN.map((f) => c.world.route(c.tableId, f.destinationCidrBlock))) !== foreignBefore) violations.push('a foreign route changed');
    const foreignDestinations = new Set(FOREIGN.map((f) => f.destinationCidrBlock));
    const ids = replicas.map((r) => [r, replicaOf(r.proc) ?? `?${r.name}`] as const);
    const allTerms = replicas.flatMap((r) => terms(r).map(([from, to]) => ({ replica: r.name, from, to })));
    allTerms.sort((a, b) => a.from - b.from);
    for (let i = 1; i < allTerms.length; i += 1) {
      const prev = allTerms[i - 1]!;
      const next = allTerms[i]!;
      if (next.from < prev.to) violations.push(`overlapping leadership: ${prev.replica} [${prev.from}, ${prev.to}) and ${next.replica} from ${next.from}`);
    }
    for (const call of c.world.mutatingCalls()) {
      const destination = call.params['DestinationCidrBlock'];
      if (destination !== undefined && foreignDestinations.has(destination)) violations.push(`${call.action} on foreign route ${destination}`);
      const writer = ids.find(([, id]) => call.userAgent.includes(id))?.[0];
      if (writer === undefined) {
        violations.push(`call ${call.seq} from an unknown writer`);
        continue;
      }
      // A request sent just before a term ended may arrive a moment later.
      if (!terms(writer).some(([from, to]) => call.time >= from && call.time <= to + 250)) {
        violations.push(`${writer.name} sent ${call.action} ${destination ?? ''} outside its leadership (call ${call.seq} at ${call.time})`);
      }
      if (call.action === 'DeleteRoute' && call.httpStatus === 200 && destination !== undefined) {
        const spans = presence.get(destination) ?? [];
        // A delete is planned from one consistent snapshot and may land after retries: allow a pass's length.
        const window = 12_000;
        if (spans.some(([from, to]) => from <= call.time - window && to >= call.time)) {
          violations.push(`route ${destination} deleted while its lease was live (call ${call.seq})`);
        }
      }
    }

    const report: SoakReport = {
      durationMs: Date.now() - started,
      faults,
      failovers: Math.max(0, allTerms.length - 1),
      maxTakeoverMs: takeovers.length === 0 ? 0 : Math.max(...takeovers),
      convergenceAfterLastFaultMs: convergedAt === undefined ? Number.NaN : convergedAt - lastFault,
      violations,
      mutatingCalls: c.world.mutatingCalls().length,
    };
    log(`soak: ${JSON.stringify(report)}`);
    return report;
  } finally {
    await Promise.all(replicas.map((r) => r.proc.stop('SIGKILL', 5_000)));
    await cluster?.close();
    await etcd?.stop();
  }
}

export function formatSoakReport(report: SoakReport): string {
  const lines = [
    `chaos soak: ${(report.durationMs / 1000).toFixed(1)} s, 3 replicas, real etcd, EC2 simulator`,
    `  faults injected:          ${Object.entries(report.faults).map(([k, v]) => `${k} ${v}`).join(', ') || 'none'}`,
    `  failovers:                ${report.failovers}`,
    `  max takeover time:        ${report.maxTakeoverMs} ms (leader stopped → next leader elected)`,
    `  convergence after faults: ${Number.isNaN(report.convergenceAfterLastFaultMs) ? 'NOT CONVERGED' : `${report.convergenceAfterLastFaultMs} ms`}`,
    `  mutating calls:           ${report.mutatingCalls}`,
    `  violations:               ${report.violations.length}`,
    ...report.violations.map((v) => `    - ${v}`),
  ];
  return `${lines.join('\n')}\n`;
}
