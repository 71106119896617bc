/**
 * How the lease view reads flannel's keys from etcd (etcd3 1.1.2):
 * - a listing of `<prefix>/subnets/`, paged, every page at the revision of the first, then
 *   `<prefix>/config` at that same revision: one consistent view;
 * - a watch of all of `<prefix>/` from a revision, which reports how it ended. etcd3's Watcher
 *   emits `disconnected` when the shared gRPC watch stream fails and would silently resume from
 *   response-header revisions that can run ahead of the events delivered, so a disconnect ends the
 *   watch here; `error` (e.g. a compacted start revision, which etcd3 reports without
 *   `compact_revision`) ends it too; a watcher etcd never acknowledges is abandoned (etcd3's
 *   attach queue can wedge after a create-and-cancel response, e.g. permission denied).
 */
import { performance } from 'node:perf_hooks';

import { Range, type Etcd3, type IKeyValue, type IWatchResponse, type Watcher } from 'etcd3';

import { errorMessage } from './etcd-client.js';
import { configKey, subnetsPrefix, type RawKeyValue } from './flannel.js';

export interface Listing {
  readonly revision: number;
  readonly subnets: Map<string, RawKeyValue>;
  readonly config: RawKeyValue | null;
  /** flannel's multi-network mode: each selected network's config key, when present. */
  readonly networkConfigs?: ReadonlyMap<string, RawKeyValue>;
}

export type WatchEnd =
  | { readonly kind: 'stopped' }
  | { readonly kind: 'disconnected' | 'canceled' | 'timeout' | 'failed'; readonly error: string; readonly connected: boolean; readonly lived: number };

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

export function toRaw(kv: IKeyValue): RawKeyValue {
  return {
    key: kv.key.toString('utf8'),
    value: kv.value ?? Buffer.alloc(0),
    createRevision: Number(kv.create_revision),
    modRevision: Number(kv.mod_revision),
    lease: String(kv.lease ?? '0'),
  };
}

/**
 * Reads subnets (paged) and config at one revision. With `networks` (multi-network mode) one paged
 * range over all of `<prefix>/` picks every selected network's config and leases out of it.
 */
export async function listFlannel(client: Etcd3, prefix: string, pageSize: number, networks: readonly string[] = []): Promise<Listing> {
  if (networks.length > 0) return listNetworks(client, prefix, pageSize, networks);
  const { revision, kvs: subnets } = await listRange(client, subnetsPrefix(prefix), pageSize);
  const configResponse = await client.get(configKey(prefix)).revision(revision).exec();
  const configKv = configResponse.kvs[0];
  return { revision, subnets, config: configKv === undefined ? null : toRaw(configKv) };
}

async function listNetworks(client: Etcd3, prefix: string, pageSize: number, networks: readonly string[]): Promise<Listing> {
  const { revision, kvs } = await listRange(client, `${prefix}/`, pageSize, (key) => {
    const rest = key.slice(prefix.length + 1);
    const cut = rest.indexOf('/');
    return cut > 0 && networks.includes(rest.slice(0, cut));
  });
  const subnets = new Map<string, RawKeyValue>();
  const networkConfigs = new Map<string, RawKeyValue>();
  for (const [key, kv] of kvs) {
    const name = networks.find((n) => key === configKey(`${prefix}/${n}`));
    if (name !== undefined) networkConfigs.set(name, kv);
    else subnets.set(key, kv);
  }
  return { revision, subnets, config: null, networkConfigs };
}

/** Every key under `start`, paged, all pages at the revision of the first; `keep` filters as it goes. */
async function listRange(
  client: Etcd3,
  startKey: string,
  pageSize: number,
  keep: (key: string) => boolean = () => true,
): Promise<{ revision: number; kvs: Map<string, RawKeyValue> }> {
  const start = Buffer.from(startKey);
  const end = prefixEnd(start);
  const subnets = new Map<string, RawKeyValue>();
  let revision: number | undefined;
  let from = start;
  for (;;) {
    const builder = client.getAll().inRange(new Range(from, end)).limit(pageSize);
    if (revision !== undefined) builder.revision(revision);
    const page = await builder.exec();
    if (revision === undefined) revision = Number(page.header.revision);
    for (const kv of page.kvs) {
      const raw = toRaw(kv);
      if (keep(raw.key)) subnets.set(raw.key, raw);
    }
    const last = page.kvs[page.kvs.length - 1];
    if (!page.more || last === undefined) break;
    from = Buffer.concat([last.key, Buffer.from([0])]);
  }
  if (revision === undefined) throw new Error('etcd range response without a header revision');
  return { revision, kvs: subnets };
}

/** True when etcd says `revision` has been compacted (a cheap keys-only read at that revision). */
export async function isCompacted(client: Etcd3, prefix: string, revision: number): Promise<boolean> {
  try {
    await client.get(configKey(prefix)).revision(revision).exec();
    return false;
  } catch (err) {
    return /compacted/i.test(errorMessage(err));
  }
}

export interface WatchHandlers {
  /** etcd acknowledged the watch: from now on every change arrives. */
  readonly onConnected: () => void;
  /** A watch response; a throw ends the watch as `failed`. */
  readonly onData: (response: IWatchResponse) => void;
  /** Called at once when the watch ends (before its cancel completes), unless it was stopped. */
  readonly onEnded: (end: Exclude<WatchEnd, { kind: 'stopped' }>) => void;
  readonly onCancelError: (err: unknown) => void;
}

/** Watches `<prefix>/` from `startRevision` until it ends or `signal` aborts. */
export function watchFlannel(
  client: Etcd3,
  prefix: string,
  startRevision: number,
  connectTimeoutMs: number,
  signal: AbortSignal,
  handlers: WatchHandlers,
): Promise<WatchEnd> {
  const startedAt = performance.now();
  let watcher: Watcher;
  try {
    watcher = client.watch().prefix(`${prefix}/`).startRevision(String(startRevision)).watcher();
  } catch (err) {
    return Promise.resolve({ kind: 'failed', error: errorMessage(err), connected: false, lived: 0 });
  }

  return new Promise<WatchEnd>(resolve => {
    let done = false;
    let connected = false;
    const timer = setTimeout(() => finish({ kind: 'timeout', error: 'watch not acknowledged', connected, lived: 0 }), connectTimeoutMs);
    const onAbort = (): void => finish({ kind: 'stopped' });

    const finish = (end: WatchEnd): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      const result: WatchEnd = end.kind === 'stopped' ? end : { ...end, connected, lived: performance.now() - startedAt };
      if (result.kind !== 'stopped') handlers.onEnded(result);
      // After `error`, etcd3 has already dropped the watcher; cancelling again would wait forever.
      if (end.kind === 'canceled') {
        resolve(result);
        return;
      }
      const cancelled = watcher.cancel().catch(handlers.onCancelError);
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
      handlers.onConnected();
    });
    watcher.on('disconnected', err => finish({ kind: 'disconnected', error: errorMessage(err), connected, lived: 0 }));
    watcher.on('error', err => finish({ kind: 'canceled', error: errorMessage(err), connected, lived: 0 }));
    watcher.on('data', (response: IWatchResponse) => {
      if (done) return;
      try {
        handlers.onData(response);
      } catch (err) {
        // Never let an exception escape into etcd3's stream handler.
        finish({ kind: 'failed', error: errorMessage(err), connected, lived: 0 });
      }
    });
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
  });
}
