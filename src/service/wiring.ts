/**
 * Wires the parts together: etcd lease source, provider, reconciler, HTTP, then hands them to
 * --once (run-once.ts) or the leader loop (run-leader.ts). Returns an exit code instead of
 * exiting: only src/cli.ts calls process.exit.
 */
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import type { Etcd3 } from 'etcd3';
import type { Config } from '../config.js';
import type { Logger } from '../log.js';
import { ConfigError } from '../errors.js';
import { createEtcdClient } from '../leases/etcd-client.js';
import { EtcdLeaseSource } from '../leases/lease-view.js';
import { createProvider } from '../../providers/registry.js';
import type { RouteProvider } from '../../providers/provider.js';
import { Reconciler } from '../reconcile/reconciler.js';
import type { ElectionSettings } from '../election.js';
import { Telemetry } from '../telemetry/index.js';
import { StatusPublisher } from '../status-publisher.js';
import { startHttpServer, startStatusServer, type HttpHandle } from '../http.js';
import { VERSION } from '../version.js';
import { EXIT } from './exit-codes.js';
import { CloudReads, readiness } from './readiness.js';
import { runOnce } from './run-once.js';
import { runLeaderLoop } from './run-leader.js';

export interface ServiceIo {
  readonly logger: Logger;
  /** Where --once writes its summary (stdout). */
  readonly writeSummary: (text: string) => void;
}

/** The etcd client of --etcd-endpoints and the TLS files: the service and cleanup talk to etcd alike. */
export function etcdClientFor(config: Config): Etcd3 {
  return createEtcdClient({
    endpoints: config.etcd.endpoints,
    tls: {
      ...(config.etcd.caFile !== undefined ? { ca: config.etcd.caFile } : {}),
      ...(config.etcd.certFile !== undefined ? { cert: config.etcd.certFile } : {}),
      ...(config.etcd.keyFile !== undefined ? { key: config.etcd.keyFile } : {}),
    },
  });
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
    const client = etcdClientFor(config);
    closers.push(async () => client.close());
    const leases = new EtcdLeaseSource({ client, prefix: config.etcd.prefix, ...(config.etcd.networks === undefined ? {} : { networks: config.etcd.networks }), logger });
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
    if (config.once) return await runOnce({ config, logger, writeSummary: io.writeSummary, client, leases, reconciler, telemetry, election }, signal);
    return await runLeaderLoop({ config, logger, client, leases, reconciler, telemetry, publisher, cloudReads, election }, signal);
  } finally {
    await closeAll();
  }
}
