/** --once: wait for the lease view, take leadership unless dry-run, make one pass, print the summary. */
import type { Etcd3 } from 'etcd3';
import type { Config } from '../config.js';
import type { Logger } from '../log.js';
import { isConfigurationError } from '../errors.js';
import { withDeadline } from '../abort.js';
import type { EtcdLeaseSource } from '../leases/lease-view.js';
import { exitCodeFor, type Reconciler } from '../reconcile/reconciler.js';
import { formatSummary } from '../reconcile/summary.js';
import { acquireLeadership, currentLeader, type ElectionSettings } from '../election.js';
import type { Telemetry } from '../telemetry/index.js';
import { EXIT } from './exit-codes.js';

/** --once waits this long for etcd before giving up with exit 1. */
const ONCE_ETCD_DEADLINE_MS = 10_000;

export interface OnceParts {
  readonly config: Config;
  readonly logger: Logger;
  /** Where the summary goes (stdout). */
  readonly writeSummary: (text: string) => void;
  readonly client: Etcd3;
  readonly leases: EtcdLeaseSource;
  readonly reconciler: Reconciler;
  readonly telemetry: Telemetry;
  readonly election: ElectionSettings;
}

export async function runOnce(parts: OnceParts, signal: AbortSignal): Promise<number> {
  const { config, logger, client, leases, reconciler, telemetry, election } = parts;
  try {
    await withDeadline(signal, ONCE_ETCD_DEADLINE_MS, (deadline) => leases.waitUntilFresh(deadline));
  } catch (err) {
    logger.error({ err: String(err), endpoints: config.etcd.endpoints }, 'etcd is unreachable: no pass made');
    return EXIT.runtime;
  }

  let passSignal = signal;
  let resign: (() => Promise<void>) | undefined;
  if (config.leaderElect && !config.dryRun) {
    try {
      const leader = await currentLeader(client, election);
      if (leader !== undefined) {
        logger.error({ leader }, 'another routesync is the leader: not reconciling (use --dry-run to only compute the plan)');
        parts.writeSummary(`routesync: another replica (${leader}) holds leadership; nothing done\n`);
        return EXIT.otherLeader;
      }
      const held = await withDeadline(signal, ONCE_ETCD_DEADLINE_MS, (deadline) => acquireLeadership(client, election, deadline, logger));
      passSignal = held.signal;
      resign = held.resign;
      telemetry.setLeader(true);
    } catch (err) {
      logger.error({ err: String(err) }, 'could not take leadership');
      return EXIT.runtime;
    }
  }
  try {
    const report = await reconciler.pass(passSignal);
    telemetry.record(report);
    parts.writeSummary(formatSummary(report, config.provider));
    if (report.error !== undefined && isConfigurationError(report.error)) return EXIT.usage;
    return exitCodeFor(report);
  } finally {
    await resign?.();
  }
}
