/**
 * routesync as the operator runs it: the built CLI (dist/src/cli.js) as its own process, against a
 * real etcd and the simulator. The benchmark builds it first when dist/ is older than the sources.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CLI, startRoutesync, type RoutesyncProcess } from '../../test/helpers/routesync.js';
import type { AwsWorld } from './aws-world.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestMtime(path));
    else if (entry.name.endsWith('.ts')) newest = Math.max(newest, statSync(path).mtimeMs);
  }
  return newest;
}

/** Runs `npm run build` when dist/src/cli.js is missing or older than src/ or providers/. */
export function ensureBuilt(log: (line: string) => void): void {
  const sources = Math.max(newestMtime(join(ROOT, 'src')), newestMtime(join(ROOT, 'providers')));
  if (existsSync(CLI) && statSync(CLI).mtimeMs >= sources) return;
  log('building routesync (dist/ is older than the sources)…');
  execFileSync('npm', ['run', '--silent', 'build'], { cwd: ROOT, stdio: 'inherit' });
}

/** The environment variables that shape routesync's memory, as the deployments set them. */
export const MEMORY_ENVIRONMENT = ['NODE_OPTIONS', 'MALLOC_ARENA_MAX'] as const;

/**
 * MEMORY_ENVIRONMENT as the Kubernetes manifest ships it (deploy/kubernetes/base/deployment.yaml):
 * V8's heap settings and glibc's malloc arenas. Every routesync the bench starts runs with them, so
 * its figures are the shipped process's (test/deploy/manifests.test.ts keeps the Dockerfile and the
 * systemd unit in step).
 */
export function shippedEnvironment(): Record<(typeof MEMORY_ENVIRONMENT)[number], string> {
  const manifest = readFileSync(join(ROOT, 'deploy', 'kubernetes', 'base', 'deployment.yaml'), 'utf8');
  const valueOf = (name: string): string => {
    const value = new RegExp(`- name: ${name}\\n\\s+value: (.+)\\n`).exec(manifest)?.[1];
    if (value === undefined) throw new Error(`deploy/kubernetes/base/deployment.yaml sets no ${name}`);
    return value.trim().replace(/^["']|["']$/g, '');
  };
  return { NODE_OPTIONS: valueOf('NODE_OPTIONS'), MALLOC_ARENA_MAX: valueOf('MALLOC_ARENA_MAX') };
}

/** startRoutesync with the shipped memory environment (`env`'s NODE_OPTIONS, e.g. a profiling hook, added). */
export function startShippedRoutesync(args: readonly string[], env: NodeJS.ProcessEnv = {}): RoutesyncProcess {
  const shipped = shippedEnvironment();
  const extra = env['NODE_OPTIONS'];
  return startRoutesync(args, { ...env, ...shipped, NODE_OPTIONS: extra !== undefined ? `${shipped.NODE_OPTIONS} ${extra}` : shipped.NODE_OPTIONS });
}

/** The process's log lines whose msg is `reconcile pass done`. */
export function passesOf(proc: RoutesyncProcess): Array<Record<string, unknown>> {
  return proc.logs().filter((line) => line['msg'] === 'reconcile pass done');
}

/** Resident set size now and at its peak (VmRSS, VmHWM) of process `pid`, MB (10⁶ bytes); undefined once it is gone. */
export function processMemory(pid: number): { rss: number; peak: number } | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const megabytes = (name: string): number => (Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN) * 1024) / 1e6;
    return { rss: megabytes('VmRSS'), peak: megabytes('VmHWM') };
  } catch {
    return undefined;
  }
}

export interface RoutesyncRun {
  readonly proc: RoutesyncProcess;
  /** Log lines whose msg is `reconcile pass done`. */
  passes(): Array<Record<string, unknown>>;
  /** Resident set size now and at its peak (VmRSS, VmHWM), MB (10⁶ bytes). */
  memory(): { rss: number; peak: number } | undefined;
  stop(): Promise<void>;
}

export function startRoutesyncOn(
  world: AwsWorld,
  etcdEndpoint: string,
  prefix: string,
  /** routeLimit `auto`: no --route-limit, so routesync reads the quota with its Service Quotas client. */
  options: { timeScale: number; resyncInterval: string; routeLimit: number | 'auto'; logLevel?: string },
): RoutesyncRun {
  const args = [
    '--provider', 'aws-vpc',
    '--etcd-endpoints', etcdEndpoint,
    '--etcd-prefix', prefix,
    '--vpc-id', world.vpcId,
    '--aws-region', 'us-east-1',
    '--aws-endpoint', world.sim.url,
    '--cluster-name', world.clusterName,
    ...(options.routeLimit === 'auto' ? [] : ['--route-limit', String(options.routeLimit)]),
    '--resync-interval', options.resyncInterval,
    '--listen', '',
    '--log-level', options.logLevel ?? 'info',
    '--leader-election-key', `/bench/${world.clusterName}/leader`,
  ];
  // The client mirrors EC2's buckets; a simulator running N times faster needs them N times faster.
  const proc = startShippedRoutesync(args, { ROUTESYNC_AWS_API_RATE_LIMITS: `time-scale=${options.timeScale}` });
  return {
    proc,
    passes: () => passesOf(proc),
    memory: () => (proc.child.pid !== undefined ? processMemory(proc.child.pid) : undefined),
    stop: async () => {
      await proc.stop('SIGTERM', 10_000);
    },
  };
}
