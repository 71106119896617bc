/**
 * The validated configuration and the errors of parsing it. Kept apart from src/config.ts (the
 * parser, which composes the providers' flags from providers/registry.ts) so that the registry and
 * the provider folders can name these types without importing the parser: no import cycle.
 */
import type { DeleteCap } from './planner/plan.js';

export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export interface EtcdConfig {
  readonly endpoints: readonly string[];
  readonly prefix: string;
  /** flannel's multi-network mode: the networks under `prefix`; absent: the single network at `<prefix>/config`. */
  readonly networks?: readonly string[];
  readonly caFile?: string;
  readonly certFile?: string;
  readonly keyFile?: string;
}

export interface ListenAddress {
  readonly host: string;
  readonly port: number;
}

/**
 * `S` is the chosen provider's own settings, parsed by its declaration (providers/<name>/flags.ts).
 * Outside the provider they are opaque: src/ never looks inside.
 */
export interface Config<S = unknown> {
  readonly provider: string;
  readonly providerSettings: S;
  readonly etcd: EtcdConfig;
  readonly clusterName: string;
  /** --route-limit: a number, or `auto` (the default): read from the account, else the provider's fallback. */
  readonly routeLimit: number | 'auto';
  readonly resyncIntervalMs: number;
  readonly dryRun: boolean;
  readonly once: boolean;
  readonly leaderElect: boolean;
  readonly leaderElectionKey: string;
  readonly leaderLeaseTtlSeconds: number;
  /** /metrics, /healthz, /readyz; null: none of them. */
  readonly listen: ListenAddress | null;
  /** /status, on its own server (loopback by default); null: not served. */
  readonly statusListen: ListenAddress | null;
  readonly logLevel: LogLevel;
  readonly allowEmpty: boolean;
  readonly maxDeletesPerPass: DeleteCap;
}

/** A bad flag or flag value; the message names both. The CLI prints it and exits 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** `--help` or `--version` was asked for and printed: exit 0. */
export class HelpShown extends Error {
  override readonly name = 'HelpShown';
}
