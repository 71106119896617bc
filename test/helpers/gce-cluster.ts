/**
 * A typical GCE cluster for end-to-end tests: a project in the GCE simulator with network
 * `default` (legacy range 10.240.0.0/16) holding only its default internet route, N nodes (one
 * instance each, canIpForward on, spread over two zones), and flannel's Network 10.1.0.0/16 whose
 * lease for node i is 10.1.i.0/24.
 */
import type { Etcd3 } from 'etcd3';
import { startGceSimulator, type GceSimulator } from '../sim/gce/server.js';
import type { GceWorld, GceWorldOptions, SimRoute } from '../sim/gce/world.js';
import { putLease, putNetworkConfig, testLeaderKey } from './etcd.js';

export const GCE_NETWORK = '10.1.0.0/16';
export const GCE_PROJECT = 'routesync-e2e';
const ZONES = ['us-central1-a', 'us-central1-b'] as const;

export interface GceNode {
  readonly index: number;
  readonly ip: string;
  readonly subnet: string;
  readonly name: string;
  readonly zone: string;
  /** `projects/{p}/zones/{z}/instances/{name}`: the provider's target for this node. */
  readonly instancePath: string;
}

export interface GceCluster {
  readonly sim: GceSimulator;
  readonly world: GceWorld;
  readonly project: string;
  readonly network: string;
  readonly clusterName: string;
  readonly nodes: GceNode[];
  /** Adds one more node; its lease subnet is 10.1.<index>.0/24. */
  addNode(options?: { canIpForward?: boolean }): GceNode;
  /** routesync's routes (description `routesync:<cluster>`) as `subnet → instance path`. */
  flannelRoutes(): Map<string, string>;
  /** The routes routesync does not own, for before/after comparisons. */
  foreignRoutes(): SimRoute[];
  close(): Promise<void>;
}

export function gceNodeIp(index: number): string {
  return `10.240.${Math.floor(index / 200)}.${10 + (index % 200)}`;
}

export function gceLeaseSubnet(index: number): string {
  return `10.1.${index}.0/24`;
}

/** `https://…/projects/p/zones/z/instances/n` → `projects/p/zones/z/instances/n`. */
export function shortInstance(url: string | undefined): string {
  if (url === undefined) return '';
  const at = url.indexOf('projects/');
  return at >= 0 ? url.slice(at) : url;
}

export async function startGceCluster(options: {
  nodes: number;
  routeQuota?: number;
  clusterName?: string;
  /** Operations are quick in tests (default 20 ms); real ones take seconds. */
  operationLatencyMs?: number;
  sim?: GceWorldOptions;
}): Promise<GceCluster> {
  const clusterName = options.clusterName ?? 'routesync';
  const sim = await startGceSimulator({
    project: GCE_PROJECT,
    routeQuota: options.routeQuota ?? 100,
    operationLatencyMs: options.operationLatencyMs ?? 20,
    ...options.sim,
  });
  const world = sim.world;
  world.createNetwork({ name: 'default', ipv4Range: '10.240.0.0/16' });
  const nodes: GceNode[] = [];
  const addNode = (nodeOptions: { canIpForward?: boolean } = {}): GceNode => {
    const index = nodes.length + 1;
    const zone = ZONES[index % 2] ?? 'us-central1-a';
    const name = `node-${index}`;
    world.createInstance({ name, zone, networkIP: gceNodeIp(index), canIpForward: nodeOptions.canIpForward ?? true });
    const node = { index, ip: gceNodeIp(index), subnet: gceLeaseSubnet(index), name, zone, instancePath: world.instancePath(zone, name) };
    nodes.push(node);
    return node;
  };
  for (let i = 0; i < options.nodes; i += 1) addNode();
  const description = `routesync:${clusterName}`;
  return {
    sim,
    world,
    project: world.project,
    network: 'default',
    clusterName,
    nodes,
    addNode,
    flannelRoutes: () => {
      const routes = new Map<string, string>();
      for (const route of world.routes()) {
        if (route.description === description) routes.set(route.destRange, shortInstance(route.nextHopInstance));
      }
      return routes;
    },
    foreignRoutes: () => world.routes().filter((route) => route.description !== description),
    close: () => sim.close(),
  };
}

/** Writes flannel's config (backend alloc) and one lease per node, in the given order (first = oldest). */
export async function writeGceFlannel(client: Etcd3, prefix: string, nodes: readonly GceNode[]): Promise<void> {
  await putNetworkConfig(client, prefix, { Network: GCE_NETWORK, SubnetLen: 24, Backend: { Type: 'alloc' } });
  for (const node of nodes) await putLease(client, prefix, node.subnet, node.ip);
}

/** The CLI flags that point routesync at this cluster. */
export function gceClusterArgs(cluster: GceCluster, etcdEndpoint: string, prefix: string, extra: readonly string[] = []): string[] {
  // With HTTP on, /status gets a free port too: its default 127.0.0.1:9091 would clash between processes.
  const listen = !extra.includes('--listen') ? ['--listen', ''] : extra.includes('--status-listen') ? [] : ['--status-listen', '127.0.0.1:0'];
  const name = extra.includes('--cluster-name') ? [] : ['--cluster-name', cluster.clusterName];
  return [
    '--provider', 'gce',
    '--etcd-endpoints', etcdEndpoint,
    '--etcd-prefix', prefix,
    '--gce-project', cluster.project,
    '--gce-network', cluster.network,
    '--gce-endpoint', cluster.sim.url,
    ...name,
    ...listen,
    '--log-level', 'info',
    '--leader-election-key', testLeaderKey(prefix),
    ...extra,
  ];
}
