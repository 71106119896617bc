/**
 * The EC2 simulator's stopped instances, seen through the real @aws-sdk/client-ec2: routes to a
 * stopped instance's ENI are blackhole while the ENI stays attached with the same id, and active
 * again once it starts.
 */
import { DescribeNetworkInterfacesCommand, DescribeRouteTablesCommand, EC2Client } from '@aws-sdk/client-ec2';
import { afterEach, describe, expect, it } from 'vitest';
import { startEc2Simulator, type Ec2Simulator } from './ec2/index.js';

let sim: Ec2Simulator | undefined;
afterEach(async () => {
  await sim?.close();
  sim = undefined;
});

describe('EC2 simulator: stop and start an instance', () => {
  it('stopping turns its routes blackhole and keeps the ENI attached; starting makes them active again', async () => {
    sim = await startEc2Simulator({ throttling: false });
    const world = sim.world;
    const vpc = world.createVpc({ cidr: '172.31.0.0/16' });
    const subnet = world.createSubnet({ vpcId: vpc.vpcId, cidr: '172.31.16.0/20' });
    const table = world.createRouteTable({ vpcId: vpc.vpcId });
    const node = world.launchInstance({ subnetId: subnet.subnetId, enis: [{ privateIp: '172.31.16.10' }] });
    const other = world.launchInstance({ subnetId: subnet.subnetId, enis: [{ privateIp: '172.31.16.11' }] });
    const eni = node.networkInterfaceIds[0] ?? '';
    world.createRoute(table.routeTableId, { destinationCidrBlock: '10.1.1.0/24', networkInterfaceId: eni });
    world.createRoute(table.routeTableId, { destinationCidrBlock: '10.1.2.0/24', networkInterfaceId: other.networkInterfaceIds[0] ?? '' });
    const ec2 = new EC2Client({ endpoint: sim.url, region: 'us-east-1', maxAttempts: 1, credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
    const routeOf = async (destination: string) => {
      const out = await ec2.send(new DescribeRouteTablesCommand({ RouteTableIds: [table.routeTableId] }));
      return out.RouteTables?.[0]?.Routes?.find((r) => r.DestinationCidrBlock === destination);
    };
    try {
      world.stopInstance(node.instanceId);
      expect(world.instance(node.instanceId).state).toBe('stopped');
      expect(await routeOf('10.1.1.0/24')).toMatchObject({ State: 'blackhole', NetworkInterfaceId: eni, InstanceId: node.instanceId });
      expect((await routeOf('10.1.2.0/24'))?.State).toBe('active');
      const enis = await ec2.send(new DescribeNetworkInterfacesCommand({ Filters: [{ Name: 'addresses.private-ip-address', Values: ['172.31.16.10'] }] }));
      expect(enis.NetworkInterfaces?.map((n) => [n.NetworkInterfaceId, n.Status, n.Attachment?.InstanceId])).toEqual([[eni, 'in-use', node.instanceId]]);

      world.startInstance(node.instanceId);
      expect(await routeOf('10.1.1.0/24')).toMatchObject({ State: 'active', NetworkInterfaceId: eni });
      expect(() => world.stopInstance('i-0ffffffffffffffff')).toThrow(/does not exist/);
    } finally {
      ec2.destroy();
    }
  });
});
