import { afterEach, describe, expect, it, vi } from 'vitest';
import { EventEmitter } from 'node:events';
import { pino } from 'pino';
import type { Etcd3 } from 'etcd3';
import { acquireLeadership, startFence, type ElectionSettings } from '../../src/election.js';
import type { Logger } from '../../src/log.js';

// Fake timers fake performance.now too: the fence's default monotonic clock follows them, while
// vi.setSystemTime moves only the wall clock.
afterEach(() => {
  vi.useRealTimers();
});

describe('leadership fence', () => {
  it('steps down a margin before etcd may expire the lease, counted from the last acknowledged send', () => {
    vi.useFakeTimers();
    const lease = new EventEmitter();
    const fenced: number[] = [];
    startFence(lease, 10, performance.now(), (silent) => fenced.push(silent));

    // Keep-alives every 3.3 s, each acknowledged: never fenced.
    for (let i = 0; i < 10; i += 1) {
      vi.advanceTimersByTime(3300);
      lease.emit('keepaliveFired');
      lease.emit('keepaliveSucceeded');
    }
    vi.advanceTimersByTime(3000);
    expect(fenced).toEqual([]);

    // Sends keep going out but nothing is acknowledged: fenced at last acked send + 10 s − 2.5 s.
    lease.emit('keepaliveFired');
    vi.advanceTimersByTime(4300);
    expect(fenced).toEqual([]);
    vi.advanceTimersByTime(300);
    expect(fenced).toHaveLength(1);
    expect(fenced[0]).toBeGreaterThanOrEqual(7500);
    expect(fenced[0]).toBeLessThan(7700);
  });

  it('an acknowledgement of an old send does not extend past that send', () => {
    vi.useFakeTimers();
    const lease = new EventEmitter();
    const fenced: number[] = [];
    startFence(lease, 4, performance.now(), (silent) => fenced.push(silent));
    lease.emit('keepaliveFired'); // sent at 0
    vi.advanceTimersByTime(2500);
    lease.emit('keepaliveSucceeded'); // acknowledged late: still counts from 0
    vi.advanceTimersByTime(600);
    expect(fenced).toHaveLength(1);
  });

  it('after the keep-alive stream breaks, sends it never answered do not hold the fence back (soak seed 11)', () => {
    vi.useFakeTimers();
    const lease = new EventEmitter();
    const fenced: number[] = [];
    startFence(lease, 3, performance.now(), (silent) => fenced.push(silent));
    // Two keep-alives go out on a stream that then breaks (etcd restarted): no answer ever comes.
    lease.emit('keepaliveFired');
    vi.advanceTimersByTime(1000);
    lease.emit('keepaliveFired');
    vi.advanceTimersByTime(500);
    lease.emit('keepaliveFailed', new Error('stream reset'));
    // A new stream; from now on every send is answered at once.
    lease.emit('keepaliveEstablished');
    for (let i = 0; i < 6; i += 1) {
      lease.emit('keepaliveFired');
      lease.emit('keepaliveSucceeded');
      vi.advanceTimersByTime(1000);
    }
    // Each answer pairs with its own send, not with the dead stream's: the leader keeps its lease.
    expect(fenced).toEqual([]);
  });

  it('counts on the clock it is given, not on the wall clock', () => {
    vi.useFakeTimers();
    let mono = 0;
    const lease = new EventEmitter();
    const fenced: number[] = [];
    startFence(lease, 4, 0, (silent) => fenced.push(silent), () => mono);
    vi.setSystemTime(Date.now() - 3_600_000);
    vi.advanceTimersByTime(5000);
    expect(fenced).toEqual([]);
    mono = 3000;
    vi.advanceTimersByTime(100);
    expect(fenced).toEqual([3000]);
  });

  it('stops watching once stopped', () => {
    vi.useFakeTimers();
    const lease = new EventEmitter();
    const fenced: number[] = [];
    const stop = startFence(lease, 4, performance.now(), (silent) => fenced.push(silent));
    stop();
    vi.advanceTimersByTime(60_000);
    expect(fenced).toEqual([]);
    expect(lease.listenerCount('keepaliveFired')).toBe(0);
  });
});

const RTT_MS = 5;

/** etcd3's campaign lease as the fence sees it: a keep-alive every TTL/3, answered while etcd is reachable. */
class FakeLease extends EventEmitter {
  reachable = true;
  keepaliveOnceCalls = 0;
  private readonly loop: NodeJS.Timeout;

  constructor(ttlSeconds: number) {
    super();
    this.loop = setInterval(() => {
      this.emit('keepaliveFired');
      if (this.reachable) setTimeout(() => this.emit('keepaliveSucceeded'), RTT_MS);
    }, (ttlSeconds * 1000) / 3);
  }

  keepaliveOnce(): Promise<void> {
    this.keepaliveOnceCalls += 1;
    // An unreachable etcd never answers.
    return new Promise((resolve) => {
      if (this.reachable) setTimeout(resolve, RTT_MS);
    });
  }

  close(): void {
    clearInterval(this.loop);
  }
}

class FakeCampaign extends EventEmitter {
  resigned = false;
  constructor(readonly lease: FakeLease) {
    super();
  }
  async resign(): Promise<void> {
    this.resigned = true;
    this.lease.close();
  }
}

function fakeElection(ttlSeconds: number): {
  client: Etcd3;
  campaign: FakeCampaign;
  settings: ElectionSettings;
  logs: Array<{ level: number; msg: string }>;
  logger: Logger;
} {
  const campaign = new FakeCampaign(new FakeLease(ttlSeconds));
  const client = { election: () => ({ campaign: () => campaign }) } as unknown as Etcd3;
  const logs: Array<{ level: number; msg: string }> = [];
  const logger: Logger = pino({ level: 'debug' }, { write: (line: string) => logs.push(JSON.parse(line) as { level: number; msg: string }) });
  return { client, campaign, settings: { key: 'leader', ttlSeconds, identity: 'me' }, logs, logger };
}

const errorsIn = (logs: ReadonlyArray<{ level: number; msg: string }>): string[] => logs.filter((l) => l.level >= 50).map((l) => l.msg);

describe('acquireLeadership and its fence', () => {
  it('elected after 3 × TTL waiting: the first pass keeps its leadership', async () => {
    vi.useFakeTimers();
    const f = fakeElection(3);
    const pending = acquireLeadership(f.client, f.settings, new AbortController().signal, f.logger);
    // Another replica holds leadership for 3 × TTL and more; our keep-alives go on meanwhile.
    await vi.advanceTimersByTimeAsync(3 * 3000 + 500);
    f.campaign.emit('elected');
    await vi.advanceTimersByTimeAsync(RTT_MS);
    const held = await pending;
    // A first pass that takes 30 s: keep-alives are acknowledged throughout, so no fence.
    await vi.advanceTimersByTimeAsync(30_000);
    expect(held.signal.aborted).toBe(false);
    expect(errorsIn(f.logs)).toEqual([]);
    expect(f.campaign.lease.keepaliveOnceCalls).toBe(1);
    await held.resign();
  });

  it('elected after a long wait, still fences in time once etcd stops answering', async () => {
    vi.useFakeTimers();
    const f = fakeElection(3);
    const pending = acquireLeadership(f.client, f.settings, new AbortController().signal, f.logger);
    await vi.advanceTimersByTimeAsync(3 * 3000 + 500);
    f.campaign.emit('elected');
    await vi.advanceTimersByTimeAsync(RTT_MS);
    const held = await pending;
    await vi.advanceTimersByTimeAsync(5000);

    f.campaign.lease.reachable = false;
    // The last acknowledged send is at most one keep-alive interval (1 s) old: TTL − margin is 2 s.
    await vi.advanceTimersByTimeAsync(900);
    expect(held.signal.aborted).toBe(false);
    await vi.advanceTimersByTimeAsync(1200);
    expect(held.signal.aborted).toBe(true);
    expect(errorsIn(f.logs)).toEqual(['leadership lost: etcd has not acknowledged a keep-alive in time; stopping all cloud writes']);
  });

  it('wall clock stepped back 1 h: the fence still fires on time', async () => {
    vi.useFakeTimers();
    const f = fakeElection(3);
    const pending = acquireLeadership(f.client, f.settings, new AbortController().signal, f.logger);
    await vi.advanceTimersByTimeAsync(100);
    f.campaign.emit('elected');
    await vi.advanceTimersByTimeAsync(RTT_MS);
    const held = await pending;
    await vi.advanceTimersByTimeAsync(5000);

    vi.setSystemTime(Date.now() - 3_600_000);
    f.campaign.lease.reachable = false;
    await vi.advanceTimersByTimeAsync(2100);
    expect(held.signal.aborted).toBe(true);
    expect(held.signal.reason).toEqual(new Error('fenced: leadership keep-alives not acknowledged'));
  });

  it('an election whose keep-alive etcd never acknowledges ends in the fence, and the campaign is resigned', async () => {
    vi.useFakeTimers();
    const f = fakeElection(3);
    const pending = acquireLeadership(f.client, f.settings, new AbortController().signal, f.logger);
    const outcome = pending.then(
      () => 'held',
      (err: unknown) => String(err),
    );
    await vi.advanceTimersByTimeAsync(3 * 3000 + 500);
    f.campaign.lease.reachable = false;
    f.campaign.emit('elected');
    await vi.advanceTimersByTimeAsync(2100);
    expect(await outcome).toMatch(/fenced/);
    expect(f.campaign.resigned).toBe(true);
  });
});
