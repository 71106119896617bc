/**
 * Planner inputs from a seed, with a PRNG of their own (not fast-check's), so that a seed names the
 * same world whatever the library versions: both families, multi-network mode, GCE and AWS quotas,
 * prefix lists, blackholes, protected subnets, unparsable and foreign destinations, every kind of
 * node resolution, small limits and delete caps. Plus `fleet`, the shape of bench/run.ts's planner input.
 */
import type { PlanInput, PlanNetwork } from '../../src/planner/plan.js';
import type { Lease } from '../../src/leases/types.js';
import type { ActualRoute, NodeResolution, RouteOrigin, RouteTable, TargetKind } from '../../providers/provider.js';
import { OWNER_MARKED, TABLE_DEFAULT } from './route-facts.js';
import { seededRandom } from '../sim/shared/util.js';

/** A random world; the same seed gives the same world. */
export function randomWorld(seed: number): PlanInput {
  const r = seededRandom(seed);
  const int = (n: number): number => Math.floor(r() * n);
  const chance = (p: number): boolean => r() < p;
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)] as T;

  const multi = chance(0.3);
  const networks: PlanNetwork[] = [
    { name: 'blue', network: '10.1.0.0/16', ...(chance(0.5) ? { ipv6Network: 'fc00::/48' } : {}) },
    { name: 'green', ...(chance(0.8) ? { network: '10.2.0.0/16' } : {}), ...(chance(0.4) ? { ipv6Network: 'fc00:1::/48' } : {}) },
  ];
  if (chance(0.5)) networks.push({ name: 'red', network: '10.3.0.0/16' });
  const netNames = ['blue', 'green', 'red', 'gone'];
  const small = chance(0.5);
  const third = (): number => int(small ? 8 : 40);
  const v4 = (): string => {
    const x = r();
    if (x < 0.04) return `10.1.${third()}.1/24`;
    if (x < 0.06) return 'garbage';
    if (x < 0.12) return `192.168.${third()}.0/24`;
    return `10.${multi ? 1 + int(4) : chance(0.9) ? 1 : 2}.${third()}.0/24`;
  };
  const v6 = (): string => {
    const x = r();
    if (x < 0.05) return `fd00:0:0:${third().toString(16)}::/64`;
    if (x < 0.08) return 'fc00::1/64';
    return `fc00:${multi && chance(0.4) ? '1' : '0'}:0:${third().toString(16)}::/64`;
  };

  const leases: Lease[] = [];
  const leaseCount = 2 + int(small ? 12 : 40);
  for (let i = 0; i < leaseCount; i += 1) {
    const network = multi ? pick(netNames) : chance(0.05) ? 'blue' : undefined;
    const rev = chance(0.2) ? 7 : 1 + int(1000);
    const node = 1 + int(small ? 10 : 30);
    const key = `/k/${i}`;
    const kind = r();
    const base = { key, ...(network === undefined ? {} : { network }), createRevision: rev, modRevision: rev, reservation: chance(0.1) };
    if (kind < 0.7) leases.push({ ...base, subnet: v4(), nodeIp: `172.31.0.${node}` });
    if (kind > 0.5) leases.push({ ...base, family: 'ipv6', subnet: v6(), nodeIp: `2600::${node.toString(16)}` });
  }

  const resolutions = new Map<string, NodeResolution>();
  for (let node = 1; node <= 30; node += 1) {
    for (const ip of [`172.31.0.${node}`, `2600::${node.toString(16)}`]) {
      const target = `eni-${chance(0.9) ? node : node + 1}`;
      const x = r();
      if (x < 0.05) continue;
      if (x < 0.55) resolutions.set(ip, { status: 'found', target, forwarding: 'enabled', ...(chance(0.15) ? { ipv6Capable: chance(0.5) } : {}) });
      else if (x < 0.65) resolutions.set(ip, { status: 'found', target, forwarding: 'fixable' });
      else if (x < 0.72) resolutions.set(ip, { status: 'found', target, forwarding: 'disabled' });
      else if (x < 0.82) resolutions.set(ip, { status: 'not-found' });
      else if (x < 0.9) resolutions.set(ip, { status: 'not-eligible', target, why: 'no node tag' });
      else resolutions.set(ip, { status: 'lookup-failed', error: 'boom' });
    }
  }

  const tables: RouteTable[] = [];
  const tableCount = 1 + int(4);
  const gce = chance(0.3);
  for (let t = 0; t < tableCount; t += 1) {
    const routes: ActualRoute[] = [];
    if (!gce) routes.push({ destination: '172.31.0.0/16', target: null, blackhole: false, targetKind: 'gateway', origin: 'table-default', quotaWeight: 1, bearsOwnerMarks: false, inManagedSpace: true, via: 'local' });
    const routeCount = int(small ? 12 : 45);
    for (let i = 0; i < routeCount; i += 1) {
      const x = r();
      const ipv6 = x < 0.3;
      const prefixList = x > 0.97;
      const destination = prefixList ? `pl-${int(3)}` : ipv6 ? v6() : v4();
      const marked = chance(0.7);
      const node = 1 + int(32);
      const target = chance(0.05) ? null : `eni-${node}`;
      routes.push({
        destination,
        target,
        targetKind: pick<TargetKind>(marked ? ['interface', 'instance'] : ['gateway', 'interface', 'none']),
        origin: pick<RouteOrigin>(['created', 'created', 'created', 'propagated', 'table-default']),
        quotaWeight: prefixList ? 1 + int(5) : 1,
        ...(ipv6 ? { family: 'ipv6' as const } : chance(0.3) ? { family: 'ipv4' as const } : {}),
        blackhole: chance(0.2),
        bearsOwnerMarks: marked,
        inManagedSpace: chance(0.9),
        via: target ?? 'blackhole',
      });
    }
    tables.push({
      id: `rtb-${t}-${int(100)}`,
      limit: 1 + int(small ? 15 : 50),
      ...(chance(0.3) ? { ipv6Limit: 1 + int(20) } : {}),
      ...(chance(0.3) ? { limitSource: pick(['quota-api', 'fallback', 'learned-from-refusal'] as const) } : {}),
      ...(chance(0.2) ? { quotaUsage: int(50) } : {}),
      quota: gce ? 'gce-routes-per-project' : 'aws-vpc-routes-per-table',
      ...(gce && chance(0.7) ? { replaceNeedsSpareSlot: true } : chance(0.1) ? { replaceNeedsSpareSlot: false } : {}),
      routes,
    });
  }
  // Same table id twice now and then (tableOrder uses ids).
  if (tables.length > 2 && chance(0.1)) tables[2] = { ...tables[2]!, id: tables[0]!.id };

  const protectedSubnets = Array.from({ length: int(3) }, () => (chance(0.5) ? v4() : v6()));
  const policy = {
    allowEmpty: chance(0.2),
    maxDeletesPerPass: chance(0.5) ? { kind: 'percent' as const, value: 1 + int(100) } : { kind: 'count' as const, value: int(6) },
  };
  const common = { leases: chance(0.05) ? [] : leases, protectedSubnets, tables, resolutions, policy };
  if (multi) return { networks, ...common };
  const single = networks[0]!;
  return {
    ...(chance(0.9) ? { network: single.network } : {}),
    ...(chance(0.6) ? { ipv6Network: 'fc00::/48' } : {}),
    ...common,
  };
}

/** bench/run.ts's plannerInput: `leaseCount` leases × `tableCount` tables, the first `routed` leases routed in each. */
export function fleet(leaseCount: number, tableCount: number, routed: number, limit: number): PlanInput {
  const leases: Lease[] = [];
  const resolutions = new Map<string, NodeResolution>();
  for (let i = 0; i < leaseCount; i += 1) {
    const n = i + 1;
    const subnet = `10.${Math.floor(n / 256) % 256}.${n % 256}.0/24`;
    const nodeIp = `172.31.${64 + Math.floor((i + 10) / 256)}.${(i + 10) % 256}`;
    leases.push({ key: `/coreos.com/network/subnets/${subnet.replace('/', '-')}`, subnet, nodeIp, createRevision: n + 10, modRevision: n + 10, reservation: false });
    resolutions.set(nodeIp, { status: 'found', target: `eni-${i.toString(16).padStart(17, '0')}`, forwarding: 'enabled' });
  }
  const local: ActualRoute = { destination: '172.31.0.0/16', target: null, blackhole: false, ...TABLE_DEFAULT, via: 'local' };
  const tables: RouteTable[] = Array.from({ length: tableCount }, (_, t) => ({
    id: `rtb-${t.toString(16).padStart(17, '0')}`,
    limit,
    quota: 'aws-vpc-routes-per-table',
    routes: [
      local,
      ...leases.slice(0, routed).map((lease, i) => ({
        destination: lease.subnet,
        target: `eni-${i.toString(16).padStart(17, '0')}`,
        blackhole: false,
        ...OWNER_MARKED,
        via: `eni-${i}`,
      })),
    ],
  }));
  return { network: '10.0.0.0/8', leases, protectedSubnets: [], tables, resolutions, policy: { allowEmpty: false, maxDeletesPerPass: { kind: 'percent', value: 20 } } };
}
