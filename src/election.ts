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
  const campaign = client.election(settings.key, settings.ttlSeconds).campaign(settings.identity);
  const lost = new AbortController();
  let elected = false;
  const resign = async (): Promise<void> => {
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
      await held.resign();
      logger.info({ identity: settings.identity }, 'leadership released');
    }
  }
}
