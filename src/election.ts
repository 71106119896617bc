/**
 * Leader election on etcd (etcd3's Election: a campaign key bound to an etcd lease). Only the
 * leader reconciles; the moment its lease is lost, the leadership signal aborts and every
 * in-flight cloud call with it, then the replica campaigns again.
 */
import type { Etcd3 } from 'etcd3';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from './log.js';
import { anySignal } from './abort.js';

export interface ElectionSettings {
  readonly key: string;
  readonly ttlSeconds: number;
  readonly identity: string;
}

/** The identity of the current leader, if any. */
export async function currentLeader(client: Etcd3, settings: ElectionSettings): Promise<string | undefined> {
  return client.election(settings.key, settings.ttlSeconds).leader();
}

/** What the fence needs of etcd3's Lease: its keep-alive events. */
interface KeepAliveEvents {
  on(event: 'keepaliveFired' | 'keepaliveSucceeded', listener: () => void): unknown;
  removeListener(event: 'keepaliveFired' | 'keepaliveSucceeded', listener: () => void): unknown;
}

/**
 * Self-fencing. etcd expires the leadership lease TTL seconds after the last keep-alive it
 * received, and only then can a standby win. etcd3 reports a lost lease after 2 × TTL, far too
 * late, so the leader tracks when the keep-alives that etcd acknowledged were *sent* and steps down
 * `marginMs` before the earliest moment etcd may expire the lease.
 */
export function startFence(
  lease: KeepAliveEvents,
  ttlSeconds: number,
  grantSentAt: number,
  onFenced: (silentForMs: number) => void,
  now: () => number = Date.now,
): () => void {
  const marginMs = Math.max(1000, ttlSeconds * 250);
  let lastAckedSendTime = grantSentAt;
  const sent: number[] = [];
  const fired = (): void => {
    sent.push(now());
  };
  const succeeded = (): void => {
    const sentAt = sent.shift();
    if (sentAt !== undefined) lastAckedSendTime = Math.max(lastAckedSendTime, sentAt);
  };
  lease.on('keepaliveFired', fired);
  lease.on('keepaliveSucceeded', succeeded);
  const timer = setInterval(() => {
    const deadline = lastAckedSendTime + ttlSeconds * 1000 - marginMs;
    if (now() >= deadline) {
      stop();
      onFenced(now() - lastAckedSendTime);
    }
  }, 100);
  const stop = (): void => {
    clearInterval(timer);
    lease.removeListener('keepaliveFired', fired);
    lease.removeListener('keepaliveSucceeded', succeeded);
  };
  return stop;
}

export interface HeldLeadership {
  /** Aborted when the etcd session is lost (or the outer signal aborts). */
  readonly signal: AbortSignal;
  resign(): Promise<void>;
}

/**
 * Campaigns once and resolves when elected. Rejects if the campaign fails or `signal` aborts
 * first (the campaign is resigned then).
 */
export async function acquireLeadership(
  client: Etcd3,
  settings: ElectionSettings,
  signal: AbortSignal,
  logger: Logger,
): Promise<HeldLeadership> {
  const grantSentAt = Date.now();
  const campaign = client.election(settings.key, settings.ttlSeconds).campaign(settings.identity);
  // etcd3 keeps the campaign's lease private; the fence needs its keep-alive events.
  const lease = (campaign as unknown as { lease: KeepAliveEvents }).lease;
  const lost = new AbortController();
  let stopFence: () => void = () => undefined;
  let elected = false;
  const resign = async (): Promise<void> => {
    stopFence();
    await campaign.resign().catch((err: unknown) => logger.warn({ err: String(err) }, 'resigning leadership failed'));
  };
  campaign.on('error', (err: unknown) => {
    if (elected) logger.error({ err: String(err) }, 'leadership lost: etcd session ended');
    lost.abort(err instanceof Error ? err : new Error(String(err)));
  });
  try {
    await new Promise<void>((resolve, reject) => {
      const onAbort = (): void => reject(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
      if (signal.aborted) return onAbort();
      signal.addEventListener('abort', onAbort, { once: true });
      campaign.on('elected', () => {
        signal.removeEventListener('abort', onAbort);
        resolve();
      });
      lost.signal.addEventListener('abort', () => {
        signal.removeEventListener('abort', onAbort);
        reject(lost.signal.reason instanceof Error ? lost.signal.reason : new Error('campaign failed'));
      });
    });
  } catch (err) {
    await resign();
    throw err;
  }
  elected = true;
  stopFence = startFence(lease, settings.ttlSeconds, grantSentAt, (silentForMs) => {
    logger.error({ silentForMs }, 'leadership lost: etcd has not acknowledged a keep-alive in time; stopping all cloud writes');
    lost.abort(new Error('fenced: leadership keep-alives not acknowledged'));
  });
  return { signal: anySignal([signal, lost.signal]), resign };
}

/**
 * Campaigns until `signal` aborts. Each time this replica is elected, `lead` runs with a signal
 * that aborts when leadership ends; leadership is resigned when `lead` returns.
 */
export async function runForLeadership(
  client: Etcd3,
  settings: ElectionSettings,
  signal: AbortSignal,
  logger: Logger,
  lead: (leadershipSignal: AbortSignal) => Promise<void>,
): Promise<void> {
  let failures = 0;
  while (!signal.aborted) {
    let held: HeldLeadership;
    try {
      logger.info({ key: settings.key, identity: settings.identity }, 'campaigning for leadership');
      held = await acquireLeadership(client, settings, signal, logger);
    } catch (err) {
      if (signal.aborted) return;
      failures += 1;
      const delay = Math.min(10_000, 250 * 2 ** Math.min(failures, 6));
      logger.warn({ err: String(err), retryInMs: delay }, 'campaign failed');
      await sleep(delay, undefined, { signal }).catch(() => undefined);
      continue;
    }
    failures = 0;
    logger.info({ identity: settings.identity }, 'elected leader');
    try {
      await lead(held.signal);
    } finally {
      logger.info({ identity: settings.identity }, 'resigning leadership');
      await held.resign();
      logger.info({ identity: settings.identity }, 'leadership released');
    }
  }
}
