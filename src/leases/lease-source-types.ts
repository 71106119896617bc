/** The lease source's public types: its logger, changes, status and options (the source: lease-view.ts). */
import type { Etcd3 } from 'etcd3';

import type { EtcdClientOptions } from './etcd-client.js';

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
  | {
      readonly type: 'put' | 'delete';
      readonly kind: 'lease' | 'config';
      readonly key: string;
      readonly revision: number;
      /** flannel's multi-network mode: the network of the key. */
      readonly network?: string;
    }
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

interface SourceCommonOptions {
  /** flannel's etcd prefix. Default `/coreos.com/network`. */
  readonly prefix?: string;
  /** flannel's multi-network mode: the networks under the prefix (absent or empty: the single network at the prefix). */
  readonly networks?: readonly string[];
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
