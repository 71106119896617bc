/**
 * The HTTP endpoints of a running routesync as operators and their tools see them: /status only on
 * --status-listen, /metrics accepted by `promtool check metrics` with the standard process_* and
 * nodejs_* names, and the version in /metrics, /status and the cloud user agent.
 */
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { useEtcdSuite } from '../helpers/suite.js';
import { waitFor } from '../helpers/etcd.js';
import { clusterArgs, startAwsCluster, writeFlannel } from '../helpers/aws-cluster.js';
import { getJson, httpPortOf, startRoutesync, statusPortOf } from '../helpers/routesync.js';
import { readText } from '../deploy/support.js';

const suite = useEtcdSuite();
const pkg = JSON.parse(readText('package.json')) as { version: string };
const hasPromtool = spawnSync('promtool', ['--version'], { stdio: 'ignore' }).status === 0;

async function leaderWithPass() {
  const cluster = suite.closeAfterTest(await startAwsCluster({ nodes: 3 }));
  const prefix = '/http/coreos.com/network';
  await writeFlannel(suite.etcd.client, prefix, cluster.nodes);
  const proc = startRoutesync(
    clusterArgs(cluster, suite.etcd.endpoint, prefix, ['--no-leader-elect', '--resync-interval', '1h', '--listen', '127.0.0.1:0', '--status-listen', '127.0.0.1:0']),
    { ROUTESYNC_BUILD_COMMIT: '0123abc' },
  );
  const port = await waitFor(() => httpPortOf(proc), { timeoutMs: 20_000, message: 'no HTTP port logged' });
  const statusPort = await waitFor(() => statusPortOf(proc), { timeoutMs: 20_000, message: 'no /status port logged' });
  await waitFor(async () => (await getJson<string>(port, '/readyz')).status === 200, { timeoutMs: 20_000, message: `never ready:\n${proc.stderr().slice(-2000)}` });
  return { cluster, proc, port, statusPort };
}

describe('routesync HTTP endpoints', () => {
  it('serves /status on --status-listen only, and probes and metrics on --listen only', async () => {
    const { port, statusPort } = await leaderWithPass();
    expect(statusPort).not.toBe(port);
    const onListen = await getJson<string>(port, '/status');
    expect(onListen.status).toBe(404);
    expect(String(onListen.body)).toContain('--status-listen');
    const status = await getJson<{ version: string; leader: boolean; leases: unknown[] }>(statusPort, '/status');
    expect(status.status).toBe(200);
    expect(status.body).toMatchObject({ version: pkg.version, leader: true });
    expect(status.body.leases).toHaveLength(3);
    for (const path of ['/metrics', '/healthz', '/readyz']) {
      expect((await getJson<string>(port, path)).status, path).toBe(200);
      expect((await getJson<string>(statusPort, path)).status, `${path} on the status port`).toBe(404);
    }
  });

  it.skipIf(!hasPromtool)('/metrics passes `promtool check metrics`, with standard default names, build info and the last success time', async () => {
    const { cluster, port } = await leaderWithPass();
    const metrics = String((await getJson<string>(port, '/metrics')).body);
    const check = spawnSync('promtool', ['check', 'metrics'], { input: metrics, encoding: 'utf8' });
    expect(check.status, `${check.stdout}${check.stderr}`).toBe(0);
    expect(metrics).toMatch(/^process_cpu_seconds_total \d/m);
    expect(metrics).toMatch(/^nodejs_heap_size_used_bytes \d/m);
    expect(metrics).not.toContain('routesync_process_');
    expect(metrics).toContain(`routesync_build_info{version="${pkg.version}",commit="0123abc",node="${process.version}"} 1`);
    const last = Number(/^routesync_last_successful_pass_timestamp_seconds (\S+)$/m.exec(metrics)?.[1]);
    // Set by the pass that made /readyz answer 200: some time in the last hour, not 0.
    expect(last).toBeGreaterThan(Date.now() / 1000 - 3600);
    expect(last).toBeLessThanOrEqual(Date.now() / 1000);
    expect(metrics).toMatch(/^routesync_leases\{state="routed",family="ipv4"\} 3$/m);
    // Every cloud call names the version and the replica (semver build metadata: version+identity).
    const agents = new Set(cluster.world.calls().map((c) => c.userAgent));
    expect(agents.size).toBeGreaterThan(0);
    for (const agent of agents) expect(agent).toMatch(new RegExp(`(^| )routesync/${pkg.version.replace(/\./g, '\\.')}\\+\\S+-\\d+-[0-9a-f]{6}( |$)`));
  });
});
