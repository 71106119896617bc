/**
 * GCE cold start: 500 leases into one network of the GCE simulator, whose insert operations take
 * `OPERATION_LATENCY_MS` of cloud time and whose writes are limited per minute (its default quota),
 * for routesync (the CLI, --provider gce) and the two baselines written for GCE.
 *
 * Bound: with W writes a minute and an operation latency L, N inserts cannot all be done before
 * L + 60 s × floor((N − 1) / W): every insert may be sent at once within a minute's quota.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { EtcdServer } from '../../test/helpers/etcd.js';
import { startShippedRoutesync } from './routesync.js';
import { startGceSimulator, type GceSimulator } from '../../test/sim/gce/index.js';
import { leaseSubnet, writeLeases, type BenchNode } from './aws-world.js';
import type { Results } from './report.js';
import { until } from './until.js';
import type { GceBaselineConfig } from '../baselines/gce-common.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const PROJECT = 'routesync-bench';
const NODES = 500;
const OPERATION_LATENCY_MS = 2000;
/** The GCE simulator's default write quota (routes.insert/delete per minute). */
const WRITES_PER_MINUTE = 1500;
const ZONES = ['us-central1-a', 'us-central1-b'];

export interface GceBenchContext {
  readonly timeScale: number;
  readonly log: (line: string) => void;
  readonly freshPrefix: (name: string) => string;
}

interface GceNode extends BenchNode {
  readonly name: string;
  readonly zone: string;
}

async function buildGceWorld(timeScale: number): Promise<{ sim: GceSimulator; nodes: GceNode[] }> {
  const sim = await startGceSimulator({
    project: PROJECT,
    routeQuota: 1000,
    operationLatencyMs: OPERATION_LATENCY_MS,
    writeRequestsPerMinute: WRITES_PER_MINUTE,
    timeScale,
    zones: ZONES,
  });
  sim.world.createNetwork({ name: 'default', ipv4Range: '10.240.0.0/16' });
  const nodes: GceNode[] = [];
  for (let index = 0; index < NODES; index += 1) {
    const name = `node-${index}`;
    const zone = ZONES[index % ZONES.length] ?? 'us-central1-a';
    const ip = `10.240.${Math.floor(index / 200)}.${10 + (index % 200)}`;
    sim.world.createInstance({ name, zone, networkIP: ip, canIpForward: true });
    nodes.push({ index, ip, subnet: leaseSubnet(index), eni: '', instanceId: name, name, zone });
  }
  return { sim, nodes };
}

type Strategy = 'routesync' | 'k8s-route-controller' | 'flannel-per-node';

export async function gceColdStart(results: Results, etcd: EtcdServer, context: GceBenchContext): Promise<void> {
  const scenario = 'gce-cold-500';
  const bound = OPERATION_LATENCY_MS / 1000 + 60 * Math.floor((NODES - 1) / WRITES_PER_MINUTE);
  const capCloudSeconds = 600;
  const seconds = new Map<Strategy, number>();
  for (const strategy of ['routesync', 'k8s-route-controller', 'flannel-per-node'] as const) {
    context.log(`${scenario}: ${strategy}…`);
    const { sim, nodes } = await buildGceWorld(context.timeScale);
    const leases = new Set(nodes.map((n) => n.subnet));
    const routed = (): number => sim.world.routes().filter((r) => leases.has(r.destRange)).length;
    let child: ReturnType<typeof spawn> | undefined;
    let proc: ReturnType<typeof startShippedRoutesync> | undefined;
    const name = `${scenario}/${strategy}`;
    try {
      if (strategy === 'routesync') {
        const prefix = context.freshPrefix('gce');
        await writeLeases(etcd.client, prefix, nodes);
        proc = startShippedRoutesync([
          '--provider', 'gce',
          '--etcd-endpoints', etcd.endpoint,
          '--etcd-prefix', prefix,
          '--gce-project', PROJECT,
          '--gce-network', 'default',
          '--gce-endpoint', sim.url,
          '--cluster-name', 'gcebench',
          '--route-limit', '1000',
          '--resync-interval', '60s',
          '--listen', '',
          '--log-level', 'warn',
          '--leader-election-key', `/bench/gce${prefix}/leader`,
        ]);
      } else {
        const config: GceBaselineConfig = {
          endpoint: sim.url,
          project: PROJECT,
          network: 'default',
          timeScale: context.timeScale,
          nodes: nodes.map((n) => ({ ip: n.ip, subnet: n.subnet, name: n.name, zone: n.zone })),
          deadlineMs: (capCloudSeconds * 1000) / context.timeScale + 5000,
          seed: 7,
        };
        const script = join(ROOT, 'bench', 'baselines', strategy === 'flannel-per-node' ? 'gce-flannel.ts' : 'gce-k8s-route-controller.ts');
        child = spawn(process.execPath, ['--import', 'tsx', script, JSON.stringify(config)], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
      }
      const converged = await until(() => routed() >= NODES, (capCloudSeconds * 1000) / context.timeScale + 30_000);
      const calls = sim.world.calls();
      const first = calls[0]?.time ?? 0;
      const done = sim.world
        .operationsList()
        .filter((op) => op.operationType === 'insert' && op.status === 'DONE' && op.error === undefined && op.endTime !== undefined)
        .map((op) => Date.parse(op.endTime ?? ''));
      const last = Math.max(first, ...done);
      const cloudSeconds = ((last - first) * context.timeScale) / 1000;
      if (converged) {
        seconds.set(strategy, cloudSeconds);
        results.add(name, 'convergence', cloudSeconds, 's', bound);
      } else {
        results.add(name, 'convergence', null, 's', bound);
        results.note(name, `did not converge within ${capCloudSeconds} cloud seconds: ${routed()}/${NODES} routes`);
      }
      results.add(name, 'rate_limited', calls.filter((c) => c.fault === 'rate-limited').length, 'calls', strategy === 'routesync' ? 0 : null);
      results.add(name, 'api_calls', calls.length, 'calls');
      context.log(`${scenario}: ${strategy}: ${converged ? `${cloudSeconds.toFixed(1)} s` : 'not converged'}, ${calls.length} calls`);
    } finally {
      await proc?.stop('SIGTERM', 10_000);
      if (child !== undefined) {
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
        if (child.exitCode === null && child.signalCode === null) await once(child, 'exit');
      }
      await sim.close();
    }
  }
  const ours = seconds.get('routesync');
  for (const baseline of ['k8s-route-controller', 'flannel-per-node'] as const) {
    const theirs = seconds.get(baseline);
    if (ours !== undefined && theirs !== undefined) results.add(`${scenario}/routesync`, `speedup_vs_${baseline}`, theirs / ours, 'x');
  }
}
