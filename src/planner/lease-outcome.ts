/** What became of one lease, from what the tables decided for it. */
import type { Family, Lease } from '../leases/types.js';
import type { NodeResolution } from '../../providers/provider.js';
import type { Ipv4Cidr } from '../net/cidr.js';
import type { Ipv6Cidr } from '../net/cidr6.js';
import type { LeaseOutcome } from './types.js';

export interface ParsedLease {
  readonly lease: Lease;
  readonly family: Family;
  /** The subnet of an IPv4 half. */
  readonly cidr?: Ipv4Cidr;
  /** The subnet of an IPv6 half. */
  readonly cidr6?: Ipv6Cidr;
  readonly resolution: NodeResolution;
  /** An IPv6 half whose node (found by the lease's IPv4 half) has no IPv6 interface: it says which. */
  readonly noIpv6Interface?: string;
}

/** What the tables decided for one lease, gathered as the tables are planned. */
export interface LeaseVerdicts {
  /** A create or replace is planned in some table. */
  changing: boolean;
  /** Tables where a foreign route holds the lease's subnet, with what it points at. */
  readonly conflicts: Array<{ readonly table: string; readonly via: string }>;
  /** Tables with no room left for the lease. */
  readonly full: string[];
  /** Tables that hold a correct route for the lease, or get a create or replace for it. */
  readonly routedIn: string[];
  /** Tables whose route for the lease is a blackhole to its own target: the instance is stopped. */
  readonly stopped: string[];
  /** Tables without a route for a stopped lease: none is created until the instance runs. */
  readonly waiting: string[];
}

export function leaseOutcome(parsed: ParsedLease, verdict: LeaseVerdicts | undefined): LeaseOutcome {
  const { lease, resolution } = parsed;
  const base = { key: lease.key, ...(lease.network === undefined ? {} : { network: lease.network }), family: parsed.family, subnet: lease.subnet, nodeIp: lease.nodeIp, createRevision: lease.createRevision };
  if (parsed.noIpv6Interface !== undefined) {
    return {
      ...base,
      state: 'unrouted',
      reason: 'no-ipv6-interface',
      detail: `${parsed.noIpv6Interface} has no IPv6 interface (IPv4-only): it cannot take the route to ${lease.subnet}`,
    };
  }
  switch (resolution.status) {
    case 'not-found':
      return { ...base, state: 'unrouted', reason: 'node-not-found', detail: `no network interface holds ${lease.nodeIp}` };
    case 'not-eligible':
      return { ...base, target: resolution.target, state: 'unrouted', reason: 'node-not-eligible', detail: `${resolution.target} is not a cluster node: ${resolution.why}` };
    case 'lookup-failed':
      return { ...base, state: 'error', reason: 'lookup-failed', detail: resolution.error };
    case 'found':
      break;
  }
  const withTarget = { ...base, target: resolution.target };
  if (resolution.forwarding === 'disabled') {
    return { ...withTarget, state: 'unrouted', reason: 'forwarding-disabled', detail: `${resolution.target} cannot forward packets` };
  }
  if (verdict === undefined) return { ...withTarget, state: 'routed' };
  if (verdict.conflicts.length > 0) {
    const detail = verdict.conflicts.map(({ table, via }) => `${table}: ${lease.subnet} is held by a foreign route via ${via}`).join('; ');
    return { ...withTarget, state: 'conflict', reason: 'conflict', detail };
  }
  if (verdict.stopped.length > 0) {
    const waiting = verdict.waiting.length > 0 ? `; no route made in ${verdict.waiting.join(', ')} until it runs` : '';
    const full = verdict.full.length > 0 ? `; route limit reached in ${verdict.full.join(', ')}` : '';
    return {
      ...withTarget,
      state: 'unrouted',
      reason: 'node-stopped',
      detail: `the instance of ${resolution.target} is stopped: its route is a blackhole in ${verdict.stopped.join(', ')}${waiting}${full}`,
    };
  }
  if (verdict.full.length > 0) {
    const limited = `route limit reached in ${verdict.full.join(', ')}`;
    if (verdict.routedIn.length === 0) return { ...withTarget, state: 'unrouted', reason: 'route-limit', detail: limited };
    return partialOutcome(withTarget, verdict.routedIn, verdict.full, limited);
  }
  return { ...withTarget, state: verdict.changing ? 'pending' : 'routed' };
}

/** A lease routed in some tables only: reason route-limit, with where it is and is not. */
export function partialOutcome(
  outcome: Omit<LeaseOutcome, 'state'>,
  routedIn: readonly string[],
  missingIn: readonly string[],
  why: string,
): LeaseOutcome {
  return {
    ...outcome,
    state: 'partial',
    reason: 'route-limit',
    routedIn: [...routedIn],
    missingIn: [...missingIn],
    detail: `routed in ${routedIn.join(', ')}; not in ${missingIn.join(', ')}: ${why}`,
  };
}
