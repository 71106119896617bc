#!/usr/bin/env node
/** The command line: the only place that exits the process (every other layer returns an exit code or throws). */
import { findProvider } from '../providers/registry.js';
import { parseConfig, UsageError, HelpShown, type Config } from './config.js';
import { CLEANUP_COMMAND, parseCleanupConfig, type CleanupSettings } from './cleanup-config.js';
import { favourSmallHeap } from './heap-tuning.js';
import { createLogger } from './log.js';
import { runService } from './service/wiring.js';
import { runCleanup } from './service/run-cleanup.js';
import { EXIT } from './service/exit-codes.js';

// The AWS SDK warns on Node 20 that releases after early 2027 need Node 22; package.json pins a
// release that supports Node 20, so the multi-line warning would only break the JSON log.
process.env['AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED'] ??= 'true';

async function main(): Promise<number> {
  // `routesync cleanup …` is the teardown; anything else is the service, as it always was.
  const argv = process.argv.slice(2);
  const isCleanup = argv[0] === CLEANUP_COMMAND;
  let config: Config;
  let cleanup: CleanupSettings | undefined;
  try {
    const write = (text: string): boolean => process.stdout.write(text);
    if (isCleanup) ({ config, cleanup } = parseCleanupConfig(argv.slice(1), process.env, write, { checkFiles: true }));
    else config = parseConfig(argv, process.env, write, { checkFiles: true });
  } catch (err) {
    if (err instanceof HelpShown) return EXIT.ok;
    if (err instanceof UsageError) {
      process.stderr.write(`routesync: ${err.message}\nTry 'routesync ${isCleanup ? `${CLEANUP_COMMAND} ` : ''}--help'.\n`);
      return EXIT.usage;
    }
    throw err;
  }
  if (findProvider(config.provider)?.smallHeap === true) favourSmallHeap();
  const logger = createLogger(config.logLevel);
  // Node prints its warnings (deprecations, listener counts) as plain text on stderr, which would
  // break the JSON log stream that operators parse: they become log lines instead.
  process.removeAllListeners('warning');
  process.on('warning', (warning) => {
    logger.warn({ warning: warning.name, code: (warning as { code?: unknown }).code, err: warning.message }, 'node.js warning');
  });
  const shutdown = new AbortController();
  let signals = 0;
  const onSignal = (name: string): void => {
    signals += 1;
    if (signals > 1) {
      logger.warn({ signal: name }, 'second signal: exiting now');
      process.exit(EXIT.runtime);
    }
    logger.info({ signal: name }, 'shutting down: aborting in-flight work and resigning');
    shutdown.abort(new Error(`received ${name}`));
  };
  process.on('SIGTERM', () => onSignal('SIGTERM'));
  process.on('SIGINT', () => onSignal('SIGINT'));
  process.on('unhandledRejection', (reason) => {
    logger.error({ err: String(reason) }, 'unhandled promise rejection');
  });
  try {
    const io = { logger, writeSummary: (text: string) => void process.stdout.write(text) };
    if (cleanup !== undefined) return await runCleanup(config, cleanup, io, shutdown.signal);
    return await runService(config, io, shutdown.signal);
  } catch (err) {
    logger.fatal({ err: err instanceof Error ? err.stack ?? err.message : String(err) }, 'routesync failed');
    return EXIT.runtime;
  }
}

main().then(
  (code) => {
    // Flush stdout before exiting so a piped --once summary is never cut.
    process.stdout.write('', () => process.exit(code));
  },
  (err: unknown) => {
    process.stderr.write(`routesync: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(EXIT.runtime);
  },
);
