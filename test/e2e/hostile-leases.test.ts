/**
 * Hostile input in etcd, tried on purpose: huge and deeply nested JSON, bytes that are not UTF-8,
 * subnets outside the Network or overlapping, two leases on one node, a lease on the VPC's own
 * gateway address, and fast-check's random keys and values. routesync must report each bad item,
 * route the good ones, and never crash.
 */
import { describe, expect, it } from 'vitest';
import { useEtcdSuite } from '../helpers/suite.js';
import fc from 'fast-check';
import { putLease } from '../helpers/etcd.js';
import { clusterArgs, startAwsCluster, writeFlannel, type AwsCluster } from '../helpers/aws-cluster.js';
import { runRoutesync } from '../helpers/routesync.js';

const suite = useEtcdSuite();

describe('hostile leases', () => {
  it('reports each bad item, routes the good ones, and never crashes', async () => {
    const cluster = suite.closeAfterTest(await startAwsCluster({ nodes: 4, clusterName: 'hostile' }));
    const prefix = '/hostile/coreos.com/network';
    const subnets = `${prefix}/subnets/`;
    await writeFlannel(suite.etcd.client, prefix, cluster.nodes.slice(0, 3));
    const put = (name: string, value: string | Buffer): Promise<unknown> => suite.etcd.client.put(`${subnets}${name}`).value(value).exec();

    await put('10.1.100.0-24', `{"PublicIP":"172.31.16.11","BackendData":"${'x'.repeat(1_200_000)}"}`);
    await put('10.1.101.0-24', `${'['.repeat(100_000)}${']'.repeat(100_000)}`);
    await put('10.1.102.0-24', Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x3a, 0x31, 0x7d]));
    await suite.etcd.client.put(Buffer.concat([Buffer.from(subnets), Buffer.from([0xc3, 0x28, 0x2d, 0x32, 0x34])])).value('{"PublicIP":"172.31.16.11"}').exec();
    await put('10.9.0.0-24', '{"PublicIP":"172.31.16.11"}'); // outside the Network
    await put('10.1.4.0-23', '{"PublicIP":"172.31.16.11"}'); // overlaps, and is not SubnetLen
    await put('10.1.103.0-24', '{"PublicIP":"172.31.0.1"}'); // the VPC router: no ENI holds it
    await putLease(suite.etcd.client, prefix, '10.1.104.0/24', cluster.nodes[0]!.ip); // a second lease on node 1
    await put('10.1.105.0-24', 'null');
    await put('10.1.106.0-24', '{"PublicIP":["172.31.16.11"]}');
    const random = fc.sample(fc.tuple(fc.string({ maxLength: 30 }), fc.oneof(fc.string(), fc.json())), { numRuns: 40, seed: 42 });
    for (const [name, value] of random) await put(`fuzz-${name}`, value);

    const result = await runRoutesync(clusterArgs(cluster, suite.etcd.endpoint, prefix, ['--once', '--no-leader-elect']));
    expect(result.code, result.stderr.slice(-3000)).toBe(3);
    const routes = cluster.flannelRoutes();
    for (const node of cluster.nodes.slice(0, 3)) expect(routes.get(node.subnet)).toBe(node.eniId);
    expect(routes.get('10.1.104.0/24')).toBe(cluster.nodes[0]!.eniId);
    for (const bad of ['10.1.100.0-24', '10.1.101.0-24', '10.1.102.0-24', '10.9.0.0-24', '10.1.4.0-23', '10.1.105.0-24', '10.1.106.0-24']) {
      expect(result.stdout).toContain(`${subnets}${bad}`);
    }
    expect(result.stdout).toContain('unrouted 10.1.103.0/24 → 172.31.0.1: node-not-found');
    expect(result.stderr).not.toMatch(/unhandled|routesync failed/);
    expect(routes.size).toBe(4);
  });
});
