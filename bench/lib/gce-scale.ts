/**
 * GCE at scale: routesync (the CLI, --provider gce) against the GCE simulator and a real etcd.
 *
 * - gce-rss-10000 / gce-rss-10: resident memory after MEMORY_RESYNCS resyncs and at its peak, with
 *   10,000 instances and leases and a ROUTES quota of 1,000 (routes up to it), and with 10; reads
 *   per resync interval by method.
 * - gce-steady-1000: 1,000 leases routed, 10 resync intervals: reads per interval, no writes.
 * - gce-churn-1000: leases added one by one beside 1,000 routed: event → route added (the DONE of
 *   its insert), against one operation's latency + 300 ms.
 * - gce-late-500: a lease added while the cold start of 500 leases (2 s operations) is under way:
 *   event → route added.
 *
 * Latencies are wall-clock ms with the simulator at `timeScale` (operations take 2 s ÷ timeScale).
 * Set BENCH_GCE_PROFILE=<dir> to profile gce-rss-10000 (profile-hook.mjs): a CPU profile and a heap
 * snapshot taken after the resyncs, written to that directory.
 */
import { putLease, type EtcdServer } from '../../test/helpers/etcd.js';
import type { RoutesyncProcess } from '../../test/helpers/routesync.js';
import { passesOf, processMemory, startShippedRoutesync } from './routesync.js';
import { until } from './until.js';
import { startGceSimulator, type GceSimulator } from '../../test/sim/gce/index.js';
import { leaseSubnet, writeLeases, type BenchNode } from './aws-world.js';
import { percentile, type Results } from './report.js';

const PROJECT = 'routesync-bench';
const OPERATION_LATENCY_MS = 2000;
const ZONES = ['us-central1-a', 'us-central1-b', 'us-central1-c'];
const MEMORY_RESYNCS = 4;
const READS = ['routes.list', 'instances.aggregatedList', 'projects.get'];
const WRITES = ['routes.insert', 'routes.delete'];

export interface GceScaleContext {
  readonly timeScale: number;
  readonly log: (line: string) => void;
  readonly freshPrefix: (name: string) => string;
  readonly wanted: (scenario: string) => boolean;
}

interface World {
  readonly sim: GceSimulator;
  readonly nodes: BenchNode[];
  addNode(): BenchNode;
}

const ipOf = (index: number): string => `10.240.${Math.floor(index / 250)}.${2 + (index % 250)}`;

async function buildWorld(nodes: number, routeQuota: number, timeScale: number, operationLatencyMs = OPERATION_LATENCY_MS): Promise<World> {
  const sim = await startGceSimulator({ project: PROJECT, routeQuota, operationLatencyMs, timeScale, zones: ZONES });
  sim.world.createNetwork({ name: 'default', ipv4Range: '10.240.0.0/16' });
  const list: BenchNode[] = [];
  const addNode = (): BenchNode => {
    const index = list.length;
    const name = `node-${index}`;
    sim.world.createInstance({ name, zone: ZONES[index % ZONES.length] ?? 'us-central1-a', networkIP: ipOf(index), canIpForward: true });
    const node = { index, ip: ipOf(index), subnet: leaseSubnet(index), eni: '', instanceId: name };
    list.push(node);
    return node;
  };
  for (let i = 0; i < nodes; i += 1) addNode();
  return { sim, nodes: list, addNode };
}

function start(world: World, etcd: EtcdServer, prefix: string, options: { resync: string; routeLimit: number; env?: NodeJS.ProcessEnv }): RoutesyncProcess {
  return startShippedRoutesync(
    [
      '--provider', 'gce',
      '--etcd-endpoints', etcd.endpoint,
      '--etcd-prefix', prefix,
      '--gce-project', PROJECT,
      '--gce-network', 'default',
      '--gce-endpoint', world.sim.url,
      '--cluster-name', 'gcebench',
      '--route-limit', String(options.routeLimit),
      '--resync-interval', options.resync,
      '--listen', '',
      '--log-level', 'info',
      '--leader-election-key', `/bench/gce${prefix}/leader`,
    ],
    options.env ?? {},
  );
}

const count = (world: World, methods: readonly string[]): number => world.sim.world.calls().filter((c) => methods.includes(c.method)).length;

/** Memory and reads at `leases` leases: routes up to a quota of 1,000, then MEMORY_RESYNCS resyncs of 3 s. */
async function memoryRun(results: Results, etcd: EtcdServer, context: GceScaleContext, name: string, leases: number): Promise<void> {
  context.log(`${name}: ${leases} instances and leases, ROUTES quota 1,000, a resync every 3 s…`);
  const world = await buildWorld(leases, 1000, context.timeScale);
  const prefix = context.freshPrefix('gce-mem');
  const profile = process.env['BENCH_GCE_PROFILE'];
  const hook = new URL('./profile-hook.mjs', import.meta.url).pathname;
  const env = profile !== undefined ? { NODE_OPTIONS: `--import ${hook}`, BENCH_PROFILE_DIR: profile } : {};
  try {
    await writeLeases(etcd.client, prefix, world.nodes, 128);
    const proc = start(world, etcd, prefix, { resync: '3s', routeLimit: 1000, env });
    try {
      if (!(await until(() => passesOf(proc).length >= 1, 180_000))) throw new Error(`no pass:\n${proc.stderr().slice(-2000)}`);
      const firstReads = Object.fromEntries(READS.map((m) => [m, count(world, [m])]));
      const firstWrites = count(world, WRITES);
      if (!(await until(() => passesOf(proc).length >= 1 + MEMORY_RESYNCS, 180_000))) throw new Error(`no resyncs:\n${proc.stderr().slice(-2000)}`);
      const mem = proc.child.pid !== undefined ? processMemory(proc.child.pid) : undefined;
      const done = passesOf(proc);
      const intervals = done.length - 1;
      results.add(name, 'rss', mem?.rss ?? null, 'MB', leases > 10 ? 120 : null);
      results.add(name, 'peak_rss', mem?.peak ?? null, 'MB', leases > 10 ? 150 : null);
      results.add(name, 'first_pass', Number(done[0]?.['durationMs']), 'ms');
      results.add(name, 'resync_pass_p50', percentile(done.slice(1).map((p) => Number(p['durationMs'])), 50), 'ms');
      for (const method of READS) results.add(name, `${method}_per_interval`, (count(world, [method]) - (firstReads[method] ?? 0)) / intervals, 'calls');
      results.add(name, 'writes_after_first_pass', count(world, WRITES) - firstWrites, 'calls', 0);
      if (profile !== undefined) {
        proc.child.kill('SIGUSR2');
        await until(() => false, 8000, 500);
      }
    } finally {
      await proc.stop('SIGTERM', 20_000);
    }
  } finally {
    await world.sim.close();
  }
}

/** 1,000 leases routed: reads per interval over 10 resyncs of 2 s, then leases added one by one. */
async function steadyAndChurn(results: Results, etcd: EtcdServer, context: GceScaleContext): Promise<void> {
  const steady = 'gce-steady-1000';
  const churn = 'gce-churn-1000';
  if (!context.wanted(steady) && !context.wanted(churn)) return;
  const world = await buildWorld(1000, 2000, context.timeScale);
  const prefix = context.freshPrefix('gce-steady');
  try {
    await writeLeases(etcd.client, prefix, world.nodes, 128);
    if (context.wanted(steady)) {
      context.log(`${steady}: 10 resync intervals of 2 s…`);
      const proc = start(world, etcd, prefix, { resync: '2s', routeLimit: 2000 });
      try {
        if (!(await until(() => passesOf(proc).length >= 1 && world.sim.world.routes().length >= 1000, 120_000))) throw new Error(`no first pass:\n${proc.stderr().slice(-2000)}`);
        await until(() => passesOf(proc).length >= 2, 30_000);
        world.sim.world.clearCalls();
        const before = passesOf(proc).length;
        if (!(await until(() => passesOf(proc).length >= before + 10, 60_000))) throw new Error('resyncs did not come');
        // routes.list is ⌈routes / 500⌉ pages; the node re-check is one aggregatedList page.
        for (const method of READS) results.add(steady, `${method}_per_interval`, count(world, [method]) / 10, 'calls', method === 'instances.aggregatedList' ? 1 : null);
        results.add(steady, 'mutating_calls', count(world, WRITES), 'calls', 0);
        results.add(steady, 'resync_pass_p50', percentile(passesOf(proc).slice(before).map((p) => Number(p['durationMs'])), 50), 'ms');
      } finally {
        await proc.stop('SIGTERM', 10_000);
      }
    }
    if (context.wanted(churn)) {
      const samples = 50;
      context.log(`${churn}: ${samples} leases added one by one…`);
      const proc = start(world, etcd, prefix, { resync: '60s', routeLimit: 2000 });
      try {
        if (!(await until(() => passesOf(proc).length >= 1, 120_000))) throw new Error(`no first pass:\n${proc.stderr().slice(-2000)}`);
        world.sim.world.clearCalls();
        const latencies: number[] = [];
        for (let i = 0; i < samples; i += 1) {
          const seen = passesOf(proc).length;
          const node = world.addNode();
          const startedAt = Date.now();
          await putLease(etcd.client, prefix, node.subnet, node.ip);
          const added = (): number | undefined => world.sim.world.routeHistory().find((e) => e.event === 'added' && e.destRange === node.subnet)?.time;
          if (!(await until(() => added() !== undefined, 20_000, 1))) throw new Error(`no route for ${node.subnet}`);
          latencies.push((added() ?? Date.now()) - startedAt);
          await until(() => passesOf(proc).length > seen, 20_000, 1);
        }
        const bound = OPERATION_LATENCY_MS / context.timeScale + 300;
        results.add(churn, 'lease_to_route_p50', percentile(latencies, 50), 'ms');
        results.add(churn, 'lease_to_route_p99', percentile(latencies, 99), 'ms', bound);
        results.add(churn, 'aggregatedList_per_lease', count(world, ['instances.aggregatedList']) / samples, 'calls', 1);
      } finally {
        await proc.stop('SIGTERM', 10_000);
      }
    }
  } finally {
    await world.sim.close();
  }
}

/** A lease added 1 s after the cold start of 500 leases began (2 s operations, real time). */
async function lateLease(results: Results, etcd: EtcdServer, context: GceScaleContext): Promise<void> {
  const name = 'gce-late-500';
  if (!context.wanted(name)) return;
  context.log(`${name}: a lease during the cold start of 500 leases, 2 s operations…`);
  const world = await buildWorld(500, 1000, 1);
  const prefix = context.freshPrefix('gce-late');
  try {
    await writeLeases(etcd.client, prefix, world.nodes, 128);
    const proc = start(world, etcd, prefix, { resync: '60s', routeLimit: 1000 });
    try {
      if (!(await until(() => world.sim.world.calls('routes.insert').length > 0, 60_000))) throw new Error(`no cold start:\n${proc.stderr().slice(-2000)}`);
      await until(() => false, 1000, 100);
      const node = world.addNode();
      const startedAt = Date.now();
      await putLease(etcd.client, prefix, node.subnet, node.ip);
      const added = (): number | undefined => world.sim.world.routeHistory().find((e) => e.event === 'added' && e.destRange === node.subnet)?.time;
      if (!(await until(() => added() !== undefined, 60_000, 5))) throw new Error(`no route for ${node.subnet}`);
      const coldDone = Math.max(...world.sim.world.routeHistory().filter((e) => e.event === 'added' && e.destRange !== node.subnet).map((e) => e.time));
      // Sent, then DONE one operation later: the insert's send is what the pass controls.
      const sent = world.sim.world.calls('routes.insert').find((c) => (c.body as { destRange?: string } | undefined)?.destRange === node.subnet)?.time;
      results.add(name, 'insert_sent_after_event', (sent ?? 0) - startedAt, 'ms', 2000);
      results.add(name, 'lease_to_route', (added() ?? 0) - startedAt, 'ms', OPERATION_LATENCY_MS + 2000);
      results.add(name, 'cold_start_end_after_event', coldDone - startedAt, 'ms');
    } finally {
      await proc.stop('SIGTERM', 10_000);
    }
  } finally {
    await world.sim.close();
  }
}

export async function gceScale(results: Results, etcd: EtcdServer, context: GceScaleContext): Promise<void> {
  if (context.wanted('gce-rss-10000')) await memoryRun(results, etcd, context, 'gce-rss-10000', 10_000);
  if (context.wanted('gce-rss-10')) await memoryRun(results, etcd, context, 'gce-rss-10', 10);
  await steadyAndChurn(results, etcd, context);
  await lateLease(results, etcd, context);
}
