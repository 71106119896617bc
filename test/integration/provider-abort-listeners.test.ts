/**
 * 10,000 provider calls on one long-lived signal (a leadership's) against the simulators, through
 * the real SDKs: the signal carries no more abort listeners (nor composed dependants) afterwards
 * than before, and Node prints no MaxListenersExceededWarning (a plain-text line in the JSON log).
 */
import { getEventListeners } from 'node:events';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createAwsVpcProvider } from '../../providers/aws-vpc/index.js';
import { createGceProvider } from '../../providers/gce/index.js';
import type { RouteProvider } from '../../providers/provider.js';
import type { Pacer } from '../../src/pacing/pacer.js';
import { startEc2Simulator } from '../sim/ec2/index.js';
import { startGceSimulator } from '../sim/gce/index.js';

const CALLS = 10_000;
/** More calls in flight than Node's default of 10 listeners per signal. */
const CONCURRENCY = 16;

let cleanup: Array<() => Promise<void>> = [];
let warnings: Error[] = [];
const onWarning = (warning: Error): void => {
  warnings.push(warning);
};

beforeEach(() => {
  cleanup = [];
  warnings = [];
  process.on('warning', onWarning);
  vi.stubEnv('AWS_ACCESS_KEY_ID', 'test');
  vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'test');
});

afterEach(async () => {
  process.off('warning', onWarning);
  for (const fn of cleanup.reverse()) await fn();
  vi.unstubAllEnvs();
});

/**
 * What holds on to `signal`: its abort listeners, plus the signals AbortSignal.any composed from it
 * (Node keeps them in an internal set; nodejs/node#55351).
 */
function holds(signal: AbortSignal): { listeners: number; dependants: number } {
  const symbol = Object.getOwnPropertySymbols(signal).find((s) => s.description === 'kDependantSignals');
  const dependants = symbol !== undefined ? ((signal as unknown as Record<symbol, Set<unknown> | undefined>)[symbol]?.size ?? 0) : 0;
  return { listeners: getEventListeners(signal, 'abort').length, dependants };
}

async function inParallel(total: number, call: (i: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < total) {
      const i = next;
      next += 1;
      await call(i);
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
}

/** Warnings are emitted on the next tick: let them arrive before looking. */
const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

async function check(provider: RouteProvider, call: (signal: AbortSignal, i: number) => Promise<unknown>): Promise<void> {
  const leadership = new AbortController().signal;
  const before = holds(leadership);
  await inParallel(CALLS, (i) => call(leadership, i));
  await settle();
  expect(holds(leadership)).toEqual(before);
  expect(warnings.filter((w) => w.name === 'MaxListenersExceededWarning').map((w) => w.message)).toEqual([]);
  await provider.close();
}

describe('provider calls leave nothing on the caller’s signal', () => {
  it('aws-vpc: 10,000 paced calls, 16 in flight', async () => {
    const sim = await startEc2Simulator({ throttling: false });
    cleanup.push(() => sim.close());
    const vpc = sim.world.createVpc({ cidr: '10.0.0.0/16' });
    const subnet = sim.world.createSubnet({ vpcId: vpc.vpcId, cidr: '10.0.16.0/20' });
    const table = sim.world.createRouteTable({ vpcId: vpc.vpcId });
    const instance = sim.world.launchInstance({ subnetId: subnet.subnetId, enis: [{ privateIp: '10.0.16.10' }] });
    const eni = instance.networkInterfaceIds[0] ?? '';
    const provider = createAwsVpcProvider({
      region: 'us-east-1',
      endpoint: sim.url,
      routeTableIds: [table.routeTableId],
      clusterName: 'c1',
      routeLimit: 50,
      // Buckets as large as the calls in flight, refilled every millisecond: calls queue in the
      // pacer (each wait listening for an abort), as they do in a pass.
      rateLimits: {
        ModifyNetworkInterfaceAttribute: { capacity: CONCURRENCY, refill: CONCURRENCY, intervalMs: 1 },
        DescribeRouteTables: { capacity: CONCURRENCY, refill: CONCURRENCY, intervalMs: 1 },
      },
    });
    const pacer = provider.pacer as Pacer;
    await check(provider, (signal, i) =>
      i % 10 === 0 ? provider.listTables(signal) : provider.apply({ kind: 'enable-forwarding', target: eni, nodeIp: '10.0.16.10' }, signal),
    );
    // The premise: the calls did wait in the pacer.
    expect(pacer.stats()['ModifyNetworkInterfaceAttribute']?.waited).toBeGreaterThan(1000);
  }, 120_000);

  it('gce: 10,000 calls, 16 in flight', async () => {
    const sim = await startGceSimulator({ project: 'listener-project', operationLatencyMs: 0 });
    cleanup.push(() => sim.close());
    sim.world.createNetwork({ name: 'default', ipv4Range: '10.240.0.0/16' });
    sim.world.createInstance({ name: 'node-1', zone: 'us-central1-a', networkIP: '10.240.0.11', canIpForward: true });
    const provider = await createGceProvider({ project: 'listener-project', network: 'default', clusterName: 'c1', routeLimit: 100, endpoint: sim.url });
    await check(provider, (signal, i) => (i % 2 === 0 ? provider.listTables(signal) : provider.resolveNodes(['10.240.0.11'], signal)));
  }, 120_000);
});
