/**
 * Runs the built CLI (dist/src/cli.js, what `npx routesync` runs) as a separate process, the
 * way an operator does. Every process started here is stopped by the test that started it
 * (stopAll in afterEach).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { existsSync } from 'node:fs';

export const CLI = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'dist', 'src', 'cli.js');

export interface RoutesyncProcess {
  readonly child: ChildProcess;
  /** Everything written so far. */
  stdout(): string;
  stderr(): string;
  /** Parsed JSON log lines so far. */
  logs(): Array<Record<string, unknown>>;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Sends a signal and waits for the exit (SIGKILL after `graceMs`). */
  stop(signal?: NodeJS.Signals, graceMs?: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const running = new Set<RoutesyncProcess>();

/** The environment a child gets: no AWS credentials or endpoints from the developer's shell, no instance metadata. */
function childEnv(extra: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (key.startsWith('AWS_') || key.startsWith('ROUTESYNC_')) continue;
    env[key] = value;
  }
  return { ...env, AWS_EC2_METADATA_DISABLED: 'true', ...extra };
}

export function startRoutesync(args: readonly string[], extraEnv: NodeJS.ProcessEnv = {}): RoutesyncProcess {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\` (npm test does)`);
  const child = spawn(process.execPath, [CLI, ...args], { env: childEnv(extraEnv), stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (err += chunk));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
  });
  const handle: RoutesyncProcess = {
    child,
    stdout: () => out,
    stderr: () => err,
    logs: () =>
      err
        .split('\n')
        .filter((line) => line.startsWith('{'))
        .flatMap((line) => {
          try {
            return [JSON.parse(line) as Record<string, unknown>];
          } catch {
            return [];
          }
        }),
    exited,
    stop: async (signal = 'SIGTERM', graceMs = 10_000) => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      try {
        return await exited;
      } finally {
        clearTimeout(timer);
      }
    },
  };
  running.add(handle);
  void exited.then(() => running.delete(handle));
  return handle;
}

/** Runs to completion (e.g. --once); kills the process if it outlives `timeoutMs`. */
export async function runRoutesync(
  args: readonly string[],
  extraEnv: NodeJS.ProcessEnv = {},
  timeoutMs = 45_000,
): Promise<{ code: number | null; stdout: string; stderr: string; logs: Array<Record<string, unknown>> }> {
  const proc = startRoutesync(args, extraEnv);
  const timer = setTimeout(() => proc.child.kill('SIGKILL'), timeoutMs);
  const { code } = await proc.exited;
  clearTimeout(timer);
  return { code, stdout: proc.stdout(), stderr: proc.stderr(), logs: proc.logs() };
}

/** Stops every routesync process still running (call in afterEach). */
export async function stopAllRoutesync(): Promise<void> {
  await Promise.all([...running].map((proc) => proc.stop('SIGKILL', 5_000)));
}

/** The HTTP port a process started with `--listen 127.0.0.1:0` logged, once it has. */
export function httpPortOf(proc: RoutesyncProcess): number | undefined {
  for (const line of proc.logs()) {
    const listen = line['listen'];
    if (typeof listen === 'string') return Number(listen.split(':').at(-1));
  }
  return undefined;
}

/** The /status port a process started with `--status-listen 127.0.0.1:0` logged, once it has. */
export function statusPortOf(proc: RoutesyncProcess): number | undefined {
  for (const line of proc.logs()) {
    const listen = line['statusListen'];
    if (typeof listen === 'string') return Number(listen.split(':').at(-1));
  }
  return undefined;
}

/** The replica identity a process logs with (also the suffix of its cloud user agent). */
export function replicaOf(proc: RoutesyncProcess): string | undefined {
  const replica = proc.logs().find((line) => typeof line['replica'] === 'string')?.['replica'];
  return typeof replica === 'string' ? replica : undefined;
}

/** The time (ms) of the first log line with this message, if any. */
export function loggedAt(proc: RoutesyncProcess, message: string): number | undefined {
  const line = proc.logs().find((l) => l['msg'] === message);
  return typeof line?.['time'] === 'number' ? line['time'] : undefined;
}

export async function getJson<T>(port: number, path: string): Promise<{ status: number; body: T }> {
  const response = await fetch(`http://127.0.0.1:${port}${path}`);
  const text = await response.text();
  return { status: response.status, body: (response.headers.get('content-type')?.includes('json') ? JSON.parse(text) : text) as T };
}
