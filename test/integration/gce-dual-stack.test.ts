/**
 * Dual-stack leases through the Reconciler, the gce provider and the GCE simulator: IPv6 static
 * routes with nextHopInstance to dual-stack instances (internal and external IPv6), names that fit
 * GCE's 63 characters, and an IPv4-only instance whose lease gets its IPv4 route only, the IPv6
 * half reported as no-ipv6-interface.
 */
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { createGceProvider } from '../../providers/gce/index.js';
import { routeName } from '../../providers/gce/route-mapping.js';
import type { RouteProvider } from '../../providers/provider.js';
import type { Lease, LeaseSnapshot } from '../../src/leases/types.js';
import { Reconciler } from '../../src/reconcile/reconciler.js';
import { startGceSimulator, type GceSimulator } from '../sim/gce/index.js';

const PROJECT = 'dual-project';
const silent = pino({ level: 'silent' });
const signal = new AbortController().signal;

let cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const fn of cleanup.reverse()) await fn();
  cleanup = [];
});

async function setup(): Promise<{ sim: GceSimulator; provider: RouteProvider }> {
  const sim = await startGceSimulator({ project: PROJECT, operationLatencyMs: 5 });
  cleanup.push(() => sim.close());
  sim.world.createNetwork({ name: 'default', ipv4Range: '10.240.0.0/16' });
  sim.world.createInstance({ name: 'node-1', networkIP: '10.240.0.11', ipv6Address: 'fd20:1:2:3::11', canIpForward: true });
  sim.world.createInstance({ name: 'node-2', networkIP: '10.240.0.12', ipv6Address: '2600:1900:4000:1::12', ipv6AccessType: 'EXTERNAL', canIpForward: true });
  sim.world.createInstance({ name: 'node-3', networkIP: '10.240.0.13', canIpForward: true }); // IPV4_ONLY
  const provider = await createGceProvider({ project: PROJECT, network: 'default', clusterName: 'c1', routeLimit: 100, endpoint: sim.url, userAgentSuffix: 'test' });
  cleanup.push(() => provider.close());
  return { sim, provider };
}

function halves(n: number, v6node: string): Lease[] {
  const key = `/coreos.com/network/subnets/10.1.${n}.0-24&fc00:0:0:${n}::-64`;
  const common = { key, createRevision: n, modRevision: n, reservation: false };
  return [
    { ...common, subnet: `10.1.${n}.0/24`, nodeIp: `10.240.0.${10 + n}` },
    { ...common, family: 'ipv6', subnet: `fc00:0:0:${n}::/64`, nodeIp: v6node },
  ];
}

function reconciler(provider: RouteProvider, leases: Lease[]): Reconciler {
  const snapshot: LeaseSnapshot = {
    revision: 1,
    config: { network: '10.1.0.0/16', subnetLen: 24, enableIPv4: true, enableIPv6: true, ipv6Network: 'fc00::/48', ipv6SubnetLen: 64, backendType: 'alloc' },
    leases,
    invalid: [],
  };
  const policy = { allowEmpty: false, maxDeletesPerPass: { kind: 'percent' as const, value: 100 } };
  return new Reconciler(provider, { snapshot: () => snapshot }, { dryRun: false, policy, apply: { baseDelayMs: 2, maxDelayMs: 10 } }, silent);
}

describe('gce, dual-stack', () => {
  it('routes both halves to dual-stack instances and only the IPv4 half of an IPv4-only one, saying why', async () => {
    const { sim, provider } = await setup();
    const leases = [...halves(1, 'fd20:1:2:3::11'), ...halves(2, '2600:1900:4000:1::12'), ...halves(3, 'fd20:1:2:3::13')];
    const report = await reconciler(provider, leases).pass(signal);
    const byHalf = new Map(report.leases.map((l) => [`${l.family} ${l.subnet}`, l]));
    expect(byHalf.get('ipv4 10.1.1.0/24')?.state).toBe('routed');
    expect(byHalf.get('ipv6 fc00:0:0:1::/64')?.state).toBe('routed');
    expect(byHalf.get('ipv6 fc00:0:0:2::/64')?.state).toBe('routed');
    expect(byHalf.get('ipv4 10.1.3.0/24')?.state).toBe('routed');
    expect(byHalf.get('ipv6 fc00:0:0:3::/64')).toMatchObject({ state: 'unrouted', reason: 'no-ipv6-interface' });
    expect(byHalf.get('ipv6 fc00:0:0:3::/64')?.detail).toContain('instances/node-3');

    const routes = new Map(sim.world.routes().map((r) => [r.destRange, r]));
    expect(routes.get('fc00:0:0:1::/64')).toMatchObject({ name: 'c1-v6-fc00-0-0-1---64', description: 'routesync:c1' });
    expect(routes.get('fc00:0:0:1::/64')?.nextHopInstance).toMatch(/instances\/node-1$/);
    expect(routes.get('fc00:0:0:2::/64')?.nextHopInstance).toMatch(/instances\/node-2$/);
    expect(routes.has('fc00:0:0:3::/64')).toBe(false);

    // A second pass finds everything in place: the IPv6 routes are routesync's and nothing changes.
    const again = await reconciler(provider, leases).pass(signal);
    expect(again.results).toEqual([]);
  });

  it('names long IPv6 destinations by a hash that still fits, and the simulator refuses an IPv6 route to an IPv4-only instance', async () => {
    const long = '2001:db8:1234:5678:9abc:def0:1234:5600/120';
    const name = routeName('a-cluster-name-of-thirty-one-ch', long);
    expect(name.length).toBeLessThanOrEqual(61);
    expect(name).toMatch(/^a-cluster-name-of-thirty-one-ch-v6-h[0-9a-f]{16}-120$/);
    expect(routeName('c1', 'fc00:0:0:1::/64')).not.toBe(routeName('c1', 'fc00:0:0:1::/65'));

    const { sim, provider } = await setup();
    const [node3] = sim.world.instancesList().filter((i) => i.name === 'node-3');
    const target = `projects/${PROJECT}/zones/${node3?.zone.split('/').pop() ?? ''}/instances/node-3`;
    await expect(provider.apply({ kind: 'create', table: `projects/${PROJECT}/global/networks/default`, destination: 'fc00:0:0:9::/64', target, nodeIp: 'fd20::9' }, signal)).rejects.toThrow(/IPv6/);
  });
});
