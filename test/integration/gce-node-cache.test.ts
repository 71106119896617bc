/**
 * The gce node lookups on the GCE simulator, counted from its call log: a lease event reads only
 * its unknown node (one filtered instances.aggregatedList), a resync reads one page whatever the
 * number of leases, and every node is re-checked within ⌈instances / 500⌉ resyncs.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createGceProvider } from '../../providers/gce/index.js';
import type { RouteProvider } from '../../providers/provider.js';
import { startGceSimulator, type GceSimulator } from '../sim/gce/index.js';

const PROJECT = 'cache-project';
const signal = new AbortController().signal;

let cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const fn of cleanup.reverse()) await fn();
  cleanup = [];
});

const ipOf = (i: number): string => `10.240.${Math.floor(i / 250)}.${(i % 250) + 2}`;

async function setUp(nodes: number): Promise<{ s: GceSimulator; p: RouteProvider; ips: string[] }> {
  const s = await startGceSimulator({ project: PROJECT, operationLatencyMs: 10, routeQuota: 5000 });
  cleanup.push(() => s.close());
  s.world.createNetwork({ name: 'default', ipv4Range: '10.240.0.0/16' });
  const ips: string[] = [];
  for (let i = 0; i < nodes; i++) {
    s.world.createInstance({ name: `node-${i}`, zone: i % 2 ? 'us-central1-a' : 'us-central1-b', networkIP: ipOf(i), canIpForward: true });
    ips.push(ipOf(i));
  }
  const p = await createGceProvider({ project: PROJECT, network: 'default', clusterName: 'c1', routeLimit: 5000, endpoint: s.url });
  cleanup.push(() => p.close());
  return { s, p, ips };
}

const reads = (s: GceSimulator): number => s.world.calls('instances.aggregatedList').length;

describe('gce node lookups', () => {
  it('at 1,000 leases: one aggregatedList page per resync, an event pass reads only its new node', async () => {
    const { s, p, ips } = await setUp(1000);
    // Cold start: the whole listing (2 pages of 500) beats 20 filtered lookups.
    const first = await p.resolveNodes(ips, signal, { refresh: true });
    expect([...first.values()].every((r) => r.status === 'found')).toBe(true);
    expect(reads(s)).toBe(2);

    const perResync: number[] = [];
    for (let resync = 0; resync < 4; resync++) {
      s.world.clearCalls();
      await p.listTables(signal);
      await p.resolveNodes(ips, signal, { refresh: true });
      perResync.push(reads(s));
      expect(s.world.calls().filter((c) => c.method !== 'routes.list' && c.method !== 'projects.get' && c.method !== 'instances.aggregatedList')).toEqual([]);
    }
    expect(perResync).toEqual([1, 1, 1, 1]);

    // A lease event for a known node reads nothing; for a new node, one filtered call.
    s.world.clearCalls();
    await p.resolveNodes(ips, signal, { refresh: false });
    expect(reads(s)).toBe(0);
    s.world.createInstance({ name: 'node-new', zone: 'us-central1-a', networkIP: '10.240.9.9', canIpForward: true });
    const event = await p.resolveNodes([...ips, '10.240.9.9'], signal, { refresh: false });
    expect(event.get('10.240.9.9')).toMatchObject({ status: 'found' });
    const calls = s.world.calls('instances.aggregatedList');
    expect(calls).toHaveLength(1);
    expect(calls[0]?.query['filter']).toBe('networkInterfaces.networkIP eq "10[.]240[.]9[.]9"');
  });

  it('re-checks every node within ⌈instances / 500⌉ resyncs: a node that lost its forwarding is seen', async () => {
    const { s, p, ips } = await setUp(1000);
    await p.resolveNodes(ips, signal, { refresh: true });
    // Recreated without IP forwarding under the same IP: only a re-check can tell.
    const victim = 999;
    s.world.deleteInstance(`node-${victim}`);
    s.world.createInstance({ name: `node-${victim}-b`, zone: 'us-central1-a', networkIP: ipOf(victim), canIpForward: false });
    const seen: string[] = [];
    for (let resync = 0; resync < 2; resync++) {
      const answers = await p.resolveNodes(ips, signal, { refresh: true });
      const answer = answers.get(ipOf(victim));
      seen.push(answer?.status === 'found' ? answer.forwarding : String(answer?.status));
    }
    expect(seen).toContain('disabled');
  });

  it('a few nodes among many instances: filtered re-checks of 50 IPs, not pages of the whole project', async () => {
    const { s, p, ips } = await setUp(1500);
    const nodes = ips.slice(0, 60);
    // Before any listing the size of the project is unknown: the whole listing (3 pages) it is.
    await p.resolveNodes(nodes, signal, { refresh: true });
    expect(reads(s)).toBe(3);
    s.world.clearCalls();
    await p.resolveNodes(nodes, signal, { refresh: true });
    await p.resolveNodes(nodes, signal, { refresh: true });
    const filters = s.world.calls('instances.aggregatedList').map((c) => c.query['filter'] ?? '');
    expect(filters).toHaveLength(2);
    // Between them the two re-checks cover all 60 nodes.
    const covered = new Set(filters.flatMap((f) => f.replace(/^.*eq "|"$/g, '').split('|').map((ip) => ip.replaceAll('[.]', '.'))));
    expect(nodes.every((ip) => covered.has(ip))).toBe(true);
  });
});
