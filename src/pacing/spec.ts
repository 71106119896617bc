/**
 * The text form of API rate limits, for accounts whose limits AWS raised (or a simulator that runs
 * faster than the cloud). Comma-separated items over the provider's defaults:
 *
 *   CreateRoute=100+10/1s          bucket 100, +10 every second (any action the provider calls)
 *   time-scale=10                  every interval ten times shorter (a simulator's --time-scale)
 *   off                            no client-side pacing at all (alone)
 *
 * e.g. `CreateRoute=100+10/1s,DeleteRoute=100+10/1s`.
 */
import type { RateLimit } from '../../providers/provider.js';
import { ConfigError } from '../errors.js';
import { scaleLimits } from './pacer.js';

const ITEM = /^([A-Za-z][A-Za-z0-9]*)=(\d+)\+(\d+(?:\.\d+)?)\/(\d+(?:\.\d+)?)(ms|s|m)$/;
const SCALE = /^time-scale=(\d+(?:\.\d+)?)$/;
const UNIT_MS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000 };

/**
 * Parses `text` over `defaults`; null means pacing is off. `source` names the flag or variable in
 * error messages. Unknown actions are refused (a typo would silently leave an action unpaced).
 */
export function parseRateLimits(
  text: string,
  defaults: Readonly<Record<string, RateLimit>>,
  source: string,
): Record<string, RateLimit> | null {
  const trimmed = text.trim();
  if (trimmed === '') return { ...defaults };
  if (trimmed.toLowerCase() === 'off') return null;
  let limits: Record<string, RateLimit> = { ...defaults };
  let scale = 1;
  for (const raw of trimmed.split(',')) {
    const item = raw.trim();
    if (item === '') continue;
    const scaleMatch = SCALE.exec(item);
    if (scaleMatch !== null) {
      scale = Number(scaleMatch[1]);
      if (!(scale > 0)) throw new ConfigError(`invalid ${source}: time-scale must be positive, got ${JSON.stringify(item)}`);
      continue;
    }
    const match = ITEM.exec(item);
    if (match === null) {
      throw new ConfigError(
        `invalid ${source}: ${JSON.stringify(item)} (expected Action=<capacity>+<refill>/<interval> such as CreateRoute=50+5/1s, time-scale=<n>, or off)`,
      );
    }
    const [, action = '', capacity, refill, every, unit = 's'] = match;
    if (!(action in defaults)) {
      throw new ConfigError(`invalid ${source}: unknown action ${action} (paced actions: ${Object.keys(defaults).join(', ')})`);
    }
    const limit: RateLimit = { capacity: Number(capacity), refill: Number(refill), intervalMs: Number(every) * (UNIT_MS[unit] ?? NaN) };
    if (!(limit.capacity >= 1 && limit.refill > 0 && limit.intervalMs > 0)) {
      throw new ConfigError(`invalid ${source}: ${JSON.stringify(item)} needs a capacity of at least 1, a positive refill and interval`);
    }
    limits[action] = limit;
  }
  if (scale !== 1) limits = scaleLimits(limits, scale);
  return limits;
}

/** The text form of limits (for logs and /status). */
export function formatRateLimits(limits: Readonly<Record<string, RateLimit>>): string {
  return Object.entries(limits)
    .map(([action, l]) => `${action}=${l.capacity}+${l.refill}/${l.intervalMs}ms`)
    .join(',');
}
