/**
 * The aws-vpc provider against the EC2 simulator, through the real @aws-sdk/client-ec2 built by the
 * provider itself (credentials from the SDK's default chain: dummy environment variables here).
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createAwsVpcProvider, type AwsVpcProviderOptions } from '../../providers/aws-vpc/index.js';
import type { RouteProvider, RouteTable } from '../../providers/provider.js';
import { createProvider } from '../../providers/registry.js';
import { parseConfig } from '../../src/config.js';
import { ConfigError, classifyError } from '../../src/errors.js';
import { createLogger } from '../../src/log.js';
import { ManualClock, startEc2Simulator, type Ec2Simulator, type Ec2SimulatorOptions, type Ec2World } from '../sim/ec2/index.js';

const signal = new AbortController().signal;

interface Fixture {
  sim: Ec2Simulator;
  world: Ec2World;
  vpcId: string;
  subnetId: string;
  tableId: string;
  provider(options?: Partial<AwsVpcProviderOptions>): RouteProvider;
}

let cleanup: Array<() => Promise<void>> = [];

beforeEach(() => {
  cleanup = [];
  // The provider uses the SDK's default credential chain; give it dummy keys through the environment.
  vi.stubEnv('AWS_ACCESS_KEY_ID', 'test');
  vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'test');
  vi.stubEnv('AWS_SESSION_TOKEN', undefined);
  vi.stubEnv('AWS_PROFILE', undefined);
});

afterEach(async () => {
  for (const fn of cleanup.reverse()) await fn();
  vi.unstubAllEnvs();
});

async function setup(options: Ec2SimulatorOptions = { throttling: false }): Promise<Fixture> {
  const sim = await startEc2Simulator(options);
  cleanup.push(() => sim.close());
  const world = sim.world;
  const vpc = world.createVpc({ cidr: '10.0.0.0/16' });
  const subnet = world.createSubnet({ vpcId: vpc.vpcId, cidr: '10.0.0.0/20' });
  const table = world.createRouteTable({ vpcId: vpc.vpcId, tags: { 'routesync/cluster': 'c1' } });
  return {
    sim,
    world,
    vpcId: vpc.vpcId,
    subnetId: subnet.subnetId,
    tableId: table.routeTableId,
    provider: (overrides = {}) => {
      const provider = createAwsVpcProvider({
        region: 'us-east-1',
        endpoint: sim.url,
        routeTableIds: [table.routeTableId],
        clusterName: 'c1',
        routeLimit: 50,
        userAgentSuffix: 'routesync/0.1.0-test',
        ...overrides,
      });
      cleanup.push(() => provider.close());
      return provider;
    },
  };
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (err) {
    return err;
  }
  throw new Error('expected a rejection');
}

function routeOf(table: RouteTable | undefined, destination: string) {
  return table?.routes.find((r) => r.destination === destination);
}

describe('listTables', () => {
  it('lists configured tables (several) in one DescribeRouteTables call, in the configured order', async () => {
    const f = await setup();
    const second = f.world.createRouteTable({ vpcId: f.vpcId });
    const provider = f.provider({ routeTableIds: [second.routeTableId, f.tableId], routeLimit: 77 });
    const tables = await provider.listTables(signal);
    expect(tables.map((t) => t.id)).toEqual([second.routeTableId, f.tableId]);
    expect(tables.map((t) => t.limit)).toEqual([77, 77]);
    expect(tables[0]?.routes).toEqual([
      {
        destination: '10.0.0.0/16',
        target: null,
        targetKind: 'gateway',
        origin: 'table-default',
        quotaWeight: 1,
        family: 'ipv4',
        blackhole: false,
        bearsOwnerMarks: false,
        inManagedSpace: true,
        via: 'local',
      },
    ]);
    expect(tables.map((t) => t.quota)).toEqual(['aws-vpc-routes-per-table', 'aws-vpc-routes-per-table']);
    const calls = f.world.calls('DescribeRouteTables');
    expect(calls).toHaveLength(1);
    // Paginated: the ids go in a filter, with MaxResults.
    expect(calls[0]?.params).toMatchObject({
      'Filter.1.Name': 'route-table-id',
      'Filter.1.Value.1': second.routeTableId,
      'Filter.1.Value.2': f.tableId,
      MaxResults: '100',
    });
    expect(calls[0]?.userAgent).toContain('routesync/0.1.0-test');
  });

  it('discovers tables by tag in the VPC, following pagination', async () => {
    const f = await setup();
    const other = f.world.createVpc({ cidr: '10.1.0.0/16' });
    f.world.createRouteTable({ vpcId: other.vpcId, tags: { 'routesync/cluster': 'c1' } });
    f.world.createRouteTable({ vpcId: f.vpcId, tags: { 'routesync/cluster': 'c2' } });
    const more = Array.from({ length: 104 }, () => f.world.createRouteTable({ vpcId: f.vpcId, tags: { 'routesync/cluster': 'c1' } }));
    const provider = f.provider({ routeTableIds: [], vpcId: f.vpcId });
    const tables = await provider.listTables(signal);
    expect(tables.map((t) => t.id)).toEqual([f.tableId, ...more.map((t) => t.routeTableId)].sort());
    const calls = f.world.calls('DescribeRouteTables');
    expect(calls).toHaveLength(2); // 105 tables, 100 a page
    expect(calls[0]?.params).toMatchObject({
      'Filter.1.Name': 'vpc-id',
      'Filter.1.Value.1': f.vpcId,
      'Filter.2.Name': 'tag-key',
      'Filter.2.Value.1': 'routesync.io/cluster/c1',
      'Filter.2.Value.2': 'routesync/cluster',
      MaxResults: '100',
    });
    expect(calls[1]?.params.NextToken).toBeDefined();
  });

  it('configuration errors: nothing to manage, no tagged table, a table in another VPC, an unknown table', async () => {
    const f = await setup();
    const none = await rejection(f.provider({ routeTableIds: [] }).listTables(signal));
    expect(none).toBeInstanceOf(ConfigError);
    expect(f.world.calls()).toHaveLength(0);

    const other = f.world.createVpc({ cidr: '10.1.0.0/16' });
    const untagged = await rejection(f.provider({ routeTableIds: [], vpcId: other.vpcId }).listTables(signal));
    expect(untagged).toBeInstanceOf(ConfigError);
    expect((untagged as Error).message).toContain('routesync/cluster=c1');
    expect((untagged as Error).message).toContain(other.vpcId);

    const wrongVpc = await rejection(f.provider({ vpcId: other.vpcId }).listTables(signal));
    expect(wrongVpc).toBeInstanceOf(ConfigError);

    const unknown = await rejection(f.provider({ routeTableIds: ['rtb-0ffffffffffffffff'] }).listTables(signal));
    // A configuration error that names the flag and the id (the CLI exits 2 with it).
    expect(unknown).toBeInstanceOf(ConfigError);
    expect((unknown as Error).message).toContain('--route-table-id rtb-0ffffffffffffffff');
    expect((unknown as Error).message).toContain('no route table with this id');
  });

  it('reports facts: ours bear the owner marks; gateways, NAT, propagated, local do not; IPv6 and prefix-list routes are foreign', async () => {
    const f = await setup();
    const node = f.world.launchInstance({ subnetId: f.subnetId, enis: [{ privateIp: '10.0.1.10' }] });
    const gone = f.world.launchInstance({ subnetId: f.subnetId, enis: [{ privateIp: '10.0.1.11' }] });
    const eni = node.networkInterfaceIds[0] ?? '';
    f.world.addForeignRoute(f.tableId, { destinationCidrBlock: '0.0.0.0/0', gatewayId: 'igw-0aaaaaaaaaaaaaaa1' });
    f.world.addForeignRoute(f.tableId, { destinationCidrBlock: '192.168.0.0/16', natGatewayId: 'nat-0aaaaaaaaaaaaaaa1' });
    f.world.addForeignRoute(f.tableId, { destinationCidrBlock: '10.244.99.0/24', gatewayId: 'igw-0aaaaaaaaaaaaaaa1' });
    f.world.addForeignRoute(f.tableId, {
      destinationCidrBlock: '172.16.0.0/12',
      gatewayId: 'vgw-0aaaaaaaaaaaaaaa1',
      origin: 'EnableVgwRoutePropagation',
    });
    f.world.addForeignRoute(f.tableId, { destinationIpv6CidrBlock: '::/0', gatewayId: 'igw-0aaaaaaaaaaaaaaa1' });
    const list = f.world.createManagedPrefixList({ prefixListName: 'offices', maxEntries: 20 });
    f.world.addForeignRoute(f.tableId, { destinationPrefixListId: list.prefixListId, gatewayId: 'igw-0aaaaaaaaaaaaaaa1' });
    f.world.createRoute(f.tableId, { destinationCidrBlock: '10.244.1.0/24', networkInterfaceId: eni });
    f.world.createRoute(f.tableId, { destinationCidrBlock: '10.244.2.0/24', networkInterfaceId: gone.networkInterfaceIds[0] ?? '' });
    f.world.terminateInstance(gone.instanceId);

    const [table] = await f.provider().listTables(signal);
    expect(table?.routes.map((r) => r.destination)).toEqual([
      '10.0.0.0/16',
      '0.0.0.0/0',
      '192.168.0.0/16',
      '10.244.99.0/24',
      '172.16.0.0/12',
      '::/0',
      list.prefixListId,
      '10.244.1.0/24',
      '10.244.2.0/24',
    ]);
    // A prefix-list route weighs the list's max entries; an IPv6 route is a foreign route of the table like any.
    expect(routeOf(table, list.prefixListId)).toMatchObject({ quotaWeight: 20, family: 'ipv4', bearsOwnerMarks: false, inManagedSpace: true, target: null });
    expect(routeOf(table, '::/0')).toMatchObject({ quotaWeight: 1, family: 'ipv6', bearsOwnerMarks: false, inManagedSpace: true });
    expect(f.world.calls('DescribeManagedPrefixLists').map((c) => c.params)).toEqual([
      expect.objectContaining({ 'Filter.1.Name': 'prefix-list-id', 'Filter.1.Value.1': list.prefixListId, MaxResults: '100' }),
    ]);
    expect(routeOf(table, '10.0.0.0/16')).toMatchObject({ bearsOwnerMarks: false, origin: 'table-default', via: 'local', target: null });
    expect(routeOf(table, '0.0.0.0/0')).toMatchObject({ bearsOwnerMarks: false, origin: 'created', targetKind: 'gateway', via: 'igw-0aaaaaaaaaaaaaaa1' });
    expect(routeOf(table, '192.168.0.0/16')).toMatchObject({ bearsOwnerMarks: false, via: 'nat-0aaaaaaaaaaaaaaa1' });
    expect(routeOf(table, '10.244.99.0/24')).toMatchObject({ bearsOwnerMarks: false, origin: 'created', target: null });
    expect(routeOf(table, '172.16.0.0/12')).toMatchObject({ bearsOwnerMarks: false, origin: 'propagated' });
    expect(routeOf(table, '10.244.1.0/24')).toEqual({
      destination: '10.244.1.0/24',
      target: eni,
      targetKind: 'interface',
      origin: 'created',
      quotaWeight: 1,
      family: 'ipv4',
      blackhole: false,
      bearsOwnerMarks: true,
      inManagedSpace: true,
      via: eni,
    });
    expect(routeOf(table, '10.244.2.0/24')).toMatchObject({
      target: gone.networkInterfaceIds[0],
      blackhole: true,
      bearsOwnerMarks: true,
      origin: 'created',
    });
  });
});

describe('resolveNodes', () => {
  it('resolves to the in-use ENI holding the IP (multi-ENI, secondary IP); forwarding from SourceDestCheck', async () => {
    const f = await setup();
    const multi = f.world.launchInstance({
      subnetId: f.subnetId,
      enis: [{ privateIp: '10.0.1.20' }, { privateIp: '10.0.1.21', secondaryIps: ['10.0.1.22'], sourceDestCheck: false }],
    });
    const spare = f.world.launchInstance({ subnetId: f.subnetId, enis: [{ privateIp: '10.0.1.30' }, { privateIp: '10.0.1.31' }] });
    f.world.detachNetworkInterface(spare.networkInterfaceIds[1] ?? '');
    const dead = f.world.launchInstance({ subnetId: f.subnetId, enis: [{ privateIp: '10.0.1.40' }] });
    f.world.terminateInstance(dead.instanceId);
    // The same IP in another VPC must not be taken for ours.
    const other = f.world.createVpc({ cidr: '10.0.0.0/16' });
    const otherSubnet = f.world.createSubnet({ vpcId: other.vpcId, cidr: '10.0.0.0/20' });
    f.world.launchInstance({ subnetId: otherSubnet.subnetId, enis: [{ privateIp: '10.0.1.50' }] });

    const provider = f.provider();
    await provider.listTables(signal);
    const result = await provider.resolveNodes(
      ['10.0.1.20', '10.0.1.21', '10.0.1.22', '10.0.1.31', '10.0.1.40', '10.0.1.50', '10.0.9.9', '10.0.1.20', 'bogus'],
      signal,
    );
    expect(Object.fromEntries(result)).toEqual({
      '10.0.1.20': { status: 'found', target: multi.networkInterfaceIds[0], forwarding: 'fixable' },
      '10.0.1.21': { status: 'found', target: multi.networkInterfaceIds[1], forwarding: 'enabled' },
      '10.0.1.22': { status: 'found', target: multi.networkInterfaceIds[1], forwarding: 'enabled' },
      '10.0.1.31': { status: 'not-found' }, // detached ENI
      '10.0.1.40': { status: 'not-found' }, // terminated
      '10.0.1.50': { status: 'not-found' }, // other VPC
      '10.0.9.9': { status: 'not-found' },
      bogus: { status: 'lookup-failed', error: 'not an IP address: "bogus"' },
    });
    const calls = f.world.calls('DescribeNetworkInterfaces');
    expect(calls).toHaveLength(1);
    expect(calls[0]?.params['Filter.1.Name']).toBe('addresses.private-ip-address');
  });

  it('batches 200 IPs per describe: 250 IPs are exactly 2 calls; a failed batch is lookup-failed', async () => {
    // Without a known VPC (no listing yet, no --vpc-id) IP-filtered batches are the only way; with
    // one, the VPC-wide listing is fewer calls (test/integration/aws-node-cache.test.ts).
    const f = await setup();
    const ips: string[] = [];
    const enis = new Map<string, string>();
    for (let i = 0; i < 250; i++) {
      const ip = `10.0.${2 + Math.floor(i / 200)}.${(i % 200) + 10}`;
      ips.push(ip);
      const instance = f.world.launchInstance({ subnetId: f.subnetId, enis: [{ privateIp: ip }] });
      enis.set(ip, instance.networkInterfaceIds[0] ?? '');
    }
    const provider = f.provider({ rateLimits: false });
    const result = await provider.resolveNodes(ips, signal);
    expect(result.size).toBe(250);
    expect([...result].every(([ip, r]) => r.status === 'found' && r.target === enis.get(ip))).toBe(true);
    const calls = f.world.calls('DescribeNetworkInterfaces');
    expect(calls).toHaveLength(2);
    const valueCount = (params: Readonly<Record<string, string>>) =>
      Object.keys(params).filter((k) => /^Filter\.\d+\.Value\.\d+$/.test(k)).length;
    expect(calls.map((c) => valueCount(c.params))).toEqual([200, 50]);

    // A provider that knows none of them yet: the first batch fails, the second answers.
    f.world.clearCalls();
    f.world.failNext('DescribeNetworkInterfaces', 'RequestLimitExceeded');
    const partial = await f.provider({ rateLimits: false }).resolveNodes(ips, signal);
    const statuses = ips.map((ip) => partial.get(ip)?.status);
    expect(statuses.slice(0, 200).every((s) => s === 'lookup-failed')).toBe(true);
    expect(statuses.slice(200).every((s) => s === 'found')).toBe(true);
    expect(partial.get(ips[0] ?? '')).toMatchObject({ error: expect.stringContaining('RequestLimitExceeded') });
    expect(f.world.calls('DescribeNetworkInterfaces')).toHaveLength(2);
  });

  it('a connection reset is a lookup failure too, never not-found', async () => {
    const f = await setup();
    f.world.launchInstance({ subnetId: f.subnetId, enis: [{ privateIp: '10.0.1.10' }] });
    f.world.resetConnectionNext('DescribeNetworkInterfaces');
    const result = await f.provider().resolveNodes(['10.0.1.10'], signal);
    expect(result.get('10.0.1.10')?.status).toBe('lookup-failed');
  });
});

describe('apply', () => {
  it('create, replace, delete, delete of a missing route, enable-forwarding', async () => {
    const f = await setup();
    const a = f.world.launchInstance({ subnetId: f.subnetId, enis: [{ privateIp: '10.0.1.10' }] });
    const b = f.world.launchInstance({ subnetId: f.subnetId, enis: [{ privateIp: '10.0.1.11' }] });
    const eniA = a.networkInterfaceIds[0] ?? '';
    const eniB = b.networkInterfaceIds[0] ?? '';
    const provider = f.provider();
    const table = f.tableId;

    await provider.apply({ kind: 'create', table, destination: '10.244.1.0/24', target: eniA, nodeIp: '10.0.1.10' }, signal);
    expect(f.world.route(table, '10.244.1.0/24')).toMatchObject({ networkInterfaceId: eniA, state: 'active', origin: 'CreateRoute' });

    await provider.apply(
      { kind: 'replace', table, destination: '10.244.1.0/24', target: eniB, previousTarget: eniA, nodeIp: '10.0.1.11' },
      signal,
    );
    expect(f.world.route(table, '10.244.1.0/24')?.networkInterfaceId).toBe(eniB);

    await provider.apply({ kind: 'delete', table, destination: '10.244.1.0/24', previousTarget: eniB, reason: 'no-lease' }, signal);
    expect(f.world.route(table, '10.244.1.0/24')).toBeUndefined();
    // Already gone: done.
    await provider.apply({ kind: 'delete', table, destination: '10.244.1.0/24', previousTarget: eniB, reason: 'no-lease' }, signal);

    await provider.apply({ kind: 'enable-forwarding', target: eniA, nodeIp: '10.0.1.10' }, signal);
    expect(f.world.networkInterface(eniA).sourceDestCheck).toBe(false);
    expect((await provider.resolveNodes(['10.0.1.10'], signal)).get('10.0.1.10')).toMatchObject({ forwarding: 'enabled' });

    expect(f.world.mutatingCalls().map((c) => [c.action, c.httpStatus, c.errorCode])).toEqual([
      ['CreateRoute', 200, undefined],
      ['ReplaceRoute', 200, undefined],
      ['DeleteRoute', 200, undefined],
      ['DeleteRoute', 400, 'InvalidRoute.NotFound'],
      ['ModifyNetworkInterfaceAttribute', 200, undefined],
    ]);
    expect(f.world.mutatingCalls()[0]?.params).toMatchObject({
      RouteTableId: table,
      DestinationCidrBlock: '10.244.1.0/24',
      NetworkInterfaceId: eniA,
    });
    expect(f.world.mutatingCalls()[4]?.params).toMatchObject({ NetworkInterfaceId: eniA, 'SourceDestCheck.Value': 'false' });
    expect(f.world.calls().every((c) => c.userAgent.includes('routesync/0.1.0-test'))).toBe(true);
  });

  it("the simulator's errors reach the caller unchanged and classify as src/errors.ts says", async () => {
    const f = await setup();
    const a = f.world.launchInstance({ subnetId: f.subnetId, enis: [{ privateIp: '10.0.1.10' }] });
    const eni = a.networkInterfaceIds[0] ?? '';
    f.world.setRouteLimit(3, f.tableId);
    f.world.addForeignRoute(f.tableId, { destinationCidrBlock: '0.0.0.0/0', gatewayId: 'igw-0aaaaaaaaaaaaaaa1' });
    const provider = f.provider();
    const create = (destination: string, target = eni) =>
      provider.apply({ kind: 'create', table: f.tableId, destination, target, nodeIp: '10.0.1.10' }, signal);

    await create('10.244.1.0/24');
    expect(classifyError(await rejection(create('10.244.2.0/24')))).toMatchObject({ class: 'lease', code: 'RouteLimitExceeded' });
    expect(classifyError(await rejection(create('10.244.1.0/24')))).toMatchObject({ class: 'stale', code: 'RouteAlreadyExists' });
    expect(classifyError(await rejection(create('10.244.3.0/24', 'eni-0ffffffffffffffff')))).toMatchObject({
      class: 'lease',
      code: 'InvalidNetworkInterfaceID.NotFound',
    });
    expect(
      classifyError(
        await rejection(
          provider.apply(
            { kind: 'replace', table: f.tableId, destination: '10.244.9.0/24', target: eni, previousTarget: null, nodeIp: '10.0.1.10' },
            signal,
          ),
        ),
      ),
    ).toMatchObject({ class: 'stale', code: 'InvalidParameterValue' });
    expect(
      classifyError(
        await rejection(
          provider.apply(
            { kind: 'delete', table: 'rtb-0ffffffffffffffff', destination: '10.244.1.0/24', previousTarget: null, reason: 'no-lease' },
            signal,
          ),
        ),
      ),
    ).toMatchObject({ class: 'fatal', code: 'InvalidRouteTableID.NotFound' });
    f.world.failNext('CreateRoute', 'InternalError');
    expect(classifyError(await rejection(create('10.244.4.0/24')))).toMatchObject({ class: 'transient', httpStatus: 500 });
  });

  it('throttling: the 51st create within a second is RequestLimitExceeded → throttled', async () => {
    const clock = new ManualClock();
    const f = await setup({ clock: clock.now, routeLimit: 1000 });
    const a = f.world.launchInstance({ subnetId: f.subnetId, enis: [{ privateIp: '10.0.1.10' }] });
    // Unpaced: what EC2 answers to a client that does not pace (test/integration/aws-pacing.test.ts paces).
    const provider = f.provider({ routeLimit: 1000, rateLimits: false });
    const create = (i: number) =>
      provider.apply(
        { kind: 'create', table: f.tableId, destination: `10.200.${i}.0/24`, target: a.networkInterfaceIds[0] ?? '', nodeIp: '10.0.1.10' },
        signal,
      );
    for (let i = 0; i < 50; i++) await create(i);
    expect(classifyError(await rejection(create(50)))).toMatchObject({ class: 'throttled', code: 'RequestLimitExceeded', httpStatus: 503 });
    expect(f.world.calls('CreateRoute')).toHaveLength(51); // one attempt per call: no SDK retries
    clock.advance(1000);
    await create(50);
  });

  it('an aborted signal cancels the request in flight', async () => {
    const f = await setup({ throttling: false, latencyMs: 60_000 });
    const a = f.world.launchInstance({ subnetId: f.subnetId, enis: [{ privateIp: '10.0.1.10' }] });
    const provider = f.provider();
    const controller = new AbortController();
    const pending = rejection(
      provider.apply(
        { kind: 'create', table: f.tableId, destination: '10.244.1.0/24', target: a.networkInterfaceIds[0] ?? '', nodeIp: '10.0.1.10' },
        controller.signal,
      ),
    );
    await expect.poll(() => f.world.inFlight()).toBe(1);
    controller.abort();
    expect(classifyError(await pending).class).toBe('aborted');
    const before = new AbortController();
    before.abort();
    expect(classifyError(await rejection(provider.listTables(before.signal))).class).toBe('aborted');
    expect(classifyError(await rejection(provider.resolveNodes(['10.0.1.10'], before.signal))).class).toBe('aborted');
  });
});

describe('registry wiring', () => {
  it('--provider aws-vpc builds this provider from the parsed flags', async () => {
    const f = await setup();
    const config = parseConfig(
      ['--provider', 'aws-vpc', '--vpc-id', f.vpcId, '--aws-region', 'us-east-1', '--aws-endpoint', f.sim.url, '--cluster-name', 'c1'],
      {},
      () => undefined,
    );
    const provider = await createProvider({ config, logger: createLogger('silent'), userAgentSuffix: 'routesync/replica-1' });
    cleanup.push(() => provider.close());
    expect(provider.name).toBe('aws-vpc');
    const tables = await provider.listTables(signal);
    // No --route-limit: the account's quota, read from the simulator's Service Quotas (AWS's default 500).
    expect(tables.map((t) => [t.id, t.limit, t.limitSource])).toEqual([[f.tableId, 500, 'quota-api']]);
    expect(f.world.calls()[0]?.userAgent).toContain('routesync/replica-1');
  });
});
