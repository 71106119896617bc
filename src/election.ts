/**
 * Leader election on etcd (etcd3's Election: a campaign key bound to an etcd lease). Only the
 * leader reconciles; the moment its lease is lost, the leadership signal aborts and every
 * in-flight cloud call with it, then the replica campaigns again.
 */
import type { Etcd3 } from 'etcd3';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from './log.js';
import { anySignal } from './abort.js';
import { systemClock } from './pacing/clock.js';

export interface ElectionSettings {
  readonly key: string;
  readonly ttlSeconds: number;
  readonly identity: string;
}

/** The identity of the current leader, if any. */
export async function currentLeader(client: Etcd3, settings: ElectionSettings): Promise<string | undefined> {
  return client.election(settings.key, settings.ttlSeconds).leader();
}

type KeepAliveEvent = 'keepaliveFired' | 'keepaliveSucceeded' | 'keepaliveFailed' | 'keepaliveEstablished';

/** What the fence needs of etcd3's Lease: its keep-alive events. */
interface KeepAliveEvents {
  on(event: KeepAliveEvent, listener: () => void): unknown;
  removeListener(event: KeepAliveEvent, listener: () => void): unknown;
}

/** What leadership needs of the campaign's lease: its events, and one keep-alive on demand. */
interface CampaignLease extends KeepAliveEvents {
  keepaliveOnce(): Promise<unknown>;
}

/** How often the fence compares its deadline with the clock. */
const FENCE_CHECK_MS = 100;

export interface LeaseFence {
  /** Records that etcd acknowledged a keep-alive sent at `sentAt` (on the fence's clock). */
  acknowledged(sentAt: number): void;
  /** Send time of the latest keep-alive etcd acknowledged (or of the grant request). */
  lastAcknowledgedSendAt(): number;
  /** Starts checking the deadline; `onFenced` runs once, when it passes. */
  arm(onFenced: (silentForMs: number) => void): void;
  stop(): void;
}

/**
 * Self-fencing. etcd expires the leadership lease TTL seconds after the last keep-alive it
 * received, and only then can a standby win. etcd3 reports a lost lease after 2 × TTL, far too
 * late, so the leader tracks when the keep-alives that etcd acknowledged were *sent* and steps down
 * `marginMs` before the earliest moment etcd may expire the lease.
 *
 * Tracking starts with the campaign, so keep-alives acknowledged while waiting to be elected count;
 * the deadline is checked only once armed. `now` must be monotonic: a wall clock stepped back
 * would hold the fence open while a standby is elected.
 */
export function trackKeepAlives(
  lease: KeepAliveEvents,
  ttlSeconds: number,
  grantSentAt: number,
  now: () => number = systemClock.now,
): LeaseFence {
  const marginMs = Math.max(1000, ttlSeconds * 250);
  let lastAckedSendTime = grantSentAt;
  // etcd answers a stream's keep-alives in order, so acknowledgements pair with sends first in, first out.
  const sent: number[] = [];
  let timer: NodeJS.Timeout | undefined;
  const fired = (): void => {
    sent.push(now());
  };
  const succeeded = (): void => {
    const sentAt = sent.shift();
    if (sentAt !== undefined) lastAckedSendTime = Math.max(lastAckedSendTime, sentAt);
  };
  // A broken stream never answers what it was sent: those sends must not pair with the new
  // stream's answers, or the fence would lag one keep-alive interval behind per lost send.
  const streamChanged = (): void => {
    sent.length = 0;
  };
  lease.on('keepaliveFired', fired);
  lease.on('keepaliveSucceeded', succeeded);
  lease.on('keepaliveFailed', streamChanged);
  lease.on('keepaliveEstablished', streamChanged);
  const stop = (): void => {
    clearInterval(timer);
    timer = undefined;
    lease.removeListener('keepaliveFired', fired);
    lease.removeListener('keepaliveSucceeded', succeeded);
    lease.removeListener('keepaliveFailed', streamChanged);
    lease.removeListener('keepaliveEstablished', streamChanged);
  };
  return {
    acknowledged: (sentAt) => {
      lastAckedSendTime = Math.max(lastAckedSendTime, sentAt);
    },
    lastAcknowledgedSendAt: () => lastAckedSendTime,
    arm: (onFenced) => {
      if (timer !== undefined) return;
      const check = (): void => {
        const silentForMs = now() - lastAckedSendTime;
        if (silentForMs >= ttlSeconds * 1000 - marginMs) {
          stop();
          onFenced(silentForMs);
        }
      };
      timer = setInterval(check, FENCE_CHECK_MS);
    },
    stop,
  };
}

/** Tracks keep-alives and arms the fence at once; returns the function that stops it. */
export function startFence(
  lease: KeepAliveEvents,
  ttlSeconds: number,
  grantSentAt: number,
  onFenced: (silentForMs: number) => void,
  now: () => number = systemClock.now,
): () => void {
  const fence = trackKeepAlives(lease, ttlSeconds, grantSentAt, now);
  fence.arm(onFenced);
  return fence.stop;
}

export interface HeldLeadership {
  /** Aborted when the etcd session is lost (or the outer signal aborts). */
  readonly signal: AbortSignal;
  resign(): Promise<void>;
}

/**
 * Campaigns once and resolves when elected, with a keep-alive etcd acknowledged after the
 * election. Rejects if the campaign fails or `signal` aborts first (the campaign is resigned then).
 * `now` is the fence's monotonic clock.
 */
export async function acquireLeadership(
  client: Etcd3,
  settings: ElectionSettings,
  signal: AbortSignal,
  logger: Logger,
  now: () => number = systemClock.now,
): Promise<HeldLeadership> {
  const grantSentAt = now();
  const campaign = client.election(settings.key, settings.ttlSeconds).campaign(settings.identity);
  // etcd3 keeps the campaign's lease private; the fence needs its keep-alive events.
  const lease = (campaign as unknown as { lease: CampaignLease }).lease;
  const fence = trackKeepAlives(lease, settings.ttlSeconds, grantSentAt, now);
  const lost = new AbortController();
  let elected = false;
  const resign = async (): Promise<void> => {
    fence.stop();
    await campaign.resign().catch((err: unknown) => logger.warn({ err: String(err) }, 'resigning leadership failed'));
  };
  const lostError = (): Error => (lost.signal.reason instanceof Error ? lost.signal.reason : new Error('campaign failed'));
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
        reject(lostError());
      });
    });
    elected = true;
    fence.arm((silentForMs) => {
      logger.error({ silentForMs }, 'leadership lost: etcd has not acknowledged a keep-alive in time; stopping all cloud writes');
      lost.abort(new Error('fenced: leadership keep-alives not acknowledged'));
    });
    // One keep-alive acknowledged now gives the first pass the lease's whole window, however long the
    // wait was. If it never comes back, the fence (armed above) ends this leadership in time.
    const sentAt = now();
    let stopWaiting: () => void = () => undefined;
    await Promise.race([
      lease.keepaliveOnce().then(
        () => fence.acknowledged(sentAt),
        (err: unknown) => logger.warn({ err: String(err) }, 'keep-alive after election failed'),
      ),
      new Promise<void>((resolve) => {
        if (lost.signal.aborted || signal.aborted) return resolve();
        const done = (): void => resolve();
        lost.signal.addEventListener('abort', done, { once: true });
        signal.addEventListener('abort', done, { once: true });
        stopWaiting = () => {
          lost.signal.removeEventListener('abort', done);
          signal.removeEventListener('abort', done);
        };
      }),
    ]);
    stopWaiting();
    if (lost.signal.aborted) throw lostError();
    if (signal.aborted) throw signal.reason instanceof Error ? signal.reason : new Error('aborted');
  } catch (err) {
    await resign();
    throw err;
  }
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
