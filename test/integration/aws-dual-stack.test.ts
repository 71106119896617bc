/**
 * The aws-vpc provider's IPv6 routes against the EC2 simulator: ENIs found by their IPv6 address
 * (`ipv6-addresses.ipv6-address`), CreateRoute/ReplaceRoute/DeleteRoute with
 * DestinationIpv6CidrBlock, IPv6 routes listed with routesync's marks, and the routes-per-table
 * quota counted for each family apart.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createAwsVpcProvider } from '../../providers/aws-vpc/index.js';
import type { RouteProvider } from '../../providers/provider.js';
import { classifyError } from '../../src/errors.js';
import { startEc2Simulator, type Ec2Simulator } from '../sim/ec2/index.js';

const signal = new AbortController().signal;
let sim: Ec2Simulator;
let provider: RouteProvider;
let tableId: string;
let subnetId: string;

beforeEach(async () => {
  vi.stubEnv('AWS_ACCESS_KEY_ID', 'test');
  vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'test');
  sim = await startEc2Simulator({ throttling: false });
  const vpc = sim.world.createVpc({ cidr: '10.0.0.0/16', ipv6Cidr: '2600:1f18:aa00::/56' });
  subnetId = sim.world.createSubnet({ vpcId: vpc.vpcId, cidr: '10.0.0.0/20', ipv6Cidr: '2600:1f18:aa00:1::/64' }).subnetId;
  tableId = sim.world.createRouteTable({ vpcId: vpc.vpcId }).routeTableId;
  sim.world.setRouteLimit(3, tableId);
  provider = createAwsVpcProvider({ region: 'us-east-1', endpoint: sim.url, routeTableIds: [tableId], clusterName: 'c1', routeLimit: 3, userAgentSuffix: 'test' });
});

afterEach(async () => {
  await provider.close();
  await sim.close();
  vi.unstubAllEnvs();
});

function launch(v4: string, v6: string | undefined): string {
  const instance = sim.world.launchInstance({ subnetId, enis: [{ privateIp: v4, ...(v6 === undefined ? {} : { ipv6Addresses: [v6] }) }] });
  return instance.networkInterfaceIds[0] ?? '';
}

async function failure(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (err) {
    return classifyError(err).code;
  }
  return 'none';
}

describe('aws-vpc, IPv6 routes', () => {
  it('finds an ENI by its IPv6 address with the ipv6-addresses filter, one call per family', async () => {
    const eni = launch('10.0.0.10', '2600:1f18:aa00:1::a');
    const answers = await provider.resolveNodes(['10.0.0.10', '2600:1f18:aa00:1::a', '2600:1f18:aa00:1::b'], signal);
    expect(answers.get('10.0.0.10')).toMatchObject({ status: 'found', target: eni });
    expect(answers.get('2600:1f18:aa00:1::a')).toMatchObject({ status: 'found', target: eni, forwarding: 'fixable' });
    expect(answers.get('2600:1f18:aa00:1::b')).toEqual({ status: 'not-found' });
    const filters = sim.world.calls('DescribeNetworkInterfaces').map((c) => c.params['Filter.1.Name']);
    expect(filters.sort()).toEqual(['addresses.private-ip-address', 'ipv6-addresses.ipv6-address']);
  });

  it('creates, replaces and deletes an IPv6 route with DestinationIpv6CidrBlock, and lists it as routesync\'s', async () => {
    const a = launch('10.0.0.10', '2600:1f18:aa00:1::a');
    const b = launch('10.0.0.11', '2600:1f18:aa00:1::b');
    const destination = 'fc00:0:0:1::/64';
    await provider.apply({ kind: 'create', table: tableId, destination, target: a, nodeIp: '2600:1f18:aa00:1::a' }, signal);
    expect(sim.world.calls('CreateRoute')[0]?.params).toMatchObject({ DestinationIpv6CidrBlock: destination, NetworkInterfaceId: a });
    expect(sim.world.calls('CreateRoute')[0]?.params.DestinationCidrBlock).toBeUndefined();
    const [table] = await provider.listTables(signal);
    expect(table?.routes.find((r) => r.destination === destination)).toMatchObject({
      family: 'ipv6',
      target: a,
      bearsOwnerMarks: true,
      inManagedSpace: true,
      origin: 'created',
    });
    await provider.apply({ kind: 'replace', table: tableId, destination, target: b, previousTarget: a, nodeIp: '2600:1f18:aa00:1::b' }, signal);
    expect(sim.world.route(tableId, destination)?.networkInterfaceId).toBe(b);
    await provider.apply({ kind: 'delete', table: tableId, destination, previousTarget: b, reason: 'no-lease' }, signal);
    expect(sim.world.route(tableId, destination)).toBeUndefined();
    expect(sim.world.calls('DeleteRoute')[0]?.params).toMatchObject({ DestinationIpv6CidrBlock: destination });
    // A delete of a route already gone counts as done, for IPv6 as for IPv4.
    await provider.apply({ kind: 'delete', table: tableId, destination, previousTarget: b, reason: 'no-lease' }, signal);
  });

  it('counts the routes-per-table quota for each family apart', async () => {
    const eni = launch('10.0.0.10', '2600:1f18:aa00:1::a');
    // IPv4: local + 2 = 3 (full). IPv6: the VPC's IPv6 local route + 2 = 3 (full).
    for (const n of [1, 2]) {
      await provider.apply({ kind: 'create', table: tableId, destination: `10.244.${n}.0/24`, target: eni, nodeIp: '10.0.0.10' }, signal);
      await provider.apply({ kind: 'create', table: tableId, destination: `fc00:0:0:${n}::/64`, target: eni, nodeIp: '2600:1f18:aa00:1::a' }, signal);
    }
    expect(await failure(provider.apply({ kind: 'create', table: tableId, destination: '10.244.3.0/24', target: eni, nodeIp: '10.0.0.10' }, signal))).toBe('RouteLimitExceeded');
    expect(await failure(provider.apply({ kind: 'create', table: tableId, destination: 'fc00:0:0:3::/64', target: eni, nodeIp: '2600:1f18:aa00:1::a' }, signal))).toBe('RouteLimitExceeded');
    expect(sim.world.countedRoutesOf(tableId, 'IPv4')).toBe(3);
    expect(sim.world.countedRoutesOf(tableId, 'IPv6')).toBe(3);
    const [table] = await provider.listTables(signal);
    expect(table).toMatchObject({ limit: 3, ipv6Limit: 3 });
  });

  it('refuses a route with both destinations, and an IPv6 route to an ENI of another VPC, as EC2 does', async () => {
    const eni = launch('10.0.0.10', '2600:1f18:aa00:1::a');
    expect(() => sim.world.createRoute(tableId, { destinationCidrBlock: '10.244.1.0/24', destinationIpv6CidrBlock: 'fc00::/64', networkInterfaceId: eni })).toThrow(
      expect.objectContaining({ code: 'InvalidParameterCombination' }),
    );
    const other = sim.world.createVpc({ cidr: '10.1.0.0/16', ipv6Cidr: '2600:1f18:bb00::/56' });
    const otherSubnet = sim.world.createSubnet({ vpcId: other.vpcId, cidr: '10.1.0.0/20', ipv6Cidr: '2600:1f18:bb00:1::/64' });
    const stranger = sim.world.launchInstance({ subnetId: otherSubnet.subnetId, enis: [{ ipv6Addresses: ['2600:1f18:bb00:1::5'] }] });
    expect(await failure(provider.apply({ kind: 'create', table: tableId, destination: 'fc00::/64', target: stranger.networkInterfaceIds[0] ?? '', nodeIp: '2600:1f18:bb00:1::5' }, signal))).toBe(
      'InvalidParameterValue',
    );
  });
});
