/**
 * The long-running service: wait for a fresh lease view, then (as leader, or always without
 * election) run coalesced passes until the signal ends or a configuration error stops it.
 */
import type { Etcd3 } from 'etcd3';
import type { Config } from '../config.js';
import type { Logger } from '../log.js';
import { isConfigurationError, warrantsAnotherPass } from '../errors.js';
import { anySignal } from '../abort.js';
import type { EtcdLeaseSource } from '../leases/lease-view.js';
import type { PassReport, Reconciler } from '../reconcile/reconciler.js';
import { ReconcileTrigger } from '../reconcile/trigger.js';
import { runForLeadership, type ElectionSettings } from '../election.js';
import type { Telemetry } from '../telemetry/index.js';
import type { StatusPublisher } from '../status-publisher.js';
import type { CloudReads } from './readiness.js';
import { logPass } from './pass-log.js';
import { EXIT } from './exit-codes.js';

/** Lease events wait this long for more events, so a burst becomes one pass. */
const LEASE_EVENT_DEBOUNCE_MS = 50;

export interface LeaderParts {
  readonly config: Config;
  readonly logger: Logger;
  readonly client: Etcd3;
  readonly leases: EtcdLeaseSource;
  readonly reconciler: Reconciler;
  readonly telemetry: Telemetry;
  readonly publisher: StatusPublisher;
  readonly cloudReads: CloudReads;
  readonly election: ElectionSettings;
}

export async function runLeaderLoop(parts: LeaderParts, signal: AbortSignal): Promise<number> {
  const { config, logger, client, leases, reconciler, telemetry, publisher, cloudReads, election } = parts;
  await leases.waitUntilFresh(signal).catch((err: unknown) => {
    if (!signal.aborted) throw err;
  });
  if (signal.aborted) return EXIT.ok;

  const stopWith = new AbortController();
  let exitCode: number = EXIT.ok;
  const service = anySignal([signal, stopWith.signal]);

  const lead = async (leadership: AbortSignal): Promise<void> => {
    // A pass of an earlier leadership says nothing about this one.
    cloudReads.reset();
    telemetry.setLeader(true);
    const trigger: ReconcileTrigger = new ReconcileTrigger(
      {
        debounceMs: LEASE_EVENT_DEBOUNCE_MS,
        resyncIntervalMs: config.resyncIntervalMs,
        run: async (reasons, passSignal) => {
          // Lease events alone trust the node cache; every other pass re-checks the nodes.
          const refresh = [...reasons].some((reason) => reason !== 'lease-event');
          const report = await reconciler.pass(passSignal, { refresh });
          telemetry.record(report);
          cloudReads.record(report);
          logPass(logger, report, reasons);
          if (!passSignal.aborted) publisher.publish(telemetry.status());
          if (report.error !== undefined && isConfigurationError(report.error)) {
            logger.fatal({ err: report.error.message }, 'configuration error: stopping');
            exitCode = EXIT.usage;
            stopWith.abort();
            return;
          }
          // The trigger owns the backoff: asking during the pass delays the next one.
          if (needsRetry(report) && !passSignal.aborted) trigger.request('retry');
        },
        onError: (err) => logger.error({ err: String(err) }, 'reconcile pass crashed'),
        onRetryScheduled: (delayMs, failures) => logger.debug({ retryInMs: delayMs, failures }, 'reconcile pass to be retried'),
      },
      leadership,
    );
    const unsubscribe = leases.onChange(() => {
      trigger.request('lease-event');
      // A pass that is applying (a long cold start) creates new leases itself, ahead of its own
      // waiting creates; the pass the trigger runs after it checks the result.
      void reconciler.leaseEventDuringPass();
    });
    trigger.start();
    await new Promise<void>((resolve) => {
      if (leadership.aborted) resolve();
      leadership.addEventListener('abort', () => resolve(), { once: true });
    });
    unsubscribe();
    trigger.stop();
    await trigger.idle();
    await publisher.flush();
    telemetry.setLeader(false);
  };

  if (config.leaderElect) {
    await runForLeadership(client, election, service, logger, lead);
  } else {
    await lead(service);
  }
  return exitCode;
}

function needsRetry(report: PassReport): boolean {
  if (report.outcome === 'failed') return true;
  return report.results.some((r) => !r.ok && warrantsAnotherPass(r.error));
}
