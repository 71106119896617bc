/** aws-vpc on the EC2 simulator in the conformance suite: routes to ENIs, ReplaceRoute, SourceDestCheck. */
import { createAwsVpcProvider } from '../../providers/aws-vpc/index.js';
import { startEc2Simulator } from '../sim/ec2/server.js';
import type { ConformanceHarness, ConformanceWorld, WorldSpec } from './suite.js';

// As src/cli.ts does: the pinned SDK supports Node 20, its multi-line notice is noise here.
process.env['AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED'] ??= 'true';

export const awsVpcHarness: ConformanceHarness = {
  name: 'aws-vpc (EC2 simulator)',
  rules: { callsPerReplace: 1, forwardingOff: 'fixed', baselineCounted: 1 },
  createWorld: async (spec: WorldSpec): Promise<ConformanceWorld> => {
    const sim = await startEc2Simulator({ throttling: false, routeLimit: spec.limit });
    const world = sim.world;
    // Dual-stack: each ENI holds an address of each family (https://docs.aws.amazon.com/vpc/latest/userguide/vpc-cidr-blocks.html).
    const vpc = world.createVpc({ cidr: '172.31.0.0/16', ipv6Cidr: '2600:1f18:aa00::/56' });
    const subnet = world.createSubnet({ vpcId: vpc.vpcId, cidr: '172.31.16.0/20', ipv6Cidr: '2600:1f18:aa00:10::/64' });
    const table = world.createRouteTable({ vpcId: vpc.vpcId, tags: { 'routesync/cluster': 'conformance' } });
    const ip4 = (i: number): string => `172.31.16.${10 + i}`;
    const ip6 = (i: number): string => `2600:1f18:aa00:10::${(10 + i).toString(16)}`;
    const ip = spec.family === 'ipv6' ? ip6 : ip4;
    const enis = new Map<number, string>();
    const instances = new Map<number, string>();
    for (let i = 1; i <= spec.nodes; i += 1) {
      const instance = world.launchInstance({
        subnetId: subnet.subnetId,
        enis: [{ privateIp: ip4(i), ipv6Addresses: [ip6(i)], sourceDestCheck: spec.forwardingOff?.includes(i) === true }],
      });
      enis.set(i, instance.networkInterfaceIds[0] ?? '');
      instances.set(i, instance.instanceId);
    }
    const provider = createAwsVpcProvider({
      region: 'us-east-1',
      endpoint: sim.url,
      routeTableIds: [],
      vpcId: vpc.vpcId,
      clusterName: 'conformance',
      routeLimit: spec.limit,
      credentials: { accessKeyId: 'conformance', secretAccessKey: 'conformance' },
    });
    const isOwned = (r: { origin: string; networkInterfaceId?: string; instanceId?: string; destinationCidrBlock?: string; destinationIpv6CidrBlock?: string }): boolean =>
      r.origin === 'CreateRoute' &&
      (r.networkInterfaceId !== undefined || r.instanceId !== undefined) &&
      (r.destinationCidrBlock?.startsWith('10.1.') === true || r.destinationIpv6CidrBlock?.startsWith('fc00:') === true);
    let foreignCount = 0;
    return {
      provider,
      nodeIp: ip,
      targetOf: (i) => enis.get(i) ?? '',
      ownedRoutes: async () =>
        new Map(
          world
            .routes(table.routeTableId)
            .filter(isOwned)
            .map((r) => [r.destinationCidrBlock ?? r.destinationIpv6CidrBlock ?? '', r.networkInterfaceId ?? r.instanceId ?? '']),
        ),
      foreignSnapshot: async () => JSON.stringify(world.routes(table.routeTableId).filter((r) => !isOwned(r))),
      addForeignRoute: async (destination) => {
        foreignCount += 1;
        const gatewayId = `igw-0a1b2c3d4e5f6071${foreignCount}`;
        world.addForeignRoute(table.routeTableId, destination.includes(':') ? { destinationIpv6CidrBlock: destination, gatewayId } : { destinationCidrBlock: destination, gatewayId });
      },
      removeNode: async (i) => {
        world.terminateInstance(instances.get(i) ?? '');
      },
      mutatingCalls: async () => world.mutatingCalls().length,
      resetCalls: async () => world.clearCalls(),
      failNextCreate: async () => world.failNext('CreateRoute', 'InvalidNetworkInterfaceID.NotFound', 1),
      close: () => sim.close(),
    };
  },
};
