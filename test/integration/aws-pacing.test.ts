/**
 * Pacing end to end below the service: the aws-vpc provider (real SDK, real HTTP) applying a plan
 * through applyChanges against the EC2 simulator with its token buckets on, routesync's pacer and
 * the simulator sharing one fake clock. Counts and order on that clock, never wall-clock time.
 */
import { describe, expect, it } from 'vitest';
import { useAwsSdkTest } from '../helpers/aws-sdk-test.js';
import { createAwsVpcProvider } from '../../providers/aws-vpc/index.js';
import type { Change, RouteProvider } from '../../providers/provider.js';
import { ManualPacingClock, sleepOn } from '../../src/pacing/clock.js';
import type { Pacer } from '../../src/pacing/pacer.js';
import { applyChanges, DEFAULT_APPLY_OPTIONS, type ChangeResult } from '../../src/reconcile/apply.js';
import { startEc2Simulator, type Ec2World } from '../sim/ec2/index.js';

const cleanup = useAwsSdkTest();

async function setup(tables: number) {
  const clock = new ManualPacingClock(5_000);
  const sim = await startEc2Simulator({ clock: clock.now, routeLimit: 1000 });
  cleanup.push(() => sim.close());
  const world = sim.world;
  const vpc = world.createVpc({ cidr: '10.0.0.0/16' });
  const subnet = world.createSubnet({ vpcId: vpc.vpcId, cidr: '10.0.16.0/20' });
  const tableIds = Array.from({ length: tables }, () => world.createRouteTable({ vpcId: vpc.vpcId, tags: { 'routesync/cluster': 'c1' } }).routeTableId);
  const eni = world.launchInstance({ subnetId: subnet.subnetId, enis: [{ privateIp: '10.0.16.10', sourceDestCheck: false }] }).networkInterfaceIds[0] ?? '';
  // The first call comes 400 ms into the simulator's second: its refill grid is not ours.
  clock.advance(400);
  const provider = createAwsVpcProvider({
    region: 'us-east-1',
    endpoint: sim.url,
    routeTableIds: tableIds,
    clusterName: 'c1',
    routeLimit: 1000,
    pacingClock: clock,
  });
  cleanup.push(() => provider.close());
  return { clock, world, provider, tableIds, eni };
}

const creates = (tableIds: readonly string[], perTable: number, eni: string, offset = 0): Change[] =>
  tableIds.flatMap((table) =>
    Array.from({ length: perTable }, (_, i) => ({
      kind: 'create' as const,
      table,
      destination: `10.${100 + Math.floor((i + offset) / 250)}.${(i + offset) % 250}.0/24`,
      target: eni,
      nodeIp: '10.0.16.10',
    })),
  );

/**
 * Runs applyChanges to the end, moving the shared fake clock only when everything that can run
 * without it has: no call on the wire, no answer pending, and the pacer holding callers back.
 */
async function applyOnFakeClock(provider: RouteProvider, world: Ec2World, clock: ManualPacingClock, changes: readonly Change[]): Promise<ChangeResult[]> {
  const pacer = provider.pacer as Pacer;
  let results: ChangeResult[] | undefined;
  void applyChanges(provider, changes, new AbortController().signal, { ...DEFAULT_APPLY_OPTIONS, sleep: (ms, s) => sleepOn(clock, ms, s) }).then((r) => {
    results = r;
  });
  let quiet = 0;
  let lastCalls = -1;
  for (let step = 0; step < 20_000 && results === undefined; step += 1) {
    await new Promise((resolve) => setTimeout(resolve, 1));
    const calls = world.calls().length;
    const idle = world.inFlight() === 0 && pacer.inFlight() === 0 && pacer.waiting() > 0;
    quiet = idle && calls === lastCalls ? quiet + 1 : 0;
    lastCalls = calls;
    if (quiet >= 2) {
      clock.runNext();
      quiet = 0;
    }
  }
  if (results === undefined) throw new Error('applyChanges did not finish');
  return results;
}

/** Accepted CreateRoute calls per second of the fake clock, from the first one. */
function perSecond(world: Ec2World): number[] {
  const accepted = world.calls('CreateRoute').filter((c) => c.httpStatus === 200);
  const start = accepted[0]?.time ?? 0;
  const counts: number[] = [];
  for (const call of accepted) {
    const second = Math.floor((call.time - start) / 1000);
    counts[second] = (counts[second] ?? 0) + 1;
  }
  return Array.from(counts, (c) => c ?? 0);
}

describe('pacing against the EC2 simulator', () => {
  it('120 creates over 3 tables go at the bucket rate with no RequestLimitExceeded; reads are paced too', async () => {
    const { clock, world, provider, tableIds, eni } = await setup(3);
    await provider.listTables(new AbortController().signal);
    const results = await applyOnFakeClock(provider, world, clock, creates(tableIds, 40, eni));

    expect(results.filter((r) => !r.ok)).toEqual([]);
    expect(world.callStats()['CreateRoute']).toEqual({ total: 120, ok: 120, throttled: 0, failed: 0 });
    // 50 at once, then 5 per refill: 70 more take 14 refills.
    expect(perSecond(world)).toEqual([50, ...Array<number>(14).fill(5)]);
    for (const table of tableIds) expect(world.routes(table).filter((r) => r.origin === 'CreateRoute')).toHaveLength(40);
    expect((provider.pacer as Pacer).stats()['DescribeRouteTables']).toMatchObject({ acquired: 1, throttled: 0 });
  });

  it('the bucket outlives a pass: the next pass goes on at 5 a second instead of bursting again', async () => {
    const { clock, world, provider, tableIds, eni } = await setup(1);
    await applyOnFakeClock(provider, world, clock, creates(tableIds, 60, eni));
    const second = await applyOnFakeClock(provider, world, clock, creates(tableIds, 20, eni, 60));
    expect(second.every((r) => r.ok)).toBe(true);
    expect(world.callStats()['CreateRoute']).toEqual({ total: 80, ok: 80, throttled: 0, failed: 0 });
    expect(perSecond(world)).toEqual([50, ...Array<number>(6).fill(5)]);
  });
});
