/**
 * `npm run bench`: routesync against the simulators with throttling on, next to two baselines
 * written from its peers' published algorithms, in one run. Prints a table and writes
 * bench/results.json (`{scenario, metric, value, unit, bound, ratio}` rows). Nothing is asserted:
 * these are measurements, and wall-clock time depends on the machine.
 *
 * Cloud time vs wall time: the simulators run `BENCH_TIME_SCALE` (default 5) times faster than
 * the cloud — token buckets refill and cloud latencies pass that much faster, and routesync and the
 * baselines scale their own waits to match — so a 90 s convergence takes 18 s here. Durations in
 * cloud seconds are wall-clock seconds × time scale; latencies of routesync itself (churn, planner)
 * are plain wall-clock milliseconds. Compressed time multiplies every CPU cost by the scale: the
 * 0.3 s routesync spends reading 500 ENIs and starting its first calls weighs 6 cloud seconds at
 * 20×, 1.5 at 5× (against a real cloud it weighs 0.3 s), hence 5.
 *
 * The GCE cold start runs in real time (BENCH_GCE_COLD_TIME_SCALE=1): its bound is one operation's
 * latency, so compressed time would multiply the CPU of routesync and of the simulator (each a
 * fixed few hundred ms for 500 inserts and waits on two cores) by the scale against a latency that
 * is not; in real time they weigh what they weigh against a real cloud.
 *
 * Options (environment): BENCH_TIME_SCALE=5 (AWS), BENCH_GCE_TIME_SCALE=5, BENCH_GCE_COLD_TIME_SCALE=1,
 * BENCH_ONLY=<comma list of scenario prefixes>, BENCH_OUT=bench/results.json.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { startEtcd, putLease, type EtcdServer } from '../test/helpers/etcd.js';
import { MUTATING_ACTIONS } from '../test/sim/ec2/index.js';
import { plan, type PlanInput } from '../src/planner/plan.js';
import { buildAwsWorld, writeLeases, type AwsWorld } from './lib/aws-world.js';
import { ensureBuilt, startRoutesyncOn, type RoutesyncRun } from './lib/routesync.js';
import { percentile, Results } from './lib/report.js';
import { until } from './lib/until.js';
import type { BaselineConfig } from './baselines/common.js';
import { gceColdStart } from './lib/gce.js';
import { gceScale } from './lib/gce-scale.js';
import { fleet } from '../test/helpers/plan-worlds.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const TIME_SCALE = Number(process.env['BENCH_TIME_SCALE'] ?? 5);
/** GCE's operations are latency-bound: a smaller scale keeps the simulator's own CPU out of the numbers. */
const GCE_TIME_SCALE = Number(process.env['BENCH_GCE_TIME_SCALE'] ?? 5);
const GCE_COLD_TIME_SCALE = Number(process.env['BENCH_GCE_COLD_TIME_SCALE'] ?? 1);
const ONLY = (process.env['BENCH_ONLY'] ?? '').split(',').map((s) => s.trim()).filter((s) => s !== '');
const OUT = process.env['BENCH_OUT'] ?? join(ROOT, 'bench', 'results.json');
/** The reads a resync makes; issue #5 allows one of each per resync interval, whatever the number of leases. */
const READ_ACTIONS = ['DescribeRouteTables', 'DescribeNetworkInterfaces'];
/** AWS: a CreateRoute bucket of 50, refilled with 5 a second (EC2's published request-rate limit). */
const BURST = 50;
const REFILL_PER_S = 5;

const log = (line: string): void => {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${line}\n`);
};
const wanted = (scenario: string): boolean => ONLY.length === 0 || ONLY.some((prefix) => scenario.startsWith(prefix));

let runCounter = 0;
const freshPrefix = (name: string): string => `/bench${++runCounter}-${name}/coreos.com/network`;

// ------------------------------------------------------------------ cold start: routesync and baselines

type Strategy = 'routesync' | 'k8s-route-controller' | 'flannel-per-node';

interface ColdStartOutcome {
  readonly converged: boolean;
  /** Cloud seconds from the strategy's first EC2 call to the last route created. */
  readonly seconds: number;
  readonly throttledMutating: number;
  readonly throttledAll: number;
  readonly calls: number;
  readonly routes: number;
}

/** Measures one strategy on a fresh world: `nodes` leases into `tables` tables (limit 1000). */
async function coldStartRun(
  etcd: EtcdServer,
  strategy: Strategy,
  nodes: number,
  tables: number,
  capCloudSeconds: number,
): Promise<ColdStartOutcome> {
  const world = await buildAwsWorld({ nodes, tables, routeLimit: 1000, timeScale: TIME_SCALE, clusterName: `cold${++runCounter}`, sourceDestCheck: true });
  const expected = nodes * tables;
  let routesync: RoutesyncRun | undefined;
  let child: ReturnType<typeof spawn> | undefined;
  try {
    if (strategy === 'routesync') {
      const prefix = freshPrefix('cold');
      await writeLeases(etcd.client, prefix, world.nodes);
      routesync = startRoutesyncOn(world, etcd.endpoint, prefix, { timeScale: TIME_SCALE, resyncInterval: '60s', routeLimit: 1000, logLevel: 'warn' });
    } else {
      const config: BaselineConfig = {
        endpoint: world.sim.url,
        timeScale: TIME_SCALE,
        tables: world.tables,
        nodes: world.nodes.map((n) => ({ ip: n.ip, subnet: n.subnet })),
        deadlineMs: (capCloudSeconds * 1000) / TIME_SCALE + 5000,
        seed: 42,
      };
      const script = join(ROOT, 'bench', 'baselines', strategy === 'flannel-per-node' ? 'flannel.ts' : 'k8s-route-controller.ts');
      child = spawn(process.execPath, ['--import', 'tsx', script, JSON.stringify(config)], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
    }
    const converged = await until(() => world.flannelRoutes() >= expected, (capCloudSeconds * 1000) / TIME_SCALE + 30_000, 10);
    const calls = world.world.calls();
    const first = calls[0]?.time ?? 0;
    const created = calls.filter((c) => c.action === 'CreateRoute' && c.httpStatus === 200);
    const last = created.reduce((max, c) => Math.max(max, c.time), first);
    return {
      converged,
      seconds: ((last - first) * TIME_SCALE) / 1000,
      throttledMutating: calls.filter((c) => c.fault === 'throttled' && MUTATING_ACTIONS.includes(c.action)).length,
      throttledAll: calls.filter((c) => c.fault === 'throttled').length,
      calls: calls.length,
      routes: world.flannelRoutes(),
    };
  } finally {
    await routesync?.stop();
    if (child !== undefined) {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      if (child.exitCode === null && child.signalCode === null) await once(child, 'exit');
    }
    await world.close();
  }
}

async function coldStart(results: Results, etcd: EtcdServer, scenario: string, nodes: number, tables: number): Promise<void> {
  if (!wanted(scenario)) return;
  const creates = nodes * tables;
  const bound = Math.max(0, creates - BURST) / REFILL_PER_S;
  // Baselines get up to 10× the bound (and at least 10 minutes) of cloud time to converge.
  const cap = Math.max(600, bound * 10);
  const outcomes = new Map<Strategy, ColdStartOutcome>();
  for (const strategy of ['routesync', 'k8s-route-controller', 'flannel-per-node'] as const) {
    log(`${scenario}: ${strategy}…`);
    const outcome = await coldStartRun(etcd, strategy, nodes, tables, cap);
    outcomes.set(strategy, outcome);
    const name = `${scenario}/${strategy}`;
    if (outcome.converged) results.add(name, 'convergence', outcome.seconds, 's', bound);
    else {
      results.add(name, 'convergence', null, 's', bound);
      results.note(name, `did not converge within ${cap} cloud seconds: ${outcome.routes}/${creates} routes`);
    }
    results.add(name, 'throttled_mutating', outcome.throttledMutating, 'calls', strategy === 'routesync' ? 0 : null);
    results.add(name, 'throttled_all', outcome.throttledAll, 'calls');
    results.add(name, 'api_calls', outcome.calls, 'calls');
    log(`${scenario}: ${strategy}: ${outcome.converged ? `${outcome.seconds.toFixed(1)} s` : 'not converged'}, ${outcome.throttledAll} throttled, ${outcome.calls} calls`);
  }
  const ours = outcomes.get('routesync');
  for (const baseline of ['k8s-route-controller', 'flannel-per-node'] as const) {
    const theirs = outcomes.get(baseline);
    if (ours?.converged === true && theirs !== undefined) {
      // A baseline that did not converge is counted at the cap: the speed-up is then a lower bound.
      const theirSeconds = theirs.converged ? theirs.seconds : cap;
      results.add(`${scenario}/routesync`, `speedup_vs_${baseline}`, theirSeconds / ours.seconds, 'x');
    }
  }
}

/**
 * A lease added 10 cloud seconds into the cold start of 500 leases (1 table): event → its
 * CreateRoute answered, in cloud ms. The pass's late creates jump its create queue, so the new
 * lease waits for a token, not for the 80 s of creates still queued.
 */
async function lateLease(results: Results, etcd: EtcdServer): Promise<void> {
  const name = 'aws-late-500';
  if (!wanted(name)) return;
  log(`${name}: a lease 10 cloud seconds into the cold start of 500 leases…`);
  const world = await buildAwsWorld({ nodes: 500, tables: 1, routeLimit: 1000, timeScale: TIME_SCALE, clusterName: `late${++runCounter}`, sourceDestCheck: true });
  const prefix = freshPrefix('late');
  try {
    await writeLeases(etcd.client, prefix, world.nodes);
    const run = startRoutesyncOn(world, etcd.endpoint, prefix, { timeScale: TIME_SCALE, resyncInterval: '60s', routeLimit: 1000, logLevel: 'warn' });
    try {
      const creates = (): Array<{ time: number; params: Record<string, string> }> => world.world.calls('CreateRoute').filter((c) => c.httpStatus === 200);
      if (!(await until(() => creates().length > 0, 60_000))) throw new Error(`no cold start:\n${run.proc.stderr().slice(-2000)}`);
      const firstCreate = creates()[0]?.time ?? Date.now();
      await until(() => Date.now() - firstCreate >= 10_000 / TIME_SCALE, 60_000);
      const node = world.addNode({ sourceDestCheck: true });
      const startedAt = Date.now();
      await putLease(etcd.client, prefix, node.subnet, node.ip);
      const created = (): number | undefined => creates().find((c) => c.params['DestinationCidrBlock'] === node.subnet)?.time;
      if (!(await until(() => created() !== undefined, 60_000, 5))) throw new Error(`no route for ${node.subnet}`);
      results.add(name, 'lease_to_route', (((created() ?? 0) - startedAt) * TIME_SCALE), 'ms', 2000);
      results.add(name, 'creates_still_queued', 500 - creates().filter((c) => c.params['DestinationCidrBlock'] !== node.subnet && c.time <= (created() ?? 0)).length, 'calls');
    } finally {
      await run.stop();
    }
  } finally {
    await world.close();
  }
}

// ------------------------------------------------------------------ steady state and churn at 1,000 leases

async function steadyAndChurn(results: Results, etcd: EtcdServer): Promise<void> {
  const steadyName = 'aws-steady-1000';
  const churnName = 'aws-churn-1000';
  if (!wanted(steadyName) && !wanted(churnName)) return;
  // 1,000 leases already routed (1 table). The limit is raised above AWS's 1,000 so that 1,000
  // leases plus the local route (and the churn's 100 more) fit in one table.
  const world = await buildAwsWorld({ nodes: 1000, tables: 1, routeLimit: 1200, timeScale: 10, clusterName: 'steady', sourceDestCheck: false, preseed: 1000 });
  const prefix = freshPrefix('steady');
  try {
    await writeLeases(etcd.client, prefix, world.nodes);
    if (wanted(steadyName)) {
      const intervals = 10;
      const run = startRoutesyncOn(world, etcd.endpoint, prefix, { timeScale: 10, resyncInterval: '2s', routeLimit: 1200 });
      try {
        if (!(await until(() => run.passes().length >= 1, 60_000))) throw new Error(`no first pass:\n${run.proc.stderr().slice(-2000)}`);
        world.world.clearCalls();
        const before = run.passes().length;
        log(`${steadyName}: ${intervals} resync intervals of 2 s…`);
        if (!(await until(() => run.passes().length >= before + intervals, 60_000))) throw new Error('resyncs did not come');
        const stats = world.world.callStats();
        const passes = run.passes().slice(before, before + intervals);
        const mutating = MUTATING_ACTIONS.reduce((sum, action) => sum + (stats[action]?.total ?? 0), 0);
        results.add(steadyName, 'mutating_calls', mutating, 'calls', 0);
        for (const action of READ_ACTIONS) {
          results.add(steadyName, `${action}_per_interval`, (stats[action]?.total ?? 0) / intervals, 'calls', 1);
        }
        results.add(steadyName, 'resync_pass_p50', percentile(passes.map((p) => Number(p['durationMs'])), 50), 'ms');
      } finally {
        await run.stop();
      }
    }
    if (wanted(churnName)) {
      const samples = 100;
      const run = startRoutesyncOn(world, etcd.endpoint, prefix, { timeScale: 10, resyncInterval: '60s', routeLimit: 1200 });
      try {
        if (!(await until(() => run.passes().length >= 1, 60_000))) throw new Error(`no first pass:\n${run.proc.stderr().slice(-2000)}`);
        world.world.clearCalls();
        log(`${churnName}: ${samples} leases added one by one…`);
        const latencies: number[] = [];
        const table = world.tables[0] ?? '';
        for (let i = 0; i < samples; i += 1) {
          const passes = run.passes().length;
          const node = world.addNode({ sourceDestCheck: true });
          const startedAt = Date.now();
          await putLease(etcd.client, prefix, node.subnet, node.ip);
          if (!(await until(() => world.world.route(table, node.subnet) !== undefined, 20_000, 1))) throw new Error(`no route for ${node.subnet}`);
          const created = world.world
            .calls('CreateRoute')
            .find((c) => c.httpStatus === 200 && c.params['DestinationCidrBlock'] === node.subnet);
          latencies.push((created?.time ?? Date.now()) - startedAt);
          // The pass that made it is over before the next lease comes.
          await until(() => run.passes().length > passes, 20_000, 1);
        }
        const stats = world.world.callStats();
        results.add(churnName, 'lease_to_route_p50', percentile(latencies, 50), 'ms');
        results.add(churnName, 'lease_to_route_p99', percentile(latencies, 99), 'ms', 300);
        results.add(churnName, 'lease_to_route_max', Math.max(...latencies), 'ms');
        results.add(churnName, 'DescribeNetworkInterfaces_per_lease', (stats['DescribeNetworkInterfaces']?.total ?? 0) / samples, 'calls');
        results.add(churnName, 'throttled', Object.values(stats).reduce((sum, s) => sum + s.throttled, 0), 'calls', 0);
      } finally {
        await run.stop();
      }
    }
  } finally {
    await world.close();
  }
}

// ------------------------------------------------------------------ planner and memory at 10,000 leases

function planner(results: Results): void {
  const name = 'planner-10000x4';
  if (!wanted(name)) return;
  const variants: Array<[string, PlanInput]> = [
    ['steady', fleet(10_000, 4, 10_000, 10_001)],
    ['cold', fleet(10_000, 4, 0, 10_001)],
    ['aws_limit_1000', fleet(10_000, 4, 999, 1000)],
  ];
  for (const [variant, input] of variants) {
    const times: number[] = [];
    for (let i = 0; i < 12; i += 1) {
      const started = performance.now();
      plan(input);
      const elapsed = performance.now() - started;
      if (i >= 3) times.push(elapsed);
    }
    results.add(name, `plan_${variant}_p50`, percentile(times, 50), 'ms', 50);
    results.add(name, `plan_${variant}_max`, Math.max(...times), 'ms', 50);
  }
}

/** Resyncs after the first pass before memory is read: the heap has settled into its cycle by then. */
const MEMORY_RESYNCS = 4;

/** Memory of routesync, as shipped, at `leases` leases after its first pass and MEMORY_RESYNCS resyncs. */
async function measureMemory(
  etcd: EtcdServer,
  leases: number,
  routeLimit: number | 'auto' = 1000,
): Promise<{
  rss: number | null;
  peak: number | null;
  passes: Array<Record<string, unknown>>;
  mutating: number;
  /** Calls per resync interval after the first pass, by read action. */
  readsPerResync: Record<string, number>;
}> {
  const world = await buildAwsWorld({
    nodes: leases,
    tables: 4,
    routeLimit: 1000,
    timeScale: 10,
    clusterName: `mem${++runCounter}`,
    sourceDestCheck: false,
    preseed: Math.min(leases, 999),
  });
  const prefix = freshPrefix('mem');
  try {
    await writeLeases(etcd.client, prefix, world.nodes, 128);
    // `auto`: the simulator's quota is its default of 1,000 here, read with GetServiceQuota.
    const run = startRoutesyncOn(world, etcd.endpoint, prefix, { timeScale: 10, resyncInterval: '3s', routeLimit });
    try {
      const reads = (): { passes: number; calls: Record<string, number> } => {
        const passes = run.passes().length;
        const stats = world.world.callStats();
        return { passes, calls: Object.fromEntries(READ_ACTIONS.map((action) => [action, stats[action]?.total ?? 0])) };
      };
      if (!(await until(() => run.passes().length >= 1, 120_000))) throw new Error(`no pass:\n${run.proc.stderr().slice(-2000)}`);
      const afterFirst = reads();
      if (!(await until(() => run.passes().length >= 1 + MEMORY_RESYNCS, 120_000))) {
        throw new Error(`passes did not come:\n${run.proc.stderr().slice(-2000)}`);
      }
      const mem = run.memory();
      const atEnd = reads();
      const stats = world.world.callStats();
      return {
        rss: mem?.rss ?? null,
        peak: mem?.peak ?? null,
        passes: run.passes(),
        mutating: MUTATING_ACTIONS.reduce((sum, action) => sum + (stats[action]?.total ?? 0), 0),
        readsPerResync: Object.fromEntries(
          READ_ACTIONS.map((action) => [
            action,
            ((atEnd.calls[action] ?? 0) - (afterFirst.calls[action] ?? 0)) / (atEnd.passes - afterFirst.passes),
          ]),
        ),
      };
    } finally {
      await run.stop();
    }
  } finally {
    await world.close();
  }
}

async function memory(results: Results, etcd: EtcdServer): Promise<void> {
  const auto = 'aws-auto-rss-10000';
  if (wanted(auto)) {
    log(`${auto}: the same 10,000 leases with --route-limit auto: the Service Quotas client is built and used…`);
    const withQuotas = await measureMemory(etcd, 10_000, 'auto');
    results.add(auto, 'rss', withQuotas.rss, 'MB', 150);
    results.add(auto, 'peak_rss', withQuotas.peak, 'MB', 140);
  }
  const name = 'aws-rss-10000';
  if (!wanted(name)) return;
  log(`${name}: 10,000 nodes and leases, 4 tables at AWS's 1,000-route limit, a resync every 3 s…`);
  const big = await measureMemory(etcd, 10_000);
  results.add(name, 'rss', big.rss, 'MB', 150);
  results.add(name, 'peak_rss', big.peak, 'MB', 140);
  results.add(name, 'first_pass', Number(big.passes[0]?.['durationMs']), 'ms');
  results.add(name, 'resync_pass_p50', percentile(big.passes.slice(1).map((p) => Number(p['durationMs'])), 50), 'ms');
  results.add(name, 'mutating_calls', big.mutating, 'calls', 0);
  for (const [action, calls] of Object.entries(big.readsPerResync)) results.add(name, `${action}_per_interval`, calls, 'calls', 1);
  log(`${name}: the same with 10 leases, for the fixed cost…`);
  const idle = await measureMemory(etcd, 10);
  results.add('aws-rss-10', 'rss', idle.rss, 'MB');
}

// ------------------------------------------------------------------ main

async function main(): Promise<void> {
  const started = performance.now();
  // The baselines use the SDK in this process; the pinned SDK supports Node 20 (as in src/cli.ts).
  process.env['AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED'] ??= 'true';
  ensureBuilt(log);
  const results = new Results();
  log(`time scale ${TIME_SCALE} (GCE ${GCE_TIME_SCALE}, GCE cold start ${GCE_COLD_TIME_SCALE}): cloud seconds = wall seconds × time scale`);
  const etcd = await startEtcd();
  try {
    await coldStart(results, etcd, 'aws-cold-500x1', 500, 1);
    await coldStart(results, etcd, 'aws-cold-400x3', 400, 3);
    await lateLease(results, etcd);
    await steadyAndChurn(results, etcd);
    planner(results);
    await memory(results, etcd);
    if (wanted('gce-cold-500')) await gceColdStart(results, etcd, { timeScale: GCE_COLD_TIME_SCALE, log, freshPrefix });
    await gceScale(results, etcd, { timeScale: GCE_TIME_SCALE, log, freshPrefix, wanted });
  } finally {
    await etcd.stop();
  }
  results.add('bench', 'wall_time', (performance.now() - started) / 1000, 's', 480);
  process.stdout.write(`\n${results.table()}\n\n`);
  results.write(OUT);
  log(`wrote ${OUT}`);
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);

