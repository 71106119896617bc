/**
 * deploy/systemd/routesync.service as systemd would run it: the unit passes `systemd-analyze
 * verify`, and the built CLI survives the unit's exact SystemCallFilter= allow-list, loaded with
 * libseccomp (python3-seccomp) since the tests cannot run systemd as PID 1.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { useEtcdSuite } from '../helpers/suite.js';
import { clusterArgs, startAwsCluster, writeFlannel } from '../helpers/aws-cluster.js';
import { CLI } from '../helpers/routesync.js';
import { parseUnit, readText, repoPath, type UnitFile } from './support.js';

const PYTHON = '/usr/bin/python3';
const UNIT_TEXT = readText('deploy', 'systemd', 'routesync.service');
const unit = parseUnit(UNIT_TEXT);
const work = mkdtempSync(join(tmpdir(), 'routesync-systemd-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** Every syscall of a group, its nested groups expanded (systemd-analyze lists those by name only). */
function expandGroup(group: string, seen = new Set<string>()): Set<string> {
  const names = new Set<string>();
  if (seen.has(group)) return names;
  seen.add(group);
  const text = execFileSync('systemd-analyze', ['syscall-filter', group], { encoding: 'utf8' });
  for (const line of text.split('\n').slice(1)) {
    const name = line.trim();
    if (name === '' || name.startsWith('#')) continue;
    if (name.startsWith('@')) for (const nested of expandGroup(name, seen)) names.add(nested);
    else names.add(name);
  }
  return names;
}

/**
 * The allow-list the unit's SystemCallFilter= lines build: allow lines add, `~` lines remove (as
 * systemd merges them). systemd also always allows these, whatever the list says.
 */
function allowList(u: UnitFile): Set<string> {
  const lines = (u.get('Service') ?? []).filter(([k]) => k === 'SystemCallFilter').map(([, v]) => v);
  expect(lines.length, 'the unit has a SystemCallFilter=').toBeGreaterThan(0);
  expect(lines[0]?.startsWith('~'), 'the first SystemCallFilter= is an allow-list').toBe(false);
  const allowed = new Set(['execve', 'exit', 'exit_group', 'getrlimit', 'rt_sigreturn', 'sigreturn']);
  for (const line of lines) {
    const deny = line.startsWith('~');
    for (const item of line.replace(/^~/, '').split(/\s+/).filter((i) => i !== '')) {
      const names = item.startsWith('@') ? expandGroup(item) : new Set([item.replace(/:.*$/, '')]);
      expect(names.size, `${item} is a known syscall or group`).toBeGreaterThan(0);
      for (const name of names) {
        if (deny) allowed.delete(name);
        else allowed.add(name);
      }
    }
  }
  return allowed;
}

/** What a call outside the list does: SystemCallErrorNumber= makes it fail, otherwise the process is killed. */
function defaultAction(u: UnitFile): string {
  const errnoName = (u.get('Service') ?? []).filter(([k]) => k === 'SystemCallErrorNumber').at(-1)?.[1];
  if (errnoName === undefined || errnoName === 'kill') return 'kill';
  const numbers: Readonly<Record<string, number>> = { EPERM: 1, ENOSYS: 38, EACCES: 13 };
  const number = numbers[errnoName] ?? Number(errnoName);
  expect(Number.isInteger(number), `SystemCallErrorNumber=${errnoName} is understood here`).toBe(true);
  return `errno:${number}`;
}

interface Outcome {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs the built CLI under a syscall allow-list; kills it (and fails) if it outlives 45 s. */
async function runFiltered(names: ReadonlySet<string>, action: string, args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<Outcome> {
  const list = join(work, `syscalls-${names.size}-${Math.random().toString(16).slice(2)}.txt`);
  writeFileSync(list, [...names].join('\n'));
  const childEnv: NodeJS.ProcessEnv = { PATH: process.env['PATH'], HOME: work, AWS_EC2_METADATA_DISABLED: 'true', ...env };
  const child = spawn(PYTHON, [repoPath('test', 'deploy', 'seccomp-exec.py'), list, action, process.execPath, CLI, ...args], {
    env: childEnv,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const timer = setTimeout(() => child.kill('SIGKILL'), 45_000);
  const { code, signal } = await new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (c, s) => resolve({ code: c, signal: s })),
  );
  clearTimeout(timer);
  return { code, signal, stdout, stderr };
}

const hasSeccomp = spawnSync(PYTHON, ['-c', 'import seccomp'], { stdio: 'ignore' }).status === 0;
const hasSystemdAnalyze = spawnSync('systemd-analyze', ['--version'], { stdio: 'ignore' }).status === 0;

describe.skipIf(!hasSystemdAnalyze)('deploy/systemd/routesync.service under systemd-analyze', () => {
  it('passes `systemd-analyze verify` without a warning', () => {
    // verify checks that ExecStart's binary exists: point it at the built CLI, as installed.
    expect(UNIT_TEXT).toMatch(/^ExecStart=\/usr\/local\/bin\/routesync$/m);
    const copy = join(work, 'routesync.service');
    const bin = join(work, 'routesync');
    writeFileSync(bin, `#!/bin/sh\nexec ${JSON.stringify(process.execPath)} ${JSON.stringify(CLI)} "$@"\n`);
    chmodSync(bin, 0o755);
    writeFileSync(copy, UNIT_TEXT.replace(/^ExecStart=\/usr\/local\/bin\/routesync$/m, `ExecStart=${bin}`));
    const result = spawnSync('systemd-analyze', ['verify', copy], { encoding: 'utf8' });
    expect(result.status, result.stderr).toBe(0);
    // verify exits 0 on an unknown key or syscall group too, and only warns.
    expect(`${result.stdout}${result.stderr}`.trim()).toBe('');
  });
});

describe.skipIf(!hasSeccomp || !hasSystemdAnalyze)("the built CLI under the unit's SystemCallFilter=", () => {
  const suite = useEtcdSuite();
  const allowed = allowList(unit);
  const action = defaultAction(unit);

  it('the harness really enforces a filter: without mmap, node is killed', async () => {
    const crippled = new Set(allowed);
    crippled.delete('mmap');
    const result = await runFiltered(crippled, 'kill', ['--help']);
    expect(result.signal).toBe('SIGSYS');
  });

  it('--help and --version exit 0', async () => {
    for (const args of [['--help'], ['--version']]) {
      const result = await runFiltered(allowed, action, args);
      expect({ args, code: result.code, signal: result.signal }, result.stderr).toEqual({ args, code: 0, signal: null });
    }
  });

  it('a --once pass against etcd and the EC2 simulator (with the HTTP server on) routes every lease and exits 0', async () => {
    const cluster = suite.closeAfterTest(await startAwsCluster({ nodes: 3 }));
    const prefix = '/systemd/coreos.com/network';
    await writeFlannel(suite.etcd.client, prefix, cluster.nodes);
    const args = clusterArgs(cluster, suite.etcd.endpoint, prefix, ['--once', '--listen', '127.0.0.1:0', '--status-listen', '127.0.0.1:0']);
    const result = await runFiltered(allowed, action, args);
    expect({ code: result.code, signal: result.signal }, result.stderr).toEqual({ code: 0, signal: null });
    expect(cluster.flannelRoutes().size).toBe(3);
  });
});
