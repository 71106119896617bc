/**
 * The aws-vpc provider's node cache against the EC2 simulator: how many DescribeNetworkInterfaces
 * calls a full check and an event-driven pass cost, and what makes a cached answer stale.
 */
import { describe, expect, it } from 'vitest';
import { useAwsSdkTest } from '../helpers/aws-sdk-test.js';
import { createAwsVpcProvider, ENI_PAGE_SIZE, type AwsVpcProviderOptions } from '../../providers/aws-vpc/index.js';
import type { NodeResolution, RouteProvider } from '../../providers/provider.js';
import { ManualPacingClock } from '../../src/pacing/clock.js';
import { startEc2Simulator, type Ec2Simulator, type Ec2World } from '../sim/ec2/index.js';

const signal = new AbortController().signal;
const cleanup = useAwsSdkTest();

interface Fixture {
  sim: Ec2Simulator;
  world: Ec2World;
  vpcId: string;
  tableId: string;
  subnetId: string;
  ips: string[];
  enis: Map<string, string>;
  addNode(): { ip: string; eni: string; instanceId: string };
  provider(options?: Partial<AwsVpcProviderOptions>): RouteProvider;
  /** DescribeNetworkInterfaces calls since the last look, with their filter values. */
  describes(): Array<Readonly<Record<string, string>>>;
}

const nodeIp = (i: number): string => `10.0.${16 + Math.floor(i / 240)}.${10 + (i % 240)}`;

async function setup(nodes: number): Promise<Fixture> {
  const sim = await startEc2Simulator({ throttling: false, routeLimit: 1000 });
  cleanup.push(() => sim.close());
  const world = sim.world;
  const vpc = world.createVpc({ cidr: '10.0.0.0/16' });
  const subnet = world.createSubnet({ vpcId: vpc.vpcId, cidr: '10.0.16.0/20' });
  const table = world.createRouteTable({ vpcId: vpc.vpcId, tags: { 'routesync/cluster': 'c1' } });
  const ips: string[] = [];
  const enis = new Map<string, string>();
  const addNode = () => {
    const ip = nodeIp(ips.length);
    const instance = world.launchInstance({ subnetId: subnet.subnetId, enis: [{ privateIp: ip }] });
    const eni = instance.networkInterfaceIds[0] ?? '';
    ips.push(ip);
    enis.set(ip, eni);
    return { ip, eni, instanceId: instance.instanceId };
  };
  for (let i = 0; i < nodes; i += 1) addNode();
  let seen = 0;
  return {
    sim,
    world,
    vpcId: vpc.vpcId,
    tableId: table.routeTableId,
    subnetId: subnet.subnetId,
    ips,
    enis,
    addNode,
    provider: (overrides = {}) => {
      const provider = createAwsVpcProvider({
        region: 'us-east-1',
        endpoint: sim.url,
        routeTableIds: [],
        vpcId: vpc.vpcId,
        clusterName: 'c1',
        routeLimit: 1000,
        ...overrides,
      });
      cleanup.push(() => provider.close());
      return provider;
    },
    describes: () => {
      const calls = world.calls('DescribeNetworkInterfaces');
      const fresh = calls.slice(seen);
      seen = calls.length;
      return fresh.map((c) => c.params);
    },
  };
}

const filterValues = (params: Readonly<Record<string, string>>): number =>
  Object.keys(params).filter((k) => /^Filter\.\d+\.Value\.\d+$/.test(k)).length;

describe('node cache', () => {
  it('1,000 nodes: a full check is one VPC-wide call; an event pass asks only for the new IP', async () => {
    const f = await setup(1000);
    const provider = f.provider();
    await provider.listTables(signal);

    const full = await provider.resolveNodes(f.ips, signal, { refresh: true });
    expect([...full].every(([ip, r]) => r.status === 'found' && r.target === f.enis.get(ip))).toBe(true);
    const [listing, ...more] = f.describes();
    expect(more).toEqual([]);
    expect(listing).toMatchObject({
      'Filter.1.Name': 'vpc-id',
      'Filter.1.Value.1': f.vpcId,
      'Filter.2.Name': 'status',
      'Filter.2.Value.1': 'in-use',
      MaxResults: String(ENI_PAGE_SIZE),
    });

    // Event-driven passes: nothing to ask while every IP is known.
    for (let pass = 0; pass < 5; pass += 1) {
      expect((await provider.resolveNodes(f.ips, signal, { refresh: false })).size).toBe(1000);
    }
    expect(f.describes()).toEqual([]);

    const node = f.addNode();
    const withNew = await provider.resolveNodes(f.ips, signal, { refresh: false });
    expect(withNew.get(node.ip)).toEqual({ status: 'found', target: node.eni, forwarding: 'fixable' });
    const asked = f.describes();
    expect(asked).toHaveLength(1);
    expect(asked[0]).toMatchObject({ 'Filter.1.Name': 'addresses.private-ip-address', 'Filter.1.Value.1': node.ip });
    expect(filterValues(asked[0] ?? {})).toBe(1);

    // Ten resyncs: one call each, whatever the number of nodes. The VPC holds 1,001 ENIs now, two
    // pages, so the resyncs take turns: the first page, then the rest.
    for (let pass = 0; pass < 10; pass += 1) await provider.resolveNodes(f.ips, signal, { refresh: true });
    const resyncs = f.describes();
    expect(resyncs).toHaveLength(10);
    expect(resyncs.map((p) => p['NextToken'] !== undefined)).toEqual([false, true, false, true, false, true, false, true, false, true]);
    expect(resyncs.every((p) => p['Filter.1.Name'] === 'vpc-id')).toBe(true);
  });

  it('a resync re-checks one page of the VPC; a full round finds drift on any page and forgets IPs no ENI holds', async () => {
    const f = await setup(2500);
    const provider = f.provider();
    await provider.listTables(signal);
    const drifted = f.ips[2400] ?? '';
    const gone = f.ips[2450] ?? '';
    f.world.setSourceDestCheck(f.enis.get(drifted) ?? '', false);
    await provider.resolveNodes(f.ips, signal, { refresh: true }); // all unknown: the whole VPC, 3 pages
    expect(f.describes()).toHaveLength(3);

    // Drift on the last page: forwarding turned back on, and a node gone without a route to show it.
    f.world.setSourceDestCheck(f.enis.get(drifted) ?? '', true);
    const goneInstance = f.world.networkInterface(f.enis.get(gone) ?? '').attachment?.instanceId ?? '';
    f.world.terminateInstance(goneInstance);

    const answers: Array<Map<string, NodeResolution>> = [];
    for (let pass = 0; pass < 3; pass += 1) answers.push(await provider.resolveNodes(f.ips, signal, { refresh: true }));
    expect(f.describes()).toHaveLength(3); // one page per resync
    // Until the page holding it comes round, the cache answers for the drifted node; then the page does.
    expect(answers[0]?.get(drifted)).toMatchObject({ status: 'found', forwarding: 'enabled' });
    expect(answers[2]?.get(drifted)).toMatchObject({ status: 'found', forwarding: 'fixable' });
    // The round is over and no ENI held `gone`: it is looked up on its own in the next pass.
    expect(answers[2]?.get(gone)).toMatchObject({ status: 'found' });
    const next = await provider.resolveNodes(f.ips, signal, { refresh: false });
    expect(next.get(gone)).toEqual({ status: 'not-found' });
    expect(f.describes().map((p) => p['Filter.1.Value.1'])).toEqual([gone]);
  });

  it('few IPs are looked up by IP (200 values a call at most), never with the VPC filter on top', async () => {
    const f = await setup(450);
    const provider = f.provider();
    await provider.listTables(signal);
    await provider.resolveNodes(f.ips.slice(0, 150), signal, { refresh: true });
    const calls = f.describes();
    expect(calls.map(filterValues)).toEqual([150]);
    expect(calls[0]?.['Filter.1.Name']).toBe('addresses.private-ip-address');
    // 450 unknown IPs: 3 IP-filtered calls or 1 VPC-wide one (VPC size unknown yet): the VPC.
    await provider.resolveNodes(f.ips, signal, { refresh: true });
    expect(f.describes().map((p) => p['Filter.1.Name'])).toEqual(['vpc-id']);
  });

  it('a VPC where the nodes are few among many ENIs stays with IP filters once its size is known', async () => {
    const f = await setup(2600);
    const provider = f.provider();
    await provider.listTables(signal);
    await provider.resolveNodes(f.ips.slice(0, 400), signal, { refresh: true }); // size unknown: VPC-wide, 3 pages
    expect(f.describes()).toHaveLength(3);
    // Re-checks: 2 IP-filtered calls go round the 400 nodes, 3 pages the VPC. One call a resync.
    await provider.resolveNodes(f.ips.slice(0, 400), signal, { refresh: true });
    await provider.resolveNodes(f.ips.slice(0, 400), signal, { refresh: true });
    const rechecks = f.describes();
    expect(rechecks.map(filterValues)).toEqual([200, 200]);
    const checked = rechecks.flatMap((p) => Object.entries(p).filter(([k]) => k.startsWith('Filter.1.Value.')).map(([, v]) => v));
    expect(new Set(checked)).toEqual(new Set(f.ips.slice(0, 400)));
  });

  it('a cached ENI that a managed route shows as blackhole is looked up again; so is one EC2 says does not exist', async () => {
    const f = await setup(5);
    const provider = f.provider();
    await provider.listTables(signal);
    await provider.resolveNodes(f.ips, signal, { refresh: true });
    f.describes();

    const gone = f.ips[1] ?? '';
    await provider.apply({ kind: 'create', table: f.tableId, destination: '10.244.1.0/24', target: f.enis.get(gone) ?? '', nodeIp: gone }, signal);
    const instance = f.world.networkInterface(f.enis.get(gone) ?? '').attachment?.instanceId ?? '';
    f.world.terminateInstance(instance);
    await provider.listTables(signal); // the route is a blackhole now
    const after = await provider.resolveNodes(f.ips, signal, { refresh: false });
    expect(after.get(gone)).toEqual({ status: 'not-found' });
    expect(f.describes().map((p) => p['Filter.1.Value.1'])).toEqual([gone]);
    // A lease event (refresh: false) may mean a new node on that IP: it is asked again.
    await provider.resolveNodes(f.ips, signal, { refresh: false });
    expect(f.describes().map((p) => p['Filter.1.Value.1'])).toEqual([gone]);

    const other = f.ips[2] ?? '';
    f.world.failNext('CreateRoute', 'InvalidNetworkInterfaceID.NotFound');
    await expect(
      provider.apply({ kind: 'create', table: f.tableId, destination: '10.244.2.0/24', target: f.enis.get(other) ?? '', nodeIp: other }, signal),
    ).rejects.toMatchObject({ name: 'InvalidNetworkInterfaceID.NotFound' });
    await provider.resolveNodes(f.ips, signal, { refresh: false });
    // One call: the forgotten ENI's IP, with the not-found IP a lease event asks again.
    const asked = f.describes();
    expect(asked).toHaveLength(1);
    expect(new Set(Object.entries(asked[0] ?? {}).filter(([k]) => k.startsWith('Filter.1.Value.')).map(([, v]) => v))).toEqual(new Set([gone, other]));
  });

  it('a node replaced on a recycled IP: the next event-driven pass looks the not-found IP up again and finds the new ENI', async () => {
    const f = await setup(5);
    const clock = new ManualPacingClock(0);
    const provider = f.provider({ pacingClock: clock });
    await provider.listTables(signal);
    await provider.resolveNodes(f.ips, signal, { refresh: true });
    const [, first = '', second = ''] = f.ips;
    for (const ip of [first, second]) f.world.terminateInstance(f.world.networkInterface(f.enis.get(ip) ?? '').attachment?.instanceId ?? '');
    const resync = await provider.resolveNodes(f.ips, signal, { refresh: true });
    expect(resync.get(first)).toEqual({ status: 'not-found' });
    expect(resync.get(second)).toEqual({ status: 'not-found' });
    f.describes();

    // flannel gives the replacement node the lease of its PublicIP, which EC2 handed out again.
    const replacement = f.world.launchInstance({ subnetId: f.subnetId, enis: [{ privateIp: first }] });
    const next = await provider.resolveNodes(f.ips, signal, { refresh: false });
    expect(next.get(first)).toEqual({ status: 'found', target: replacement.networkInterfaceIds[0], forwarding: 'fixable' });
    expect(next.get(second)).toEqual({ status: 'not-found' });
    // One call for both not-found IPs, none for the IPs found before.
    const asked = f.describes();
    expect(asked).toHaveLength(1);
    expect(asked[0]?.['Filter.1.Name']).toBe('addresses.private-ip-address');
    expect(new Set(Object.entries(asked[0] ?? {}).filter(([k]) => k.startsWith('Filter.1.Value.')).map(([, v]) => v))).toEqual(new Set([first, second]));
  });

  it('without a lease event, a not-found answer stands for its short lifetime, then is asked again', async () => {
    const f = await setup(3);
    const clock = new ManualPacingClock(0);
    const provider = f.provider({ pacingClock: clock, nodeRefreshIntervalMs: 60_000, notFoundLifetimeMs: 10_000 });
    await provider.listTables(signal);
    const gone = f.ips[0] ?? '';
    f.world.terminateInstance(f.world.networkInterface(f.enis.get(gone) ?? '').attachment?.instanceId ?? '');
    expect((await provider.resolveNodes([gone], signal, { refresh: true })).get(gone)).toEqual({ status: 'not-found' });
    f.describes();
    // A storm of passes that are not lease events (retries, a trigger gone wild): the cache answers.
    const replacement = f.world.launchInstance({ subnetId: f.subnetId, enis: [{ privateIp: gone }] });
    for (let pass = 0; pass < 5; pass += 1) {
      clock.advance(1_000);
      expect((await provider.resolveNodes([gone], signal)).get(gone)).toEqual({ status: 'not-found' });
    }
    expect(f.describes()).toEqual([]);
    clock.advance(5_000);
    expect((await provider.resolveNodes([gone], signal)).get(gone)).toMatchObject({ status: 'found', target: replacement.networkInterfaceIds[0] });
    expect(f.describes().map((p) => p['Filter.1.Value.1'])).toEqual([gone]);
  });

  it('forwarding fixed through the provider is known without a describe; a full check re-reads it', async () => {
    const f = await setup(3);
    const provider = f.provider();
    await provider.listTables(signal);
    const ip = f.ips[0] ?? '';
    expect((await provider.resolveNodes(f.ips, signal, { refresh: true })).get(ip)).toMatchObject({ forwarding: 'fixable' });
    await provider.apply({ kind: 'enable-forwarding', target: f.enis.get(ip) ?? '', nodeIp: ip }, signal);
    f.describes();
    expect((await provider.resolveNodes(f.ips, signal, { refresh: false })).get(ip)).toMatchObject({ forwarding: 'enabled' });
    expect(f.describes()).toEqual([]);
    f.world.setSourceDestCheck(f.enis.get(ip) ?? '', true); // someone turned it back on
    expect((await provider.resolveNodes(f.ips, signal, { refresh: true })).get(ip)).toMatchObject({ forwarding: 'fixable' });
  });

  it('without the flag: a full check when the last one is half a resync interval old', async () => {
    const f = await setup(3);
    const clock = new ManualPacingClock(0);
    const provider = f.provider({ nodeRefreshIntervalMs: 60_000, pacingClock: clock });
    await provider.listTables(signal);
    await provider.resolveNodes(f.ips, signal);
    expect(f.describes()).toHaveLength(1);
    clock.advance(29_000);
    await provider.resolveNodes(f.ips, signal);
    expect(f.describes()).toHaveLength(0);
    clock.advance(1_000);
    await provider.resolveNodes(f.ips, signal);
    expect(f.describes()).toHaveLength(1);
  });

  it('a failed lookup answers lookup-failed; a failed re-check leaves the cached answers standing', async () => {
    const f = await setup(3);
    const provider = f.provider({ rateLimits: false });
    await provider.listTables(signal);
    f.world.failNext('DescribeNetworkInterfaces', 'InternalError');
    const failed = await provider.resolveNodes(f.ips, signal, { refresh: true });
    expect([...failed.values()].every((r) => r.status === 'lookup-failed')).toBe(true);

    await provider.resolveNodes(f.ips, signal, { refresh: true });
    f.world.setSourceDestCheck(f.enis.get(f.ips[0] ?? '') ?? '', false);
    f.world.failNext('DescribeNetworkInterfaces', 'InternalError');
    f.describes();
    const recheckFailed = await provider.resolveNodes(f.ips, signal, { refresh: true });
    expect(f.describes()).toHaveLength(1);
    expect([...recheckFailed.values()].map((r) => r.status)).toEqual(['found', 'found', 'found']);
    expect(recheckFailed.get(f.ips[0] ?? '')).toMatchObject({ forwarding: 'fixable' }); // as cached
    const cached = await provider.resolveNodes(f.ips, signal, { refresh: false });
    expect([...cached.values()].every((r) => r.status === 'found')).toBe(true);
    expect(f.describes()).toEqual([]);
    const rechecked = await provider.resolveNodes(f.ips, signal, { refresh: true });
    expect(rechecked.get(f.ips[0] ?? '')).toMatchObject({ forwarding: 'enabled' });
  });

  it('a page token EC2 refuses starts the VPC-wide re-check over', async () => {
    const f = await setup(1500);
    const provider = f.provider({ rateLimits: false });
    await provider.listTables(signal);
    await provider.resolveNodes(f.ips, signal, { refresh: true });
    await provider.resolveNodes(f.ips, signal, { refresh: true }); // page 1 of 2
    f.describes();
    f.world.failNext('DescribeNetworkInterfaces', 'InvalidPaginationToken');
    await provider.resolveNodes(f.ips, signal, { refresh: true });
    await provider.resolveNodes(f.ips, signal, { refresh: true });
    expect(f.describes().map((p) => p['NextToken'] !== undefined)).toEqual([true, false]);
  });
});
