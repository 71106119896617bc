/**
 * Wires the parts together: etcd lease source, provider, reconciler, leader election, HTTP.
 * Returns an exit code instead of exiting: only src/cli.ts calls process.exit.
 */
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import type { Etcd3 } from 'etcd3';
import type { Config } from './config.js';
import type { Logger } from './log.js';
import { ConfigError, isConfigurationError, warrantsAnotherPass } from './errors.js';
import { anySignal, withDeadline } from './abort.js';
import { createEtcdClient } from './leases/etcd-client.js';
import { EtcdLeaseSource } from './leases/lease-view.js';
import { createProvider } from '../providers/registry.js';
import type { RouteProvider } from '../providers/provider.js';
import { Reconciler, exitCodeFor, type PassReport } from './reconcile/reconciler.js';
import { ReconcileTrigger } from './reconcile/trigger.js';
import { formatSummary } from './reconcile/summary.js';
import { acquireLeadership, currentLeader, runForLeadership, type ElectionSettings } from './election.js';
import { Telemetry } from './telemetry.js';
import { systemClock } from './pacing/clock.js';
import { StatusPublisher } from './status-publisher.js';
import { startHttpServer, startStatusServer, type HttpHandle } from './http.js';
import { VERSION } from './version.js';

export const EXIT = { ok: 0, runtime: 1, usage: 2, unrouted: 3, otherLeader: 4 } as const;

/** Lease events wait this long for more events, so a burst becomes one pass. */
const LEASE_EVENT_DEBOUNCE_MS = 50;
/** --once waits this long for etcd before giving up with exit 1. */
const ONCE_ETCD_DEADLINE_MS = 10_000;

export interface ServiceIo {
  readonly logger: Logger;
  /** Where --once writes its summary (stdout). */
  readonly writeSummary: (text: string) => void;
}

export function replicaIdentity(): string {
  return `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
}

export async function runService(config: Config, io: ServiceIo, signal: AbortSignal): Promise<number> {
  const identity = replicaIdentity();
  const logger = io.logger.child({ replica: identity });
  const closers: Array<() => Promise<void>> = [];
  const closeAll = async (): Promise<void> => {
    for (const close of closers.reverse()) await close().catch((err: unknown) => logger.warn({ err: String(err) }, 'shutdown step failed'));
  };

  try {
    const client = createEtcdClient({
      endpoints: config.etcd.endpoints,
      tls: {
        ...(config.etcd.caFile !== undefined ? { ca: config.etcd.caFile } : {}),
        ...(config.etcd.certFile !== undefined ? { cert: config.etcd.certFile } : {}),
        ...(config.etcd.keyFile !== undefined ? { key: config.etcd.keyFile } : {}),
      },
    });
    closers.push(async () => client.close());
    const leases = new EtcdLeaseSource({ client, prefix: config.etcd.prefix, logger });
    closers.push(() => leases.stop());
    const telemetry = new Telemetry(identity, config.provider, config.clusterName, () => leases.isFresh());

    let provider: RouteProvider;
    try {
      provider = telemetry.instrument(await createProvider({ config, logger, userAgentSuffix: `routesync/${VERSION}+${identity}` }));
    } catch (err) {
      if (err instanceof ConfigError) {
        logger.fatal(err.message);
        return EXIT.usage;
      }
      throw err;
    }
    closers.push(() => provider.close());

    // Standbys watch too, so a new leader acts on a warm cache at once.
    leases.start(signal);
    const publisher = new StatusPublisher(client, `/routesync/${config.clusterName}/status`, logger);
    const reconciler = new Reconciler(
      provider,
      leases,
      { dryRun: config.dryRun, policy: { allowEmpty: config.allowEmpty, maxDeletesPerPass: config.maxDeletesPerPass } },
      logger,
    );

    const cloudReads = new CloudReads();
    let http: HttpHandle | undefined;
    if (config.listen !== null) {
      http = await startHttpServer(config.listen, telemetry, () =>
        readiness({
          leaseViewFresh: leases.isFresh(),
          leading: telemetry.isLeader(),
          leaderElect: config.leaderElect,
          sinceCloudReadMs: cloudReads.sinceMs(),
          resyncIntervalMs: config.resyncIntervalMs,
        }),
      );
      closers.push(() => http?.close() ?? Promise.resolve());
      logger.info({ listen: `${config.listen.host}:${http.port}` }, 'serving /metrics, /healthz, /readyz');
    }
    if (config.statusListen !== null) {
      const status = await startStatusServer(config.statusListen, telemetry);
      closers.push(() => status.close());
      logger.info({ statusListen: `${config.statusListen.host}:${status.port}` }, 'serving /status');
    }

    const election: ElectionSettings = { key: config.leaderElectionKey, ttlSeconds: config.leaderLeaseTtlSeconds, identity };
    if (config.once) return await runOnce(config, io, logger, client, leases, reconciler, telemetry, election, signal);
    return await runForever(config, logger, client, leases, reconciler, telemetry, publisher, cloudReads, election, signal);
  } finally {
    await closeAll();
  }
}

export interface ReadinessInput {
  readonly leaseViewFresh: boolean;
  readonly leading: boolean;
  readonly leaderElect: boolean;
  /** Milliseconds since the last pass that read the cloud (applied or dry-run) under this leadership. */
  readonly sinceCloudReadMs: number | undefined;
  readonly resyncIntervalMs: number;
}

/**
 * Ready: the lease view is fresh, and this replica is a standby, or a leader that keeps completing
 * passes that read the cloud. Errors of single leases or changes are reported on them; they do not
 * make the replica unready, or one bad change (or --dry-run) would stall every rollout.
 */
export function readiness(input: ReadinessInput): { ready: boolean; reason: string } {
  if (!input.leaseViewFresh) return { ready: false, reason: 'lease view from etcd is not fresh' };
  if (!input.leading && input.leaderElect) return { ready: true, reason: 'standby: watching leases' };
  const since = input.sinceCloudReadMs;
  if (since === undefined) return { ready: false, reason: 'leader: no pass has read the cloud yet' };
  if (since > 3 * input.resyncIntervalMs) return { ready: false, reason: `leader: last pass that read the cloud ${Math.round(since / 1000)}s ago` };
  return { ready: true, reason: 'leader: reconciling' };
}

/** Monotonic time of the last pass that read the cloud, for readiness. */
class CloudReads {
  private last: number | undefined;

  constructor(private readonly now: () => number = systemClock.now) {}

  record(report: PassReport): void {
    if (report.outcome === 'applied' || report.outcome === 'dry-run') this.last = this.now();
  }

  reset(): void {
    this.last = undefined;
  }

  sinceMs(): number | undefined {
    return this.last === undefined ? undefined : this.now() - this.last;
  }
}

async function runOnce(
  config: Config,
  io: ServiceIo,
  logger: Logger,
  client: Etcd3,
  leases: EtcdLeaseSource,
  reconciler: Reconciler,
  telemetry: Telemetry,
  election: ElectionSettings,
  signal: AbortSignal,
): Promise<number> {
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
        io.writeSummary(`routesync: another replica (${leader}) holds leadership; nothing done\n`);
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
    io.writeSummary(formatSummary(report, config.provider));
    if (report.error !== undefined && isConfigurationError(report.error)) return EXIT.usage;
    return exitCodeFor(report);
  } finally {
    await resign?.();
  }
}

async function runForever(
  config: Config,
  logger: Logger,
  client: Etcd3,
  leases: EtcdLeaseSource,
  reconciler: Reconciler,
  telemetry: Telemetry,
  publisher: StatusPublisher,
  cloudReads: CloudReads,
  election: ElectionSettings,
  signal: AbortSignal,
): Promise<number> {
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
    const unsubscribe = leases.onChange(() => trigger.request('lease-event'));
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

function logPass(logger: Logger, report: PassReport, reasons: ReadonlySet<string>): void {
  const count = (state: string): number => report.leases.filter((l) => l.state === state).length;
  const fields = {
    reasons: [...reasons],
    outcome: report.outcome,
    durationMs: report.durationMs,
    changes: report.results.length,
    failed: report.results.filter((r) => !r.ok).length,
    routed: count('routed'),
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
