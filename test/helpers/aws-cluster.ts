/**
 * A typical cluster for end-to-end tests: a VPC 172.31.0.0/16 in the EC2 simulator with one
 * route table tagged `routesync.io/cluster/<cluster>=owned`, N nodes (one instance and ENI each), and flannel's
 * Network 10.1.0.0/16 whose lease for node i is 10.1.i.0/24.
 */
import type { Etcd3 } from 'etcd3';
import { startEc2Simulator, type Ec2Simulator } from '../sim/ec2/server.js';
import type { Ec2WorldOptions, Ec2World } from '../sim/ec2/world.js';
import { putLease, putNetworkConfig, testLeaderKey } from './etcd.js';

export const NETWORK = '10.1.0.0/16';

export interface Node {
  readonly index: number;
  readonly ip: string;
  readonly subnet: string;
  readonly instanceId: string;
  readonly eniId: string;
}

export interface AwsCluster {
  readonly sim: Ec2Simulator;
  readonly world: Ec2World;
  readonly vpcId: string;
  readonly subnetId: string;
  readonly tableId: string;
  readonly clusterName: string;
  /** The simulator's route limit per table, passed to routesync as --route-limit unless `autoLimit`. */
  readonly routeLimit: number;
  /** No --route-limit: routesync reads the quota from the simulator's Service Quotas. */
  readonly autoLimit: boolean;
  readonly nodes: Node[];
  /** Adds one more node (instance + ENI); its lease subnet is 10.1.<index>.0/24. */
  addNode(options?: { sourceDestCheck?: boolean }): Node;
  /** The routes routesync could own: ENI/instance targets inside the Network, as `subnet → eni`. */
  flannelRoutes(tableId?: string): Map<string, string>;
  /** Its IPv6 routes inside fc00::/16 (a dual-stack cluster: dual-stack.ts), as `IPv6 subnet → eni`. */
  ipv6Routes(): Map<string, string>;
  close(): Promise<void>;
}

/** A dual-stack VPC: its IPv6 block, the nodes' subnet's, and node i's ENI address. */
export interface AwsIpv6Layout {
  readonly vpcCidr: string;
  readonly subnetCidr: string;
  nodeAddress(index: number): string;
}

export function nodeIp(index: number): string {
  return `172.31.${16 + Math.floor(index / 200)}.${10 + (index % 200)}`;
}

export function leaseSubnet(index: number): string {
  return `10.1.${index}.0/24`;
}

export async function startAwsCluster(options: {
  nodes: number;
  routeLimit?: number;
  /** Pass no --route-limit (routesync reads the simulator's quota). */
  autoLimit?: boolean;
  clusterName?: string;
  sim?: Ec2WorldOptions;
  ipv6?: AwsIpv6Layout;
}): Promise<AwsCluster> {
  const sim = await startEc2Simulator({ routeLimit: options.routeLimit ?? 50, ...options.sim });
  const world = sim.world;
  const { ipv6 } = options;
  const vpc = world.createVpc({ cidr: '172.31.0.0/16', ...(ipv6 !== undefined ? { ipv6Cidr: ipv6.vpcCidr } : {}) });
  const subnet = world.createSubnet({ vpcId: vpc.vpcId, cidr: '172.31.16.0/20', ...(ipv6 !== undefined ? { ipv6Cidr: ipv6.subnetCidr } : {}) });
  const table = world.createRouteTable({ vpcId: vpc.vpcId, tags: { [`routesync.io/cluster/${options.clusterName ?? 'routesync'}`]: 'owned' } });
  const nodes: Node[] = [];
  const addNode = (nodeOptions: { sourceDestCheck?: boolean } = {}): Node => {
    const index = nodes.length + 1;
    const ip = nodeIp(index);
    const instance = world.launchInstance({
      subnetId: subnet.subnetId,
      enis: [
        {
          privateIp: ip,
          ...(nodeOptions.sourceDestCheck !== undefined ? { sourceDestCheck: nodeOptions.sourceDestCheck } : {}),
          ...(ipv6 !== undefined ? { ipv6Addresses: [ipv6.nodeAddress(index)] } : {}),
        },
      ],
    });
    const node = { index, ip, subnet: leaseSubnet(index), instanceId: instance.instanceId, eniId: instance.networkInterfaceIds[0] ?? '' };
    nodes.push(node);
    return node;
  };
  for (let i = 0; i < options.nodes; i += 1) addNode();
  return {
    sim,
    world,
    vpcId: vpc.vpcId,
    subnetId: subnet.subnetId,
    tableId: table.routeTableId,
    clusterName: options.clusterName ?? 'routesync',
    routeLimit: options.routeLimit ?? 50,
    autoLimit: options.autoLimit ?? false,
    nodes,
    addNode,
    flannelRoutes: (tableId = table.routeTableId) => {
      const routes = new Map<string, string>();
      for (const route of world.routes(tableId)) {
        const target = route.networkInterfaceId ?? route.instanceId;
        if (route.destinationCidrBlock?.startsWith('10.1.') && target !== undefined) routes.set(route.destinationCidrBlock, target);
      }
      return routes;
    },
    ipv6Routes: () => {
      const routes = new Map<string, string>();
      for (const route of world.routes(table.routeTableId)) {
        const destination = route.destinationIpv6CidrBlock;
        if (destination?.startsWith('fc00:') === true && route.networkInterfaceId !== undefined) routes.set(destination, route.networkInterfaceId);
      }
      return routes;
    },
    close: () => sim.close(),
  };
}

/** Writes flannel's config (backend alloc) and one lease per node, in the given order (first = oldest). */
export async function writeFlannel(
  client: Etcd3,
  prefix: string,
  nodes: readonly Node[],
  options: { ttlSeconds?: number } = {},
): Promise<void> {
  await putNetworkConfig(client, prefix, { Network: NETWORK, SubnetLen: 24, Backend: { Type: 'alloc' } });
  for (const node of nodes) {
    await putLease(client, prefix, node.subnet, node.ip, options.ttlSeconds !== undefined ? { ttlSeconds: options.ttlSeconds } : {});
  }
}

/** The CLI flags that point routesync at this cluster. */
export function clusterArgs(cluster: AwsCluster, etcdEndpoint: string, prefix: string, extra: readonly string[] = []): string[] {
  // With HTTP on, /status gets a free port too: its default 127.0.0.1:9091 would clash between processes.
  const listen = !extra.includes('--listen') ? ['--listen', ''] : extra.includes('--status-listen') ? [] : ['--status-listen', '127.0.0.1:0'];
  return [
    '--provider', 'aws-vpc',
    '--etcd-endpoints', etcdEndpoint,
    '--etcd-prefix', prefix,
    '--vpc-id', cluster.vpcId,
    '--aws-region', 'us-east-1',
    '--aws-endpoint', cluster.sim.url,
    ...listen,
    '--log-level', 'info',
    '--leader-election-key', testLeaderKey(prefix),
    '--cluster-name', cluster.clusterName,
    ...(cluster.autoLimit ? [] : ['--route-limit', String(cluster.routeLimit)]),
    ...extra,
  ];
}
