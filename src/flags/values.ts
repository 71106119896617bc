/** Flag values with the environment filled in: a flag given on the command line wins over its ROUTESYNC_* variable. */
import type { Command } from 'commander';
import { bad } from './checks.js';
import { envName, type FlagSpec, type FlagValues } from './spec.js';

type Raw = Record<string, unknown>;

/** A repeatable flag's values, each of which may be a comma list. */
export function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), ...value.split(',').map((part) => part.trim()).filter((part) => part !== '')];
}

/** Values by commander attribute key (`clusterName`), for the common flags in src/config.ts. */
export class Values {
  constructor(
    private readonly program: Command,
    private readonly env: NodeJS.ProcessEnv,
  ) {}

  private option(key: string): { long?: string | undefined } | undefined {
    return this.program.options.find((o) => o.attributeName() === key && !o.negate);
  }

  private fromEnv(key: string): string | undefined {
    if (this.program.getOptionValueSource(key) === 'cli') return undefined;
    const long = this.option(key)?.long;
    return long === undefined ? undefined : this.env[envName(long)];
  }

  /** The attribute key of `--some-flag`. */
  keyOf(flag: string): string {
    return this.program.options.find((o) => o.long === flag && !o.negate)?.attributeName() ?? flag;
  }

  /** Given on the command line or by its variable, not a default. */
  given(key: string): string | undefined {
    const fromEnv = this.fromEnv(key);
    if (fromEnv !== undefined) return fromEnv;
    const value = this.program.getOptionValueSource(key) === 'cli' ? this.program.opts<Raw>()[key] : undefined;
    return typeof value === 'string' ? value : undefined;
  }

  text(key: string): string | undefined {
    const value = this.fromEnv(key) ?? this.program.opts<Raw>()[key];
    return typeof value === 'string' ? value : undefined;
  }

  list(key: string): string[] {
    const value = this.fromEnv(key);
    if (value !== undefined) return collect(value, []);
    return (this.program.opts<Raw>()[key] as string[] | undefined) ?? [];
  }

  /** How to name a flag in an error: with its environment variable when that is where the value came from. */
  label(flag: string): string {
    if (this.fromEnv(this.keyOf(flag)) === undefined) return flag;
    return `${envName(flag)} (${flag})`;
  }

  switch(key: string): boolean {
    const value = this.fromEnv(key);
    if (value === undefined) return this.program.opts<Raw>()[key] === true;
    const normalized = value.trim().toLowerCase();
    if (['1', 'true', 'yes', 'on'].includes(normalized)) return true;
    if (['0', 'false', 'no', 'off', ''].includes(normalized)) return false;
    throw bad(envName(this.option(key)?.long ?? key), value, 'expected true or false');
  }
}

/**
 * A provider's view: only its declared flags and variables, each value checked by its spec. Asking
 * for anything undeclared is a bug in the provider (its variable would be missing from the known
 * ROUTESYNC_* names), so it throws.
 */
export function declaredValues(values: Values, specs: readonly FlagSpec[], envNames: readonly string[], env: NodeJS.ProcessEnv): FlagValues {
  const specOf = (flag: string): FlagSpec => {
    const spec = specs.find((s) => s.flag === flag);
    if (spec === undefined) throw new Error(`${flag} is not a declared flag of this provider`);
    return spec;
  };
  return {
    text(flag) {
      const spec = specOf(flag);
      const key = values.keyOf(flag);
      let value = values.given(key);
      for (const name of spec.fallbackEnv ?? []) value ??= env[name];
      value ??= values.text(key);
      if (value !== undefined) spec.check?.(value, values.label(flag));
      return value;
    },
    list(flag) {
      const spec = specOf(flag);
      const items = values.list(values.keyOf(flag));
      for (const item of items) spec.check?.(item, values.label(flag));
      return items;
    },
    env(name) {
      if (!envNames.includes(name)) throw new Error(`${name} is not a declared variable of this provider`);
      return env[name];
    },
    label: (flag) => values.label(specOf(flag).flag),
  };
}
