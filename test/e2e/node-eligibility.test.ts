/**
 * End to end: only cluster nodes are route targets. routesync runs as a process against a real etcd
 * and each simulator; a lease naming the IP of a machine in the same VPC or network that carries no
 * node tag (AWS --node-tag, GCE --node-network-tag / --node-label) gets no route and is reported
 * `node-not-eligible`; removing a node's tag removes its route by the usual rules.
 */
import { describe, expect, it } from 'vitest';
import { useEtcdSuite } from '../helpers/suite.js';
import { waitFor } from '../helpers/etcd.js';
import { clusterArgs, startAwsCluster, writeFlannel } from '../helpers/aws-cluster.js';
import { gceClusterArgs, startGceCluster, writeGceFlannel } from '../helpers/gce-cluster.js';
import { getJson, httpPortOf, runRoutesync, startRoutesync, statusPortOf } from '../helpers/routesync.js';

const suite = useEtcdSuite();
let prefixCounter = 0;
function freshPrefix(): string {
  prefixCounter += 1;
  return `/eligible${prefixCounter}/coreos.com/network`;
}

const TAG_KEY = 'kubernetes.io/cluster/routesync';
const NODE_TAG = `${TAG_KEY}=owned`;

describe('node eligibility on AWS (--node-tag)', () => {
  it('routes nodes tagged on their instance or ENI, not an untagged ENI of the VPC; a removed tag removes the route', async () => {
    const c = suite.closeAfterTest(await startAwsCluster({ nodes: 3 }));
    const [onInstance, onEni, untagged] = c.nodes;
    if (onInstance === undefined || onEni === undefined || untagged === undefined) throw new Error('three nodes expected');
    c.world.setResourceTags(onInstance.instanceId, { [TAG_KEY]: 'owned' });
    c.world.setResourceTags(onEni.eniId, { [TAG_KEY]: 'owned' });
    const prefix = freshPrefix();
    await writeFlannel(suite.etcd.client, prefix, c.nodes);
    const once = (extra: string[] = []) => runRoutesync(clusterArgs(c, suite.etcd.endpoint, prefix, ['--once', '--max-deletes-per-pass', '100%', ...extra]));

    // Without the filter every ENI holding a lease's IP is a target: the untagged one too.
    expect((await once()).code).toBe(0);
    expect(c.flannelRoutes().get(untagged.subnet)).toBe(untagged.eniId);

    c.world.clearCalls();
    const filtered = await once(['--node-tag', NODE_TAG]);
    expect(filtered.code, filtered.stderr).toBe(3);
    expect(filtered.stdout).toContain(`unrouted ${untagged.subnet} → ${untagged.ip}: node-not-eligible`);
    expect(filtered.stdout).toContain('2 routed, 1 unrouted');
    // The owned route to the untagged ENI is deleted (node-not-eligible); the nodes keep theirs.
    expect(c.flannelRoutes()).toEqual(new Map([[onInstance.subnet, onInstance.eniId], [onEni.subnet, onEni.eniId]]));
    expect(c.world.calls('DeleteRoute').map((call) => call.params['DestinationCidrBlock'])).toEqual([untagged.subnet]);
    // Extra reads: one DescribeTags for the two ENIs without the tag (the tagged ENI needs none).
    const tagCalls = c.world.calls('DescribeTags');
    expect(tagCalls).toHaveLength(1);
    expect(Object.entries(tagCalls[0]?.params ?? {}).filter(([k]) => /^Filter\.1\.Value\./.test(k)).map(([, v]) => v).sort()).toEqual(
      [onInstance.instanceId, untagged.instanceId].sort(),
    );

    // The tag is taken off the first node's instance: its route goes by the same rule.
    c.world.setResourceTags(onInstance.instanceId, {});
    const after = await once(['--node-tag', NODE_TAG]);
    expect(after.code).toBe(3);
    expect(after.stdout).toContain(`unrouted ${onInstance.subnet} → ${onInstance.ip}: node-not-eligible`);
    expect(c.flannelRoutes()).toEqual(new Map([[onEni.subnet, onEni.eniId]]));
  });

  it('reports node-not-eligible in /status, /metrics and the status document in etcd', async () => {
    const c = suite.closeAfterTest(await startAwsCluster({ nodes: 2 }));
    const [node, stranger] = c.nodes;
    if (node === undefined || stranger === undefined) throw new Error('two nodes expected');
    c.world.setResourceTags(node.instanceId, { [TAG_KEY]: 'owned' });
    const prefix = freshPrefix();
    await writeFlannel(suite.etcd.client, prefix, c.nodes);
    const proc = startRoutesync(clusterArgs(c, suite.etcd.endpoint, prefix, ['--listen', '127.0.0.1:0', '--node-tag', NODE_TAG]));
    const statusPort = await waitFor(() => statusPortOf(proc), { timeoutMs: 20_000 });
    type Status = { leases: Array<{ subnet: string; state: string; reason?: string; target?: string }> };
    const status = await waitFor(
      async () => {
        const body = (await getJson<Status>(statusPort, '/status')).body;
        return body.leases?.some((l) => l.state === 'routed') === true ? body : undefined;
      },
      { timeoutMs: 20_000, message: 'no routed lease in /status' },
    );
    expect(status.leases.find((l) => l.subnet === stranger.subnet)).toMatchObject({ state: 'unrouted', reason: 'node-not-eligible', target: stranger.eniId });
    const metrics = String((await getJson<string>(await waitFor(() => httpPortOf(proc)), '/metrics')).body);
    expect(metrics).toContain('routesync_unrouted_leases{reason="node-not-eligible",family="ipv4"} 1');
    const stored = await waitFor(async () => (await suite.etcd.client.get(`/routesync/${c.clusterName}/status`).string()) ?? undefined);
    expect((JSON.parse(stored) as Status).leases.find((l) => l.subnet === stranger.subnet)).toMatchObject({ reason: 'node-not-eligible' });
    expect(c.flannelRoutes()).toEqual(new Map([[node.subnet, node.eniId]]));
  });
});

describe('node eligibility on GCE (--node-network-tag, --node-label)', () => {
  it('routes instances with the network tag or the label, not another instance of the network; a removed tag removes the route', async () => {
    const c = suite.closeAfterTest(await startGceCluster({ nodes: 3 }));
    const [tagged, labelled, untagged] = c.nodes;
    if (tagged === undefined || labelled === undefined || untagged === undefined) throw new Error('three nodes expected');
    c.world.setInstanceTags(tagged.name, ['routesync-node'], tagged.zone);
    c.world.setInstanceLabels(labelled.name, { 'routesync-cluster': 'e2e' }, labelled.zone);
    const prefix = freshPrefix();
    await writeGceFlannel(suite.etcd.client, prefix, c.nodes);
    const filter = ['--node-network-tag', 'routesync-node', '--node-label', 'routesync-cluster=e2e'];
    const once = (extra: string[] = []) => runRoutesync(gceClusterArgs(c, suite.etcd.endpoint, prefix, ['--once', '--max-deletes-per-pass', '100%', ...extra]));

    expect((await once()).code).toBe(0);
    expect(c.flannelRoutes().get(untagged.subnet)).toBe(untagged.instancePath);

    c.world.clearCalls();
    const filtered = await once(filter);
    expect(filtered.code, filtered.stderr).toBe(3);
    expect(filtered.stdout).toContain(`unrouted ${untagged.subnet} → ${untagged.ip}: node-not-eligible`);
    expect(c.flannelRoutes()).toEqual(new Map([[tagged.subnet, tagged.instancePath], [labelled.subnet, labelled.instancePath]]));
    // No extra read: the one instances.aggregatedList of the pass carries tags and labels.
    expect(c.world.calls('instances.aggregatedList')).toHaveLength(1);

    c.world.setInstanceTags(tagged.name, [], tagged.zone);
    const after = await once(filter);
    expect(after.code).toBe(3);
    expect(after.stdout).toContain(`unrouted ${tagged.subnet} → ${tagged.ip}: node-not-eligible`);
    expect(c.flannelRoutes()).toEqual(new Map([[labelled.subnet, labelled.instancePath]]));
  });
});
