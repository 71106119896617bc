/**
 * The EC2 simulator, driven by the real @aws-sdk/client-ec2: wire shapes, EC2's error codes,
 * route-limit counting, blackholes, pagination, filters, token buckets, faults and the call log.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import {
  CreateRouteCommand,
  DeleteRouteCommand,
  DescribeNetworkInterfacesCommand,
  DescribeRouteTablesCommand,
  EC2Client,
  ModifyNetworkInterfaceAttributeCommand,
  ReplaceRouteCommand,
  paginateDescribeNetworkInterfaces,
  paginateDescribeRouteTables,
  type DescribeNetworkInterfacesCommandInput,
  type RouteTable,
} from '@aws-sdk/client-ec2';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { classifyError } from '../../src/errors.js';
import {
  ManualClock,
  TokenBucket,
  startEc2Simulator,
  type Ec2Simulator,
  type Ec2SimulatorOptions,
  type Ec2World,
} from './ec2/index.js';

const CREDENTIALS = { accessKeyId: 'test', secretAccessKey: 'test' };

interface Fixture {
  sim: Ec2Simulator;
  world: Ec2World;
  ec2: EC2Client;
  vpcId: string;
  subnetId: string;
  tableId: string;
  /** One single-ENI instance at 10.0.1.10. */
  eni: string;
  instanceId: string;
}

let open: Array<{ close(): Promise<void> } | EC2Client> = [];

function client(url: string, customUserAgent?: string): EC2Client {
  const ec2 = new EC2Client({
    endpoint: url,
    region: 'us-east-1',
    credentials: CREDENTIALS,
    maxAttempts: 1,
    ...(customUserAgent !== undefined ? { customUserAgent } : {}),
  });
  open.push(ec2);
  return ec2;
}

async function setup(options: Ec2SimulatorOptions = { throttling: false }): Promise<Fixture> {
  const sim = await startEc2Simulator(options);
  open.push(sim);
  const world = sim.world;
  const vpc = world.createVpc({ cidr: '10.0.0.0/16' });
  const subnet = world.createSubnet({ vpcId: vpc.vpcId, cidr: '10.0.1.0/24' });
  const table = world.createRouteTable({ vpcId: vpc.vpcId, tags: { 'routesync/cluster': 'c1', Name: 'pods' } });
  const instance = world.launchInstance({ subnetId: subnet.subnetId, enis: [{ privateIp: '10.0.1.10' }] });
  return {
    sim,
    world,
    ec2: client(sim.url),
    vpcId: vpc.vpcId,
    subnetId: subnet.subnetId,
    tableId: table.routeTableId,
    eni: instance.networkInterfaceIds[0] ?? '',
    instanceId: instance.instanceId,
  };
}

/** The rejection of a promise (fails the test when it resolves). */
async function rejection(promise: Promise<unknown>): Promise<Record<string, unknown> & { name: string; message: string }> {
  try {
    await promise;
  } catch (err) {
    return err as Record<string, unknown> & { name: string; message: string };
  }
  throw new Error('expected a rejection');
}

function httpStatus(err: Record<string, unknown>): unknown {
  return (err.$metadata as { httpStatusCode?: number } | undefined)?.httpStatusCode;
}

/** A form POST that looks signed (the simulator checks the scheme, not the signature). */
async function rawPost(url: string, body: string, authorization = 'AWS4-HMAC-SHA256 Credential=test/x'): Promise<Response> {
  return fetch(`${url}/`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', authorization },
    body,
  });
}

beforeEach(() => {
  open = [];
});

afterEach(async () => {
  for (const item of open.reverse()) {
    if (item instanceof EC2Client) item.destroy();
    else await item.close();
  }
});

describe('wire shapes', () => {
  it('DescribeRouteTables returns the local route, tags, vpc and routes as EC2 does', async () => {
    const f = await setup();
    f.world.addForeignRoute(f.tableId, { destinationCidrBlock: '0.0.0.0/0', gatewayId: 'igw-0aaaaaaaaaaaaaaa1' });
    f.world.addForeignRoute(f.tableId, { destinationCidrBlock: '192.168.0.0/16', natGatewayId: 'nat-0aaaaaaaaaaaaaaa1' });
    f.world.addForeignRoute(f.tableId, {
      destinationCidrBlock: '172.16.0.0/12',
      gatewayId: 'vgw-0aaaaaaaaaaaaaaa1',
      origin: 'EnableVgwRoutePropagation',
    });
    await f.ec2.send(
      new CreateRouteCommand({ RouteTableId: f.tableId, DestinationCidrBlock: '10.244.1.0/24', NetworkInterfaceId: f.eni }),
    );
    const out = await f.ec2.send(new DescribeRouteTablesCommand({ RouteTableIds: [f.tableId] }));
    expect(out.RouteTables).toHaveLength(1);
    const table = out.RouteTables?.[0] as RouteTable;
    expect(table.RouteTableId).toMatch(/^rtb-[0-9a-f]{17}$/);
    expect(table.VpcId).toBe(f.vpcId);
    expect(table.Tags).toEqual(
      expect.arrayContaining([
        { Key: 'routesync/cluster', Value: 'c1' },
        { Key: 'Name', Value: 'pods' },
      ]),
    );
    expect(table.PropagatingVgws).toEqual([{ GatewayId: 'vgw-0aaaaaaaaaaaaaaa1' }]);
    const routes = table.Routes ?? [];
    expect(routes[0]).toEqual({
      DestinationCidrBlock: '10.0.0.0/16',
      GatewayId: 'local',
      State: 'active',
      Origin: 'CreateRouteTable',
    });
    expect(routes.find((r) => r.DestinationCidrBlock === '0.0.0.0/0')).toMatchObject({
      GatewayId: 'igw-0aaaaaaaaaaaaaaa1',
      Origin: 'CreateRoute',
      State: 'active',
    });
    expect(routes.find((r) => r.DestinationCidrBlock === '192.168.0.0/16')).toMatchObject({
      NatGatewayId: 'nat-0aaaaaaaaaaaaaaa1',
    });
    expect(routes.find((r) => r.DestinationCidrBlock === '172.16.0.0/12')).toMatchObject({
      Origin: 'EnableVgwRoutePropagation',
    });
    // A route to an attached ENI shows both the ENI and its instance, as real AWS does.
    expect(routes.find((r) => r.DestinationCidrBlock === '10.244.1.0/24')).toMatchObject({
      NetworkInterfaceId: f.eni,
      InstanceId: f.instanceId,
      State: 'active',
      Origin: 'CreateRoute',
    });
    expect(out.$metadata.requestId).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('the SDK sends lists, filters, pagination and structures in EC2 query form', async () => {
    const f = await setup();
    await f.ec2.send(
      new DescribeRouteTablesCommand({
        Filters: [
          { Name: 'vpc-id', Values: [f.vpcId] },
          { Name: 'tag:routesync/cluster', Values: ['c1'] },
        ],
        MaxResults: 5,
      }),
    );
    await f.ec2.send(new ModifyNetworkInterfaceAttributeCommand({ NetworkInterfaceId: f.eni, SourceDestCheck: { Value: false } }));
    const [describe, modify] = f.world.calls();
    expect(describe?.params).toMatchObject({
      Action: 'DescribeRouteTables',
      Version: '2016-11-15',
      'Filter.1.Name': 'vpc-id',
      'Filter.1.Value.1': f.vpcId,
      'Filter.2.Name': 'tag:routesync/cluster',
      'Filter.2.Value.1': 'c1',
      MaxResults: '5',
    });
    expect(modify?.params).toMatchObject({
      Action: 'ModifyNetworkInterfaceAttribute',
      NetworkInterfaceId: f.eni,
      'SourceDestCheck.Value': 'false',
    });
    expect(f.world.networkInterface(f.eni).sourceDestCheck).toBe(false);
  });

  it('DescribeNetworkInterfaces shows addresses, attachment and SourceDestCheck', async () => {
    const f = await setup();
    const multi = f.world.launchInstance({
      subnetId: f.subnetId,
      enis: [{ privateIp: '10.0.1.20' }, { privateIp: '10.0.1.21', secondaryIps: ['10.0.1.22'], sourceDestCheck: false }],
    });
    const out = await f.ec2.send(
      new DescribeNetworkInterfacesCommand({ Filters: [{ Name: 'addresses.private-ip-address', Values: ['10.0.1.22'] }] }),
    );
    expect(out.NetworkInterfaces).toHaveLength(1);
    const eni = out.NetworkInterfaces?.[0];
    expect(eni).toMatchObject({
      NetworkInterfaceId: multi.networkInterfaceIds[1],
      SubnetId: f.subnetId,
      VpcId: f.vpcId,
      Status: 'in-use',
      PrivateIpAddress: '10.0.1.21',
      SourceDestCheck: false,
      Attachment: { InstanceId: multi.instanceId, DeviceIndex: 1, Status: 'attached' },
    });
    expect(eni?.PrivateIpAddresses).toEqual([
      expect.objectContaining({ PrivateIpAddress: '10.0.1.21', Primary: true }),
      expect.objectContaining({ PrivateIpAddress: '10.0.1.22', Primary: false }),
    ]);
    expect(eni?.Attachment?.AttachTime).toBeInstanceOf(Date);
  });

  it('answers errors as a non-2xx <Response><Errors> document; unknown actions are InvalidAction', async () => {
    const f = await setup();
    const res = await rawPost(f.sim.url, 'Action=RunInstances&Version=2016-11-15');
    expect(res.status).toBe(400);
    const text = await res.text();
    expect(text).toMatch(
      /<Response><Errors><Error><Code>InvalidAction<\/Code><Message>The action RunInstances is not valid for this web service\.<\/Message><\/Error><\/Errors><RequestID>[0-9a-f-]+<\/RequestID><\/Response>/,
    );
    const ok = await rawPost(f.sim.url, `Action=DeleteRoute&Version=2016-11-15&RouteTableId=${f.tableId}&DestinationCidrBlock=10.9.0.0%2F24`);
    expect(ok.status).toBe(400);
    const unsigned = await rawPost(f.sim.url, 'Action=DescribeRouteTables&Version=2016-11-15', '');
    expect(unsigned.status).toBe(401);
    expect(await unsigned.text()).toContain('<Code>AuthFailure</Code>');
    const success = await rawPost(f.sim.url, `Action=DescribeRouteTables&Version=2016-11-15&RouteTableId.1=${f.tableId}`);
    expect(success.status).toBe(200);
    const xml = await success.text();
    expect(xml).toContain('<DescribeRouteTablesResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">');
    expect(xml).toContain('<routeTableSet>');
    expect(xml).toContain('<tagSet>');
    expect(f.world.calls().map((c) => [c.action, c.httpStatus, c.errorCode])).toEqual([
      ['RunInstances', 400, 'InvalidAction'],
      ['DeleteRoute', 400, 'InvalidRoute.NotFound'],
      ['DescribeRouteTables', 401, 'AuthFailure'],
      ['DescribeRouteTables', 200, undefined],
    ]);
  });
});

describe('error codes', () => {
  it('CreateRoute: multi-ENI instance, unknown ENI, unknown table, existing destination', async () => {
    const f = await setup();
    const multi = f.world.launchInstance({ subnetId: f.subnetId, enis: [{ privateIp: '10.0.1.30' }, { privateIp: '10.0.1.31' }] });
    const create = (input: Record<string, string>) =>
      f.ec2.send(new CreateRouteCommand({ RouteTableId: f.tableId, DestinationCidrBlock: '10.244.2.0/24', ...input }));

    const multiErr = await rejection(create({ InstanceId: multi.instanceId }));
    expect(multiErr.name).toBe('InvalidInstanceID');
    expect(multiErr.message).toBe(
      `There are multiple interfaces attached to instance '${multi.instanceId}'. Please specify an interface ID for the operation instead.`,
    );
    expect(httpStatus(multiErr)).toBe(400);
    expect(classifyError(multiErr).class).toBe('lease');

    const missingEni = await rejection(create({ NetworkInterfaceId: 'eni-0ffffffffffffffff' }));
    expect(missingEni.name).toBe('InvalidNetworkInterfaceID.NotFound');
    expect(missingEni.message).toBe("The networkInterface ID 'eni-0ffffffffffffffff' does not exist");
    expect(classifyError(missingEni).class).toBe('lease');

    const missingTable = await rejection(
      f.ec2.send(
        new CreateRouteCommand({ RouteTableId: 'rtb-0ffffffffffffffff', DestinationCidrBlock: '10.244.2.0/24', NetworkInterfaceId: f.eni }),
      ),
    );
    expect(missingTable.name).toBe('InvalidRouteTableID.NotFound');
    expect(classifyError(missingTable).class).toBe('fatal');

    // A single-ENI instance is fine: EC2 records the route against its ENI too.
    await create({ InstanceId: f.instanceId });
    expect(f.world.route(f.tableId, '10.244.2.0/24')).toMatchObject({ networkInterfaceId: f.eni, instanceId: f.instanceId });

    const exists = await rejection(create({ NetworkInterfaceId: f.eni }));
    expect(exists.name).toBe('RouteAlreadyExists');
    expect(exists.message).toBe('The route identified by 10.244.2.0/24 already exists.');
    expect(classifyError(exists).class).toBe('stale');

    const malformed = await rejection(create({ NetworkInterfaceId: 'eni-nothex' }));
    expect(malformed.name).toBe('InvalidNetworkInterfaceID.Malformed');
  });

  it('DeleteRoute of a missing route, ReplaceRoute of a missing route, local route protection', async () => {
    const f = await setup();
    const del = await rejection(f.ec2.send(new DeleteRouteCommand({ RouteTableId: f.tableId, DestinationCidrBlock: '10.244.3.0/24' })));
    expect(del.name).toBe('InvalidRoute.NotFound');
    expect(httpStatus(del)).toBe(400);

    const replace = await rejection(
      f.ec2.send(new ReplaceRouteCommand({ RouteTableId: f.tableId, DestinationCidrBlock: '10.244.3.0/24', NetworkInterfaceId: f.eni })),
    );
    expect(replace.name).toBe('InvalidParameterValue');
    expect(replace.message).toBe("There is no route defined for '10.244.3.0/24' in the route table. Use CreateRoute instead.");

    const local = await rejection(f.ec2.send(new DeleteRouteCommand({ RouteTableId: f.tableId, DestinationCidrBlock: '10.0.0.0/16' })));
    expect(local.name).toBe('InvalidParameterValue');
    expect(f.world.route(f.tableId, '10.0.0.0/16')?.origin).toBe('CreateRouteTable');

    const other = f.world.launchInstance({ subnetId: f.subnetId, enis: [{ privateIp: '10.0.1.40' }] });
    await f.ec2.send(new CreateRouteCommand({ RouteTableId: f.tableId, DestinationCidrBlock: '10.244.3.0/24', NetworkInterfaceId: f.eni }));
    const replaced = await f.ec2.send(
      new ReplaceRouteCommand({
        RouteTableId: f.tableId,
        DestinationCidrBlock: '10.244.3.0/24',
        NetworkInterfaceId: other.networkInterfaceIds[0] ?? '',
      }),
    );
    expect(replaced.$metadata.httpStatusCode).toBe(200);
    expect(f.world.route(f.tableId, '10.244.3.0/24')?.networkInterfaceId).toBe(other.networkInterfaceIds[0]);
    const deleted = await f.ec2.send(new DeleteRouteCommand({ RouteTableId: f.tableId, DestinationCidrBlock: '10.244.3.0/24' }));
    expect(deleted.$metadata.httpStatusCode).toBe(200);
    expect(f.world.route(f.tableId, '10.244.3.0/24')).toBeUndefined();
  });

  it('FilterLimitExceeded beyond 200 filter values in one call; unknown filters are invalid', async () => {
    const f = await setup();
    const ips = Array.from({ length: 201 }, (_, i) => `10.0.1.${i + 1}`);
    const tooMany = await rejection(
      f.ec2.send(new DescribeNetworkInterfacesCommand({ Filters: [{ Name: 'addresses.private-ip-address', Values: ips }] })),
    );
    expect(tooMany.name).toBe('FilterLimitExceeded');
    expect(tooMany.message).toBe('The maximum number of filter values specified on a single call is 200');
    // EC2 counts the values of all filters of a call together.
    const combined = await rejection(
      f.ec2.send(
        new DescribeNetworkInterfacesCommand({
          Filters: [
            { Name: 'addresses.private-ip-address', Values: ips.slice(0, 200) },
            { Name: 'vpc-id', Values: [f.vpcId] },
          ],
        }),
      ),
    );
    expect(combined.name).toBe('FilterLimitExceeded');
    const ok = await f.ec2.send(
      new DescribeNetworkInterfacesCommand({ Filters: [{ Name: 'addresses.private-ip-address', Values: ips.slice(0, 200) }] }),
    );
    expect(ok.NetworkInterfaces?.map((e) => e.PrivateIpAddress)).toEqual(['10.0.1.10']);

    const bad = await rejection(f.ec2.send(new DescribeRouteTablesCommand({ Filters: [{ Name: 'nope', Values: ['x'] }] })));
    expect(bad.name).toBe('InvalidParameterValue');
    expect(bad.message).toBe("The filter 'nope' is invalid");
  });

  it('a configured table that does not exist fails DescribeRouteTables', async () => {
    const f = await setup();
    const err = await rejection(f.ec2.send(new DescribeRouteTablesCommand({ RouteTableIds: [f.tableId, 'rtb-0ffffffffffffffff'] })));
    expect(err.name).toBe('InvalidRouteTableID.NotFound');
    expect(err.message).toBe("The routeTable ID 'rtb-0ffffffffffffffff' does not exist");
  });
});

describe('route limit', () => {
  it('counts the local route and foreign routes, not propagated or IPv6 routes', async () => {
    const f = await setup();
    f.world.setRouteLimit(5, f.tableId);
    f.world.addForeignRoute(f.tableId, { destinationCidrBlock: '0.0.0.0/0', gatewayId: 'igw-0aaaaaaaaaaaaaaa1' });
    f.world.addForeignRoute(f.tableId, { destinationCidrBlock: '10.244.99.0/24', gatewayId: 'igw-0aaaaaaaaaaaaaaa1' });
    f.world.addForeignRoute(f.tableId, {
      destinationCidrBlock: '172.16.0.0/12',
      gatewayId: 'vgw-0aaaaaaaaaaaaaaa1',
      origin: 'EnableVgwRoutePropagation',
    });
    f.world.addForeignRoute(f.tableId, { destinationIpv6CidrBlock: '::/0', gatewayId: 'igw-0aaaaaaaaaaaaaaa1' });
    expect(f.world.countedRoutesOf(f.tableId)).toBe(3); // local + two gateway routes
    const create = (cidr: string) =>
      f.ec2.send(new CreateRouteCommand({ RouteTableId: f.tableId, DestinationCidrBlock: cidr, NetworkInterfaceId: f.eni }));
    await create('10.244.1.0/24');
    await create('10.244.2.0/24');
    const err = await rejection(create('10.244.3.0/24'));
    expect(err.name).toBe('RouteLimitExceeded');
    expect(httpStatus(err)).toBe(400);
    expect(classifyError(err).class).toBe('lease');
    // Replacing does not add a route.
    await f.ec2.send(new ReplaceRouteCommand({ RouteTableId: f.tableId, DestinationCidrBlock: '10.244.2.0/24', NetworkInterfaceId: f.eni }));
    // Deleting frees a place.
    await f.ec2.send(new DeleteRouteCommand({ RouteTableId: f.tableId, DestinationCidrBlock: '10.244.1.0/24' }));
    await create('10.244.3.0/24');
  });

  it("defaults to AWS's 500 per table, an applied quota replaces it, and the world default can change", async () => {
    const f = await setup();
    expect(f.world.routeLimitOf(f.tableId)).toBe(500);
    f.world.setAppliedRouteQuota(50);
    expect(f.world.routeLimitOf(f.tableId)).toBe(50);
    f.world.setAppliedRouteQuota(null);
    f.world.setRouteLimit(2);
    await f.ec2.send(new CreateRouteCommand({ RouteTableId: f.tableId, DestinationCidrBlock: '10.244.1.0/24', NetworkInterfaceId: f.eni }));
    const err = await rejection(
      f.ec2.send(new CreateRouteCommand({ RouteTableId: f.tableId, DestinationCidrBlock: '10.244.2.0/24', NetworkInterfaceId: f.eni })),
    );
    expect(err.name).toBe('RouteLimitExceeded');
  });
});

describe('blackholes', () => {
  it('terminating the instance deletes its ENI: the route turns blackhole, keeping ENI and instance ids', async () => {
    const f = await setup();
    await f.ec2.send(new CreateRouteCommand({ RouteTableId: f.tableId, DestinationCidrBlock: '10.244.1.0/24', NetworkInterfaceId: f.eni }));
    f.world.terminateInstance(f.instanceId);
    const out = await f.ec2.send(new DescribeRouteTablesCommand({ RouteTableIds: [f.tableId] }));
    expect(out.RouteTables?.[0]?.Routes?.find((r) => r.DestinationCidrBlock === '10.244.1.0/24')).toMatchObject({
      NetworkInterfaceId: f.eni,
      InstanceId: f.instanceId,
      State: 'blackhole',
      Origin: 'CreateRoute',
    });
    const gone = await rejection(f.ec2.send(new DescribeNetworkInterfacesCommand({ NetworkInterfaceIds: [f.eni] })));
    expect(gone.name).toBe('InvalidNetworkInterfaceID.NotFound');
  });

  it('a detached ENI is available; routes to it are blackholes (also when created so)', async () => {
    const f = await setup();
    const multi = f.world.launchInstance({ subnetId: f.subnetId, enis: [{ privateIp: '10.0.1.50' }, { privateIp: '10.0.1.51' }] });
    const second = multi.networkInterfaceIds[1] ?? '';
    await f.ec2.send(new CreateRouteCommand({ RouteTableId: f.tableId, DestinationCidrBlock: '10.244.1.0/24', NetworkInterfaceId: second }));
    f.world.detachNetworkInterface(second);
    expect(f.world.networkInterface(second).status).toBe('available');
    expect(f.world.route(f.tableId, '10.244.1.0/24')).toMatchObject({ state: 'blackhole', networkInterfaceId: second });
    expect(f.world.route(f.tableId, '10.244.1.0/24')?.instanceId).toBeUndefined();
    await f.ec2.send(new CreateRouteCommand({ RouteTableId: f.tableId, DestinationCidrBlock: '10.244.2.0/24', NetworkInterfaceId: second }));
    expect(f.world.route(f.tableId, '10.244.2.0/24')?.state).toBe('blackhole');
    f.world.attachNetworkInterface(second, multi.instanceId);
    expect(f.world.route(f.tableId, '10.244.2.0/24')?.state).toBe('active');
    const available = await f.ec2.send(
      new DescribeNetworkInterfacesCommand({ Filters: [{ Name: 'status', Values: ['available'] }] }),
    );
    expect(available.NetworkInterfaces).toEqual([]);
  });
});

describe('pagination and filters', () => {
  it('pages DescribeRouteTables with MaxResults/NextToken and rejects foreign tokens', async () => {
    const f = await setup();
    for (let i = 0; i < 11; i++) f.world.createRouteTable({ vpcId: f.vpcId, tags: { 'routesync/cluster': 'c1' } });
    const pages: number[] = [];
    const ids: string[] = [];
    for await (const page of paginateDescribeRouteTables(
      { client: f.ec2, pageSize: 5 },
      { Filters: [{ Name: 'tag:routesync/cluster', Values: ['c1'] }] },
    )) {
      pages.push(page.RouteTables?.length ?? 0);
      ids.push(...(page.RouteTables ?? []).map((t) => t.RouteTableId ?? ''));
    }
    expect(pages).toEqual([5, 5, 2]);
    expect(new Set(ids).size).toBe(12);
    const first = await f.ec2.send(new DescribeRouteTablesCommand({ MaxResults: 5 }));
    expect(first.NextToken).toBeDefined();
    const bad = await rejection(
      f.ec2.send(new DescribeRouteTablesCommand({ MaxResults: 5, NextToken: first.NextToken ?? '', Filters: [{ Name: 'vpc-id', Values: [f.vpcId] }] })),
    );
    expect(bad.name).toBe('InvalidPaginationToken');
    const range = await rejection(f.ec2.send(new DescribeRouteTablesCommand({ MaxResults: 1000 })));
    expect(range.name).toBe('InvalidParameterValue');
  });

  it('pages DescribeNetworkInterfaces', async () => {
    const f = await setup();
    for (let i = 0; i < 11; i++) f.world.launchInstance({ subnetId: f.subnetId });
    const sizes: number[] = [];
    for await (const page of paginateDescribeNetworkInterfaces(
      { client: f.ec2, pageSize: 5 },
      { Filters: [{ Name: 'vpc-id', Values: [f.vpcId] }] },
    )) {
      sizes.push(page.NetworkInterfaces?.length ?? 0);
    }
    expect(sizes).toEqual([5, 5, 2]);
  });

  it('filters route tables by vpc-id, tag:<key>, tag-key, route-table-id (with wildcards)', async () => {
    const f = await setup();
    const other = f.world.createVpc({ cidr: '10.1.0.0/16' });
    const t2 = f.world.createRouteTable({ vpcId: other.vpcId, tags: { 'routesync/cluster': 'c1' } });
    const t3 = f.world.createRouteTable({ vpcId: f.vpcId, tags: { 'routesync/cluster': 'c2' } });
    const ids = async (filters: Array<{ Name: string; Values: string[] }>) =>
      ((await f.ec2.send(new DescribeRouteTablesCommand({ Filters: filters }))).RouteTables ?? []).map((t) => t.RouteTableId).sort();

    expect(await ids([{ Name: 'vpc-id', Values: [f.vpcId] }, { Name: 'tag:routesync/cluster', Values: ['c1'] }])).toEqual([f.tableId]);
    expect(await ids([{ Name: 'tag:routesync/cluster', Values: ['c1'] }])).toEqual([f.tableId, t2.routeTableId].sort());
    expect(await ids([{ Name: 'tag:routesync/cluster', Values: ['c*'] }])).toEqual([f.tableId, t2.routeTableId, t3.routeTableId].sort());
    // Main tables (created with each VPC) carry no tags.
    expect(await ids([{ Name: 'tag-key', Values: ['routesync/cluster'] }])).toHaveLength(3);
    expect(await ids([{ Name: 'route-table-id', Values: [t3.routeTableId] }])).toEqual([t3.routeTableId]);
    expect(await ids([{ Name: 'association.main', Values: ['true'] }])).toEqual(
      [f.world.vpc(f.vpcId).mainRouteTableId, other.mainRouteTableId].sort(),
    );
  });

  it('filters network interfaces by IP (primary or secondary), vpc-id, network-interface-id and ids', async () => {
    const f = await setup();
    const other = f.world.createVpc({ cidr: '10.0.0.0/16' });
    const otherSubnet = f.world.createSubnet({ vpcId: other.vpcId, cidr: '10.0.1.0/24' });
    // The same private IP can exist once per VPC.
    const twin = f.world.launchInstance({ subnetId: otherSubnet.subnetId, enis: [{ privateIp: '10.0.1.10' }] });
    const sec = f.world.launchInstance({ subnetId: f.subnetId, enis: [{ privateIp: '10.0.1.60', secondaryIps: ['10.0.1.61'] }] });
    const enis = async (input: DescribeNetworkInterfacesCommandInput) =>
      ((await f.ec2.send(new DescribeNetworkInterfacesCommand(input))).NetworkInterfaces ?? []).map((e) => e.NetworkInterfaceId).sort();

    expect(await enis({ Filters: [{ Name: 'addresses.private-ip-address', Values: ['10.0.1.10'] }] })).toEqual(
      [f.eni, twin.networkInterfaceIds[0]].sort(),
    );
    expect(
      await enis({
        Filters: [
          { Name: 'addresses.private-ip-address', Values: ['10.0.1.10', '10.0.1.61'] },
          { Name: 'vpc-id', Values: [f.vpcId] },
        ],
      }),
    ).toEqual([f.eni, sec.networkInterfaceIds[0]].sort());
    expect(await enis({ Filters: [{ Name: 'network-interface-id', Values: [f.eni] }] })).toEqual([f.eni]);
    expect(await enis({ NetworkInterfaceIds: [f.eni] })).toEqual([f.eni]);
  });
});

describe('token buckets', () => {
  it('TokenBucket: capacity, per-second refill, time scale (fake clock)', () => {
    const clock = new ManualClock();
    let scale = 1;
    const bucket = new TokenBucket({ capacity: 3, refillPerSecond: 2 }, clock.now, () => scale);
    expect([bucket.tryTake(), bucket.tryTake(), bucket.tryTake(), bucket.tryTake()]).toEqual([true, true, true, false]);
    clock.advance(999);
    expect(bucket.tryTake()).toBe(false); // refills happen at whole seconds
    clock.advance(1);
    expect([bucket.tryTake(), bucket.tryTake(), bucket.tryTake()]).toEqual([true, true, false]);
    clock.advance(60_000);
    expect(bucket.available()).toBe(3); // never above capacity
    scale = 10;
    for (let i = 0; i < 3; i++) bucket.tryTake();
    clock.advance(100);
    expect(bucket.available()).toBe(2);
  });

  it('50 creates pass, the 51st is RequestLimitExceeded (503), 1 s later 5 more pass', async () => {
    const clock = new ManualClock(1_700_000_000_000);
    const f = await setup({ clock: clock.now, routeLimit: 1000 });
    const create = (i: number) =>
      f.ec2.send(
        new CreateRouteCommand({ RouteTableId: f.tableId, DestinationCidrBlock: `10.200.${i}.0/24`, NetworkInterfaceId: f.eni }),
      );
    for (let i = 0; i < 50; i++) await create(i);
    const throttled = await rejection(create(50));
    expect(throttled.name).toBe('RequestLimitExceeded');
    expect(httpStatus(throttled)).toBe(503);
    expect(classifyError(throttled).class).toBe('throttled');
    // Other actions have their own buckets.
    await f.ec2.send(new DeleteRouteCommand({ RouteTableId: f.tableId, DestinationCidrBlock: '10.200.0.0/24' }));
    await f.ec2.send(new DescribeRouteTablesCommand({ RouteTableIds: [f.tableId] }));
    clock.advance(1000);
    for (let i = 50; i < 55; i++) await create(i);
    expect((await rejection(create(55))).name).toBe('RequestLimitExceeded');
    const log = f.world.calls('CreateRoute');
    expect(log.map((c) => c.httpStatus)).toEqual([...Array<number>(50).fill(200), 503, 200, 200, 200, 200, 200, 503]);
    expect(log.filter((c) => c.fault === 'throttled')).toHaveLength(2);
    expect(f.world.routes(f.tableId)).toHaveLength(1 + 54); // throttled calls changed nothing
  });

  it('describe buckets: 100 filtered/paginated, 50 unfiltered; ModifyNetworkInterfaceAttribute 100', async () => {
    const clock = new ManualClock();
    const f = await setup({ clock: clock.now });
    for (let i = 0; i < 50; i++) await f.ec2.send(new DescribeRouteTablesCommand({}));
    expect((await rejection(f.ec2.send(new DescribeRouteTablesCommand({})))).name).toBe('RequestLimitExceeded');
    expect(f.world.throttle.available('DescribeRouteTables', 'describe')).toBe(100);
    for (let i = 0; i < 100; i++) await f.ec2.send(new DescribeRouteTablesCommand({ RouteTableIds: [f.tableId] }));
    expect((await rejection(f.ec2.send(new DescribeRouteTablesCommand({ RouteTableIds: [f.tableId] })))).name).toBe(
      'RequestLimitExceeded',
    );
    clock.advance(1000);
    expect(f.world.throttle.available('DescribeRouteTables', 'describe')).toBe(20);
    expect(f.world.throttle.available('DescribeRouteTables', 'describe-unfiltered')).toBe(10);
    expect(f.world.throttle.available('ModifyNetworkInterfaceAttribute', 'modify-network-interface')).toBe(100);
    f.world.setThrottling(false);
    for (let i = 0; i < 30; i++) await f.ec2.send(new DescribeRouteTablesCommand({}));
  });

  it('time scale 10 refills ten times faster', async () => {
    const clock = new ManualClock();
    const f = await setup({ clock: clock.now, timeScale: 10, routeLimit: 1000 });
    const create = (i: number) =>
      f.ec2.send(new CreateRouteCommand({ RouteTableId: f.tableId, DestinationCidrBlock: `10.201.${i}.0/24`, NetworkInterfaceId: f.eni }));
    for (let i = 0; i < 50; i++) await create(i);
    expect((await rejection(create(50))).name).toBe('RequestLimitExceeded');
    clock.advance(100);
    for (let i = 50; i < 55; i++) await create(i);
    expect((await rejection(create(55))).name).toBe('RequestLimitExceeded');
  });
});

describe('fault injection', () => {
  it('failNext fails the next N calls of one action with the given code and status', async () => {
    const f = await setup();
    f.world.failNext('CreateRoute', 'InternalError', 2);
    f.world.failNext('DeleteRoute', 'UnauthorizedOperation', 1, 403);
    const create = () =>
      f.ec2.send(new CreateRouteCommand({ RouteTableId: f.tableId, DestinationCidrBlock: '10.244.1.0/24', NetworkInterfaceId: f.eni }));
    const first = await rejection(create());
    expect(first.name).toBe('InternalError');
    expect(httpStatus(first)).toBe(500);
    expect(classifyError(first).class).toBe('transient');
    await f.ec2.send(new DescribeRouteTablesCommand({ RouteTableIds: [f.tableId] })); // other actions unaffected
    expect((await rejection(create())).name).toBe('InternalError');
    expect(f.world.route(f.tableId, '10.244.1.0/24')).toBeUndefined();
    await create();
    const denied = await rejection(f.ec2.send(new DeleteRouteCommand({ RouteTableId: f.tableId, DestinationCidrBlock: '10.244.1.0/24' })));
    expect(denied.name).toBe('UnauthorizedOperation');
    expect(httpStatus(denied)).toBe(403);
    expect(classifyError(denied).class).toBe('fatal');
    f.world.failNext('*', 'RequestLimitExceeded');
    const throttled = await rejection(f.ec2.send(new DescribeRouteTablesCommand({})));
    expect(httpStatus(throttled)).toBe(503);
    expect(f.world.calls().filter((c) => c.fault === 'injected').map((c) => c.errorCode)).toEqual([
      'InternalError',
      'InternalError',
      'UnauthorizedOperation',
      'RequestLimitExceeded',
    ]);
  });

  it('afterApply: the change is made but the client sees the error (a retry then meets RouteAlreadyExists)', async () => {
    const f = await setup();
    f.world.failNext('CreateRoute', 'Unavailable', 1, undefined, { afterApply: true });
    const create = () =>
      f.ec2.send(new CreateRouteCommand({ RouteTableId: f.tableId, DestinationCidrBlock: '10.244.1.0/24', NetworkInterfaceId: f.eni }));
    const err = await rejection(create());
    expect(err.name).toBe('Unavailable');
    expect(httpStatus(err)).toBe(503);
    expect(f.world.route(f.tableId, '10.244.1.0/24')?.networkInterfaceId).toBe(f.eni);
    expect((await rejection(create())).name).toBe('RouteAlreadyExists');
    expect(f.world.calls('CreateRoute')[0]).toMatchObject({ applied: true, fault: 'injected', httpStatus: 503 });
  });

  it('connection reset: the socket is destroyed, the SDK sees a transient network error', async () => {
    const f = await setup();
    f.world.resetConnectionNext('DescribeRouteTables');
    const err = await rejection(f.ec2.send(new DescribeRouteTablesCommand({})));
    expect(classifyError(err)).toMatchObject({ class: 'transient', code: 'ECONNRESET' });
    await f.ec2.send(new DescribeRouteTablesCommand({}));
    expect(f.world.calls('DescribeRouteTables').map((c) => c.httpStatus)).toEqual([0, 200]);
  });

  it('a seeded error rate gives the same faults for the same seed', async () => {
    const pattern = async (seed: number): Promise<string[]> => {
      const f = await setup({ throttling: false, seed, errorRate: 0.5 });
      const out: string[] = [];
      for (let i = 0; i < 20; i++) {
        try {
          await f.ec2.send(new DescribeRouteTablesCommand({}));
          out.push('ok');
        } catch (err) {
          out.push(`${(err as Error).name}:${String(httpStatus(err as Record<string, unknown>))}`);
        }
      }
      return out;
    };
    const a = await pattern(7);
    const b = await pattern(7);
    expect(a).toEqual(b);
    expect(a).toContain('ok');
    expect(a.some((s) => s === 'InternalError:500' || s === 'Unavailable:503')).toBe(true);
    expect(a.every((s) => ['ok', 'InternalError:500', 'Unavailable:503'].includes(s))).toBe(true);
  });

  it('added latency delays answers without changing them (and close() drops pending ones)', async () => {
    const f = await setup({ throttling: false, latencyMs: 20 });
    const out = await f.ec2.send(new DescribeRouteTablesCommand({ RouteTableIds: [f.tableId] }));
    expect(out.RouteTables).toHaveLength(1);
    f.world.setFaults({ latencyMs: 60_000 });
    const pending = f.ec2.send(new DescribeRouteTablesCommand({}));
    // Wait until the server holds the request, then close the simulator under it.
    await expect.poll(() => f.world.inFlight()).toBe(1);
    const settled = rejection(pending);
    await f.sim.close();
    const err = await settled;
    expect(classifyError(err).class).toBe('transient');
  });
});

describe('call log', () => {
  it('records seq, time, action, parsed params, user agent, status and error code', async () => {
    const clock = new ManualClock(5000);
    const f = await setup({ clock: clock.now, throttling: false });
    const ec2 = client(f.sim.url, 'routesync/9.9.9');
    await ec2.send(new CreateRouteCommand({ RouteTableId: f.tableId, DestinationCidrBlock: '10.244.1.0/24', NetworkInterfaceId: f.eni }));
    clock.advance(250);
    await rejection(ec2.send(new DeleteRouteCommand({ RouteTableId: f.tableId, DestinationCidrBlock: '10.244.9.0/24' })));
    await ec2.send(new DescribeRouteTablesCommand({ RouteTableIds: [f.tableId] }));
    const calls = f.world.calls();
    expect(calls.map((c) => c.seq)).toEqual([1, 2, 3]);
    expect(calls.map((c) => c.time)).toEqual([5000, 5250, 5250]);
    expect(calls[0]).toMatchObject({
      action: 'CreateRoute',
      params: { RouteTableId: f.tableId, DestinationCidrBlock: '10.244.1.0/24', NetworkInterfaceId: f.eni },
      httpStatus: 200,
      applied: true,
    });
    expect(calls[0]?.userAgent).toContain('routesync/9.9.9');
    expect(calls[0]?.amzUserAgent).toContain('routesync/9.9.9');
    expect(calls[1]).toMatchObject({ action: 'DeleteRoute', httpStatus: 400, errorCode: 'InvalidRoute.NotFound', applied: false });
    expect(f.world.mutatingCalls().map((c) => c.action)).toEqual(['CreateRoute', 'DeleteRoute']);
    expect(f.world.calls('DescribeRouteTables')).toHaveLength(1);
    f.world.clearCalls();
    expect(f.world.calls()).toEqual([]);
  });
});

describe('control API and standalone process', () => {
  it('shapes the world over HTTP under /_sim/', async () => {
    const sim = await startEc2Simulator({ throttling: false });
    open.push(sim);
    const call = async (method: string, ...args: unknown[]): Promise<unknown> => {
      const res = await fetch(`${sim.url}/_sim/${method}`, { method: 'POST', body: JSON.stringify(args) });
      const body = (await res.json()) as { result?: unknown; error?: string };
      if (res.status !== 200) throw new Error(body.error);
      return body.result;
    };
    const vpc = (await call('createVpc', { cidr: '10.0.0.0/16' })) as { vpcId: string };
    const subnet = (await call('createSubnet', { vpcId: vpc.vpcId, cidr: '10.0.1.0/24' })) as { subnetId: string };
    const table = (await call('createRouteTable', { vpcId: vpc.vpcId, tags: { 'routesync/cluster': 'x' } })) as { routeTableId: string };
    const instance = (await call('launchInstance', { subnetId: subnet.subnetId, enis: [{ privateIp: '10.0.1.5' }] })) as {
      networkInterfaceIds: string[];
    };
    await call('createRoute', table.routeTableId, { destinationCidrBlock: '10.9.0.0/24', networkInterfaceId: instance.networkInterfaceIds[0] });
    await call('failNext', 'CreateRoute', 'InternalError', 1);
    await expect(call('deleteRoute', table.routeTableId, '10.99.0.0/24')).rejects.toThrow(/no route with destination-cidr-block/);
    const routes = await fetch(`${sim.url}/_sim/routes?id=${table.routeTableId}`).then((r) => r.json());
    expect(routes).toMatchObject({ result: [{ gatewayId: 'local' }, { destinationCidrBlock: '10.9.0.0/24', state: 'active' }] });
    expect((await fetch(`${sim.url}/_sim/nope`)).status).toBe(404);
    const ec2 = client(sim.url);
    expect((await rejection(ec2.send(new CreateRouteCommand({ RouteTableId: table.routeTableId, DestinationCidrBlock: '10.8.0.0/24', NetworkInterfaceId: instance.networkInterfaceIds[0] ?? '' })))).name).toBe('InternalError');
  });

  it('main.ts runs standalone, prints its URL and serves a seeded demo world', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'test/sim/ec2/main.ts', '--port', '0', '--seed-demo'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const exited = once(child, 'exit');
    try {
      const lines = createInterface({ input: child.stdout });
      const iterator = lines[Symbol.asyncIterator]();
      const first = await iterator.next();
      const url = String(first.value);
      expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      const ec2 = client(url);
      const out = await ec2.send(
        new DescribeRouteTablesCommand({ Filters: [{ Name: 'tag:routesync/cluster', Values: ['routesync'] }] }),
      );
      expect(out.RouteTables).toHaveLength(1);
      expect(out.RouteTables?.[0]?.Routes?.map((r) => r.GatewayId ?? r.NatGatewayId)).toEqual([
        'local',
        'igw-0a1b2c3d4e5f60718',
        'nat-0a1b2c3d4e5f60718',
      ]);
      lines.close();
    } finally {
      child.kill('SIGTERM');
      await exited;
    }
  });
});
