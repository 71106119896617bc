/**
 * Benchmark worlds in the EC2 simulator: a VPC, N nodes (one instance and ENI each), T route tables
 * tagged for the cluster, and flannel's leases for the nodes in etcd. Every strategy of a scenario
 * gets a fresh, identical world (its own simulator, so its own token buckets).
 */
import type { Etcd3 } from 'etcd3';
import { startEc2Simulator, type Ec2Simulator, type Ec2World } from '../../test/sim/ec2/index.js';
import { putNetworkConfig, putLease } from '../../test/helpers/etcd.js';

/** flannel's Network for the benchmark: room for 65,536 /24 leases. */
export const NETWORK = '10.0.0.0/8';
export const CLUSTER_TAG = 'routesync/cluster';

export interface BenchNode {
  readonly index: number;
  readonly ip: string;
  /** The node's flannel lease. */
  readonly subnet: string;
  readonly eni: string;
  readonly instanceId: string;
}

export interface AwsWorld {
  readonly sim: Ec2Simulator;
  readonly world: Ec2World;
  readonly vpcId: string;
  readonly subnetId: string;
  readonly tables: readonly string[];
  readonly nodes: BenchNode[];
  readonly clusterName: string;
  addNode(options?: { sourceDestCheck?: boolean }): BenchNode;
  /** Routes (origin CreateRoute, ENI target) in all managed tables. */
  flannelRoutes(): number;
  close(): Promise<void>;
}

export interface AwsWorldOptions {
  readonly nodes: number;
  readonly tables: number;
  readonly routeLimit: number;
  readonly timeScale: number;
  readonly clusterName: string;
  /** New instances have SourceDestCheck on (AWS's default); false pretends it was fixed already. */
  readonly sourceDestCheck: boolean;
  /** Routes already in place for the first `preseed` nodes in every table (a steady state). */
  readonly preseed?: number;
  /** Simulated latency of every EC2 call, ms of cloud time (divided by the time scale). */
  readonly latencyMs?: number;
}

export function nodeIp(index: number): string {
  // 172.31.64.0/18; skip the first addresses of the subnet (AWS reserves 4).
  const host = 10 + index;
  return `172.31.${64 + Math.floor(host / 256)}.${host % 256}`;
}

export function leaseSubnet(index: number): string {
  const n = index + 1;
  return `10.${Math.floor(n / 256) % 256}.${n % 256}.0/24`;
}

export async function buildAwsWorld(options: AwsWorldOptions): Promise<AwsWorld> {
  const sim = await startEc2Simulator({
    routeLimit: options.routeLimit,
    timeScale: options.timeScale,
    throttling: true,
    ...(options.latencyMs !== undefined ? { latencyMs: options.latencyMs } : {}),
  });
  const world = sim.world;
  const vpc = world.createVpc({ cidr: '172.31.0.0/16' });
  const subnet = world.createSubnet({ vpcId: vpc.vpcId, cidr: '172.31.64.0/18' });
  const tables = Array.from({ length: options.tables }, () =>
    world.createRouteTable({ vpcId: vpc.vpcId, tags: { [CLUSTER_TAG]: options.clusterName } }).routeTableId,
  );
  const nodes: BenchNode[] = [];
  const addNode = (nodeOptions: { sourceDestCheck?: boolean } = {}): BenchNode => {
    const index = nodes.length;
    const ip = nodeIp(index);
    const instance = world.launchInstance({
      subnetId: subnet.subnetId,
      enis: [{ privateIp: ip, sourceDestCheck: nodeOptions.sourceDestCheck ?? options.sourceDestCheck }],
    });
    const node: BenchNode = { index, ip, subnet: leaseSubnet(index), eni: instance.networkInterfaceIds[0] ?? '', instanceId: instance.instanceId };
    nodes.push(node);
    return node;
  };
  for (let i = 0; i < options.nodes; i += 1) addNode();
  for (const node of nodes.slice(0, options.preseed ?? 0)) {
    for (const table of tables) world.createRoute(table, { destinationCidrBlock: node.subnet, networkInterfaceId: node.eni });
  }
  return {
    sim,
    world,
    vpcId: vpc.vpcId,
    subnetId: subnet.subnetId,
    tables,
    nodes,
    clusterName: options.clusterName,
    addNode,
    flannelRoutes: () => {
      let count = 0;
      for (const table of tables) {
        // countedRoutesOf counts the local route too; nothing else is in these tables.
        count += world.countedRoutesOf(table) - 1;
      }
      return count;
    },
    close: () => sim.close(),
  };
}

/** Writes flannel's config and one lease per node (oldest first), `batch` writes at a time. */
export async function writeLeases(client: Etcd3, prefix: string, nodes: readonly BenchNode[], batch = 64): Promise<void> {
  await putNetworkConfig(client, prefix, { Network: NETWORK, SubnetLen: 24, Backend: { Type: 'alloc' } });
  for (let start = 0; start < nodes.length; start += batch) {
    await Promise.all(nodes.slice(start, start + batch).map((node) => putLease(client, prefix, node.subnet, node.ip)));
  }
}
