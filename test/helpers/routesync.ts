/**
 * Runs the built CLI (dist/src/cli.js, what `npx routesync` runs) as a separate process, the
 * way an operator does. Every process started here is stopped by the test that started it
 * (stopAll in afterEach).
 *
 * routesync promises JSON lines on stderr, so a process that wrote anything else fails the test:
 * runRoutesync throws, and stopAllRoutesync (every e2e suite's afterEach) throws for the processes
 * started since its last call. One exception: a process that exited 2 and wrote no JSON line at all
 * (a usage error, printed before the logger exists; the CLI-usage tests expect that text).
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
  /** Complete stderr lines that are not a JSON object, so far. */
  nonJsonLines(): string[];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Sends a signal and waits for the exit (SIGKILL after `graceMs`). */
  stop(signal?: NodeJS.Signals, graceMs?: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const running = new Set<RoutesyncProcess>();
/** Processes whose stderr no one has checked yet (stopAllRoutesync checks them). */
const unchecked = new Set<RoutesyncProcess>();

/** The line as a JSON object (as pino writes one), or undefined. */
function jsonObject(line: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(line);
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

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
  // Lines are parsed once as they arrive: the soak reads the logs of long runs at every step.
  let partial = '';
  const parsed: Array<Record<string, unknown>> = [];
  const nonJson: string[] = [];
  const takeLine = (line: string): void => {
    const value = jsonObject(line);
    if (value !== undefined) parsed.push(value);
    else nonJson.push(line);
  };
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    err += chunk;
    const lines = (partial + chunk).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) takeLine(line);
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    // 'close': stderr is drained by then. An unterminated last line counts, except after a SIGKILL
    // (the kill may cut a line being written; that is the test's doing, not routesync's).
    child.once('close', (code, signal) => {
      if (partial !== '' && signal !== 'SIGKILL') takeLine(partial);
      partial = '';
      resolve({ code, signal });
    });
  });
  const handle: RoutesyncProcess = {
    child,
    stdout: () => out,
    stderr: () => err,
    logs: () => [...parsed],
    nonJsonLines: () => [...nonJson],
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
  unchecked.add(handle);
  void exited.then(() => running.delete(handle));
  return handle;
}

/**
 * What breaks the JSON-lines promise in this process's stderr so far: its non-JSON lines, or none
 * for a usage error (exit 2 with no JSON line at all, written before the logger exists).
 */
export function stderrViolations(proc: RoutesyncProcess): string[] {
  const lines = proc.nonJsonLines();
  if (lines.length === 0) return [];
  if (proc.child.exitCode === 2 && proc.logs().length === 0) return [];
  return lines;
}

function assertJsonStderr(procs: Iterable<RoutesyncProcess>): void {
  const problems: string[] = [];
  for (const proc of procs) {
    const lines = stderrViolations(proc);
    if (lines.length > 0) {
      const shown = lines.slice(0, 5).map((l) => `  ${JSON.stringify(l.slice(0, 300))}`);
      problems.push(`routesync (pid ${proc.child.pid}, ${proc.child.spawnargs.slice(2, 4).join(' ')}) wrote ${lines.length} non-JSON stderr line(s):\n${shown.join('\n')}`);
    }
  }
  if (problems.length > 0) throw new Error(`every stderr line of routesync must be JSON:\n${problems.join('\n')}`);
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
  unchecked.delete(proc);
  assertJsonStderr([proc]);
  return { code, stdout: proc.stdout(), stderr: proc.stderr(), logs: proc.logs() };
}

/**
 * Stops every routesync process still running (call in afterEach), then throws if one started
 * since the last call wrote a non-JSON line to stderr.
 */
export async function stopAllRoutesync(): Promise<void> {
  await Promise.all([...running].map((proc) => proc.stop('SIGKILL', 5_000)));
  const procs = [...unchecked];
  unchecked.clear();
  assertJsonStderr(procs);
}

/** Takes a process out of stopAllRoutesync's stderr check (for a caller that checks it itself, e.g. the soak). */
export function checkedElsewhere(proc: RoutesyncProcess): void {
  unchecked.delete(proc);
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
