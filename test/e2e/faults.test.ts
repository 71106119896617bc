/**
 * Faults, end to end: etcd stopped and restarted, history compacted under the watch, TLS to
 * etcd, and cloud errors (random 5xx, connection resets, throttling, permanent per-lease errors).
 */
import { describe, expect, it } from 'vitest';
import { useEtcdSuite } from '../helpers/suite.js';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startEtcd, putLease, deleteLease, waitFor, type EtcdServer } from '../helpers/etcd.js';
import { clusterArgs, startAwsCluster, writeFlannel, type AwsCluster } from '../helpers/aws-cluster.js';
import { getJson, httpPortOf, runRoutesync, startRoutesync, statusPortOf } from '../helpers/routesync.js';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.js';

const suite = useEtcdSuite();
let counter = 0;

async function setup(nodes: number, leases: number, sim: Parameters<typeof startAwsCluster>[0]['sim'] = {}) {
  counter += 1;
  const cluster = suite.closeAfterTest(await startAwsCluster({ nodes, clusterName: `faults${counter}`, sim, routeLimit: 100 }));
  const prefix = `/faults${counter}/coreos.com/network`;
  await writeFlannel(suite.etcd.client, prefix, cluster.nodes.slice(0, leases));
  return { cluster, prefix };
}

describe('etcd faults', () => {
  it('keeps every route while etcd is down, and converges after it is back', async () => {
    const { cluster: c, prefix } = await setup(5, 4);
    const proc = startRoutesync(clusterArgs(c, suite.etcd.endpoint, prefix, ['--resync-interval', '2s', '--listen', '127.0.0.1:0', '--no-leader-elect']));
    await waitFor(() => c.flannelRoutes().size === 4, { timeoutMs: 20_000 });
    const port = await waitFor(() => httpPortOf(proc));

    await suite.etcd.halt({ signal: 'SIGKILL' });
    await waitFor(async () => (await getJson<string>(port, '/readyz')).status === 503, { timeoutMs: 30_000, message: 'never noticed etcd is down' });
    // Resyncs keep coming while etcd is away; on a stale lease view they must change nothing,
    // not even restore a route someone deleted.
    const mutationsBefore = c.world.mutatingCalls().length;
    c.world.deleteRoute(c.tableId, c.nodes[0]!.subnet);
    const skipped = (): number => proc.logs().filter((l) => l['msg'] === 'reconcile pass made no change').length;
    const skippedBefore = skipped();
    await waitFor(() => skipped() >= skippedBefore + 2, { timeoutMs: 20_000, message: 'no resync while etcd was down' });
    expect(c.world.mutatingCalls().length).toBe(mutationsBefore);
    expect(c.flannelRoutes().size).toBe(3);

    await suite.etcd.restart();
    await deleteLease(suite.etcd.client, prefix, c.nodes[1]!.subnet);
    await putLease(suite.etcd.client, prefix, c.nodes[4]!.subnet, c.nodes[4]!.ip);
    await waitFor(
      () => {
        const routes = c.flannelRoutes();
        return routes.size === 4 && routes.has(c.nodes[0]!.subnet) && routes.has(c.nodes[4]!.subnet) && !routes.has(c.nodes[1]!.subnet);
      },
      { timeoutMs: 30_000, message: `did not converge after etcd came back:\n${proc.stderr().slice(-2000)}` },
    );
  });

  it('re-lists after being cut off from etcd while history was compacted', async () => {
    const { cluster: c, prefix } = await setup(5, 3);
    const proxy = suite.closeAfterTest(await startTcpProxy(suite.etcd.clientPort));
    const proc = startRoutesync(clusterArgs(c, proxy.url, prefix, ['--resync-interval', '1h', '--no-leader-elect']));
    await waitFor(() => c.flannelRoutes().size === 3, { timeoutMs: 20_000 });

    proxy.partition();
    await deleteLease(suite.etcd.client, prefix, c.nodes[0]!.subnet);
    await putLease(suite.etcd.client, prefix, c.nodes[3]!.subnet, c.nodes[3]!.ip);
    await putLease(suite.etcd.client, prefix, c.nodes[4]!.subnet, c.nodes[4]!.ip);
    await suite.etcd.compact();
    proxy.heal();

    await waitFor(
      () => {
        const routes = c.flannelRoutes();
        return routes.size === 4 && !routes.has(c.nodes[0]!.subnet);
      },
      { timeoutMs: 30_000, message: `did not converge after compaction:\n${proc.stderr().slice(-2000)}` },
    );
  });

  it('talks to etcd over TLS with a client certificate', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'routesync-tls-'));
    let tlsEtcd: EtcdServer | undefined;
    try {
      const ssl = (...args: string[]): void => {
        execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });
      };
      ssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '1', '-subj', '/CN=routesync-test-ca');
      writeFileSync(join(dir, 'san.cnf'), 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth\n');
      for (const name of ['server', 'client']) {
        ssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${name}`);
        ssl('x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', `${name}.pem`, '-days', '1', '-extfile', 'san.cnf');
      }
      tlsEtcd = await startEtcd({
        tls: { ca: join(dir, 'ca.pem'), cert: join(dir, 'server.pem'), key: join(dir, 'server.key') },
        clientTls: { ca: join(dir, 'ca.pem'), cert: join(dir, 'client.pem'), key: join(dir, 'client.key') },
      });
      expect(tlsEtcd.endpoint).toMatch(/^https:/);
      counter += 1;
      const cluster = suite.closeAfterTest(await startAwsCluster({ nodes: 2, clusterName: `tls${counter}` }));
      const prefix = '/tls/coreos.com/network';
      await writeFlannel(tlsEtcd.client, prefix, cluster.nodes);
      const base = clusterArgs(cluster, tlsEtcd.endpoint, prefix, ['--once', '--no-leader-elect', '--etcd-cafile', join(dir, 'ca.pem')]);

      const withoutCert = await runRoutesync(base, {}, 30_000);
      expect(withoutCert.code).toBe(1);
      expect(cluster.flannelRoutes().size).toBe(0);

      const withCert = await runRoutesync([...base, '--etcd-certfile', join(dir, 'client.pem'), '--etcd-keyfile', join(dir, 'client.key')]);
      expect(withCert.code, withCert.stderr).toBe(0);
      expect(cluster.flannelRoutes().size).toBe(2);
    } finally {
      await tlsEtcd?.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('cloud faults', () => {
  it('converges through random 5xx errors, connection resets and throttling, with each route made once', async () => {
    const { cluster: c, prefix } = await setup(40, 40, { errorRate: 0.25, seed: 7 });
    c.world.resetConnectionNext('CreateRoute', 3);
    c.world.resetConnectionNext('DescribeNetworkInterfaces', 1);
    c.world.failNext('CreateRoute', 'RequestLimitExceeded', 4, 503);
    const proc = startRoutesync(clusterArgs(c, suite.etcd.endpoint, prefix, ['--resync-interval', '2s', '--no-leader-elect']));
    await waitFor(() => c.flannelRoutes().size === 40, { timeoutMs: 60_000, message: `did not converge:\n${proc.stderr().slice(-3000)}` });

    for (const node of c.nodes) expect(c.flannelRoutes().get(node.subnet)).toBe(node.eniId);
    const created = c.world.calls('CreateRoute').filter((call) => call.applied).map((call) => call.params['DestinationCidrBlock']);
    expect(created.sort()).toEqual(c.nodes.map((n) => n.subnet).sort());
    expect(c.world.calls('DeleteRoute')).toEqual([]);
    expect(c.world.calls().some((call) => call.fault === 'random')).toBe(true);
    expect(c.world.calls().some((call) => call.fault === 'reset')).toBe(true);
  });

  it('reports a permanent error on its lease, does not retry it hot, and routes the others', async () => {
    const { cluster: c, prefix } = await setup(4, 4);
    c.world.failNext('CreateRoute', 'InvalidNetworkInterfaceID.NotFound', 1, 400);
    const proc = startRoutesync(clusterArgs(c, suite.etcd.endpoint, prefix, ['--resync-interval', '1h', '--no-leader-elect', '--listen', '127.0.0.1:0']));
    await waitFor(() => c.flannelRoutes().size === 3, { timeoutMs: 20_000 });
    const port = await waitFor(() => statusPortOf(proc));
    const status = await waitFor(async () => {
      const body = (await getJson<{ leases: Array<{ subnet: string; state: string; detail?: string }> }>(port, '/status')).body;
      return body.leases.some((l) => l.state === 'error') ? body : undefined;
    });
    const failed = status.leases.find((l) => l.state === 'error')!;
    expect(failed.detail).toContain('InvalidNetworkInterfaceID.NotFound');
    expect(c.flannelRoutes().has(failed.subnet)).toBe(false);
    expect(c.world.calls('CreateRoute').filter((call) => call.params['DestinationCidrBlock'] === failed.subnet)).toHaveLength(1);
  });
});
