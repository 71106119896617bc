import { pino, type Logger } from 'pino';
import type { LogLevel } from './config-types.js';

export type { Logger };

/** JSON lines on stderr (stdout is kept for the --once summary). */
export function createLogger(level: LogLevel, bindings: Record<string, unknown> = {}): Logger {
  return pino(
    {
      level,
      base: bindings,
      // Defence in depth: nothing we log should carry these, but never print them if it does.
      redact: { paths: ['*.credentials', '*.secretAccessKey', '*.sessionToken', '*.authorization', '*.key'], censor: '[redacted]' },
    },
    pino.destination({ fd: 2, sync: true }),
  );
}
