/**
 * The etcd client routesync uses: endpoints and TLS files checked up front (a ConfigError names
 * the flag), per-endpoint circuit breakers, retries of transport failures, call deadlines and gRPC
 * keep-alives. describeEtcdError() turns the breaker's "circuit breaker is open" into the
 * endpoint it paused and the failure that opened it.
 */
import { readFileSync } from 'node:fs';

import { Etcd3, GRPCResourceExhastedError, isRecoverableError, type IOptions } from 'etcd3';
import { ConsecutiveBreaker, ExponentialBackoff, circuitBreaker, handleWhen, isBrokenCircuitError, retry, type IBackoff } from 'cockatiel';

import { ConfigError } from '../errors.js';

export interface EtcdTlsFiles {
  /** CA bundle file (`--etcd-cafile`). */
  readonly ca?: string;
  /** Client certificate file (`--etcd-certfile`). */
  readonly cert?: string;
  /** Client key file (`--etcd-keyfile`). */
  readonly key?: string;
}

export interface EtcdClientOptions {
  /** etcd v3 endpoints, `http://host:port` or `https://host:port`. */
  readonly endpoints: readonly string[] | string;
  readonly tls?: EtcdTlsFiles;
  /** Deadline for each unary call (not for watch/keep-alive streams). Default 5000. */
  readonly callTimeoutMs?: number;
  /** Dial timeout. Default 5000. */
  readonly dialTimeoutMs?: number;
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function readTlsFile(path: string, what: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new ConfigError(`cannot read ${what} ${JSON.stringify(path)}: ${(err as Error).message}`);
  }
}

/**
 * What says the etcd member or the way to it is in trouble. etcd3 also counts RESOURCE_EXHAUSTED,
 * which etcd answers to a request over its size limit or to a write while its database is full:
 * the member is fine and a retry gets the same answer, and counting it would open the breaker for
 * every call, the lease watch included.
 */
function isTransportFailure(err: Error): boolean {
  return isRecoverableError(err) && !(err instanceof GRPCResourceExhastedError);
}

/** Consecutive transport failures that open a host's circuit breaker, and how long it then stays open. */
const BREAKER_FAILURES = 5;
const BREAKER_HALF_OPEN_MS = 1_000;

/** What a client made by createEtcdClient knows about its endpoints' circuit breakers. */
interface ClientHealth {
  readonly endpoints: readonly string[];
  /** endpoint → the failure that opened its breaker, while it is open. */
  readonly open: Map<string, string>;
}

const clientHealth = new WeakMap<Etcd3, ClientHealth>();

/** The endpoints of a client made by createEtcdClient (empty for another client). */
export function etcdEndpoints(client: Etcd3): readonly string[] {
  return clientHealth.get(client)?.endpoints ?? [];
}

/**
 * An etcd error as an operator needs it. cockatiel's "Execution prevented because the circuit
 * breaker is open" names neither the endpoint nor the failure behind it: here `err` says which
 * endpoints are paused and until when, and `cause` is the failure that opened the breaker.
 */
export function describeEtcdError(client: Etcd3, err: unknown): { err: string; cause?: string } {
  const message = errorMessage(err);
  if (!isBrokenCircuitError(err)) return { err: message };
  const health = clientHealth.get(client);
  const open = health === undefined ? [] : [...health.open];
  if (open.length === 0) return { err: `${message} (etcd client)` };
  return {
    err:
      `the etcd client stopped calling ${open.map(([endpoint]) => endpoint).join(', ')} after ${BREAKER_FAILURES} consecutive ` +
      `failures (circuit breaker open); it tries again ${BREAKER_HALF_OPEN_MS} ms after opening`,
    cause: [...new Set(open.map(([, cause]) => cause))].join('; '),
  };
}

/**
 * Builds an etcd3 client suited to a long-running controller:
 * - TLS material read from files (CA, optional client cert + key);
 * - per host, a circuit breaker that opens after 5 consecutive transport failures (isTransportFailure) and half-opens
 *   after 1 s (etcd3's default opens after 3 and stays open 5 s: slow to notice a restarted etcd);
 *   describeEtcdError() tells which endpoint it paused and why;
 * - globally, retries of transport failures with a short exponential backoff, at least once per
 *   endpoint so a dead member is skipped; longer waits are the callers' business (the lease source
 *   backs off on its own);
 * - a deadline on every unary call, none on streams (watches, lease keep-alives);
 * - gRPC keep-alive pings on open streams (10 s; etcd's minimum is 5 s) so a hung etcd is
 *   detected, and a short gRPC reconnect backoff.
 * Throws ConfigError for unreadable TLS files or bad endpoints.
 */
export function createEtcdClient(options: EtcdClientOptions): Etcd3 {
  const endpoints = (typeof options.endpoints === 'string' ? options.endpoints.split(',') : [...options.endpoints])
    .map(e => e.trim())
    .filter(e => e !== '');
  if (endpoints.length === 0) throw new ConfigError('no etcd endpoints given');
  for (const endpoint of endpoints) {
    let url: URL;
    try {
      url = new URL(endpoint);
    } catch {
      throw new ConfigError(`etcd endpoint ${JSON.stringify(endpoint)} is not a URL (expected http://host:port or https://host:port)`);
    }
    if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.port === '' || (url.pathname !== '/' && url.pathname !== '')) {
      throw new ConfigError(`etcd endpoint ${JSON.stringify(endpoint)} must look like http://host:port or https://host:port`);
    }
  }
  const secure = endpoints.filter(e => e.startsWith('https://')).length;
  if (secure !== 0 && secure !== endpoints.length) {
    throw new ConfigError('etcd endpoints mix http:// and https://');
  }
  const tls = options.tls;
  if (tls !== undefined && (tls.cert === undefined) !== (tls.key === undefined)) {
    throw new ConfigError('--etcd-certfile and --etcd-keyfile must be given together');
  }
  const callTimeoutMs = options.callTimeoutMs ?? 5000;
  const health: ClientHealth = { endpoints, open: new Map() };
  const clientOptions: IOptions = {
    hosts: endpoints,
    dialTimeout: options.dialTimeoutMs ?? 5000,
    defaultCallOptions: context => (context.isStream ? {} : { deadline: Date.now() + callTimeoutMs }),
    grpcOptions: {
      'grpc.keepalive_time_ms': 10_000,
      'grpc.keepalive_timeout_ms': 5_000,
      'grpc.initial_reconnect_backoff_ms': 100,
      'grpc.max_reconnect_backoff_ms': 2_000,
    },
    faultHandling: {
      host: (endpoint: string) => {
        const breaker = circuitBreaker(handleWhen(isTransportFailure), {
          halfOpenAfter: BREAKER_HALF_OPEN_MS,
          breaker: new ConsecutiveBreaker(BREAKER_FAILURES),
        });
        breaker.onBreak(reason => health.open.set(endpoint, 'error' in reason ? errorMessage(reason.error) : 'isolated'));
        breaker.onReset(() => health.open.delete(endpoint));
        return breaker;
      },
      global: retry(handleWhen(isTransportFailure), {
        maxAttempts: Math.max(2, endpoints.length),
        backoff: new ExponentialBackoff({ initialDelay: 50, maxDelay: 500 }),
      }),
      // etcd3 1.1.2 types this as IBackoff but calls `.next()` on it as a factory, like its default.
      watchBackoff: new ExponentialBackoff({ initialDelay: 100, maxDelay: 5_000 }) as unknown as IBackoff<unknown>,
    },
  };
  if (tls !== undefined && (tls.ca !== undefined || tls.cert !== undefined)) {
    clientOptions.credentials = {
      // grpc-js treats a null root certificate as "use the system roots".
      rootCertificate: tls.ca === undefined ? (null as unknown as Buffer) : readTlsFile(tls.ca, '--etcd-cafile'),
      ...(tls.cert === undefined ? {} : { certChain: readTlsFile(tls.cert, '--etcd-certfile') }),
      ...(tls.key === undefined ? {} : { privateKey: readTlsFile(tls.key, '--etcd-keyfile') }),
    };
  }
  try {
    const client = new Etcd3(clientOptions);
    clientHealth.set(client, health);
    return client;
  } catch (err) {
    throw new ConfigError(`cannot create the etcd client: ${(err as Error).message}`);
  }
}
