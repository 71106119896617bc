/**
 * The lease source: a complete, fresh view of flannel's state in etcd (docs/architecture.md, 'flannel and etcd facts').
 *
 * The state machine: list `<prefix>/subnets/` and the config at one revision, then watch all of
 * `<prefix>/` from revision+1, so lease and config changes both arrive (etcd-reads.ts). When the
 * watch ends for any reason (etcd down or restarted, a compacted revision, a watch etcd never
 * acknowledged) the view is stale and the source re-lists, with backoff while etcd stays
 * unreachable, then watches anew. A cheap probe read at the watch revision tells the log whether
 * compaction was the cause. Each event updates one key of the view (lease-index.ts).
 *
 * `snapshot()` is non-null only while the view is complete and fresh: from the moment etcd
 * acknowledges the watch that follows a listing until that watch ends. A listing is built off to
 * the side and swapped in whole.
 */
import { performance } from 'node:perf_hooks';

import { ClientClosedError, type Etcd3, type IWatchResponse } from 'etcd3';

import { createEtcdClient, describeEtcdError, errorMessage, etcdEndpoints } from './etcd-client.js';
import { isCompacted, listFlannel, watchFlannel, type Listing } from './etcd-reads.js';
import { DEFAULT_PREFIX, normalizePrefix } from './flannel.js';
import { NetworkKeys } from './lease-networks.js';
import type { EtcdLeaseSourceOptions, LeaseSourceChange, LeaseSourceLogger, LeaseSourceStatus } from './lease-source-types.js';
import type { LeaseSnapshot } from './types.js';

export type { EtcdLeaseSourceOptions, LeaseSourceChange, LeaseSourceLogger, LeaseSourceStatus } from './lease-source-types.js';

/** What an operator needs to read in every outage warning: nothing is being changed, and what to check. */
const OUTAGE_GUIDANCE =
  'routesync changes no route while etcd is unreachable; check that etcd is running and reachable from here at the endpoints (and the --etcd-* TLS files)';

/** Repeated listing failures with the same cause are warned about at most this often (debug otherwise). */
const LIST_WARN_EVERY_MS = 30_000;

const silentLogger: LeaseSourceLogger = { debug() {}, info() {}, warn() {}, error() {} };

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

  private readonly keys: NetworkKeys;
  private revision = 0;
  private listed = false;
  private fresh = false;
  private listings = 0;
  private lastError: string | null = null;
  private freshSince: number | null = null;
  private staleSince: number | null = null;
  /** Monotonic: when the view went stale, or when start() was called while it never was fresh. */
  private staleSinceMono: number | null = null;

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
    this.keys = new NetworkKeys(this.prefix, options.networks, this.logger);
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
    return this.fresh ? this.keys.snapshot() : null;
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
      keysParsed: this.keys.keysParsed,
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
        listing = await listFlannel(this.client, this.prefix, this.pageSize, this.keys.names);
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
      const end = await watchFlannel(this.client, this.prefix, this.revision + 1, this.watchConnectTimeoutMs, signal, {
        onConnected: () => {
          this.logger.debug({ revision: this.revision + 1, prefix: `${this.prefix}/` }, 'watching flannel keys in etcd');
          this.setFresh();
        },
        onData: response => this.apply(response),
        // The view is stale the moment the watch ends, not once its cancel completes.
        onEnded: ended => this.setStale(`etcd watch ${ended.kind}: ${ended.error}`),
        onCancelError: err => this.logger.debug({ err: errorMessage(err) }, 'cancelling the etcd watcher failed'),
      });
      if (end.kind === 'stopped') break;

      // The view went stale the moment the watch ended (see watch()); now explain and retry.
      this.lastError = end.error;
      attempt = end.connected && end.lived >= 5_000 ? 0 : attempt + 1;
      if (end.kind === 'canceled') {
        const compacted = await isCompacted(this.client, this.prefix, this.revision + 1);
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

  /** Swaps a complete listing in. It becomes visible (fresh) once its watch is acknowledged. */
  private install(listing: Listing): void {
    this.revision = listing.revision;
    this.listed = true;
    this.listings++;
    this.lastError = null;
    this.keys.install(listing, listing.revision);
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
        leases: this.keys.validCount,
        invalid: this.keys.invalidCount,
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

  private apply(response: IWatchResponse): void {
    let revision = this.revision;
    for (const event of response.events) revision = Math.max(revision, Number(event.kv.mod_revision));
    if (response.events.length === 0) {
      // A progress notification: etcd sends them only to watchers that are caught up.
      revision = Math.max(revision, Number(response.header.revision));
    }
    this.revision = revision;
    const changes = this.keys.apply(response, revision);
    for (const change of changes) {
      if (change.type === 'put' || change.type === 'delete') {
        this.logger.debug({ key: change.key, revision: change.revision }, `flannel ${change.kind} ${change.type}`);
      }
      this.emit(change);
    }
  }
}
