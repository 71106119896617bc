/**
 * The EC2 simulator's managed prefix lists, seen through the real @aws-sdk/client-ec2:
 * DescribeManagedPrefixLists returns MaxEntries, and a route to a list weighs its MaxEntries toward
 * the table's "routes per route table" quota, IPv4 and IPv6 counted apart.
 */
import { CreateRouteCommand, DescribeManagedPrefixListsCommand, DescribeRouteTablesCommand, EC2Client } from '@aws-sdk/client-ec2';
import { afterEach, describe, expect, it } from 'vitest';
import { classifyError } from '../../src/errors.js';
import { startEc2Simulator, type Ec2Simulator } from './ec2/index.js';

let sim: Ec2Simulator | undefined;
let ec2: EC2Client | undefined;
afterEach(async () => {
  ec2?.destroy();
  await sim?.close();
  sim = undefined;
});

async function setup() {
  sim = await startEc2Simulator({ throttling: false, routeLimit: 25 });
  ec2 = new EC2Client({ endpoint: sim.url, region: 'us-east-1', maxAttempts: 1, credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
  const world = sim.world;
  const vpc = world.createVpc({ cidr: '172.31.0.0/16' });
  const subnet = world.createSubnet({ vpcId: vpc.vpcId, cidr: '172.31.16.0/20' });
  const table = world.createRouteTable({ vpcId: vpc.vpcId });
  const node = world.launchInstance({ subnetId: subnet.subnetId, enis: [{ privateIp: '172.31.16.10' }] });
  return { world, ec2, table: table.routeTableId, eni: node.networkInterfaceIds[0] ?? '' };
}

describe('EC2 simulator: managed prefix lists', () => {
  it('DescribeManagedPrefixLists answers MaxEntries and the address family, filtered and paginated', async () => {
    const { world, ec2 } = await setup();
    const a = world.createManagedPrefixList({ prefixListName: 'offices', maxEntries: 20 });
    const b = world.createManagedPrefixList({ prefixListName: 'offices-v6', maxEntries: 5, addressFamily: 'IPv6' });
    world.createManagedPrefixList({ prefixListName: 'other', maxEntries: 3 });
    const out = await ec2.send(
      new DescribeManagedPrefixListsCommand({ Filters: [{ Name: 'prefix-list-id', Values: [a.prefixListId, b.prefixListId] }], MaxResults: 1 }),
    );
    expect(out.PrefixLists).toEqual([expect.objectContaining({ PrefixListId: a.prefixListId, MaxEntries: 20, AddressFamily: 'IPv4', PrefixListName: 'offices' })]);
    const next = await ec2.send(
      new DescribeManagedPrefixListsCommand({ Filters: [{ Name: 'prefix-list-id', Values: [a.prefixListId, b.prefixListId] }], MaxResults: 1, NextToken: out.NextToken }),
    );
    expect(next.PrefixLists).toEqual([expect.objectContaining({ PrefixListId: b.prefixListId, MaxEntries: 5, AddressFamily: 'IPv6' })]);
    expect(next.NextToken).toBeUndefined();
    const missing = await ec2.send(new DescribeManagedPrefixListsCommand({ PrefixListIds: ['pl-0ffffffffffffffff'] })).catch((e: unknown) => e);
    expect(classifyError(missing).code).toBe('InvalidPrefixListID.NotFound');
  });

  it('a prefix-list route weighs its MaxEntries toward the IPv4 quota; CreateRoute beyond it is RouteLimitExceeded', async () => {
    const { world, ec2, table, eni } = await setup();
    const list = world.createManagedPrefixList({ prefixListName: 'offices', maxEntries: 20 });
    world.addForeignRoute(table, { destinationPrefixListId: list.prefixListId, gatewayId: 'igw-0123456789abcdef0' });
    // local (1) + the list (20) of 25.
    expect(world.countedRoutesOf(table)).toBe(21);
    const listed = await ec2.send(new DescribeRouteTablesCommand({ RouteTableIds: [table] }));
    expect(listed.RouteTables?.[0]?.Routes).toContainEqual(expect.objectContaining({ DestinationPrefixListId: list.prefixListId, GatewayId: 'igw-0123456789abcdef0' }));
    for (let i = 1; i <= 4; i++) {
      await ec2.send(new CreateRouteCommand({ RouteTableId: table, DestinationCidrBlock: `10.1.${i}.0/24`, NetworkInterfaceId: eni }));
    }
    const refused = await ec2.send(new CreateRouteCommand({ RouteTableId: table, DestinationCidrBlock: '10.1.5.0/24', NetworkInterfaceId: eni })).catch((e: unknown) => e);
    expect(classifyError(refused).code).toBe('RouteLimitExceeded');
  });

  it('IPv6 routes and routes to IPv6 lists count toward a quota of their own', async () => {
    const { world, table } = await setup();
    const v6 = world.createManagedPrefixList({ prefixListName: 'v6', maxEntries: 20, addressFamily: 'IPv6' });
    world.addForeignRoute(table, { destinationIpv6CidrBlock: '::/0', gatewayId: 'igw-0123456789abcdef0', checkLimit: true });
    world.addForeignRoute(table, { destinationPrefixListId: v6.prefixListId, gatewayId: 'igw-0123456789abcdef0', checkLimit: true });
    expect(world.countedRoutesOf(table)).toBe(1);
    // The IPv6 quota (25) holds 21 now: a list of 5 does not fit, and is refused as AWS refuses it.
    const big = world.createManagedPrefixList({ prefixListName: 'v6-big', maxEntries: 5, addressFamily: 'IPv6' });
    expect(() => world.addForeignRoute(table, { destinationPrefixListId: big.prefixListId, gatewayId: 'igw-0123456789abcdef0', checkLimit: true })).toThrow(
      expect.objectContaining({ code: 'RouteLimitExceeded' }),
    );
    // … while the IPv4 quota still has room for it.
    const v4 = world.createManagedPrefixList({ prefixListName: 'v4', maxEntries: 24 });
    world.addForeignRoute(table, { destinationPrefixListId: v4.prefixListId, gatewayId: 'igw-0123456789abcdef0', checkLimit: true });
    expect(world.countedRoutesOf(table)).toBe(25);
  });
});
