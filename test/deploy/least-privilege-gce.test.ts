/**
 * Proof of least privilege on GCE (issue 6): routesync, run for real (the built CLI, a real etcd,
 * the GCE simulator) through creating, replacing (delete then insert) and deleting routes, an
 * instance without canIpForward and a vanished instance, with no --route-limit (the ROUTES quota
 * read with projects.get), makes only the GCE API calls it is known to make, in
 * its project; their permissions are all in iam/gce-role.yaml, and every permission there is used.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { deleteLease, putLease, putNetworkConfig, startEtcd, type EtcdServer } from '../helpers/etcd.js';
import { runRoutesync, stopAllRoutesync } from '../helpers/routesync.js';
import { startGceSimulator, type GceCall, type GceSimulator } from '../sim/gce/index.js';
import { GCE_CALL_PERMISSIONS, readText } from './support.js';

describe('GCE: the custom role grants every permission the calls routesync makes need, and only those', () => {
  const NETWORK = '10.1.0.0/16';
  let etcd: EtcdServer;
  let sim: GceSimulator;
  const observed: Array<{ scenario: string; call: GceCall }> = [];
  const exitCodes: Record<string, number | null> = {};
  const role = parseYaml(readText('iam', 'gce-role.yaml')) as { includedPermissions: string[] };

  beforeAll(async () => {
    etcd = await startEtcd();
    sim = await startGceSimulator({ operationLatencyMs: 20 });
    const world = sim.world;
    world.createNetwork({ name: 'default', ipv4Range: '10.240.0.0/16' });
    const nodes = [2, 3, 4, 5].map((i) => ({
      name: `node-${i}`,
      ip: `10.240.0.${i}`,
      subnet: `10.1.${i}.0/24`,
    }));
    for (const node of nodes) world.createInstance({ name: node.name, zone: 'us-central1-a', networkIP: node.ip, canIpForward: true });
    world.createInstance({ name: 'no-forwarding', zone: 'us-central1-b', networkIP: '10.240.0.9', canIpForward: false });

    const prefix = '/least-privilege-gce/coreos.com/network';
    const args = (extra: string[]): string[] => [
      '--provider', 'gce',
      '--gce-project', world.project,
      '--gce-network', 'default',
      '--gce-endpoint', sim.url,
      '--etcd-endpoints', etcd.endpoint,
      '--etcd-prefix', prefix,
      '--leader-election-key', `/routesync-test${prefix}/leader`,
      '--listen', '',
      '--once',
      '--max-deletes-per-pass', '100%',
      ...extra,
    ];
    const once = async (scenario: string, extra: string[] = []): Promise<void> => {
      const result = await runRoutesync(args(extra));
      exitCodes[scenario] = result.code;
      if (result.code !== 0 && result.code !== 3) throw new Error(`${scenario}: routesync exited ${result.code}\n${result.stderr}`);
      for (const call of world.calls()) observed.push({ scenario, call });
      world.clearCalls();
    };
    const [n1, n2, n3, n4] = nodes;
    if (n1 === undefined || n2 === undefined || n3 === undefined || n4 === undefined) throw new Error('four nodes expected');

    await putNetworkConfig(etcd.client, prefix, { Network: NETWORK, SubnetLen: 24, Backend: { Type: 'alloc' } });
    for (const node of nodes) await putLease(etcd.client, prefix, node.subnet, node.ip);
    // canIpForward off: reported, no route.
    await putLease(etcd.client, prefix, '10.1.9.0/24', '10.240.0.9');
    await once('create');
    // One pass: a lease moves (delete, then insert), a lease expires, a node's instance is deleted.
    await putLease(etcd.client, prefix, n1.subnet, n3.ip);
    await deleteLease(etcd.client, prefix, n4.subnet);
    world.deleteInstance(n2.name, 'us-central1-a');
    await once('change');
  });

  afterAll(async () => {
    await stopAllRoutesync();
    await sim?.close();
    await etcd?.stop();
  });

  it('ran both passes and exercised list, insert, delete, operations and instance lookups', () => {
    expect(exitCodes).toEqual({ create: 3, change: 3 });
    const ok = (method: string, scenario?: string): number =>
      observed.filter((o) => o.call.method === method && o.call.status === 200 && (scenario === undefined || o.scenario === scenario)).length;
    expect(ok('routes.insert', 'create')).toBe(4);
    // n1's route replaced (delete + insert), n4's and n2's deleted.
    expect(ok('routes.delete', 'change')).toBe(3);
    expect(ok('routes.insert', 'change')).toBe(1);
    expect(ok('routes.list')).toBeGreaterThanOrEqual(2);
    expect(ok('instances.aggregatedList')).toBeGreaterThanOrEqual(2);
    // --route-limit auto (the default): one projects.get per run.
    expect(ok('projects.get', 'create')).toBe(1);
    expect(ok('projects.get', 'change')).toBe(1);
    expect(ok('globalOperations.wait') + ok('globalOperations.get')).toBeGreaterThanOrEqual(8);
    expect(observed.every((o) => o.call.fault === undefined)).toBe(true);
  });

  it('every call is one routesync is known to make, in the bound project, and needs only permissions the role grants', () => {
    const project = sim.world.project;
    const unmapped = observed.filter((o) => GCE_CALL_PERMISSIONS[o.call.method] === undefined).map((o) => `${o.call.method} ${o.call.path}`);
    expect(unmapped).toEqual([]);
    // projects.get is the project itself: /compute/v1/projects/{project}.
    const inProject = (path: string): boolean => path === `/compute/v1/projects/${project}` || path.startsWith(`/compute/v1/projects/${project}/`);
    expect(observed.filter((o) => !inProject(o.call.path)).map((o) => o.call.path)).toEqual([]);
    const missing = observed.flatMap((o) => (GCE_CALL_PERMISSIONS[o.call.method] ?? []).filter((p) => !role.includedPermissions.includes(p)));
    expect(missing).toEqual([]);
  });

  it('every permission the role grants was needed by a successful call', () => {
    const needed = new Set(observed.filter((o) => o.call.status === 200).flatMap((o) => GCE_CALL_PERMISSIONS[o.call.method] ?? []));
    expect([...role.includedPermissions].sort()).toEqual([...needed].sort());
  });
});
