/**
 * Every describe the aws-vpc provider makes is paginated (MaxResults, following NextToken) and
 * within EC2's 200 filter values, read from the EC2 simulator's call log, on an account "large"
 * enough that the simulator refuses an unpaginated DescribeNetworkInterfaces with a non-indexed
 * filter (test/sim/ec2/describe-rules.ts).
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createAwsVpcProvider } from '../../providers/aws-vpc/index.js';
import type { RouteProvider } from '../../providers/provider.js';
import { startEc2Simulator, type Ec2Call, type Ec2Simulator } from '../sim/ec2/index.js';

const signal = new AbortController().signal;
let sim: Ec2Simulator | undefined;
let provider: RouteProvider | undefined;

beforeEach(() => {
  vi.stubEnv('AWS_ACCESS_KEY_ID', 'test');
  vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'test');
  vi.stubEnv('AWS_SESSION_TOKEN', undefined);
  vi.stubEnv('AWS_PROFILE', undefined);
});

afterEach(async () => {
  await provider?.close();
  await sim?.close();
  vi.unstubAllEnvs();
});

function filterValues(call: Ec2Call): number {
  return Object.keys(call.params).filter((k) => /^Filter\.\d+\.Value\.\d+$/.test(k)).length;
}

describe('aws-vpc: every describe is paginated', () => {
  it('lists tables by id and by tag, prefix lists, and ENIs by IP and VPC-wide, all with MaxResults', async () => {
    sim = await startEc2Simulator({ throttling: false, largeAccountEnis: 10 });
    const world = sim.world;
    const vpc = world.createVpc({ cidr: '10.0.0.0/16' });
    const subnet = world.createSubnet({ vpcId: vpc.vpcId, cidr: '10.0.0.0/20' });
    const table = world.createRouteTable({ vpcId: vpc.vpcId, tags: { 'routesync/cluster': 'c1' } });
    const list = world.createManagedPrefixList({ prefixListName: 'offices', maxEntries: 20 });
    world.addForeignRoute(table.routeTableId, { destinationPrefixListId: list.prefixListId, gatewayId: 'igw-0aaaaaaaaaaaaaaa1' });
    const ips = Array.from({ length: 250 }, (_, i) => `10.0.${1 + Math.floor(i / 200)}.${10 + (i % 200)}`);
    for (const ip of ips) world.launchInstance({ subnetId: subnet.subnetId, enis: [{ privateIp: ip }] });

    const base = { region: 'us-east-1', endpoint: sim.url, clusterName: 'c1', routeLimit: 50, rateLimits: false as const };
    // By id: one IP (an IP-filtered lookup), then 250 (a VPC-wide listing beats two batches).
    provider = createAwsVpcProvider({ ...base, routeTableIds: [table.routeTableId] });
    await provider.listTables(signal);
    expect((await provider.resolveNodes([ips[0] ?? ''], signal)).get(ips[0] ?? '')?.status).toBe('found');
    const all = await provider.resolveNodes(ips, signal);
    expect([...all.values()].every((r) => r.status === 'found')).toBe(true);
    await provider.close();
    // By tag, with IP-filtered batches of 200 (the VPC is unknown before the first listing).
    provider = createAwsVpcProvider({ ...base, routeTableIds: [], vpcId: vpc.vpcId });
    const batched = await provider.resolveNodes(ips, signal);
    expect([...batched.values()].every((r) => r.status === 'found')).toBe(true);
    await provider.listTables(signal);

    const describes = world.calls().filter((c) => c.action.startsWith('Describe'));
    expect(new Set(describes.map((c) => c.action))).toEqual(new Set(['DescribeRouteTables', 'DescribeNetworkInterfaces', 'DescribeManagedPrefixLists']));
    // Both ways of looking ENIs up were taken.
    const eniFilters = new Set(describes.filter((c) => c.action === 'DescribeNetworkInterfaces').map((c) => c.params['Filter.1.Name']));
    expect(eniFilters).toEqual(new Set(['addresses.private-ip-address', 'vpc-id']));
    expect(describes.filter((c) => c.params['MaxResults'] === undefined).map((c) => c.action)).toEqual([]);
    expect(describes.filter((c) => c.httpStatus !== 200).map((c) => c.errorCode)).toEqual([]);
    expect(Math.max(...describes.map(filterValues))).toBeLessThanOrEqual(200);
    // The large-account rule is armed: the same IP lookup unpaginated would have been refused.
    expect(world.networkInterfaceCount()).toBeGreaterThan(world.largeAccountEnis);
  });
});
