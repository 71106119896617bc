/**
 * High availability with replicas as real processes against a real etcd and the EC2 simulator:
 * crash failover, graceful handover, fencing on a lost etcd session, and the proof from the
 * simulator's call log (every call carries its replica's identity) that writers never overlap.
 */
import { describe, expect, it } from 'vitest';
import { useEtcdSuite } from '../helpers/suite.js';
import { putLease, waitFor } from '../helpers/etcd.js';
import { clusterArgs, startAwsCluster, writeFlannel, type AwsCluster } from '../helpers/aws-cluster.js';
import { getJson, httpPortOf, loggedAt, replicaOf, startRoutesync, statusPortOf, type RoutesyncProcess } from '../helpers/routesync.js';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.js';

const suite = useEtcdSuite();
let counter = 0;

async function setup(nodes: number, leases: number): Promise<{ cluster: AwsCluster; prefix: string }> {
  counter += 1;
  const cluster = suite.closeAfterTest(await startAwsCluster({ nodes, clusterName: `ha${counter}` }));
  const prefix = `/ha${counter}/coreos.com/network`;
  await writeFlannel(suite.etcd.client, prefix, cluster.nodes.slice(0, leases));
  return { cluster, prefix };
}

function replica(c: AwsCluster, prefix: string, endpoint = suite.etcd.endpoint, extra: string[] = []): RoutesyncProcess {
  return startRoutesync(clusterArgs(c, endpoint, prefix, ['--leader-lease-ttl', '3s', '--resync-interval', '1h', '--listen', '127.0.0.1:0', ...extra]));
}

async function elected(proc: RoutesyncProcess, timeoutMs = 20_000): Promise<number> {
  return waitFor(() => loggedAt(proc, 'elected leader'), { timeoutMs, message: `not elected:\n${proc.stderr().slice(-2000)}` });
}

async function standbyReady(proc: RoutesyncProcess): Promise<void> {
  await waitFor(
    async () => {
      const port = httpPortOf(proc);
      if (port === undefined) return false;
      const ready = await getJson<string>(port, '/readyz');
      return ready.status === 200 && String(ready.body).startsWith('standby');
    },
    { timeoutMs: 20_000, message: 'standby never ready' },
  );
}

/** A replica that has been elected and has routed the `setup(4, 3)` cluster's three leases. */
async function leaderWithRoutes(c: AwsCluster, prefix: string, endpoint = suite.etcd.endpoint, extra: string[] = []): Promise<RoutesyncProcess> {
  const proc = replica(c, prefix, endpoint, extra);
  await elected(proc);
  await waitFor(() => c.flannelRoutes().size === 3, { timeoutMs: 20_000 });
  return proc;
}

/** A second replica, waited for until it reports itself a ready standby. */
async function readyStandby(c: AwsCluster, prefix: string, extra: string[] = []): Promise<RoutesyncProcess> {
  const proc = replica(c, prefix, suite.etcd.endpoint, extra);
  await standbyReady(proc);
  return proc;
}

/** Writes the lease of the node `setup(4, 3)` left without one; `routed()` waits for its route. */
async function putFourthLease(c: AwsCluster, prefix: string): Promise<{ routed(message?: string): Promise<boolean> }> {
  const node = c.nodes[3]!;
  await putLease(suite.etcd.client, prefix, node.subnet, node.ip);
  return {
    routed: (message) => waitFor(() => c.flannelRoutes().get(node.subnet) === node.eniId, { timeoutMs: 20_000, ...(message !== undefined ? { message } : {}) }),
  };
}

/** The first 200 answer of /readyz. */
function readyAnswer(port: number, message: string) {
  return waitFor(async () => {
    const r = await getJson<string>(port, '/readyz');
    return r.status === 200 ? r : undefined;
  }, { timeoutMs: 20_000, message });
}

/** The replica of each successful mutating call, in order, collapsed to runs: [A, B] means A wrote, then only B. */
function writerRuns(c: AwsCluster, replicas: Record<string, RoutesyncProcess>): string[] {
  const names = Object.entries(replicas).map(([name, proc]) => [name, replicaOf(proc) ?? '?'] as const);
  const runs: string[] = [];
  for (const call of c.world.mutatingCalls()) {
    const writer = names.find(([, id]) => call.userAgent.includes(id))?.[0] ?? `unknown(${call.userAgent})`;
    if (runs.at(-1) !== writer) runs.push(writer);
  }
  return runs;
}

describe('leader election across replicas', () => {
  it('a standby takes over when the leader is killed, and writers never overlap', async () => {
    const { cluster: c, prefix } = await setup(4, 3);
    const a = await leaderWithRoutes(c, prefix);
    const b = await readyStandby(c, prefix);
    expect(loggedAt(b, 'elected leader')).toBeUndefined();

    await a.stop('SIGKILL');
    const lease = await putFourthLease(c, prefix);
    await elected(b);
    await lease.routed('new leader did not route the lease');
    expect(writerRuns(c, { a, b })).toEqual(['a', 'b']);
  });

  it('on SIGTERM the leader resigns and exits 0, and the standby takes over without waiting for the TTL', async () => {
    const { cluster: c, prefix } = await setup(4, 3);
    // A TTL far longer than the wait below: only a resignation can hand over in time.
    const a = await leaderWithRoutes(c, prefix, suite.etcd.endpoint, ['--leader-lease-ttl', '60s']);
    const b = await readyStandby(c, prefix, ['--leader-lease-ttl', '60s']);

    const stopped = await a.stop('SIGTERM');
    expect(stopped.code).toBe(0);
    const takenAt = await elected(b, 20_000);
    expect(loggedAt(a, 'resigning leadership')).toBeLessThanOrEqual(takenAt);
    await (await putFourthLease(c, prefix)).routed();
    expect(writerRuns(c, { a, b })).toEqual(['a', 'b']);
  });

  it('fences itself when its etcd session is cut, before a standby can be elected', async () => {
    const { cluster: c, prefix } = await setup(4, 3);
    const proxy = suite.closeAfterTest(await startTcpProxy(suite.etcd.clientPort));
    const a = await leaderWithRoutes(c, prefix, proxy.url);
    const b = await readyStandby(c, prefix);

    proxy.partition();
    const takenAt = await elected(b, 30_000);
    const fencedAt = loggedAt(a, 'leadership lost: etcd has not acknowledged a keep-alive in time; stopping all cloud writes');
    expect(fencedAt, a.stderr().slice(-2000)).toBeDefined();
    expect(fencedAt!).toBeLessThan(takenAt);

    await (await putFourthLease(c, prefix)).routed();

    // Back on the network, the old leader campaigns again and stays a standby.
    proxy.heal();
    await waitFor(() => a.logs().filter((l) => l['msg'] === 'campaigning for leadership').length >= 2, { timeoutMs: 30_000 });
    expect(a.logs().filter((l) => l['msg'] === 'elected leader')).toHaveLength(1);
    expect(writerRuns(c, { a, b })).toEqual(['a', 'b']);
  });
});

describe('a standby that waited long', () => {
  it('elected after more than 3 × TTL of waiting, does not fence itself, and its first pass is not aborted', async () => {
    const { cluster: c, prefix } = await setup(4, 3);
    const a = await leaderWithRoutes(c, prefix);
    const b = await readyStandby(c, prefix);
    const campaignedAt = await waitFor(() => loggedAt(b, 'campaigning for leadership'));
    // The scenario itself: b keeps campaigning while a holds, longer than 3 × the 3 s TTL.
    await waitFor(() => Date.now() - campaignedAt > 3 * 3000 + 500, { timeoutMs: 20_000, intervalMs: 250 });
    expect(loggedAt(b, 'elected leader')).toBeUndefined();

    expect((await a.stop('SIGTERM')).code).toBe(0);
    await elected(b);
    await (await putFourthLease(c, prefix)).routed(`b did not route the lease:\n${b.stderr().slice(-2000)}`);

    const logs = b.logs();
    const electedAt = logs.findIndex((l) => l['msg'] === 'elected leader');
    const firstPass = logs.slice(electedAt).find((l) => l['msg'] === 'reconcile pass done' || l['msg'] === 'reconcile pass made no change');
    expect(firstPass, b.stderr().slice(-2000)).toMatchObject({ msg: 'reconcile pass done', outcome: 'applied' });
    expect(logs.filter((l) => typeof l['msg'] === 'string' && l['msg'].startsWith('leadership lost'))).toEqual([]);
    expect(logs.filter((l) => l['msg'] === 'campaigning for leadership')).toHaveLength(1);
    expect(logs.filter((l) => l['msg'] === 'elected leader')).toHaveLength(1);
    expect(writerRuns(c, { a, b })).toEqual(['a', 'b']);
  });
});

describe('a cloud read that keeps failing', () => {
  it('is retried with a growing delay, not in a hot loop', async () => {
    const { cluster: c, prefix } = await setup(4, 3);
    const a = await leaderWithRoutes(c, prefix);
    c.world.failNext('DescribeRouteTables', 'UnauthorizedOperation', 1_000_000, 403);
    await putFourthLease(c, prefix);

    const failed = (): number[] => c.world.calls('DescribeRouteTables').filter((call) => call.fault === 'injected').map((call) => call.time);
    const times = await waitFor(() => (failed().length >= 4 ? failed() : undefined), { timeoutMs: 30_000, message: `too few retries:\n${a.stderr().slice(-2000)}` });
    // Retries wait at least half of 1 s, 2 s, 4 s (the jitter takes up to half); the old loop retried within milliseconds.
    const gaps = times.slice(1, 4).map((t, i) => t - times[i]!);
    expect(gaps[0]).toBeGreaterThanOrEqual(400);
    expect(gaps[1]).toBeGreaterThanOrEqual(900);
    expect(gaps[2]).toBeGreaterThanOrEqual(1900);
    expect(a.logs().filter((l) => l['msg'] === 'reconcile pass made no change').length).toBeLessThanOrEqual(failed().length);
  });
});

describe('observability', () => {
  it('serves /healthz, /readyz, /status and /metrics, and writes the status to etcd', async () => {
    const { cluster: c, prefix } = await setup(3, 3);
    const a = replica(c, prefix, suite.etcd.endpoint, ['--route-limit', '3']);
    await elected(a);
    const port = await waitFor(() => httpPortOf(a));
    await waitFor(async () => (await getJson<string>(port, '/readyz')).status === 200, { timeoutMs: 20_000, message: 'leader never ready' });

    expect((await getJson<string>(port, '/healthz')).status).toBe(200);
    const status = await getJson<{ leader: boolean; identity: string; leases: Array<{ subnet: string; state: string; reason?: string }>; tables: Array<{ id: string; capacity: number }> }>(await waitFor(() => statusPortOf(a)), '/status');
    expect(status.body.leader).toBe(true);
    expect(status.body.identity).toBe(replicaOf(a));
    expect(status.body.tables).toEqual([expect.objectContaining({ id: c.tableId, capacity: 2 })]);
    expect(status.body.leases.map((l) => `${l.subnet} ${l.state} ${l.reason ?? ''}`.trim())).toEqual([
      '10.1.1.0/24 routed',
      '10.1.2.0/24 routed',
      '10.1.3.0/24 unrouted route-limit',
    ]);

    const metrics = String((await getJson<string>(port, '/metrics')).body);
    for (const line of [
      'routesync_leader 1',
      'routesync_leases{state="routed",family="ipv4"} 2',
      'routesync_unrouted_leases{reason="route-limit",family="ipv4"} 1',
      `routesync_table_capacity{table="${c.tableId}"} 2`,
      'routesync_cloud_calls_total{operation="create",outcome="ok"} 2',
      'routesync_reconcile_duration_seconds_count',
    ]) {
      expect(metrics).toContain(line);
    }

    const stored = await waitFor(async () => (await suite.etcd.client.get(`/routesync/${c.clusterName}/status`).string()) ?? undefined);
    expect(JSON.parse(stored)).toMatchObject({ identity: replicaOf(a), leader: true });
  });
  it('a leader with one change failing for good is ready: the error is reported on its lease', async () => {
    const { cluster: c, prefix } = await setup(3, 3);
    c.world.failNext('CreateRoute', 'InvalidNetworkInterfaceID.NotFound', 1, 400);
    const a = replica(c, prefix);
    await elected(a);
    const port = await waitFor(() => httpPortOf(a));
    await waitFor(async () => {
      const body = (await getJson<{ leases: Array<{ state: string }> }>(await waitFor(() => statusPortOf(a)), '/status')).body;
      return body.leases.some((l) => l.state === 'error');
    }, { timeoutMs: 20_000, message: 'no lease in error' });
    const ready = await readyAnswer(port, 'leader with one failed change never ready');
    expect(String(ready.body)).toMatch(/^leader/);
    expect(c.flannelRoutes().size).toBe(2);
  });

  it('a --dry-run leader is ready and changes nothing', async () => {
    const { cluster: c, prefix } = await setup(3, 3);
    const a = replica(c, prefix, suite.etcd.endpoint, ['--dry-run']);
    await elected(a);
    const port = await waitFor(() => httpPortOf(a));
    const ready = await readyAnswer(port, 'dry-run leader never ready');
    expect(String(ready.body)).toMatch(/^leader/);
    expect(a.logs().some((l) => l['msg'] === 'reconcile pass done' && l['outcome'] === 'dry-run')).toBe(true);
    expect(c.world.mutatingCalls()).toEqual([]);
  });
});
