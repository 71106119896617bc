/**
 * Dual-stack clusters for end-to-end tests. AWS: the usual VPC (aws-cluster.ts's, with its ipv6 layout) with an IPv6 block
 * 2600:1f18:aa00::/56, its subnet 2600:1f18:aa00:10::/64, each node's ENI holding
 * 2600:1f18:aa00:10::<i>. GCE: nodes whose interface has the IPv6 address fd20::<i> (or none: an
 * IPV4_ONLY instance). flannel's IPv6Network is fc00::/48; node i's lease is
 * `10.1.i.0-24&fc00:0:0:<i>::-64` (IPv6-only: `0.0.0.0-0&fc00:0:0:<i>::-64`).
 */
import type { Etcd3 } from 'etcd3';
import { NETWORK, leaseSubnet, startAwsCluster, type AwsCluster } from './aws-cluster.js';
import { putLease, putNetworkConfig } from './etcd.js';
import { startGceCluster, type GceCluster, type GceNode } from './gce-cluster.js';

export const IPV6_NETWORK = 'fc00::/48';

export const ipv6Subnet = (index: number): string => `fc00:0:0:${index.toString(16)}::/64`;
export const awsNodeIpv6 = (index: number): string => `2600:1f18:aa00:10::${index.toString(16)}`;
export const gceNodeIpv6 = (index: number): string => `fd20::${index.toString(16)}`;

/** The usual AWS cluster (aws-cluster.ts), dual-stack: every node's ENI holds an IPv6 address. */
export function startDualStackAwsCluster(options: { nodes: number; routeLimit: number }): Promise<AwsCluster> {
  return startAwsCluster({ ...options, ipv6: { vpcCidr: '2600:1f18:aa00::/56', subnetCidr: '2600:1f18:aa00:10::/64', nodeAddress: awsNodeIpv6 } });
}

/** A GCE cluster whose nodes are dual-stack unless listed in `ipv4Only` (1-based indexes). */
export async function startDualStackGceCluster(options: { nodes: number; ipv4Only?: readonly number[] }): Promise<GceCluster> {
  const cluster = await startGceCluster({ nodes: 0 });
  for (let index = 1; index <= options.nodes; index += 1) {
    const ipv4Only = options.ipv4Only?.includes(index) ?? false;
    const zone = index % 2 === 0 ? 'us-central1-a' : 'us-central1-b';
    const name = `node-${index}`;
    const ip = `10.240.0.${10 + index}`;
    cluster.world.createInstance({ name, zone, networkIP: ip, canIpForward: true, ...(ipv4Only ? {} : { ipv6Address: gceNodeIpv6(index) }) });
    const node: GceNode = { index, ip, subnet: leaseSubnet(index), name, zone, instancePath: cluster.world.instancePath(zone, name) };
    cluster.nodes.push(node);
  }
  return cluster;
}

/**
 * flannel's dual-stack config and one lease per node (first = oldest), each with PublicIPv6.
 * `ipv6Only`: EnableIPv4 false, no Network, keys `0.0.0.0-0&…`.
 */
export async function writeDualStackFlannel(
  client: Etcd3,
  prefix: string,
  nodes: ReadonlyArray<{ readonly index: number; readonly ip: string }>,
  nodeIpv6: (index: number) => string,
  options: { ipv6Only?: boolean; network?: string } = {},
): Promise<void> {
  const network = options.network ?? NETWORK;
  await putNetworkConfig(
    client,
    prefix,
    options.ipv6Only === true
      ? { EnableIPv4: false, EnableIPv6: true, IPv6Network: IPV6_NETWORK, Backend: { Type: 'alloc' } }
      : { Network: network, SubnetLen: 24, EnableIPv6: true, IPv6Network: IPV6_NETWORK, Backend: { Type: 'alloc' } },
  );
  for (const node of nodes) {
    const v4 = options.ipv6Only === true ? '0.0.0.0/0' : leaseSubnet(node.index);
    await putLease(client, prefix, v4, options.ipv6Only === true ? '0.0.0.0' : node.ip, {
      ipv6Subnet: ipv6Subnet(node.index),
      extra: { PublicIPv6: nodeIpv6(node.index) },
    });
  }
}

