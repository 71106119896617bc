/** The Pacer (one bucket per API action), the paced() helper, and the text form of rate limits. */
import { describe, expect, it } from 'vitest';
import { ManualPacingClock } from '../../src/pacing/clock.js';
import { Pacer, paced, scaleLimits } from '../../src/pacing/pacer.js';
import { formatRateLimits, parseRateLimits } from '../../src/pacing/spec.js';
import { ConfigError } from '../../src/errors.js';
import { AWS_EC2_RATE_LIMITS, ec2ActionFor } from '../../providers/aws-vpc/limits.js';

const signal = new AbortController().signal;
const throttledError = (): Error => Object.assign(new Error('Request limit exceeded.'), { name: 'RequestLimitExceeded' });

describe('Pacer', () => {
  it('one bucket per action: draining CreateRoute leaves DeleteRoute and the describes alone; unknown actions are not paced', async () => {
    const clock = new ManualPacingClock();
    const pacer = new Pacer({ limits: AWS_EC2_RATE_LIMITS, clock });
    for (let i = 0; i < 50; i += 1) (await pacer.acquire('CreateRoute', signal)).done('ok');
    expect(pacer.bucket('CreateRoute')?.available()).toBe(0);
    expect(pacer.bucket('DeleteRoute')?.available()).toBe(50);
    expect(pacer.bucket('DescribeRouteTables')?.available()).toBe(100);
    expect(pacer.bucket('ModifyNetworkInterfaceAttribute')?.available()).toBe(100);
    for (let i = 0; i < 500; i += 1) (await pacer.acquire('SomethingElse', signal)).done('ok');
    expect(pacer.stats()['CreateRoute']).toMatchObject({ acquired: 50, throttled: 0 });
    expect(pacer.waiting()).toBe(0);
  });

  it('paced(): one permit per call, the outcome reported (throttled drains), errors passed through unchanged', async () => {
    const clock = new ManualPacingClock();
    const throttles: Array<[string, boolean]> = [];
    const pacer = new Pacer({ limits: { DescribeRouteTables: { capacity: 3, refill: 1, intervalMs: 1000 } }, clock, onThrottled: (a, d) => throttles.push([a, d]) });
    expect(await paced(pacer, 'DescribeRouteTables', signal, async () => 'page')).toBe('page');
    const failure = throttledError();
    await expect(paced(pacer, 'DescribeRouteTables', signal, () => Promise.reject(failure))).rejects.toBe(failure);
    expect(throttles).toEqual([['DescribeRouteTables', true]]);
    expect(pacer.bucket('DescribeRouteTables')?.available()).toBe(0);
    expect(pacer.inFlight()).toBe(0);
    const other = new Error('boom');
    clock.advance(2000); // at half rate after the drain: 0.5 + 0.6 tokens
    expect(pacer.bucket('DescribeRouteTables')?.available()).toBe(1);
    await expect(paced(pacer, 'DescribeRouteTables', signal, () => Promise.reject(other))).rejects.toBe(other);
    expect(pacer.stats()['DescribeRouteTables']).toMatchObject({ acquired: 3, throttled: 1, drains: 1 });
    expect(await paced(undefined, 'DescribeRouteTables', signal, async () => 1)).toBe(1);
  });

  it('an aborted signal rejects at once, paced or not', async () => {
    const pacer = new Pacer({ limits: AWS_EC2_RATE_LIMITS, clock: new ManualPacingClock() });
    const controller = new AbortController();
    controller.abort('gone');
    await expect(pacer.acquire('CreateRoute', controller.signal)).rejects.toBe('gone');
    await expect(pacer.acquire('Unpaced', controller.signal)).rejects.toBe('gone');
  });

  it('maps each change kind to its EC2 action', () => {
    expect(ec2ActionFor({ kind: 'create', table: 't', destination: 'd', target: 'e', nodeIp: 'i' })).toBe('CreateRoute');
    expect(ec2ActionFor({ kind: 'replace', table: 't', destination: 'd', target: 'e', previousTarget: null, nodeIp: 'i' })).toBe('ReplaceRoute');
    expect(ec2ActionFor({ kind: 'delete', table: 't', destination: 'd', previousTarget: null, reason: 'no-lease' })).toBe('DeleteRoute');
    expect(ec2ActionFor({ kind: 'enable-forwarding', target: 'e', nodeIp: 'i' })).toBe('ModifyNetworkInterfaceAttribute');
  });
});

describe('rate limits in text', () => {
  const source = 'ROUTESYNC_AWS_API_RATE_LIMITS';

  it('empty keeps the defaults; off turns pacing off; items override; time-scale shortens every interval', () => {
    expect(parseRateLimits('', AWS_EC2_RATE_LIMITS, source)).toEqual(AWS_EC2_RATE_LIMITS);
    expect(parseRateLimits(' OFF ', AWS_EC2_RATE_LIMITS, source)).toBeNull();
    const raised = parseRateLimits('CreateRoute=100+10/1s, DeleteRoute=60+6/500ms', AWS_EC2_RATE_LIMITS, source);
    expect(raised?.['CreateRoute']).toEqual({ capacity: 100, refill: 10, intervalMs: 1000 });
    expect(raised?.['DeleteRoute']).toEqual({ capacity: 60, refill: 6, intervalMs: 500 });
    expect(raised?.['ReplaceRoute']).toEqual(AWS_EC2_RATE_LIMITS['ReplaceRoute']);
    const scaled = parseRateLimits('time-scale=10,CreateRoute=100+10/1s', AWS_EC2_RATE_LIMITS, source);
    expect(scaled?.['CreateRoute']).toEqual({ capacity: 100, refill: 10, intervalMs: 100 });
    expect(scaled?.['DescribeNetworkInterfaces']).toEqual({ capacity: 100, refill: 20, intervalMs: 100 });
    expect(scaleLimits({ A: { capacity: 1, refill: 1, intervalMs: 60_000 } }, 60)).toEqual({ A: { capacity: 1, refill: 1, intervalMs: 1000 } });
    expect(formatRateLimits({ CreateRoute: { capacity: 50, refill: 5, intervalMs: 1000 } })).toBe('CreateRoute=50+5/1000ms');
  });

  it('refuses what it cannot read, naming the variable and the item', () => {
    for (const bad of ['CreateRoute=50', 'CreateRoute=0+5/1s', 'CreateRoute=50+0/1s', 'CreateRout=50+5/1s', 'time-scale=0', 'fast']) {
      let error: unknown;
      try {
        parseRateLimits(bad, AWS_EC2_RATE_LIMITS, source);
      } catch (err) {
        error = err;
      }
      expect(error, bad).toBeInstanceOf(ConfigError);
      expect(String(error)).toContain(source);
    }
  });
});
