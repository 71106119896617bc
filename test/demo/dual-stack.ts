/**
 * `npm run demo -- --dual-stack`: dual-stack leases on AWS. A real etcd and the EC2 simulator: a VPC
 * with an IPv6 block, nine nodes whose ENIs hold an IPv4 and an IPv6 address, flannel's config with
 * EnableIPv6, and an account whose routes-per-table quota is 8, which AWS applies to IPv4 and IPv6
 * routes separately. routesync runs as a process with no --route-limit. The story: both halves of
 * each lease routed to the node's one ENI, each family filling its own quota, a lease whose IPv6 half
 * is invalid still routed over IPv4, and a node leaving, its places taken in each family.
 */
import { clusterArgs } from '../helpers/aws-cluster.js';
import { awsNodeIpv6, ipv6Subnet, startDualStackAwsCluster, writeDualStackFlannel } from '../helpers/dual-stack.js';
import { deleteLease, putLease, startEtcd, waitFor, type EtcdServer } from '../helpers/etcd.js';
import { getJson, statusPortOf, startRoutesync, stopAllRoutesync } from '../helpers/routesync.js';

const PREFIX = '/coreos.com/network';
const QUOTA = 8;

interface HalfStatus {
  key: string;
  family: 'ipv4' | 'ipv6';
  subnet: string;
  nodeIp: string;
  state: string;
  reason?: string;
}

const say = (text = ''): void => {
  process.stdout.write(`${text}\n`);
};

export async function tellDualStack(): Promise<void> {
  let etcd: EtcdServer | undefined;
  const cluster = await startDualStackAwsCluster({ nodes: 9, routeLimit: 500 });
  try {
    etcd = await startEtcd();
    const world = cluster.world;
    world.setAppliedRouteQuota(QUOTA);
    // Someone's internet route: it counts toward the IPv4 routes only.
    world.addForeignRoute(cluster.tableId, { destinationCidrBlock: '0.0.0.0/0', gatewayId: 'igw-0aaaaaaaaaaaaaaa1' });
    say('routesync demo: dual-stack flannel leases in a real etcd → IPv4 and IPv6 routes in a simulated AWS VPC route table');
    say();
    say(`etcd        ${etcd.endpoint}`);
    say(`EC2 (sim)   ${cluster.sim.url}  VPC ${cluster.vpcId} 172.31.0.0/16 + 2600:1f18:aa00::/56, route table ${cluster.tableId}`);
    say(`            quota: ${QUOTA} routes per table, counted for IPv4 and IPv6 apart; the table holds both local routes and 0.0.0.0/0 → igw`);
    const eight = cluster.nodes.slice(0, 8);
    await writeDualStackFlannel(etcd.client, PREFIX, eight, awsNodeIpv6);
    // Node 9's flannel wrote no PublicIPv6: its IPv6 half is invalid, its IPv4 half is fine.
    const ninth = cluster.nodes[8]!;
    await putLease(etcd.client, PREFIX, ninth.subnet, ninth.ip, { ipv6Subnet: ipv6Subnet(9) });
    say(`flannel     ${PREFIX}/config = {"Network":"10.1.0.0/16","SubnetLen":24,"EnableIPv6":true,"IPv6Network":"fc00::/48",…}`);
    say(`            leases 10.1.i.0-24&fc00:0:0:i::-64 → PublicIP 172.31.16.1i, PublicIPv6 2600:1f18:aa00:10::i (i = 1…8)`);
    say(`            lease 9 has no PublicIPv6`);
    say();

    const args = clusterArgs({ ...cluster, autoLimit: true }, etcd.endpoint, PREFIX, ['--resync-interval', '3s', '--listen', '127.0.0.1:0']);
    say(`$ routesync ${args.join(' ')}`);
    const proc = startRoutesync(args);
    const port = await waitFor(() => statusPortOf(proc), { timeoutMs: 15_000, message: 'routesync did not start its /status server' });
    const halves = async (): Promise<HalfStatus[]> => (await getJson<{ leases: HalfStatus[] }>(port, '/status')).body.leases;
    const routes = (): string => `${cluster.flannelRoutes().size} IPv4 + ${cluster.ipv6Routes().size} IPv6 pod routes`;

    say();
    say(`1. Both families converge, each within its own ${QUOTA}: IPv4 has local + igw, so 6 fit; IPv6 has its local route, so 7 fit.`);
    await waitFor(async () => cluster.flannelRoutes().size === 6 && cluster.ipv6Routes().size === 7 && (await halves()).every((h) => h.state !== 'pending'), {
      timeoutMs: 60_000,
      intervalMs: 200,
      message: 'routes did not converge',
    });
    say(`   ${routes()} in ${cluster.tableId}; every route of node i targets its one ENI (${cluster.nodes[0]?.eniId} for node 1, both families)`);
    say(`   source/dest check turned off once per ENI: ${world.calls('ModifyNetworkInterfaceAttribute').length} calls`);
    const first = await halves();
    for (const half of first.filter((h) => h.state !== 'routed')) {
      const other = first.find((h) => h.key === half.key && h !== half);
      say(`   ${half.family} ${half.subnet}: ${half.state}/${half.reason ?? ''}${other !== undefined ? `; its ${other.family} half ${other.subnet} is ${other.state}` : ''}`);
    }
    const invalid = (await getJson<{ invalidLeases: Array<{ key: string; family?: string; reason: string }> }>(port, '/status')).body.invalidLeases;
    for (const bad of invalid) say(`   invalid ${bad.family ?? ''} half of ${bad.key.split('/').pop()}: ${bad.reason}`);
    const table = (await getJson<{ tables: Array<{ capacity: number; owned: number; limitSource: string; ipv6?: { capacity: number; owned: number } }> }>(port, '/status')).body.tables[0];
    say(`   /status: IPv4 ${table?.owned}/${table?.capacity}, IPv6 ${table?.ipv6?.owned}/${table?.ipv6?.capacity}, limit from ${table?.limitSource} (Service Quotas, one value for each family)`);

    say();
    const leaving = cluster.nodes[1]!;
    say(`2. Node ${leaving.ip} leaves: its lease ${leaving.subnet}&${ipv6Subnet(2)} is deleted from etcd.`);
    await deleteLease(etcd.client, PREFIX, leaving.subnet, ipv6Subnet(2));
    await waitFor(() => !cluster.flannelRoutes().has(leaving.subnet) && !cluster.ipv6Routes().has(ipv6Subnet(2)) && cluster.flannelRoutes().size === 6 && cluster.ipv6Routes().size === 7, {
      timeoutMs: 20_000,
      message: 'the freed places were not taken',
    });
    const after = await halves();
    const newlyRouted = after.filter((h) => h.state === 'routed' && first.find((f) => f.key === h.key && f.family === h.family)?.state !== 'routed');
    say(`   both of its routes removed; in each family the oldest waiting half takes the place: ${newlyRouted.map((h) => h.subnet).join(', ')}`);
    say(`   ${routes()}`);

    say();
    const stopped = await proc.stop('SIGTERM');
    say(`routesync stopped on SIGTERM (exit ${stopped.code}); ${world.calls().length} EC2 calls in all, ${world.mutatingCalls().length} of them mutating.`);
    if (stopped.code !== 0) throw new Error(`routesync exited ${stopped.code}:\n${proc.stderr().slice(-2000)}`);
  } finally {
    await stopAllRoutesync();
    await cluster.close();
    await etcd?.stop();
  }
  say('demo done: etcd, the simulator and routesync are stopped.');
}
