/**
 * Test helpers for a real etcd (Debian's etcd-server 3.4 at /usr/bin/etcd, or `ETCD_BIN`), and for
 * writing flannel's keys into it. Shared by integration and end-to-end suites.
 *
 * ```ts
 * let etcd: EtcdServer;
 * beforeAll(async () => { etcd = await startEtcd(); });
 * afterAll(async () => { await etcd.stop(); });
 *
 * await putNetworkConfig(etcd.client, '/coreos.com/network', { Network: '10.1.0.0/16', Backend: { Type: 'alloc' } });
 * await putLease(etcd.client, '/coreos.com/network', '10.1.19.0/24', '172.31.14.97', { ttlSeconds: 60 });
 * await putLease(etcd.client, '/coreos.com/network', '10.1.20.0/24', '172.31.14.98'); // a reservation
 * ```
 *
 * Every etcd listens on free loopback ports only, in a fresh temporary data dir. `stop()` stops the
 * process (SIGTERM, SIGKILL after a deadline), closes the helper's client and removes the data dir.
 * Waits are for conditions with deadlines, never fixed sleeps.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import type { Etcd3 } from 'etcd3';

import { createEtcdClient } from '../../src/leases/etcd-client.js';
import { leaseKeyFor, configKey } from '../../src/leases/flannel.js';

export const ETCD_BIN = process.env['ETCD_BIN'] ?? '/usr/bin/etcd';

export interface EtcdServer {
  /** Client URL, e.g. `http://127.0.0.1:41234`. Stays the same across `restart()`. */
  readonly endpoint: string;
  readonly clientPort: number;
  readonly peerPort: number;
  readonly dataDir: string;
  /** A client for the test's own reads and writes (closed by `stop()`). */
  readonly client: Etcd3;
  /** The process id while running, else undefined. */
  readonly pid: () => number | undefined;
  /** True while the etcd process is running. */
  readonly running: () => boolean;
  /**
   * Stops the process but keeps the data dir and ports, to simulate an outage; `restart()` brings
   * it back with the same data. `signal` SIGKILL simulates a crash.
   */
  halt(options?: { signal?: 'SIGTERM' | 'SIGKILL' }): Promise<void>;
  /** Starts etcd again (after `halt()`, or halts first if running) with the same data and ports. */
  restart(): Promise<void>;
  /** Compacts the key-value history up to `revision` (default: the current revision). Returns it. */
  compact(revision?: number): Promise<number>;
  /** The current store revision. */
  currentRevision(): Promise<number>;
  /** The process's recent stderr (etcd logs errors only), for diagnostics. */
  logs(): string;
  /** Stops the process, closes the client, removes the data dir. Idempotent. */
  stop(): Promise<void>;
}

export interface StartEtcdOptions {
  /** Deadline for etcd to report healthy. Default 15000 ms. */
  readonly readyTimeoutMs?: number;
  /** Extra command-line flags, e.g. `['--auto-compaction-retention=1']`. */
  readonly extraArgs?: readonly string[];
  /** Serve clients over TLS with these files and require client certificates signed by `ca`. */
  readonly tls?: { readonly ca: string; readonly cert: string; readonly key: string };
  /** The files the helper's own client (and health check) use with `tls`. */
  readonly clientTls?: { readonly ca: string; readonly cert: string; readonly key: string };
}

/** A free TCP port on 127.0.0.1 (the OS picks it; there is a small race until etcd binds it). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => {
        if (address !== null && typeof address === 'object') resolve(address.port);
        else reject(new Error('could not get a free port'));
      });
    });
  });
}

/**
 * Polls `condition` until it returns a value other than `undefined`/`false` (or stops throwing),
 * and returns that value; throws with `message` (and the last error) after `timeoutMs`.
 */
export async function waitFor<T>(
  condition: () => T | Promise<T>,
  options: { timeoutMs?: number; intervalMs?: number; message?: string } = {},
): Promise<Exclude<T, undefined | false>> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const intervalMs = options.intervalMs ?? 20;
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await condition();
      if (value !== undefined && value !== false) return value as Exclude<T, undefined | false>;
      lastError = undefined;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() >= deadline) {
      const cause = lastError === undefined ? '' : `: last error: ${lastError instanceof Error ? lastError.message : String(lastError)}`;
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${options.message ?? 'condition'}${cause}`);
    }
    await new Promise(resolve => setTimeout(resolve, intervalMs));
  }
}

async function healthy(endpoint: string, clientTls?: StartEtcdOptions['clientTls']): Promise<boolean> {
  if (clientTls !== undefined) {
    return new Promise((resolve) => {
      const request = httpsRequest(
        `${endpoint}/health`,
        { ca: readFileSync(clientTls.ca), cert: readFileSync(clientTls.cert), key: readFileSync(clientTls.key), timeout: 1_000 },
        (response) => {
          let body = '';
          response.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
          response.on('end', () => resolve(body.includes('"health":"true"')));
        },
      );
      request.on('error', () => resolve(false));
      request.on('timeout', () => request.destroy());
      request.end();
    });
  }
  try {
    const response = await fetch(`${endpoint}/health`, { signal: AbortSignal.timeout(1_000) });
    const body = (await response.json()) as { health?: unknown };
    return body.health === 'true';
  } catch {
    return false;
  }
}

function exited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

function waitForExit(child: ChildProcess, timeoutMs: number): Promise<boolean> {
  if (exited(child)) return Promise.resolve(true);
  return new Promise(resolve => {
    const timer = setTimeout(() => {
      child.off('exit', onExit);
      resolve(false);
    }, timeoutMs);
    const onExit = (): void => {
      clearTimeout(timer);
      resolve(true);
    };
    child.once('exit', onExit);
  });
}

async function killProcess(child: ChildProcess, signal: 'SIGTERM' | 'SIGKILL'): Promise<void> {
  if (exited(child)) return;
  child.kill(signal);
  if (await waitForExit(child, 5_000)) return;
  child.kill('SIGKILL');
  if (!(await waitForExit(child, 5_000))) throw new Error(`etcd (pid ${child.pid}) did not exit after SIGKILL`);
}

/** Starts a single-member etcd on free loopback ports and waits until `/health` says true. */
export async function startEtcd(options: StartEtcdOptions = {}): Promise<EtcdServer> {
  const readyTimeoutMs = options.readyTimeoutMs ?? 15_000;
  const dataDir = await mkdtemp(join(tmpdir(), 'routesync-etcd-'));
  let clientPort = 0;
  let peerPort = 0;
  let child: ChildProcess | undefined;
  let stderr = '';

  const scheme = options.tls !== undefined ? 'https' : 'http';
  const tlsArgs =
    options.tls !== undefined
      ? ['--cert-file', options.tls.cert, '--key-file', options.tls.key, '--client-cert-auth', '--trusted-ca-file', options.tls.ca]
      : [];
  const args = (): string[] => {
    const clientUrl = `${scheme}://127.0.0.1:${clientPort}`;
    const peerUrl = `http://127.0.0.1:${peerPort}`;
    return [
      '--name', 'default',
      '--data-dir', join(dataDir, 'data'),
      '--listen-client-urls', clientUrl,
      '--advertise-client-urls', clientUrl,
      '--listen-peer-urls', peerUrl,
      '--initial-advertise-peer-urls', peerUrl,
      '--initial-cluster', `default=${peerUrl}`,
      '--logger=zap',
      '--log-level=error',
      '--heartbeat-interval=10',
      '--election-timeout=100',
      ...tlsArgs,
      ...(options.extraArgs ?? []),
    ];
  };

  const launch = async (): Promise<void> => {
    const proc = spawn(ETCD_BIN, args(), { stdio: ['ignore', 'ignore', 'pipe'] });
    child = proc;
    proc.stderr?.setEncoding('utf8');
    proc.stderr?.on('data', (chunk: string) => {
      stderr = (stderr + chunk).slice(-20_000);
    });
    const spawnError = new Promise<never>((_, reject) => proc.once('error', reject));
    spawnError.catch(() => undefined);
    const endpoint = `${scheme}://127.0.0.1:${clientPort}`;
    try {
      await Promise.race([
        spawnError,
        waitFor(
          async () => {
            if (exited(proc)) throw new Error(`etcd exited (${proc.exitCode ?? proc.signalCode}): ${stderr.slice(-2_000)}`);
            return healthy(endpoint, options.clientTls);
          },
          { timeoutMs: readyTimeoutMs, intervalMs: 20, message: `etcd at ${endpoint} to be healthy` },
        ),
      ]);
    } catch (err) {
      await killProcess(proc, 'SIGKILL').catch(() => undefined);
      throw err;
    }
  };

  // The ports are free when picked but could be taken before etcd binds them: retry a few times.
  for (let attempt = 1; ; attempt++) {
    clientPort = await freePort();
    do peerPort = await freePort();
    while (peerPort === clientPort);
    try {
      await launch();
      break;
    } catch (err) {
      await rm(join(dataDir, 'data'), { recursive: true, force: true });
      if (attempt >= 3) {
        await rm(dataDir, { recursive: true, force: true });
        throw err;
      }
    }
  }

  const endpoint = `${scheme}://127.0.0.1:${clientPort}`;
  const client = createEtcdClient({ endpoints: [endpoint], ...(options.clientTls !== undefined ? { tls: options.clientTls } : {}) });
  let stopped = false;

  const server: EtcdServer = {
    endpoint,
    clientPort,
    peerPort,
    dataDir,
    client,
    pid: () => (child !== undefined && !exited(child) ? child.pid : undefined),
    running: () => child !== undefined && !exited(child),
    async halt(haltOptions = {}) {
      if (child !== undefined) await killProcess(child, haltOptions.signal ?? 'SIGTERM');
    },
    async restart() {
      if (stopped) throw new Error('etcd was stopped for good');
      if (child !== undefined) await killProcess(child, 'SIGTERM');
      await launch();
    },
    async compact(revision) {
      const target = revision ?? (await server.currentRevision());
      await client.kv.compact({ revision: target, physical: true });
      return target;
    },
    async currentRevision() {
      const response = await client.kv.range({ key: Buffer.from([0]), limit: 1, keys_only: true });
      return Number(response.header.revision);
    },
    logs: () => stderr,
    async stop() {
      if (stopped) return;
      stopped = true;
      client.close();
      try {
        if (child !== undefined) await killProcess(child, 'SIGTERM');
      } finally {
        await rm(dataDir, { recursive: true, force: true });
      }
    },
  };
  return server;
}

// ---------------------------------------------------------------------------------------------
// flannel keys

/**
 * Runs an etcd call until it succeeds or `timeoutMs` passes: for writes right after `restart()`,
 * while the client reconnects and its circuit breaker (1 s) closes again.
 */
export async function retryEtcd<T>(call: () => Promise<T>, options: { timeoutMs?: number } = {}): Promise<T> {
  const result = await waitFor(async () => ({ value: await call() }), {
    timeoutMs: options.timeoutMs ?? 15_000,
    intervalMs: 50,
    message: 'an etcd call to succeed',
  });
  return result.value;
}

/** Writes `<prefix>/config` (an object is JSON-encoded, a string written as is). Returns the revision. */
export async function putNetworkConfig(client: Etcd3, prefix: string, config: object | string): Promise<number> {
  const value = typeof config === 'string' ? config : JSON.stringify(config);
  const response = await client.put(configKey(prefix)).value(value).exec();
  return Number(response.header.revision);
}

export interface PutLeaseOptions {
  /** Attach the key to a new etcd lease with this TTL (flannel uses 24 h); omit for a reservation. */
  readonly ttlSeconds?: number;
  /** Dual-stack: the IPv6 subnet, making the key `<v4>-<len>&<v6>-<len>`. */
  readonly ipv6Subnet?: string;
  /** Extra fields for the value, e.g. `{ BackendType: 'vxlan', BackendData: {...} }`. */
  readonly extra?: Record<string, unknown>;
  /** The raw value to write instead of the generated JSON (for malformed values). */
  readonly rawValue?: string;
  /** The raw key name under `subnets/` instead of the one derived from `subnet` (for malformed keys). */
  readonly rawName?: string;
}

export interface PutLeaseResult {
  readonly key: string;
  /** The etcd lease id (decimal string), or undefined for a reservation. */
  readonly leaseId: string | undefined;
  readonly revision: number;
}

/** The value flannel writes for a lease (alloc/aws-vpc/gce backends). */
export function leaseValue(publicIp: string, extra: Record<string, unknown> = {}): string {
  return JSON.stringify({ PublicIP: publicIp, PublicIPv6: null, ...extra });
}

/**
 * Writes a flannel lease `subnet → publicIp` as flannel does: with an etcd lease of `ttlSeconds`,
 * or without one (a reservation) when `ttlSeconds` is omitted.
 */
export async function putLease(
  client: Etcd3,
  prefix: string,
  subnet: string,
  publicIp: string,
  options: PutLeaseOptions = {},
): Promise<PutLeaseResult> {
  const key =
    options.rawName !== undefined
      ? `${prefix.replace(/\/+$/, '')}/subnets/${options.rawName}`
      : leaseKeyFor(prefix, subnet, options.ipv6Subnet);
  const value = options.rawValue ?? leaseValue(publicIp, options.extra);
  let leaseId: string | undefined;
  const put = client.put(key).value(value);
  if (options.ttlSeconds !== undefined) {
    const grant = await client.leaseClient.leaseGrant({ TTL: options.ttlSeconds, ID: 0 });
    leaseId = String(grant.ID);
    put.lease(leaseId);
  }
  const response = await put.exec();
  return { key, leaseId, revision: Number(response.header.revision) };
}

/** Deletes a lease key (what flannel's expiry looks like to a watcher). Returns the revision. */
export async function deleteLease(client: Etcd3, prefix: string, subnet: string, ipv6Subnet?: string): Promise<number> {
  const response = await client.delete().key(leaseKeyFor(prefix, subnet, ipv6Subnet)).exec();
  return Number(response.header.revision);
}

/** Revokes an etcd lease: every key attached to it is deleted at once. */
export async function revokeLease(client: Etcd3, leaseId: string): Promise<void> {
  await client.leaseClient.leaseRevoke({ ID: leaseId });
}

/** The leader-election key the test clusters give routesync for a flannel prefix (aws-cluster.ts, gce-cluster.ts). */
export function testLeaderKey(prefix: string): string {
  return `/routesync-test${prefix}/leader`;
}

/** Runs `body` while another replica, `other-replica`, leads for `prefix` (campaign won first, resigned after). */
export async function whileOtherReplicaLeads<T>(client: Etcd3, prefix: string, body: () => Promise<T>): Promise<T> {
  const campaign = client.election(testLeaderKey(prefix), 5).campaign('other-replica');
  await campaign.wait();
  try {
    return await body();
  } finally {
    await campaign.resign();
  }
}
