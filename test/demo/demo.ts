/**
 * `npm run demo`: the embedded default. A real etcd and the EC2 simulator on loopback, flannel's
 * config and 60 leases for 60 nodes, a route table limited to 50 routes, and routesync running
 * as a process. Shows the table converging, a node leaving and an instance terminated, then
 * stops everything it started.
 *
 * `npm run demo -- --provider gce` tells the same story on GCE: the GCE simulator, a project whose
 * ROUTES quota is 100 and whose only other route is the network's default internet route, 110
 * leases for 110 instances.
 */
import { startEtcd, deleteLease, waitFor, type EtcdServer } from '../helpers/etcd.js';
import { clusterArgs, startAwsCluster, writeFlannel, type AwsCluster } from '../helpers/aws-cluster.js';
import { gceClusterArgs, startGceCluster, writeGceFlannel, type GceCluster } from '../helpers/gce-cluster.js';
import { startRoutesync, stopAllRoutesync, type RoutesyncProcess } from '../helpers/routesync.js';

const NODES = 60;
const ROUTE_LIMIT = 50;
const PREFIX = '/coreos.com/network';

interface LeaseStatus {
  subnet: string;
  nodeIp: string;
  state: string;
  reason?: string;
}

const say = (text = ''): void => {
  process.stdout.write(`${text}\n`);
};

async function status(port: number): Promise<{ leases: LeaseStatus[]; lastPass: { outcome: string } | null }> {
  const response = await fetch(`http://127.0.0.1:${port}/status`);
  return (await response.json()) as { leases: LeaseStatus[]; lastPass: { outcome: string } | null };
}

function describeTable(cluster: AwsCluster): string {
  const routes = cluster.world.routes(cluster.tableId);
  const blackholes = routes.filter((r) => r.state === 'blackhole').length;
  const flannel = cluster.flannelRoutes().size;
  return `${routes.length}/${ROUTE_LIMIT} routes in ${cluster.tableId}: local + ${flannel} pod subnets${blackholes > 0 ? ` (${blackholes} blackhole)` : ''}`;
}

function freePortFromLogs(proc: RoutesyncProcess): number | undefined {
  const line = proc.logs().find((l) => typeof l['listen'] === 'string');
  const listen = line?.['listen'];
  return typeof listen === 'string' ? Number(listen.split(':').at(-1)) : undefined;
}

async function main(): Promise<void> {
  let etcd: EtcdServer | undefined;
  let cluster: AwsCluster | undefined;
  try {
    say('routesync demo: flannel leases in a real etcd → routes in a simulated AWS VPC route table');
    say();
    etcd = await startEtcd();
    cluster = await startAwsCluster({ nodes: NODES, routeLimit: ROUTE_LIMIT, clusterName: 'demo' });
    say(`etcd        ${etcd.endpoint} (Debian etcd-server, data in ${etcd.dataDir})`);
    say(`EC2 (sim)   ${cluster.sim.url}  VPC ${cluster.vpcId}, route table ${cluster.tableId} tagged routesync/cluster=demo, limit ${ROUTE_LIMIT}`);
    await writeFlannel(etcd.client, PREFIX, cluster.nodes);
    say(`flannel     ${PREFIX}/config = {"Network":"10.1.0.0/16","SubnetLen":24,"Backend":{"Type":"alloc"}}`);
    say(`            ${NODES} leases 10.1.1.0/24 … 10.1.${NODES}.0/24 → nodes 172.31.16.11 …, oldest first`);
    say();

    const args = clusterArgs(cluster, etcd.endpoint, PREFIX, ['--resync-interval', '3s', '--listen', '127.0.0.1:0']);
    say(`$ routesync ${args.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a}'`)).join(' ')}`);
    const proc = startRoutesync(args);
    const port = await waitFor(() => freePortFromLogs(proc), { timeoutMs: 15_000, message: 'routesync did not start its HTTP server' });

    say();
    say('1. The table converges: the route limit counts the local route, so 49 leases fit.');
    let shown = -1;
    await waitFor(
      async () => {
        const routed = cluster!.flannelRoutes().size;
        if (routed !== shown) {
          shown = routed;
          say(`   ${describeTable(cluster!)}`);
        }
        const s = await status(port);
        return routed === ROUTE_LIMIT - 1 && s.leases.filter((l) => l.state === 'routed').length === ROUTE_LIMIT - 1;
      },
      { timeoutMs: 60_000, intervalMs: 200, message: 'table did not converge' },
    );
    let s = await status(port);
    const unrouted = s.leases.filter((l) => l.state === 'unrouted');
    say(`   routed ${s.leases.filter((l) => l.state === 'routed').length}, unrouted ${unrouted.length} (${[...new Set(unrouted.map((l) => l.reason))].join(', ')}): ${unrouted.map((l) => l.subnet).join(' ')}`);
    const checks = cluster.world.networkInterfaces().filter((eni) => !eni.sourceDestCheck).length;
    say(`   source/dest check turned off on ${checks} ENIs; mutating calls so far: ${cluster.world.mutatingCalls().length}`);

    say();
    const leaving = cluster.nodes[4]!;
    const nextInLine = unrouted[0]!;
    say(`2. Node ${leaving.ip} leaves: its lease ${leaving.subnet} is deleted from etcd.`);
    await deleteLease(etcd.client, PREFIX, leaving.subnet);
    await waitFor(() => !cluster!.flannelRoutes().has(leaving.subnet) && cluster!.flannelRoutes().has(nextInLine.subnet), {
      timeoutMs: 20_000,
      message: 'the waiting lease did not take the freed place',
    });
    say(`   route ${leaving.subnet} removed; the oldest waiting lease ${nextInLine.subnet} → ${nextInLine.nodeIp} takes its place`);
    say(`   ${describeTable(cluster)}`);

    say();
    const terminated = cluster.nodes[19]!;
    s = await status(port);
    const waiting = s.leases.filter((l) => l.state === 'unrouted').sort((a, b) => Number(a.subnet.split('.')[2]) - Number(b.subnet.split('.')[2]))[0]!;
    say(`3. Instance ${terminated.instanceId} (${terminated.ip}) is terminated; flannel keeps its lease for 24 h.`);
    cluster.world.terminateInstance(terminated.instanceId);
    say(`   ${describeTable(cluster)}`);
    await waitFor(() => cluster!.world.route(cluster!.tableId, terminated.subnet) === undefined && cluster!.flannelRoutes().has(waiting.subnet), {
      timeoutMs: 20_000,
      message: 'the blackhole route was not cleaned',
    });
    say(`   at the next resync: blackhole ${terminated.subnet} deleted (node not found), ${waiting.subnet} → ${waiting.nodeIp} routed in its place`);
    say(`   ${describeTable(cluster)}`);
    s = await status(port);
    const byReason = new Map<string, number>();
    for (const lease of s.leases.filter((l) => l.state === 'unrouted')) byReason.set(lease.reason ?? '?', (byReason.get(lease.reason ?? '?') ?? 0) + 1);
    say(`   /status: ${s.leases.filter((l) => l.state === 'routed').length} routed, unrouted ${[...byReason].map(([r, n]) => `${n} ${r}`).join(', ')}`);

    say();
    const stopped = await proc.stop('SIGTERM');
    say(`routesync stopped on SIGTERM (exit ${stopped.code}); ${cluster.world.calls().length} EC2 calls in all, ${cluster.world.mutatingCalls().length} of them mutating.`);
    if (stopped.code !== 0) throw new Error(`routesync exited ${stopped.code}:\n${proc.stderr().slice(-2000)}`);
  } finally {
    await stopAllRoutesync();
    await cluster?.close();
    await etcd?.stop();
  }
  say('demo done: etcd, the simulator and routesync are stopped.');
}

// ---------------------------------------------------------------- the same story on GCE

const GCE_NODES = 110;
const GCE_ROUTE_QUOTA = 100;

function describeGceRoutes(cluster: GceCluster): string {
  const routes = cluster.world.routes();
  const pointingNowhere = routes.filter((r) => r.warnings?.some((w) => w.code === 'NEXT_HOP_INSTANCE_NOT_FOUND')).length;
  const flannel = cluster.flannelRoutes().size;
  return (
    `${cluster.world.countedRoutes()}/${GCE_ROUTE_QUOTA} routes in project ${cluster.project}: default internet route + ${flannel} pod subnets` +
    (pointingNowhere > 0 ? ` (${pointingNowhere} to a deleted instance)` : '')
  );
}

async function gceMain(): Promise<void> {
  let etcd: EtcdServer | undefined;
  let cluster: GceCluster | undefined;
  try {
    say('routesync demo: flannel leases in a real etcd → routes in a simulated GCE project');
    say();
    etcd = await startEtcd();
    // Operations take a few hundred milliseconds here (real ones take seconds).
    cluster = await startGceCluster({ nodes: GCE_NODES, routeQuota: GCE_ROUTE_QUOTA, clusterName: 'demo', operationLatencyMs: 300 });
    say(`etcd        ${etcd.endpoint} (Debian etcd-server, data in ${etcd.dataDir})`);
    say(`GCE (sim)   ${cluster.sim.url}  project ${cluster.project}, network default, ROUTES quota ${GCE_ROUTE_QUOTA}; no Google credentials (http:// endpoint)`);
    say(`            the only route so far: the network's default internet route (0.0.0.0/0 → default-internet-gateway), which counts toward the quota`);
    await writeGceFlannel(etcd.client, PREFIX, cluster.nodes);
    say(`flannel     ${PREFIX}/config = {"Network":"10.1.0.0/16","SubnetLen":24,"Backend":{"Type":"alloc"}}`);
    say(`            ${GCE_NODES} leases 10.1.1.0/24 … 10.1.${GCE_NODES}.0/24 → instances 10.240.0.11 … (canIpForward on), oldest first`);
    say();

    const args = gceClusterArgs(cluster, etcd.endpoint, PREFIX, ['--resync-interval', '3s', '--listen', '127.0.0.1:0']);
    say(`$ routesync ${args.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a}'`)).join(' ')}`);
    const proc = startRoutesync(args);
    const port = await waitFor(() => freePortFromLogs(proc), { timeoutMs: 15_000, message: 'routesync did not start its HTTP server' });

    say();
    say(`1. The project converges: the quota counts the default internet route, so ${GCE_ROUTE_QUOTA - 1} leases fit.`);
    say('   each route is a routes.insert whose operation routesync waits for until it is DONE');
    let shown = -1;
    await waitFor(
      async () => {
        const routed = cluster!.flannelRoutes().size;
        if (routed !== shown) {
          shown = routed;
          say(`   ${describeGceRoutes(cluster!)}`);
        }
        const s = await status(port);
        return routed === GCE_ROUTE_QUOTA - 1 && s.leases.filter((l) => l.state === 'routed').length === GCE_ROUTE_QUOTA - 1;
      },
      { timeoutMs: 90_000, intervalMs: 200, message: 'the project did not converge' },
    );
    let s = await status(port);
    const unrouted = s.leases.filter((l) => l.state === 'unrouted');
    say(`   routed ${s.leases.filter((l) => l.state === 'routed').length}, unrouted ${unrouted.length} (${[...new Set(unrouted.map((l) => l.reason))].join(', ')}): ${unrouted.map((l) => l.subnet).join(' ')}`);
    const sample = cluster.world.route('demo-10-1-19-0-24');
    say(`   e.g. route ${sample?.name}: ${sample?.destRange} → ${sample?.nextHopInstance?.split('/').slice(-3).join('/')}, priority ${sample?.priority}, description "${sample?.description}"`);
    const quotaFailures = cluster.world.operationsList().filter((op) => op.error !== undefined).length;
    say(`   operations that ran into the ROUTES quota: ${quotaFailures}; mutating calls so far: ${cluster.world.mutatingCalls().length}`);

    say();
    const leaving = cluster.nodes[4]!;
    const nextInLine = unrouted[0]!;
    say(`2. Node ${leaving.ip} leaves: its lease ${leaving.subnet} is deleted from etcd.`);
    await deleteLease(etcd.client, PREFIX, leaving.subnet);
    await waitFor(() => !cluster!.flannelRoutes().has(leaving.subnet) && cluster!.flannelRoutes().has(nextInLine.subnet), {
      timeoutMs: 20_000,
      message: 'the waiting lease did not take the freed place',
    });
    say(`   route ${leaving.subnet} deleted; the oldest waiting lease ${nextInLine.subnet} → ${nextInLine.nodeIp} takes its place`);
    say(`   ${describeGceRoutes(cluster)}`);

    say();
    const deleted = cluster.nodes[19]!;
    s = await status(port);
    const waiting = s.leases.filter((l) => l.state === 'unrouted').sort((a, b) => Number(a.subnet.split('.')[2]) - Number(b.subnet.split('.')[2]))[0]!;
    say(`3. Instance ${deleted.name} (${deleted.ip}, ${deleted.zone}) is deleted; flannel keeps its lease for 24 h.`);
    cluster.world.deleteInstance(deleted.name, deleted.zone);
    say(`   GCE keeps the route, now pointing nowhere (warning NEXT_HOP_INSTANCE_NOT_FOUND): ${describeGceRoutes(cluster)}`);
    await waitFor(() => cluster!.world.route(`demo-${deleted.subnet.replace(/[./]/g, '-')}`) === undefined && cluster!.flannelRoutes().has(waiting.subnet), {
      timeoutMs: 20_000,
      message: 'the route to the deleted instance was not cleaned',
    });
    say(`   at the next resync: route ${deleted.subnet} deleted (node not found), ${waiting.subnet} → ${waiting.nodeIp} routed in its place`);
    say(`   ${describeGceRoutes(cluster)}`);
    s = await status(port);
    const byReason = new Map<string, number>();
    for (const lease of s.leases.filter((l) => l.state === 'unrouted')) byReason.set(lease.reason ?? '?', (byReason.get(lease.reason ?? '?') ?? 0) + 1);
    say(`   /status: ${s.leases.filter((l) => l.state === 'routed').length} routed, unrouted ${[...byReason].map(([r, n]) => `${n} ${r}`).join(', ')}`);

    say();
    const stopped = await proc.stop('SIGTERM');
    say(`routesync stopped on SIGTERM (exit ${stopped.code}); ${cluster.world.calls().length} Compute API calls in all, ${cluster.world.mutatingCalls().length} of them mutating.`);
    if (stopped.code !== 0) throw new Error(`routesync exited ${stopped.code}:\n${proc.stderr().slice(-2000)}`);
  } finally {
    await stopAllRoutesync();
    await cluster?.close();
    await etcd?.stop();
  }
  say('demo done: etcd, the simulator and routesync are stopped.');
}

/** `--provider aws-vpc` (the default) or `--provider gce`, from `npm run demo -- --provider gce`. */
function demoProvider(argv: readonly string[]): string {
  const at = argv.findIndex((a) => a === '--provider' || a.startsWith('--provider='));
  if (at < 0) return 'aws-vpc';
  const arg = argv[at] ?? '';
  return arg.includes('=') ? arg.slice(arg.indexOf('=') + 1) : (argv[at + 1] ?? '');
}

const demoFor = demoProvider(process.argv.slice(2));
if (demoFor !== 'aws-vpc' && demoFor !== 'gce') {
  process.stderr.write(`demo: --provider must be aws-vpc or gce, got ${JSON.stringify(demoFor)}\n`);
  process.exit(2);
}

(demoFor === 'gce' ? gceMain() : main()).then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`demo failed: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
    process.exit(1);
  },
);
