/** A ROUTESYNC_* variable that is no setting is a typo: ignoring it would silently run without it. */
import { UsageError } from '../config-types.js';

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i += 1) {
    const current = [i];
    for (let j = 1; j <= b.length; j += 1) {
      current[j] = Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}

/** Throws one UsageError naming every ROUTESYNC_* variable not in `known`, each with the closest real name. */
export function rejectUnknownEnv(known: readonly string[], env: NodeJS.ProcessEnv): void {
  const unknown = Object.keys(env)
    .filter((name) => name.startsWith('ROUTESYNC_') && !known.includes(name))
    .sort();
  if (unknown.length === 0) return;
  const described = unknown.map((name) => {
    const closest = [...known].sort((a, b) => editDistance(name, a) - editDistance(name, b))[0] ?? '';
    return `${name}=${JSON.stringify(env[name] ?? '')} (did you mean ${closest}?)`;
  });
  throw new UsageError(`unknown environment variable ${described.join(', ')}; flags are set with ROUTESYNC_<FLAG_IN_UPPER_SNAKE>, see routesync --help`);
}
