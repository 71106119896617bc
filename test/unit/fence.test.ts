import { afterEach, describe, expect, it, vi } from 'vitest';
import { EventEmitter } from 'node:events';
import { startFence } from '../../src/election.js';

afterEach(() => {
  vi.useRealTimers();
});

describe('leadership fence', () => {
  it('steps down a margin before etcd may expire the lease, counted from the last acknowledged send', () => {
    vi.useFakeTimers({ now: 0 });
    const lease = new EventEmitter();
    const fenced: number[] = [];
    startFence(lease, 10, 0, (silent) => fenced.push(silent));

    // Keep-alives every 3.3 s, each acknowledged: never fenced.
    for (let t = 3300; t <= 33_000; t += 3300) {
      vi.setSystemTime(t);
      lease.emit('keepaliveFired');
      lease.emit('keepaliveSucceeded');
      vi.advanceTimersByTime(0);
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
    vi.useFakeTimers({ now: 0 });
    const lease = new EventEmitter();
    const fenced: number[] = [];
    startFence(lease, 4, 0, (silent) => fenced.push(silent));
    lease.emit('keepaliveFired'); // sent at 0
    vi.advanceTimersByTime(2500);
    lease.emit('keepaliveSucceeded'); // acknowledged late: still counts from 0
    vi.advanceTimersByTime(600);
    expect(fenced).toHaveLength(1);
  });

  it('stops watching once stopped', () => {
    vi.useFakeTimers({ now: 0 });
    const lease = new EventEmitter();
    const fenced: number[] = [];
    const stop = startFence(lease, 4, 0, (silent) => fenced.push(silent));
    stop();
    vi.advanceTimersByTime(60_000);
    expect(fenced).toEqual([]);
    expect(lease.listenerCount('keepaliveFired')).toBe(0);
  });
});
