/**
 * End to end on GCE, one pass at a time: `routesync --provider gce --once` as a process against a
 * real etcd and the GCE simulator (no Google credentials: an http:// --gce-endpoint), asserting on
 * the simulator's routes, operations and call log.
 */
import { describe, expect, it } from 'vitest';
import { useEtcdSuite } from '../helpers/suite.js';
import { putLease, deleteLease } from '../helpers/etcd.js';
import { gceClusterArgs, gceLeaseSubnet, startGceCluster, writeGceFlannel, type GceCluster } from '../helpers/gce-cluster.js';
import { runRoutesync } from '../helpers/routesync.js';

const suite = useEtcdSuite();
let prefixCounter = 0;

function freshPrefix(): string {
  prefixCounter += 1;
  return `/gce-once${prefixCounter}/coreos.com/network`;
}

async function once(c: GceCluster, prefix: string, extra: string[] = []) {
  return runRoutesync(gceClusterArgs(c, suite.etcd.endpoint, prefix, ['--once', ...extra]));
}

/** Route names of mutating calls, as `insert name` / `delete name`, in arrival order. */
function mutations(c: GceCluster): string[] {
  return c.world.mutatingCalls().map((call) =>
    call.method === 'routes.insert' ? `insert ${String((call.body as { name?: unknown }).name)}` : `delete ${call.path.split('/').at(-1) ?? ''}`,
  );
}

describe('routesync --provider gce --once against the GCE simulator', () => {
  it('routes 99 of 110 leases into a 100-route quota holding the default internet route, oldest first, and exits 3', async () => {
    const cluster = suite.closeAfterTest(await startGceCluster({ nodes: 110 }));
    const prefix = freshPrefix();
    // Written newest subnet first: the oldest leases are 10.1.110.0 … 10.1.12.0, not the lowest subnets.
    await writeGceFlannel(suite.etcd.client, prefix, [...cluster.nodes].reverse());

    const result = await once(cluster, prefix);
    expect(result.code, result.stderr).toBe(3);
    const routes = cluster.flannelRoutes();
    expect(routes.size).toBe(99);
    expect(cluster.world.routes()).toHaveLength(100);
    expect(cluster.world.countedRoutes()).toBe(100);
    for (const node of cluster.nodes) {
      if (node.index >= 12) expect(routes.get(node.subnet)).toBe(node.instancePath);
      else expect(routes.has(node.subnet)).toBe(false);
    }
    const route = cluster.world.route('routesync-10-1-19-0-24');
    expect(route).toMatchObject({
      destRange: '10.1.19.0/24',
      priority: 1000,
      description: 'routesync:routesync',
      network: `https://www.googleapis.com/compute/v1/projects/${cluster.project}/global/networks/default`,
      nextHopInstance: `https://www.googleapis.com/compute/v1/${cluster.nodes[18]?.instancePath}`,
    });
    expect(result.stdout).toContain('99 routed, 11 unrouted');
    expect(result.stdout).toContain('(limit 100 from quota-api, 1 foreign counted)');
    expect(result.stdout).toContain(`unrouted 10.1.11.0/24 → ${cluster.nodes[10]?.ip}: route-limit`);
    // Never a create beyond capacity: no operation ran into the ROUTES quota.
    const inserts = cluster.world.calls('routes.insert');
    expect(inserts.filter((c) => c.status === 200)).toHaveLength(99);
    expect(cluster.world.operationsList().filter((op) => op.error !== undefined)).toEqual([]);
    // Every request carries routesync's user agent.
    expect(cluster.world.calls().every((c) => /routesync\/\S+/.test(c.userAgent))).toBe(true);

    // A second pass changes nothing, and still reports the leases that do not fit.
    cluster.world.clearCalls();
    const again = await once(cluster, prefix);
    expect(again.code).toBe(3);
    expect(cluster.world.mutatingCalls()).toEqual([]);
    expect(cluster.world.calls('routes.list')).toHaveLength(1);
    expect(cluster.world.calls('instances.aggregatedList')).toHaveLength(1);
  });

  it('deletes the route of a removed lease', async () => {
    const cluster = suite.closeAfterTest(await startGceCluster({ nodes: 3 }));
    const prefix = freshPrefix();
    await writeGceFlannel(suite.etcd.client, prefix, cluster.nodes);
    expect((await once(cluster, prefix)).code).toBe(0);
    expect(cluster.flannelRoutes().size).toBe(3);

    await deleteLease(suite.etcd.client, prefix, gceLeaseSubnet(2));
    cluster.world.clearCalls();
    const result = await once(cluster, prefix);
    expect(result.code, result.stderr).toBe(0);
    expect([...cluster.flannelRoutes().keys()].sort()).toEqual([gceLeaseSubnet(1), gceLeaseSubnet(3)]);
    expect(mutations(cluster)).toEqual(['delete routesync-10-1-2-0-24']);
  });

  it('moves the route of a lease that moved to another node: the new route first, the old one deleted once it is DONE', async () => {
    const cluster = suite.closeAfterTest(await startGceCluster({ nodes: 3 }));
    const prefix = freshPrefix();
    await writeGceFlannel(suite.etcd.client, prefix, cluster.nodes);
    expect((await once(cluster, prefix)).code).toBe(0);
    const [first, , third] = cluster.nodes;
    await putLease(suite.etcd.client, prefix, first?.subnet ?? '', third?.ip ?? '');
    cluster.world.clearCalls();

    const result = await once(cluster, prefix);
    expect(result.code, result.stderr).toBe(0);
    expect(cluster.flannelRoutes().get(first?.subnet ?? '')).toBe(third?.instancePath);
    expect(mutations(cluster)).toEqual(['insert routesync-10-1-1-0-24-b', 'delete routesync-10-1-1-0-24']);
    const calls = cluster.world.calls();
    const insertAt = calls.findIndex((c) => c.method === 'routes.insert');
    const deleteAt = calls.findIndex((c) => c.method === 'routes.delete');
    const insertOp = calls[insertAt]?.operation;
    // The delete went out after a wait that saw the insert DONE, and nothing else in between.
    const waits = calls.slice(insertAt + 1, deleteAt);
    expect(waits.length).toBeGreaterThan(0);
    expect(waits.every((c) => c.method === 'globalOperations.wait' && c.operation === insertOp)).toBe(true);
    expect(cluster.world.operation(insertOp ?? '').status).toBe('DONE');
    expect(cluster.world.route('routesync-10-1-1-0-24-b')?.priority).toBe(999);
  });

  it('moves a route by delete, then insert once the delete is DONE, when the ROUTES quota has no slot for both, and says why', async () => {
    // 3 routes and the default internet route fill a quota of 4.
    const cluster = suite.closeAfterTest(await startGceCluster({ nodes: 3, routeQuota: 4 }));
    const prefix = freshPrefix();
    await writeGceFlannel(suite.etcd.client, prefix, cluster.nodes);
    expect((await once(cluster, prefix)).code).toBe(0);
    const [first, , third] = cluster.nodes;
    await putLease(suite.etcd.client, prefix, first?.subnet ?? '', third?.ip ?? '');
    cluster.world.clearCalls();

    const result = await once(cluster, prefix);
    expect(result.code, result.stderr).toBe(0);
    expect(cluster.flannelRoutes().get(first?.subnet ?? '')).toBe(third?.instancePath);
    expect(mutations(cluster)).toEqual(['delete routesync-10-1-1-0-24', 'insert routesync-10-1-1-0-24']);
    expect(result.stderr).toContain('no free slot of the route limit for both routes at once');
    const calls = cluster.world.calls();
    const deleteAt = calls.findIndex((c) => c.method === 'routes.delete');
    const insertAt = calls.findIndex((c) => c.method === 'routes.insert');
    const deleteOp = calls[deleteAt]?.operation;
    const waits = calls.slice(deleteAt + 1, insertAt);
    expect(waits.length).toBeGreaterThan(0);
    expect(waits.every((c) => c.method === 'globalOperations.wait' && c.operation === deleteOp)).toBe(true);
  });

  it('reports canIpForward=false nodes and makes no route for them', async () => {
    const cluster = suite.closeAfterTest(await startGceCluster({ nodes: 2 }));
    const blocked = cluster.addNode({ canIpForward: false });
    const prefix = freshPrefix();
    await writeGceFlannel(suite.etcd.client, prefix, cluster.nodes);

    const result = await once(cluster, prefix);
    expect(result.code, result.stderr).toBe(3);
    expect([...cluster.flannelRoutes().keys()].sort()).toEqual([gceLeaseSubnet(1), gceLeaseSubnet(2)]);
    expect(result.stdout).toContain(`unrouted ${blocked.subnet} → ${blocked.ip}: forwarding-disabled`);
    expect(mutations(cluster)).not.toContain(`insert routesync-10-1-3-0-24`);
  });

  it('retries an operation that failed after acceptance, and reports one that keeps failing until a later pass', async () => {
    const cluster = suite.closeAfterTest(await startGceCluster({ nodes: 3 }));
    const prefix = freshPrefix();
    await writeGceFlannel(suite.etcd.client, prefix, cluster.nodes);
    // A transient failure inside the DONE operation: retried within the pass.
    cluster.world.failNextOperation({ method: 'routes.insert', routeName: 'routesync-10-1-2-0-24', code: 'INTERNAL_ERROR', message: 'Internal error. Please try again.' });
    const transient = await once(cluster, prefix);
    expect(transient.code, transient.stderr).toBe(0);
    expect(cluster.flannelRoutes().size).toBe(3);
    expect(mutations(cluster).filter((m) => m === 'insert routesync-10-1-2-0-24')).toHaveLength(2);
    const retried = transient.logs.find((l) => l['msg'] === 'cloud change will be retried');
    expect(retried).toMatchObject({ code: 'INTERNAL_ERROR', class: 'transient' });

    // The ROUTES quota refusing an insert (someone took the place meanwhile): reported, exit 1; the next pass routes it.
    const node = cluster.addNode();
    await putLease(suite.etcd.client, prefix, node.subnet, node.ip);
    cluster.world.failNextOperation({ method: 'routes.insert', code: 'QUOTA_EXCEEDED', message: "Quota 'ROUTES' exceeded.  Limit: 100.0 globally." });
    const refused = await once(cluster, prefix);
    expect(refused.code, refused.stderr).toBe(1);
    expect(refused.stdout).toContain(`unrouted ${node.subnet} → ${node.ip}: route-limit (the cloud refused the route`);
    expect(refused.stdout).toMatch(/create 10\.1\.4\.0\/24 → .*: QUOTA_EXCEEDED: .*ROUTES/);
    expect(cluster.flannelRoutes().has(node.subnet)).toBe(false);

    const next = await once(cluster, prefix);
    expect(next.code, next.stderr).toBe(0);
    expect(cluster.flannelRoutes().get(node.subnet)).toBe(node.instancePath);
  });

  it('leaves foreign routes alone and reports a lease whose subnet a foreign route holds', async () => {
    const cluster = suite.closeAfterTest(await startGceCluster({ nodes: 4 }));
    const world = cluster.world;
    world.createNetwork({ name: 'other', subnets: [{ region: 'us-central1', ipCidrRange: '10.50.0.0/20' }] });
    const vpn = cluster.nodes[0]?.instancePath ?? '';
    world.addForeignRoute({ name: 'to-office', destRange: '192.168.0.0/16', nextHopIp: '10.240.0.200' });
    world.addForeignRoute({ name: 'hand-made', destRange: gceLeaseSubnet(3), nextHopInstance: vpn });
    world.addForeignRoute({ name: 'routesync-10-1-200-0-24', destRange: '10.1.200.0/24', nextHopInstance: vpn, description: 'made by hand' });
    world.addForeignRoute({ name: 'blue-10-1-201-0-24', destRange: '10.1.201.0/24', nextHopInstance: vpn, description: 'routesync:blue' });
    world.addForeignRoute({ name: 'other-net', network: 'other', destRange: gceLeaseSubnet(4), nextHopIp: '10.50.0.9' });
    const before = JSON.stringify(cluster.foreignRoutes());

    const prefix = freshPrefix();
    await writeGceFlannel(suite.etcd.client, prefix, cluster.nodes);
    const result = await once(cluster, prefix, ['--max-deletes-per-pass', '100%']);
    expect(result.code, result.stderr).toBe(3);
    expect(JSON.stringify(cluster.foreignRoutes())).toBe(before);
    expect([...cluster.flannelRoutes().keys()].sort()).toEqual([gceLeaseSubnet(1), gceLeaseSubnet(2), gceLeaseSubnet(4)]);
    expect(result.stdout).toMatch(/conflict +10\.1\.3\.0\/24 .*route hand-made/);
    // The route in another network does not collide with the lease, but it counts toward the quota.
    expect(result.stdout).toContain('limit 98');
    expect(mutations(cluster).every((m) => m.startsWith('insert routesync-10-1-'))).toBe(true);
  });

  it("deletes the route of a deleted instance and reports its lease", async () => {
    const cluster = suite.closeAfterTest(await startGceCluster({ nodes: 3 }));
    const prefix = freshPrefix();
    await writeGceFlannel(suite.etcd.client, prefix, cluster.nodes);
    expect((await once(cluster, prefix)).code).toBe(0);
    const gone = cluster.nodes[1];
    cluster.world.deleteInstance(gone?.name ?? '', gone?.zone);
    // GCE keeps the route, pointing nowhere.
    expect(cluster.world.route('routesync-10-1-2-0-24')?.warnings?.[0]?.code).toBe('NEXT_HOP_INSTANCE_NOT_FOUND');

    const result = await once(cluster, prefix);
    expect(result.code, result.stderr).toBe(3);
    expect(cluster.world.route('routesync-10-1-2-0-24')).toBeUndefined();
    expect(cluster.flannelRoutes().size).toBe(2);
    expect(result.stdout).toContain(`unrouted ${gone?.subnet} → ${gone?.ip}: node-not-found`);
  });

  it('--dry-run makes no mutating call and prints the plan', async () => {
    const cluster = suite.closeAfterTest(await startGceCluster({ nodes: 2 }));
    const prefix = freshPrefix();
    await writeGceFlannel(suite.etcd.client, prefix, cluster.nodes);
    const result = await once(cluster, prefix, ['--dry-run']);
    expect(result.code, result.stderr).toBe(0);
    expect(cluster.world.mutatingCalls()).toEqual([]);
    expect(result.stdout).toContain(`would create ${gceLeaseSubnet(1)} → ${cluster.nodes[0]?.instancePath}`);
  });

  it('exits 2 without --gce-project, and with a malformed --gce-endpoint', async () => {
    const cluster = suite.closeAfterTest(await startGceCluster({ nodes: 1 }));
    const prefix = freshPrefix();
    const args = gceClusterArgs(cluster, suite.etcd.endpoint, prefix, ['--once', '--no-leader-elect']);
    const withoutProject = args.filter((a, i) => a !== '--gce-project' && args[i - 1] !== '--gce-project');
    const missing = await runRoutesync(withoutProject);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('--gce-project');
    const badEndpoint = args.map((a) => (a === cluster.sim.url ? `${a}/compute/v1` : a));
    const bad = await runRoutesync(badEndpoint);
    expect(bad.code).toBe(2);
    expect(bad.stdout + bad.stderr).toContain('--gce-endpoint');
  });
});
