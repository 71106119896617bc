/**
 * `npm run demo`: the embedded default. A real etcd and the EC2 simulator on loopback, flannel's
 * config and 60 leases for 60 nodes, an account whose applied routes-per-table quota is 50 (AWS's
 * default is 500), and routesync running as a process with no --route-limit: it reads the 50 from
 * Service Quotas. Shows the table converging, a node leaving and an instance terminated, then
 * stops everything it started.
 *
 * `npm run demo -- --provider gce` tells the same story on GCE: the GCE simulator, a project whose
 * ROUTES quota is 100 and whose only other route is the network's default internet route, 110
 * leases for 110 instances.
 *
 * `npm run demo -- --dual-stack` tells the story of dual-stack leases on AWS (dual-stack.ts).
 */
import type { Etcd3 } from 'etcd3';
import { startEtcd, deleteLease, waitFor, type EtcdServer } from '../helpers/etcd.js';
import { clusterArgs, startAwsCluster, writeFlannel } from '../helpers/aws-cluster.js';
import { gceClusterArgs, startGceCluster, writeGceFlannel } from '../helpers/gce-cluster.js';
import { getJson, statusPortOf, startRoutesync, stopAllRoutesync } from '../helpers/routesync.js';

const PREFIX = '/coreos.com/network';

interface LeaseStatus {
  subnet: string;
  nodeIp: string;
  state: string;
  reason?: string;
}

interface DemoNode {
  readonly ip: string;
  readonly subnet: string;
}

/** What the story needs of one cloud: its simulated world and how to talk about it. */
interface Stage {
  readonly title: string;
  /** Lines describing the simulated cloud, after the etcd line. */
  readonly intro: readonly string[];
  readonly nodes: readonly DemoNode[];
  /** The limit, and what else counts toward it. */
  readonly limit: number;
  /** How routesync learns the limit (no --route-limit): said next to what /status reports. */
  readonly limitRead: string;
  readonly convergeLine: string;
  readonly apiName: string;
  writeFlannel(client: Etcd3): Promise<void>;
  args(etcdEndpoint: string): string[];
  routedCount(): number;
  hasRoute(subnet: string): boolean;
  describe(): string;
  /** Facts worth showing once the world converged. */
  afterConverged(): string[];
  /** Removes the node's machine; returns how to say it happened and what the cloud now shows. */
  removeMachine(node: DemoNode): { happened: string; aftermath: string };
  /** The route of a removed machine is gone. */
  routeCleaned(node: DemoNode): boolean;
  calls(): { all: number; mutating: number };
  close(): Promise<void>;
}

const AWS_NODE_TAG_KEY = 'kubernetes.io/cluster/demo';
const GCE_NODE_TAG = 'demo-node';

const say = (text = ''): void => {
  process.stdout.write(`${text}\n`);
};

async function awsStage(): Promise<Stage> {
  const limit = 50;
  // AWS's default of 500 would fit every lease: the account has an applied quota of 50 instead,
  // and routesync (no --route-limit) reads it from Service Quotas.
  const cluster = await startAwsCluster({ nodes: 60, autoLimit: true, clusterName: 'demo', sim: { routeLimit: 500 } });
  const world = cluster.world;
  world.setAppliedRouteQuota(limit);
  // Only instances carrying the node tag are route targets (--node-tag), as the README recommends.
  for (const node of cluster.nodes) world.setResourceTags(node.instanceId, { [AWS_NODE_TAG_KEY]: 'owned' });
  const describe = (): string => {
    const routes = world.routes(cluster.tableId);
    const blackholes = routes.filter((r) => r.state === 'blackhole').length;
    return `${routes.length}/${limit} routes in ${cluster.tableId}: local + ${cluster.flannelRoutes().size} pod subnets${blackholes > 0 ? ` (${blackholes} blackhole)` : ''}`;
  };
  return {
    title: 'routes in a simulated AWS VPC route table',
    intro: [
      `EC2 (sim)   ${cluster.sim.url}  VPC ${cluster.vpcId}, route table ${cluster.tableId} tagged for cluster demo`,
      `            the account's applied quota is ${limit} routes per table (AWS's default: 500); no --route-limit: routesync reads it`,
      `            every node instance carries ${AWS_NODE_TAG_KEY}=owned: only those are route targets (--node-tag)`,
    ],
    nodes: cluster.nodes,
    limit,
    limitRead: `the account's applied quota is ${limit}; routesync read it from Service Quotas (GetServiceQuota vpc/L-93826ACB)`,
    convergeLine: `1. The table converges: the route limit counts the local route, so ${limit - 1} leases fit.`,
    apiName: 'EC2',
    writeFlannel: (client) => writeFlannel(client, PREFIX, cluster.nodes),
    args: (endpoint) => clusterArgs(cluster, endpoint, PREFIX, ['--resync-interval', '3s', '--listen', '127.0.0.1:0', '--node-tag', `${AWS_NODE_TAG_KEY}=owned`]),
    routedCount: () => cluster.flannelRoutes().size,
    hasRoute: (subnet) => cluster.flannelRoutes().has(subnet),
    describe,
    afterConverged: () => [
      `source/dest check turned off on ${world.networkInterfaces().filter((eni) => !eni.sourceDestCheck).length} ENIs; mutating calls so far: ${world.mutatingCalls().length}`,
    ],
    removeMachine: (node) => {
      const instance = cluster.nodes.find((n) => n.ip === node.ip)!;
      world.terminateInstance(instance.instanceId);
      return { happened: `Instance ${instance.instanceId} (${node.ip}) is terminated`, aftermath: describe() };
    },
    routeCleaned: (node) => world.route(cluster.tableId, node.subnet) === undefined,
    calls: () => ({ all: world.calls().length, mutating: world.mutatingCalls().length }),
    close: () => cluster.close(),
  };
}

async function gceStage(): Promise<Stage> {
  const quota = 100;
  // Operations take a few hundred milliseconds here (real ones take seconds).
  const cluster = await startGceCluster({ nodes: 110, routeQuota: quota, clusterName: 'demo', operationLatencyMs: 300 });
  const world = cluster.world;
  // Only instances carrying the node network tag are route targets (--node-network-tag).
  for (const node of cluster.nodes) world.setInstanceTags(node.name, [GCE_NODE_TAG], node.zone);
  const routeName = (subnet: string): string => `demo-${subnet.replace(/[./]/g, '-')}`;
  const describe = (): string => {
    const nowhere = world.routes().filter((r) => r.warnings?.some((w) => w.code === 'NEXT_HOP_INSTANCE_NOT_FOUND')).length;
    return (
      `${world.countedRoutes()}/${quota} routes in project ${cluster.project}: default internet route + ${cluster.flannelRoutes().size} pod subnets` +
      (nowhere > 0 ? ` (${nowhere} to a deleted instance)` : '')
    );
  };
  return {
    title: 'routes in a simulated GCE project',
    intro: [
      `GCE (sim)   ${cluster.sim.url}  project ${cluster.project}, network default, ROUTES quota ${quota}; no Google credentials (http:// endpoint)`,
      `            the only route so far: the network's default internet route (0.0.0.0/0 → default-internet-gateway), which counts toward the quota`,
      `            every node instance carries the network tag ${GCE_NODE_TAG}: only those are route targets (--node-network-tag)`,
    ],
    nodes: cluster.nodes,
    limit: quota,
    limitRead: `the project's ROUTES quota is ${quota}; routesync read it with projects.get`,
    convergeLine: `1. The project converges: the quota counts the default internet route, so ${quota - 1} leases fit.\n   each route is a routes.insert whose operation routesync waits for until it is DONE`,
    apiName: 'Compute API',
    writeFlannel: (client) => writeGceFlannel(client, PREFIX, cluster.nodes),
    args: (endpoint) => gceClusterArgs(cluster, endpoint, PREFIX, ['--resync-interval', '3s', '--listen', '127.0.0.1:0', '--node-network-tag', GCE_NODE_TAG]),
    routedCount: () => cluster.flannelRoutes().size,
    hasRoute: (subnet) => cluster.flannelRoutes().has(subnet),
    describe,
    afterConverged: () => {
      const sample = world.route('demo-10-1-19-0-24');
      return [
        `e.g. route ${sample?.name}: ${sample?.destRange} → ${sample?.nextHopInstance?.split('/').slice(-3).join('/')}, priority ${sample?.priority}, description "${sample?.description}"`,
        `operations that ran into the ROUTES quota: ${world.operationsList().filter((op) => op.error !== undefined).length}; mutating calls so far: ${world.mutatingCalls().length}`,
      ];
    },
    removeMachine: (node) => {
      const instance = cluster.nodes.find((n) => n.ip === node.ip)!;
      world.deleteInstance(instance.name, instance.zone);
      return {
        happened: `Instance ${instance.name} (${node.ip}, ${instance.zone}) is deleted`,
        aftermath: `GCE keeps the route, now pointing nowhere (warning NEXT_HOP_INSTANCE_NOT_FOUND): ${describe()}`,
      };
    },
    routeCleaned: (node) => world.route(routeName(node.subnet)) === undefined,
    calls: () => ({ all: world.calls().length, mutating: world.mutatingCalls().length }),
    close: () => cluster.close(),
  };
}

async function status(port: number): Promise<LeaseStatus[]> {
  return (await getJson<{ leases: LeaseStatus[] }>(port, '/status')).body.leases;
}

const thirdOctet = (subnet: string): number => Number(subnet.split('.')[2]);

async function tell(makeStage: () => Promise<Stage>): Promise<void> {
  let etcd: EtcdServer | undefined;
  let stage: Stage | undefined;
  try {
    etcd = await startEtcd();
    stage = await makeStage();
    const st = stage;
    say(`routesync demo: flannel leases in a real etcd → ${st.title}`);
    say();
    say(`etcd        ${etcd.endpoint} (Debian etcd-server, data in ${etcd.dataDir})`);
    for (const line of st.intro) say(line);
    await st.writeFlannel(etcd.client);
    const first = st.nodes[0]!;
    say(`flannel     ${PREFIX}/config = {"Network":"10.1.0.0/16","SubnetLen":24,"Backend":{"Type":"alloc"}}`);
    say(`            ${st.nodes.length} leases 10.1.1.0/24 … 10.1.${st.nodes.length}.0/24 → nodes ${first.ip} …, oldest first`);
    say();

    const args = st.args(etcd.endpoint);
    say(`$ routesync ${args.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a}'`)).join(' ')}`);
    const proc = startRoutesync(args);
    const port = await waitFor(() => statusPortOf(proc), { timeoutMs: 15_000, message: 'routesync did not start its /status server' });

    say();
    say(st.convergeLine);
    let shown = -1;
    const fits = st.limit - 1;
    await waitFor(
      async () => {
        const routed = st.routedCount();
        if (routed !== shown) {
          shown = routed;
          say(`   ${st.describe()}`);
        }
        return routed === fits && (await status(port)).filter((l) => l.state === 'routed').length === fits;
      },
      { timeoutMs: 90_000, intervalMs: 200, message: 'routes did not converge' },
    );
    const unrouted = (await status(port)).filter((l) => l.state === 'unrouted');
    say(`   routed ${fits}, unrouted ${unrouted.length} (${[...new Set(unrouted.map((l) => l.reason))].join(', ')}): ${unrouted.map((l) => l.subnet).join(' ')}`);
    for (const line of st.afterConverged()) say(`   ${line}`);
    const table = (await getJson<{ tables: Array<{ quotaLimit: number; limitSource: string }> }>(port, '/status')).body.tables[0];
    say(`   /status: limit ${table?.quotaLimit ?? '?'} from ${table?.limitSource ?? '?'}: ${st.limitRead}`);

    say();
    const leaving = st.nodes[4]!;
    const nextInLine = unrouted[0]!;
    say(`2. Node ${leaving.ip} leaves: its lease ${leaving.subnet} is deleted from etcd.`);
    await deleteLease(etcd.client, PREFIX, leaving.subnet);
    await waitFor(() => !st.hasRoute(leaving.subnet) && st.hasRoute(nextInLine.subnet), {
      timeoutMs: 20_000,
      message: 'the waiting lease did not take the freed place',
    });
    say(`   route ${leaving.subnet} removed; the oldest waiting lease ${nextInLine.subnet} → ${nextInLine.nodeIp} takes its place`);
    say(`   ${st.describe()}`);

    say();
    const removed = st.nodes[19]!;
    const waiting = (await status(port)).filter((l) => l.state === 'unrouted').sort((a, b) => thirdOctet(a.subnet) - thirdOctet(b.subnet))[0]!;
    const { happened, aftermath } = st.removeMachine(removed);
    say(`3. ${happened}; flannel keeps its lease for 24 h.`);
    say(`   ${aftermath}`);
    await waitFor(() => st.routeCleaned(removed) && st.hasRoute(waiting.subnet), { timeoutMs: 20_000, message: 'the dead route was not cleaned' });
    say(`   at the next resync: route ${removed.subnet} deleted (node not found), ${waiting.subnet} → ${waiting.nodeIp} routed in its place`);
    say(`   ${st.describe()}`);
    const byReason = new Map<string, number>();
    const final = await status(port);
    for (const lease of final.filter((l) => l.state === 'unrouted')) byReason.set(lease.reason ?? '?', (byReason.get(lease.reason ?? '?') ?? 0) + 1);
    say(`   /status: ${final.filter((l) => l.state === 'routed').length} routed, unrouted ${[...byReason].map(([r, n]) => `${n} ${r}`).join(', ')}`);

    say();
    const stopped = await proc.stop('SIGTERM');
    const calls = st.calls();
    say(`routesync stopped on SIGTERM (exit ${stopped.code}); ${calls.all} ${st.apiName} calls in all, ${calls.mutating} of them mutating.`);
    if (stopped.code !== 0) throw new Error(`routesync exited ${stopped.code}:\n${proc.stderr().slice(-2000)}`);
  } finally {
    await stopAllRoutesync();
    await stage?.close();
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

const stages: Record<string, () => Promise<Stage>> = { 'aws-vpc': awsStage, gce: gceStage };
const demoFor = demoProvider(process.argv.slice(2));
const makeStage = stages[demoFor];
if (makeStage === undefined) {
  process.stderr.write(`demo: invalid value for --provider: ${JSON.stringify(demoFor)} (aws-vpc or gce)\n`);
  process.exit(2);
}
// `--dual-stack`: the story of dual-stack leases on AWS (dual-stack.ts).
const dualStack = process.argv.slice(2).includes('--dual-stack');
if (dualStack && demoFor !== 'aws-vpc') {
  process.stderr.write('demo: --dual-stack tells its story on aws-vpc only\n');
  process.exit(2);
}

(dualStack ? (await import('./dual-stack.js')).tellDualStack() : tell(makeStage)).then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`demo failed: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
    process.exit(1);
  },
);
