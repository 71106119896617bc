/**
 * The lease source: a complete, fresh view of flannel's state in etcd (docs/architecture.md, 'flannel and etcd facts').
 *
 * Reading: list `<prefix>/subnets/` (paged, every page at the revision of the first), then read
 * `<prefix>/config` at that same revision, so the view is one consistent revision. Then watch all
 * of `<prefix>/` from revision+1, so lease and config changes both arrive.
 *
 * Failure handling, with etcd3 1.1.2:
 * - etcd3's Watcher emits `disconnected` when the shared gRPC watch stream fails (etcd down,
 *   restarted, network) and would silently resume from its own idea of the revision. Its resume
 *   revision comes from response headers, which can run ahead of the events actually delivered,
 *   so we do not use it: on `disconnected` the watcher is cancelled, the view marked stale, and
 *   the source re-lists (with backoff while etcd stays unreachable), then watches anew.
 * - A watch whose start revision was compacted is cancelled by etcd (a response with
 *   `canceled` and `compact_revision`); etcd3 does not surface `compact_revision` but emits
 *   `error` ("Watcher canceled: "). Any `error` means "the watch is gone": re-list and resume.
 *   A cheap probe read at the watch revision tells the log whether compaction was the cause.
 * - A watcher that never gets `connected` within `watchConnectTimeoutMs` is abandoned (etcd3's
 *   attach queue can wedge after a create-and-cancel response, e.g. permission denied).
 *
 * `snapshot()` is non-null only while the view is complete and fresh: from the moment etcd
 * acknowledges the watch that follows a listing until that watch ends. A listing is built off to
 * the side and swapped in whole.
 */
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';

import { ClientClosedError, Etcd3, GRPCResourceExhastedError, Range, isRecoverableError, type IKeyValue, type IOptions, type IWatchResponse, type Watcher } from 'etcd3';
import { ConsecutiveBreaker, ExponentialBackoff, circuitBreaker, handleWhen, isBrokenCircuitError, retry, type IBackoff } from 'cockatiel';

import { ConfigError } from '../errors.js';
import {
  DEFAULT_PREFIX,
  configFromText,
  configKey,
  normalizePrefix,
  subnetsPrefix,
  type RawKeyValue,
} from './flannel.js';
import { LeaseIndex } from './lease-index.js';
import type { LeaseSnapshot } from './types.js';

/** The part of a pino logger the source uses. */
export interface LeaseSourceLogger {
  debug(obj: Record<string, unknown>, msg?: string): void;
  info(obj: Record<string, unknown>, msg?: string): void;
  warn(obj: Record<string, unknown>, msg?: string): void;
  error(obj: Record<string, unknown>, msg?: string): void;
}

/** Why listeners were called. Listeners are triggers: read `snapshot()` for the state. */
export type LeaseSourceChange =
  /** A key under `subnets/` (kind `lease`) or the config key (kind `config`) changed. */
  | { readonly type: 'put' | 'delete'; readonly kind: 'lease' | 'config'; readonly key: string; readonly revision: number }
  /** A (re-)listing completed and its watch is live: the view is fresh again. */
  | { readonly type: 'listed'; readonly revision: number }
  /** The view is no longer fresh (`snapshot()` is null until the next `listed`). */
  | { readonly type: 'stale'; readonly reason: string };

export interface LeaseSourceStatus {
  readonly fresh: boolean;
  /** Revision of the current view, null before the first listing. */
  readonly revision: number | null;
  /** Listings done (the first one included). */
  readonly listings: number;
  /** The last failure talking to etcd, cleared by the next successful listing. */
  readonly lastError: string | null;
  /** Date.now() of the last time the view became fresh / stale. */
  readonly freshSince: number | null;
  readonly staleSince: number | null;
  /** Keys under `subnets/` parsed and validated since start (one per key per listing, event or config change). */
  readonly keysParsed: number;
}

export interface EtcdTlsFiles {
  /** CA bundle file (`--etcd-cafile`). */
  readonly ca?: string;
  /** Client certificate file (`--etcd-certfile`). */
  readonly cert?: string;
  /** Client key file (`--etcd-keyfile`). */
  readonly key?: string;
}

export interface EtcdClientOptions {
  /** etcd v3 endpoints, `http://host:port` or `https://host:port`. */
  readonly endpoints: readonly string[] | string;
  readonly tls?: EtcdTlsFiles;
  /** Deadline for each unary call (not for watch/keep-alive streams). Default 5000. */
  readonly callTimeoutMs?: number;
  /** Dial timeout. Default 5000. */
  readonly dialTimeoutMs?: number;
}

interface SourceCommonOptions {
  /** flannel's etcd prefix. Default `/coreos.com/network`. */
  readonly prefix?: string;
  readonly logger?: LeaseSourceLogger;
  /** Backoff between failed attempts: starts at `initialDelayMs`, doubles up to `maxDelayMs`. Defaults 200 / 5000. */
  readonly retry?: { readonly initialDelayMs?: number; readonly maxDelayMs?: number };
  /** Keys per listing page. Default 1000. */
  readonly pageSize?: number;
  /** Give up on a watcher that etcd has not acknowledged within this time. Default 10000. */
  readonly watchConnectTimeoutMs?: number;
  /**
   * Test hook: runs after a listing is installed and before its watch starts, with the listing's
   * revision (tests use it to write and compact in that window). Not for production use.
   */
  readonly beforeWatch?: (revision: number) => Promise<void> | void;
}

export type EtcdLeaseSourceOptions = SourceCommonOptions &
  (
    | { /** A client owned by the caller: `stop()` does not close it. */ readonly client: Etcd3 }
    | ({ readonly client?: undefined } & EtcdClientOptions)
  );

/** What an operator needs to read in every outage warning: nothing is being changed, and what to check. */
const OUTAGE_GUIDANCE =
  'routesync changes no route while etcd is unreachable; check that etcd is running and reachable from here at the endpoints (and the --etcd-* TLS files)';

/** Repeated listing failures with the same cause are warned about at most this often (debug otherwise). */
const LIST_WARN_EVERY_MS = 30_000;

const silentLogger: LeaseSourceLogger = { debug() {}, info() {}, warn() {}, error() {} };

function readTlsFile(path: string, what: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new ConfigError(`cannot read ${what} ${JSON.stringify(path)}: ${(err as Error).message}`);
  }
}

/**
 * What says the etcd member or the way to it is in trouble. etcd3 also counts RESOURCE_EXHAUSTED,
 * which etcd answers to a request over its size limit or to a write while its database is full:
 * the member is fine and a retry gets the same answer, and counting it would open the breaker for
 * every call, the lease watch included.
 */
function isTransportFailure(err: Error): boolean {
  return isRecoverableError(err) && !(err instanceof GRPCResourceExhastedError);
}

/** Consecutive transport failures that open a host's circuit breaker, and how long it then stays open. */
const BREAKER_FAILURES = 5;
const BREAKER_HALF_OPEN_MS = 1_000;

/** What a client made by createEtcdClient knows about its endpoints' circuit breakers. */
interface ClientHealth {
  readonly endpoints: readonly string[];
  /** endpoint → the failure that opened its breaker, while it is open. */
  readonly open: Map<string, string>;
}

const clientHealth = new WeakMap<Etcd3, ClientHealth>();

/** The endpoints of a client made by createEtcdClient (empty for another client). */
export function etcdEndpoints(client: Etcd3): readonly string[] {
  return clientHealth.get(client)?.endpoints ?? [];
}

/**
 * An etcd error as an operator needs it. cockatiel's "Execution prevented because the circuit
 * breaker is open" names neither the endpoint nor the failure behind it: here `err` says which
 * endpoints are paused and until when, and `cause` is the failure that opened the breaker.
 */
export function describeEtcdError(client: Etcd3, err: unknown): { err: string; cause?: string } {
  const message = errorMessage(err);
  if (!isBrokenCircuitError(err)) return { err: message };
  const health = clientHealth.get(client);
  const open = health === undefined ? [] : [...health.open];
  if (open.length === 0) return { err: `${message} (etcd client)` };
  return {
    err:
      `the etcd client stopped calling ${open.map(([endpoint]) => endpoint).join(', ')} after ${BREAKER_FAILURES} consecutive ` +
      `failures (circuit breaker open); it tries again ${BREAKER_HALF_OPEN_MS} ms after opening`,
    cause: [...new Set(open.map(([, cause]) => cause))].join('; '),
  };
}

/**
 * Builds an etcd3 client suited to a long-running controller:
 * - TLS material read from files (CA, optional client cert + key);
 * - per host, a circuit breaker that opens after 5 consecutive transport failures (isTransportFailure) and half-opens
 *   after 1 s (etcd3's default opens after 3 and stays open 5 s: slow to notice a restarted etcd);
 *   describeEtcdError() tells which endpoint it paused and why;
 * - globally, retries of transport failures with a short exponential backoff, at least once per
 *   endpoint so a dead member is skipped; longer waits are the callers' business (the lease source
 *   backs off on its own);
 * - a deadline on every unary call, none on streams (watches, lease keep-alives);
 * - gRPC keep-alive pings on open streams (10 s; etcd's minimum is 5 s) so a hung etcd is
 *   detected, and a short gRPC reconnect backoff.
 * Throws ConfigError for unreadable TLS files or bad endpoints.
 */
export function createEtcdClient(options: EtcdClientOptions): Etcd3 {
  const endpoints = (typeof options.endpoints === 'string' ? options.endpoints.split(',') : [...options.endpoints])
    .map(e => e.trim())
    .filter(e => e !== '');
  if (endpoints.length === 0) throw new ConfigError('no etcd endpoints given');
  for (const endpoint of endpoints) {
    let url: URL;
    try {
      url = new URL(endpoint);
    } catch {
      throw new ConfigError(`etcd endpoint ${JSON.stringify(endpoint)} is not a URL (expected http://host:port or https://host:port)`);
    }
    if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.port === '' || (url.pathname !== '/' && url.pathname !== '')) {
      throw new ConfigError(`etcd endpoint ${JSON.stringify(endpoint)} must look like http://host:port or https://host:port`);
    }
  }
  const secure = endpoints.filter(e => e.startsWith('https://')).length;
  if (secure !== 0 && secure !== endpoints.length) {
    throw new ConfigError('etcd endpoints mix http:// and https://');
  }
  const tls = options.tls;
  if (tls !== undefined && (tls.cert === undefined) !== (tls.key === undefined)) {
    throw new ConfigError('--etcd-certfile and --etcd-keyfile must be given together');
  }
  const callTimeoutMs = options.callTimeoutMs ?? 5000;
  const health: ClientHealth = { endpoints, open: new Map() };
  const clientOptions: IOptions = {
    hosts: endpoints,
    dialTimeout: options.dialTimeoutMs ?? 5000,
    defaultCallOptions: context => (context.isStream ? {} : { deadline: Date.now() + callTimeoutMs }),
    grpcOptions: {
      'grpc.keepalive_time_ms': 10_000,
      'grpc.keepalive_timeout_ms': 5_000,
      'grpc.initial_reconnect_backoff_ms': 100,
      'grpc.max_reconnect_backoff_ms': 2_000,
    },
    faultHandling: {
      host: (endpoint: string) => {
        const breaker = circuitBreaker(handleWhen(isTransportFailure), {
          halfOpenAfter: BREAKER_HALF_OPEN_MS,
          breaker: new ConsecutiveBreaker(BREAKER_FAILURES),
        });
        breaker.onBreak(reason => health.open.set(endpoint, 'error' in reason ? errorMessage(reason.error) : 'isolated'));
        breaker.onReset(() => health.open.delete(endpoint));
        return breaker;
      },
      global: retry(handleWhen(isTransportFailure), {
        maxAttempts: Math.max(2, endpoints.length),
        backoff: new ExponentialBackoff({ initialDelay: 50, maxDelay: 500 }),
      }),
      // etcd3 1.1.2 types this as IBackoff but calls `.next()` on it as a factory, like its default.
      watchBackoff: new ExponentialBackoff({ initialDelay: 100, maxDelay: 5_000 }) as unknown as IBackoff<unknown>,
    },
  };
  if (tls !== undefined && (tls.ca !== undefined || tls.cert !== undefined)) {
    clientOptions.credentials = {
      // grpc-js treats a null root certificate as "use the system roots".
      rootCertificate: tls.ca === undefined ? (null as unknown as Buffer) : readTlsFile(tls.ca, '--etcd-cafile'),
      ...(tls.cert === undefined ? {} : { certChain: readTlsFile(tls.cert, '--etcd-certfile') }),
      ...(tls.key === undefined ? {} : { privateKey: readTlsFile(tls.key, '--etcd-keyfile') }),
    };
  }
  try {
    const client = new Etcd3(clientOptions);
    clientHealth.set(client, health);
    return client;
  } catch (err) {
    throw new ConfigError(`cannot create the etcd client: ${(err as Error).message}`);
  }
}

/** The key just past every key starting with `prefix` (etcd's "range_end" for a prefix). */
function prefixEnd(prefix: Buffer): Buffer {
  const end = Buffer.from(prefix);
  for (let i = end.length - 1; i >= 0; i--) {
    if ((end[i] ?? 0) < 0xff) {
      end[i] = (end[i] ?? 0) + 1;
      return end.subarray(0, i + 1);
    }
  }
  return Buffer.from([0]);
}

function toRaw(kv: IKeyValue): RawKeyValue {
  return {
    key: kv.key.toString('utf8'),
    value: kv.value ?? Buffer.alloc(0),
    createRevision: Number(kv.create_revision),
    modRevision: Number(kv.mod_revision),
    lease: String(kv.lease ?? '0'),
  };
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Resolves after `ms`, or at once when the signal aborts. */
function pause(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted || ms <= 0) return Promise.resolve();
  return new Promise(resolve => {
    const done = (): void => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}

interface Listing {
  readonly revision: number;
  readonly subnets: Map<string, RawKeyValue>;
  readonly config: RawKeyValue | null;
}

type WatchEnd =
  | { readonly kind: 'stopped' }
  | { readonly kind: 'disconnected' | 'canceled' | 'timeout' | 'failed'; readonly error: string; readonly connected: boolean; readonly lived: number };

/**
 * A complete, fresh view of flannel's leases, kept current from an etcd watch.
 *
 * ```ts
 * const source = new EtcdLeaseSource({ client, prefix: '/coreos.com/network', logger });
 * source.onChange(() => reconcile.trigger());
 * source.start(signal);
 * const snap = source.snapshot(); // null until the first listing, and while stale
 * ```
 */
export class EtcdLeaseSource {
  private readonly client: Etcd3;
  private readonly ownsClient: boolean;
  private readonly prefix: string;
  private readonly logger: LeaseSourceLogger;
  private readonly initialDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly pageSize: number;
  private readonly watchConnectTimeoutMs: number;
  private readonly beforeWatch: ((revision: number) => Promise<void> | void) | undefined;
  private readonly listeners = new Set<(change: LeaseSourceChange) => void>();

  private controller: AbortController | null = null;
  private running: Promise<void> | null = null;

  private readonly index: LeaseIndex;
  private config: RawKeyValue | null = null;
  private revision = 0;
  private listed = false;
  private fresh = false;
  private listings = 0;
  private lastError: string | null = null;
  private freshSince: number | null = null;
  private staleSince: number | null = null;
  /** Monotonic: when the view went stale, or when start() was called while it never was fresh. */
  private staleSinceMono: number | null = null;

  private loggedConfig: string | null = null;

  constructor(options: EtcdLeaseSourceOptions) {
    if (options.client !== undefined) {
      this.client = options.client;
      this.ownsClient = false;
    } else {
      this.client = createEtcdClient(options);
      this.ownsClient = true;
    }
    this.prefix = normalizePrefix(options.prefix ?? DEFAULT_PREFIX);
    this.logger = options.logger ?? silentLogger;
    this.initialDelayMs = options.retry?.initialDelayMs ?? 200;
    this.maxDelayMs = Math.max(this.initialDelayMs, options.retry?.maxDelayMs ?? 5000);
    this.pageSize = Math.max(1, options.pageSize ?? 1000);
    this.watchConnectTimeoutMs = options.watchConnectTimeoutMs ?? 10_000;
    this.beforeWatch = options.beforeWatch;
    this.index = new LeaseIndex(this.prefix, bad => {
      this.logger.warn({ key: bad.key, ...(bad.subnet === undefined ? {} : { subnet: bad.subnet }), reason: bad.reason }, 'skipping invalid flannel lease');
    });
  }

  /** Starts listing and watching in the background; `signal` (or `stop()`) ends it. Call once. */
  start(signal?: AbortSignal): void {
    if (this.running !== null) throw new Error('EtcdLeaseSource.start() called twice');
    const controller = new AbortController();
    this.controller = controller;
    this.staleSinceMono = performance.now();
    if (signal !== undefined) {
      if (signal.aborted) controller.abort();
      else signal.addEventListener('abort', () => controller.abort(), { once: true });
    }
    this.running = this.run(controller.signal).catch(err => {
      this.logger.error({ err: errorMessage(err) }, 'lease source stopped on an unexpected error');
      this.setStale(`lease source failed: ${errorMessage(err)}`);
    });
  }

  /** Stops watching; closes the etcd client only if this source created it. */
  async stop(): Promise<void> {
    this.controller?.abort();
    await this.running;
    if (this.fresh) this.setStale('stopped');
    if (this.ownsClient) this.client.close();
  }

  /** The current view, or null while it is not complete and fresh. */
  snapshot(): LeaseSnapshot | null {
    return this.fresh ? this.index.snapshot() : null;
  }

  isFresh(): boolean {
    return this.fresh;
  }

  status(): LeaseSourceStatus {
    return {
      fresh: this.fresh,
      revision: this.listed ? this.revision : null,
      listings: this.listings,
      lastError: this.lastError,
      freshSince: this.freshSince,
      staleSince: this.staleSince,
      keysParsed: this.index.keysParsed,
    };
  }

  /** Calls `listener` after every change (state already applied). Returns an unsubscribe function. */
  onChange(listener: (change: LeaseSourceChange) => void): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  /** Resolves with the first fresh snapshot; rejects when `signal` aborts or the source stops first. */
  waitUntilFresh(signal?: AbortSignal): Promise<LeaseSnapshot> {
    const now = this.snapshot();
    if (now !== null) return Promise.resolve(now);
    return new Promise((resolve, reject) => {
      const cleanup = (): void => {
        unsubscribe();
        signal?.removeEventListener('abort', onAbort);
        this.controller?.signal.removeEventListener('abort', onAbort);
      };
      const onAbort = (): void => {
        cleanup();
        reject(new DOMException('gave up waiting for a fresh lease snapshot', 'AbortError'));
      };
      const unsubscribe = this.onChange(() => {
        const snap = this.snapshot();
        if (snap !== null) {
          cleanup();
          resolve(snap);
        }
      });
      if (signal?.aborted === true || this.controller?.signal.aborted === true) {
        onAbort();
        return;
      }
      signal?.addEventListener('abort', onAbort, { once: true });
      this.controller?.signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  // -------------------------------------------------------------------------------------------

  private delay(attempt: number): number {
    if (attempt <= 0) return 0;
    const base = Math.min(this.maxDelayMs, this.initialDelayMs * 2 ** Math.min(attempt - 1, 30));
    return Math.round(base * (0.8 + Math.random() * 0.4));
  }

  /** The fields every outage line carries: where etcd is, and for how long the view has been stale. */
  private outage(): { endpoints: readonly string[]; staleForMs: number } {
    return {
      endpoints: etcdEndpoints(this.client),
      staleForMs: this.staleSinceMono === null ? 0 : Math.round(performance.now() - this.staleSinceMono),
    };
  }

  private async run(signal: AbortSignal): Promise<void> {
    let attempt = 0;
    let lastLogged = '';
    let lastWarnAt = Number.NEGATIVE_INFINITY;
    while (!signal.aborted) {
      await pause(this.delay(attempt), signal);
      if (signal.aborted) break;

      let listing: Listing;
      try {
        listing = await this.list();
      } catch (err) {
        if (signal.aborted) break;
        if (err instanceof ClientClosedError) {
          this.logger.error({ err: errorMessage(err) }, 'etcd client was closed: lease source stops');
          this.setStale('etcd client closed');
          break;
        }
        attempt++;
        const described = describeEtcdError(this.client, err);
        this.lastError = described.err;
        const fields = { ...described, ...this.outage(), attempt, retryInMs: this.delay(attempt), prefix: this.prefix };
        // A warning when the cause changes, else one per LIST_WARN_EVERY_MS; the rest at debug.
        const cause = described.cause ?? described.err;
        const now = performance.now();
        if (cause !== lastLogged || now - lastWarnAt >= LIST_WARN_EVERY_MS) {
          this.logger.warn(fields, `cannot list flannel leases from etcd; retrying. ${OUTAGE_GUIDANCE}`);
          lastLogged = cause;
          lastWarnAt = now;
        } else {
          this.logger.debug(fields, `cannot list flannel leases from etcd; retrying. ${OUTAGE_GUIDANCE}`);
        }
        continue;
      }
      if (signal.aborted) break;
      lastLogged = '';
      this.install(listing);

      if (this.beforeWatch !== undefined) await this.beforeWatch(listing.revision);
      const end = await this.watch(this.revision + 1, signal);
      if (end.kind === 'stopped') break;

      // The view went stale the moment the watch ended (see watch()); now explain and retry.
      this.lastError = end.error;
      attempt = end.connected && end.lived >= 5_000 ? 0 : attempt + 1;
      if (end.kind === 'canceled') {
        const compacted = await this.isCompacted(this.revision + 1);
        if (compacted) {
          attempt = Math.min(attempt, 1);
          this.logger.warn({ revision: this.revision }, `etcd compacted watch revision ${this.revision + 1}; re-listing`);
        } else {
          this.logger.warn({ revision: this.revision, err: end.error }, 'etcd canceled the watch; re-listing');
        }
      } else if (end.kind === 'disconnected') {
        this.logger.warn(
          { revision: this.revision, err: end.error, ...this.outage() },
          `etcd watch disconnected; lease view is stale until etcd is back and re-listed. ${OUTAGE_GUIDANCE}`,
        );
      } else if (end.kind === 'timeout') {
        this.logger.warn({ revision: this.revision, ...this.outage() }, `etcd did not acknowledge the watch within ${this.watchConnectTimeoutMs} ms; re-listing`);
      } else {
        this.logger.error({ revision: this.revision, err: end.error, ...this.outage() }, 'etcd watch failed; re-listing');
      }
    }
  }

  /** Reads subnets (paged) and config at one revision. */
  private async list(): Promise<Listing> {
    const start = Buffer.from(subnetsPrefix(this.prefix));
    const end = prefixEnd(start);
    const subnets = new Map<string, RawKeyValue>();
    let revision: number | undefined;
    let from = start;
    for (;;) {
      const builder = this.client.getAll().inRange(new Range(from, end)).limit(this.pageSize);
      if (revision !== undefined) builder.revision(revision);
      const page = await builder.exec();
      if (revision === undefined) revision = Number(page.header.revision);
      for (const kv of page.kvs) {
        const raw = toRaw(kv);
        subnets.set(raw.key, raw);
      }
      const last = page.kvs[page.kvs.length - 1];
      if (!page.more || last === undefined) break;
      from = Buffer.concat([last.key, Buffer.from([0])]);
    }
    if (revision === undefined) throw new Error('etcd range response without a header revision');
    const configResponse = await this.client.get(configKey(this.prefix)).revision(revision).exec();
    const configKv = configResponse.kvs[0];
    return { revision, subnets, config: configKv === undefined ? null : toRaw(configKv) };
  }

  /** Swaps a complete listing in. It becomes visible (fresh) once its watch is acknowledged. */
  private install(listing: Listing): void {
    this.config = listing.config;
    this.revision = listing.revision;
    this.listed = true;
    this.listings++;
    this.lastError = null;
    this.index.revision = listing.revision;
    this.index.reset(listing.subnets.values(), this.parseConfig());
  }

  /** The watch following a listing is live: the view is complete and will be kept current. */
  private setFresh(): void {
    if (this.fresh) return;
    this.fresh = true;
    this.freshSince = Date.now();
    this.staleSince = null;
    this.staleSinceMono = null;
    this.logger.info(
      {
        revision: this.revision,
        leases: this.index.validCount,
        invalid: this.index.invalidCount,
        listing: this.listings,
      },
      'flannel lease view is fresh (listed and watching)',
    );
    this.emit({ type: 'listed', revision: this.revision });
  }

  private setStale(reason: string): void {
    const wasFresh = this.fresh;
    this.fresh = false;
    if (wasFresh) {
      this.staleSince = Date.now();
      this.staleSinceMono = performance.now();
      this.emit({ type: 'stale', reason });
    }
  }

  private emit(change: LeaseSourceChange): void {
    for (const listener of [...this.listeners]) {
      try {
        listener(change);
      } catch (err) {
        this.logger.error({ err: errorMessage(err), change: change.type }, 'lease change listener threw');
      }
    }
  }

  /** Parses the config and logs it when it changed. */
  private parseConfig(): ReturnType<typeof configFromText> {
    const parsed = configFromText(this.config?.value ?? null, this.prefix);
    const signature = `${this.config?.modRevision ?? 'none'}|${'error' in parsed ? parsed.error : JSON.stringify(parsed.config)}`;
    if (signature === this.loggedConfig) return parsed;
    this.loggedConfig = signature;
    if ('error' in parsed) {
      this.logger.error(
        { key: configKey(this.prefix), err: parsed.error, leaseKeys: this.index.size },
        'flannel network config is unusable: no lease can be validated or routed',
      );
      return parsed;
    }
    this.logger.info({ key: configKey(this.prefix), ...parsed.config }, 'flannel network config');
    for (const warning of parsed.warnings) this.logger.warn({ key: configKey(this.prefix) }, warning);
    return parsed;
  }

  /** Watches `<prefix>/` from `startRevision` until it ends; applies events as they come. */
  private watch(startRevision: number, signal: AbortSignal): Promise<WatchEnd> {
    const startedAt = Date.now();
    const watchPrefix = `${this.prefix}/`;
    const configName = configKey(this.prefix);
    const subnetPrefix = subnetsPrefix(this.prefix);
    let watcher: Watcher;
    try {
      watcher = this.client.watch().prefix(watchPrefix).startRevision(String(startRevision)).watcher();
    } catch (err) {
      return Promise.resolve({ kind: 'failed', error: errorMessage(err), connected: false, lived: 0 });
    }

    return new Promise<WatchEnd>(resolve => {
      let done = false;
      let connected = false;
      const timer = setTimeout(() => finish({ kind: 'timeout', error: 'watch not acknowledged', connected, lived: 0 }), this.watchConnectTimeoutMs);
      const onAbort = (): void => finish({ kind: 'stopped' });

      const finish = (end: WatchEnd): void => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
        if (end.kind !== 'stopped') this.setStale(`etcd watch ${end.kind}: ${end.error}`);
        const result: WatchEnd = end.kind === 'stopped' ? end : { ...end, connected, lived: Date.now() - startedAt };
        // After `error`, etcd3 has already dropped the watcher; cancelling again would wait forever.
        if (end.kind === 'canceled') {
          resolve(result);
          return;
        }
        const cancelled = watcher.cancel().catch(err => {
          this.logger.debug({ err: errorMessage(err) }, 'cancelling the etcd watcher failed');
        });
        if (end.kind === 'timeout') {
          resolve(result); // the cancel completes when etcd3 next (re)connects its stream
          return;
        }
        // Bounded: etcd3 waits for etcd to confirm the cancel, which a dead etcd never does.
        let guard: NodeJS.Timeout | undefined;
        void Promise.race([cancelled, new Promise<void>(r => (guard = setTimeout(r, 2_000)))]).then(() => {
          clearTimeout(guard);
          resolve(result);
        });
      };

      watcher.on('connected', () => {
        if (done) return;
        connected = true;
        clearTimeout(timer);
        this.logger.debug({ revision: startRevision, prefix: watchPrefix }, 'watching flannel keys in etcd');
        this.setFresh();
      });
      watcher.on('disconnected', err => finish({ kind: 'disconnected', error: errorMessage(err), connected, lived: 0 }));
      watcher.on('error', err => finish({ kind: 'canceled', error: errorMessage(err), connected, lived: 0 }));
      watcher.on('data', (response: IWatchResponse) => {
        if (done) return;
        try {
          this.apply(response, configName, subnetPrefix);
        } catch (err) {
          // Never let an exception escape into etcd3's stream handler.
          finish({ kind: 'failed', error: errorMessage(err), connected, lived: 0 });
        }
      });
      if (signal.aborted) onAbort();
      else signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  private apply(response: IWatchResponse, configName: string, subnetPrefix: string): void {
    const changes: LeaseSourceChange[] = [];
    let revision = this.revision;
    // A new config first (the last one in the response wins), so the leases are validated against it.
    const configEvent = response.events.findLast(event => event.kv.key.toString('utf8') === configName);
    if (configEvent !== undefined) {
      this.config = configEvent.type === 'Delete' ? null : toRaw(configEvent.kv);
      this.index.setConfig(this.parseConfig());
    }
    for (const event of response.events) {
      const raw = toRaw(event.kv);
      revision = Math.max(revision, raw.modRevision as number);
      const type = event.type === 'Delete' ? 'delete' : 'put';
      if (raw.key === configName) {
        changes.push({ type, kind: 'config', key: raw.key, revision: raw.modRevision as number });
      } else if (raw.key.startsWith(subnetPrefix)) {
        if (type === 'put') this.index.put(raw);
        else this.index.delete(raw.key);
        changes.push({ type, kind: 'lease', key: raw.key, revision: raw.modRevision as number });
      }
    }
    if (response.events.length === 0) {
      // A progress notification: etcd sends them only to watchers that are caught up.
      revision = Math.max(revision, Number(response.header.revision));
    }
    this.revision = revision;
    this.index.revision = revision;
    for (const change of changes) {
      if (change.type === 'put' || change.type === 'delete') {
        this.logger.debug({ key: change.key, revision: change.revision }, `flannel ${change.kind} ${change.type}`);
      }
      this.emit(change);
    }
  }

  /** True when etcd says `revision` has been compacted (a cheap keys-only read at that revision). */
  private async isCompacted(revision: number): Promise<boolean> {
    try {
      await this.client.get(configKey(this.prefix)).revision(revision).exec();
      return false;
    } catch (err) {
      return /compacted/i.test(errorMessage(err));
    }
  }
}
