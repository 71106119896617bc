/**
 * What a provider folder tells routesync before its code is loaded (docs/architecture.md, 'Add a
 * provider'): its name, flags, defaults, how to parse its settings and where its factory is.
 * src/config.ts composes these from providers/registry.ts; nothing here imports the registry.
 */
import type { Config } from '../src/config-types.js';
import type { FlagSpec, FlagValues } from '../src/flags/spec.js';
import type { Logger } from '../src/log.js';
import type { RouteProvider } from './provider.js';

export interface ProviderContext<S = unknown> {
  readonly config: Config<S>;
  readonly logger: Logger;
  /** Appended to every cloud call's user agent so call logs show which replica acted. */
  readonly userAgentSuffix: string;
}

export interface ProviderDeclaration<S = unknown> {
  /** The --provider value. */
  readonly name: string;
  /** Left out of --help and of the choices an error lists (test and reference providers); still accepted. */
  readonly hidden?: boolean;
  /**
   * The limit used when --route-limit is `auto` (the default) and the account's quota cannot be
   * read: a stated, conservative value.
   */
  readonly routeLimitFallback: number;
  /** Whether the process favours a small heap over pass speed with this provider (src/heap-tuning.ts). */
  readonly smallHeap: boolean;
  readonly flags: readonly FlagSpec[];
  /** Variables read that are not a flag's own: settings that exist only as variables (ROUTESYNC_*). */
  readonly env?: readonly string[];
  /**
   * The provider's settings from its flags, each value already checked by its spec. Throws a
   * UsageError for what this provider requires (exit 2 at parse time, before anything runs).
   */
  parse(values: FlagValues): S;
  /**
   * Builds the provider; loads its code lazily, so --help and the other providers need not load
   * this one's SDK. A method, so that a ProviderDeclaration<S> is a ProviderDeclaration: the
   * settings it receives are always the ones its own parse returned (src/config.ts pairs them).
   */
  create(context: ProviderContext<S>): Promise<RouteProvider>;
}
