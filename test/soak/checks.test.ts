/** The soak's checks fire on what they are meant to catch, and stay quiet otherwise. */
import { describe, expect, it } from 'vitest';
import { Ec2World, type Ec2Call } from '../sim/ec2/world.js';
import { failedCallBudget, firstPassChecks, StateWatch } from './checks.js';

function setup(): { world: Ec2World; table: string; enis: string[] } {
  const world = new Ec2World({ routeLimit: 500 });
  const vpc = world.createVpc({ cidr: '172.31.0.0/16' });
  const subnet = world.createSubnet({ vpcId: vpc.vpcId, cidr: '172.31.16.0/20' });
  const table = world.createRouteTable({ vpcId: vpc.vpcId }).routeTableId;
  const enis = [10, 11, 12, 13].map((host) => world.launchInstance({ subnetId: subnet.subnetId, enis: [{ privateIp: `172.31.16.${host}` }] }).networkInterfaceIds[0] ?? '');
  return { world, table, enis };
}

function watchOf(world: Ec2World, table: string, clock: { now: number }, disturbed = (): boolean => false): { watch: StateWatch; seen: string[] } {
  const seen: string[] = [];
  const watch = new StateWatch({
    world,
    tables: [table],
    routeLimit: 3,
    forwardingWindowMs: 5_000,
    disturbed,
    now: () => clock.now,
    violate: (check, message) => seen.push(`${check}: ${message}`),
  });
  return { watch, seen };
}

describe('StateWatch', () => {
  it('reports each excursion above the route limit (the local route counts)', () => {
    const { world, table, enis } = setup();
    const clock = { now: 0 };
    const { watch, seen } = watchOf(world, table, clock);
    for (const [i, eni] of enis.slice(0, 2).entries()) world.createRoute(table, { destinationCidrBlock: `10.1.${i}.0/24`, networkInterfaceId: eni });
    watch.observe();
    expect(seen.filter((s) => s.startsWith('route-limit'))).toEqual([]);
    world.createRoute(table, { destinationCidrBlock: '10.1.9.0/24', networkInterfaceId: enis[2] ?? '' });
    watch.observe();
    watch.observe();
    expect(seen.filter((s) => s.startsWith('route-limit'))).toHaveLength(1);
    world.deleteRoute(table, '10.1.9.0/24');
    watch.observe();
    world.createRoute(table, { destinationCidrBlock: '10.1.9.0/24', networkInterfaceId: enis[2] ?? '' });
    watch.observe();
    expect(seen.filter((s) => s.startsWith('route-limit'))).toHaveLength(2);
  });

  it('reports an ENI routed to with SourceDestCheck on past the window, not before, and not once fixed', () => {
    const { world, table, enis } = setup();
    const clock = { now: 0 };
    const { watch, seen } = watchOf(world, table, clock);
    world.createRoute(table, { destinationCidrBlock: '10.1.1.0/24', networkInterfaceId: enis[0] ?? '' });
    world.createRoute(table, { destinationCidrBlock: '10.1.2.0/24', networkInterfaceId: enis[1] ?? '' });
    watch.observe();
    clock.now = 4_000;
    world.setSourceDestCheck(enis[1] ?? '', false);
    watch.observe();
    expect(seen).toEqual([]);
    expect(watch.settled()).toBe(false);
    clock.now = 5_500;
    watch.observe();
    expect(seen).toHaveLength(1);
    expect(seen[0]).toContain(enis[0]);
    expect(watch.settled()).toBe(true);
  });

  it('does not count disturbed time toward the forwarding window', () => {
    const { world, table, enis } = setup();
    const clock = { now: 0 };
    let disturbed = true;
    const { watch, seen } = watchOf(world, table, clock, () => disturbed);
    world.createRoute(table, { destinationCidrBlock: '10.1.1.0/24', networkInterfaceId: enis[0] ?? '' });
    watch.observe();
    clock.now = 20_000;
    watch.observe();
    disturbed = false;
    clock.now = 24_000;
    watch.observe();
    expect(seen).toEqual([]);
    clock.now = 26_000;
    watch.observe();
    expect(seen).toHaveLength(1);
  });
});

const call = (action: string, time: number, httpStatus: number): Ec2Call => ({
  seq: time,
  time,
  action,
  params: {},
  userAgent: '',
  amzUserAgent: '',
  requestId: '',
  httpStatus,
  applied: false,
});

describe('failedCallBudget', () => {
  it('reports more failed calls of one action than the budget in a minute', () => {
    const calls = Array.from({ length: 11 }, (_, i) => call('DescribeRouteTables', i * 5_000, 503));
    expect(failedCallBudget(calls, 10).breaches).toHaveLength(1);
    expect(failedCallBudget(calls, 11).breaches).toEqual([]);
    expect(failedCallBudget(calls, 11).maxPerMinute).toEqual({ DescribeRouteTables: 11 });
  });

  it('counts resets and errors, not successes, per action, in 60-s windows', () => {
    const calls = [
      ...Array.from({ length: 10 }, (_, i) => call('CreateRoute', i * 7_000, i % 2 === 0 ? 0 : 400)),
      ...Array.from({ length: 50 }, (_, i) => call('CreateRoute', i, 200)),
      ...Array.from({ length: 5 }, (_, i) => call('DeleteRoute', i, 500)),
    ];
    const { maxPerMinute, breaches } = failedCallBudget(calls, 9);
    expect(maxPerMinute).toEqual({ CreateRoute: 9, DeleteRoute: 5 });
    expect(breaches).toEqual([]);
  });
});

describe('firstPassChecks', () => {
  const line = (time: number, msg: string): Record<string, unknown> => ({ time, msg });
  const options = { etcdDown: [] as Array<[number, number]>, ttlMs: 3_000, longWaitMs: 9_000 };

  it('reports leadership lost before the first pass of a term, and counts long waits', () => {
    const lines = [line(0, 'campaigning for leadership'), line(10_000, 'elected leader'), line(10_100, 'leadership lost: etcd has not acknowledged a keep-alive in time; stopping all cloud writes')];
    const result = firstPassChecks(lines, options);
    expect(result.violations).toHaveLength(1);
    expect(result.longWaitElections).toBe(1);
  });

  it('accepts a loss after the first pass, or while etcd was down', () => {
    const afterPass = [line(0, 'campaigning for leadership'), line(1_000, 'elected leader'), line(1_500, 'reconcile pass done'), line(9_000, 'leadership lost: etcd session ended')];
    expect(firstPassChecks(afterPass, options)).toEqual({ violations: [], longWaitElections: 0 });
    const etcdDown = [line(0, 'campaigning for leadership'), line(1_000, 'elected leader'), line(1_100, 'leadership lost: etcd session ended')];
    expect(firstPassChecks(etcdDown, { ...options, etcdDown: [[500, 800]] }).violations).toEqual([]);
  });
});
