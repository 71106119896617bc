/** A small, realistic world for demos and manual runs: one VPC, a tagged table, three nodes. */
import type { Ec2World } from './world.js';

export interface DemoWorld {
  readonly vpcId: string;
  readonly subnetIds: readonly string[];
  readonly routeTableIds: readonly string[];
  readonly clusterName: string;
  /** Node IP → ENI id. */
  readonly nodes: Readonly<Record<string, string>>;
}

/**
 * VPC 172.31.0.0/16 with two subnets, one route table tagged `routesync/cluster=<clusterName>`
 * (with a default route to an internet gateway and a NAT route, as real tables have), and three
 * instances: 172.31.14.97, 172.31.14.98 and 172.31.20.5, the last with a second ENI.
 */
export function seedDemo(world: Ec2World, clusterName = 'routesync'): DemoWorld {
  const vpc = world.createVpc({ cidr: '172.31.0.0/16' });
  const a = world.createSubnet({ vpcId: vpc.vpcId, cidr: '172.31.0.0/20', availabilityZone: `${world.region}a` });
  const b = world.createSubnet({ vpcId: vpc.vpcId, cidr: '172.31.16.0/20', availabilityZone: `${world.region}b` });
  const table = world.createRouteTable({
    vpcId: vpc.vpcId,
    tags: { Name: `${clusterName}-pods`, 'routesync/cluster': clusterName },
  });
  world.addForeignRoute(table.routeTableId, { destinationCidrBlock: '0.0.0.0/0', gatewayId: 'igw-0a1b2c3d4e5f60718' });
  world.addForeignRoute(table.routeTableId, { destinationCidrBlock: '192.168.0.0/16', natGatewayId: 'nat-0a1b2c3d4e5f60718' });
  const nodes: Record<string, string> = {};
  for (const [subnetId, enis] of [
    [a.subnetId, [{ privateIp: '172.31.14.97' }]],
    [a.subnetId, [{ privateIp: '172.31.14.98' }]],
    [b.subnetId, [{ privateIp: '172.31.20.5' }, { privateIp: '172.31.20.6' }]],
  ] as const) {
    const instance = world.launchInstance({ subnetId, enis });
    const eniId = instance.networkInterfaceIds[0];
    const ip = enis[0].privateIp;
    if (eniId !== undefined) nodes[ip] = eniId;
  }
  return {
    vpcId: vpc.vpcId,
    subnetIds: [a.subnetId, b.subnetId],
    routeTableIds: [table.routeTableId],
    clusterName,
    nodes,
  };
}
