/**
 * How a provider declares a flag, and what its parse function reads them through. Common flags are
 * built in src/config.ts; a provider's flags are data, so that src/config.ts can add them to the
 * command, to --help and to the known ROUTESYNC_* names without knowing any provider.
 */

export interface FlagSpec {
  /** e.g. `--vpc-id`. Its variable follows the one rule for every flag: see envName(). */
  readonly flag: string;
  /** The value's placeholder in --help: `id` prints `--vpc-id <id>`. */
  readonly arg: string;
  readonly help: string;
  readonly default?: string;
  /** Repeatable, and each value may be a comma list. */
  readonly list?: boolean;
  /**
   * Variables read, in order, when neither the flag nor its ROUTESYNC_* variable is set: the
   * cloud's own conventions (AWS_REGION), so a value set for the SDK need not be repeated.
   */
  readonly fallbackEnv?: readonly string[];
  /**
   * Throws a UsageError (use bad() from src/flags/checks.ts) for a malformed value. It runs whichever
   * provider is chosen: a malformed value is a mistake worth stopping for even where it is unused.
   * `label` names the flag, and its variable when the value came from one.
   */
  readonly check?: (value: string, label: string) => void;
}

/** A provider's parse function reads its flags and variables only through this. */
export interface FlagValues {
  /** The flag's value (command line, then ROUTESYNC_*, then fallbackEnv, then default), checked. */
  text(flag: string): string | undefined;
  /** A list flag's values, each checked; empty when none is given. */
  list(flag: string): string[];
  /** A variable the provider declared in `env` (settings that exist only as variables). */
  env(name: string): string | undefined;
  /** How to name the flag in an error: with its variable when the value came from one. */
  label(flag: string): string;
}

/** ROUTESYNC_<FLAG_IN_UPPER_SNAKE>: the one rule for every flag's variable. */
export function envName(flag: string): string {
  return `ROUTESYNC_${flag.replace(/^--/, '').replace(/-/g, '_').toUpperCase()}`;
}
