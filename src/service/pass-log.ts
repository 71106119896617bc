/** The one log line each pass of the long-running service writes. */
import type { Logger } from '../log.js';
import type { PassReport } from '../reconcile/reconciler.js';

export function logPass(logger: Logger, report: PassReport, reasons: ReadonlySet<string>): void {
  const count = (state: string): number => report.leases.filter((l) => l.state === state).length;
  const fields = {
    reasons: [...reasons],
    outcome: report.outcome,
    durationMs: report.durationMs,
    changes: report.results.length,
    failed: report.results.filter((r) => !r.ok).length,
    routed: count('routed'),
    partial: count('partial'),
    unrouted: count('unrouted'),
    conflict: count('conflict'),
    errors: count('error'),
    invalid: report.invalid.length,
  };
  if (report.outcome === 'failed' || report.outcome === 'skipped') {
    logger.warn({ ...fields, reason: report.reason, code: report.error?.code }, 'reconcile pass made no change');
  } else {
    logger.info(fields, 'reconcile pass done');
  }
}
