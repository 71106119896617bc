/**
 * The aws-vpc node cache: node IP → the in-use ENI holding it (primary or secondary IP), and the
 * cycle that re-checks what it knows (docs/architecture.md, 'AWS facts').
 *
 * IPs the cache does not know (or whose cached ENI the listing shows as a blackhole target) are
 * looked up at once with as few DescribeNetworkInterfaces calls as possible: IPs filtered by
 * `addresses.private-ip-address` (200 values per call, EC2's limit for all filters of a call
 * together) or, when that takes more calls, the whole VPC in pages of 1,000 in-use ENIs. A resync
 * (`refresh`) also re-checks the known IPs, one call's worth per resync whatever the number of
 * leases: the next page of the VPC-wide listing (all of a VPC of up to 1,000 ENIs), or the next 200
 * known IPs. A cycle through the whole VPC takes ⌈ENIs / 1,000⌉ resyncs. A not-found answer is
 * asked again with the unknown IPs (same batches) in every event-driven pass, and in other passes
 * once it is older than notFoundLifetimeMs: flannel gives a node that reuses an IP the old lease,
 * so a lease event may be the node coming back.
 */
import type { DescribeNetworkInterfacesCommandInput, NetworkInterface } from '@aws-sdk/client-ec2';
import { classifyError } from '../../src/errors.js';
import { paced, type Pacer } from '../../src/pacing/pacer.js';
import type { PacingClock } from '../../src/pacing/clock.js';
import { NodeAnswers } from '../node-answers.js';
import type { NodeResolution, ResolveOptions, RouteTable } from '../provider.js';
import type { Ec2Api } from './ec2-api.js';
import { addressesOf, addressFilter, byFamily, isNodeAddress } from './eni-addresses.js';
import { compareText, nextToken } from './paging.js';

/** EC2 accepts at most 200 filter values per call (all filters together). */
export const MAX_FILTER_VALUES = 200;
/** DescribeNetworkInterfaces page size for a VPC-wide listing (EC2's maximum). */
export const ENI_PAGE_SIZE = 1000;

export interface NodeCacheSettings {
  /** Where ENIs are looked for until a listing names the tables' VPCs. */
  readonly vpcId?: string;
  /** See AwsVpcProviderOptions.nodeRefreshIntervalMs. */
  readonly nodeRefreshIntervalMs?: number;
  /** See AwsVpcProviderOptions.notFoundLifetimeMs. */
  readonly notFoundLifetimeMs?: number;
  /** The pacer's clock (tests); default the system's monotonic clock. */
  readonly clock?: PacingClock;
  /** Sees every in-use ENI of the managed VPCs a listing returns (node eligibility: eligibility.ts). */
  readonly observe?: (eni: NetworkInterface) => void;
}

interface Warner {
  warn(fields: Record<string, unknown>, message: string): void;
}

export class NodeCache {
  /** The VPCs of the managed tables, from the last listing: the only VPCs whose ENIs are targets. */
  private tableVpcs: ReadonlySet<string> = new Set();
  /** ENIs that managed routes point at while in state blackhole, from the last listing: gone. */
  private blackholeTargets: ReadonlySet<string> = new Set();
  /** Node IP → its last definitive lookup (found or not-found), on the pacing clock. */
  private readonly nodes = new NodeAnswers<NodeResolution>(() => this.now());
  /** In-use ENIs of the managed VPCs at the last complete VPC-wide listing (sizes the next one). */
  private vpcEniCount: number | undefined;
  /** The re-check of known IPs that resyncs carry forward, one call at a time. */
  private recheck: RecheckCycle = newRecheckCycle();
  /** When a resync last re-checked known IPs (pacing clock). */
  private lastRecheckAt: number | undefined;
  private readonly clock: PacingClock | undefined;

  constructor(
    private readonly api: Ec2Api,
    private readonly pacer: Pacer | undefined,
    private readonly settings: NodeCacheSettings,
    private readonly log: Warner,
  ) {
    this.clock = settings.clock;
  }

  /** What the last table listing says about targets: the VPCs they may be in, and which are gone. */
  sawTables(vpcs: ReadonlySet<string>, tables: readonly RouteTable[]): void {
    this.tableVpcs = vpcs;
    this.blackholeTargets = new Set(tables.flatMap((t) => t.routes.filter((r) => r.blackhole && r.target !== null).map((r) => r.target ?? '')));
  }

  /** Forwarding of `target` was turned on. */
  forwardingEnabled(target: string): void {
    for (const [ip, cached] of this.nodes) {
      if (cached.status === 'found' && cached.target === target) this.nodes.remember(ip, { ...cached, forwarding: 'enabled' });
    }
  }

  async resolve(nodeIps: readonly string[], signal: AbortSignal, options: ResolveOptions): Promise<Map<string, NodeResolution>> {
    signal.throwIfAborted();
    const result = new Map<string, NodeResolution>();
    const ips: string[] = [];
    for (const ip of new Set(nodeIps)) {
      if (isNodeAddress(ip)) ips.push(ip);
      else result.set(ip, { status: 'lookup-failed', error: `not an IP address: ${JSON.stringify(ip)}` });
    }
    const refresh = options.refresh ?? this.recheckDue();
    const now = this.now();
    if (refresh) this.lastRecheckAt = now;
    // Unknown IPs and not-found answers that may be stale, asked together in batches.
    const eventDriven = options.refresh === false;
    const unknown = ips.filter((ip) => this.needsLookup(ip, eventDriven, now));

    const looked = unknown.length > 0 ? await this.lookUp(unknown, signal) : { answers: new Map<string, NodeResolution>(), extra: undefined };
    if (looked.extra !== undefined) {
      // A complete VPC-wide listing: the whole cache is checked, and the re-check starts over.
      this.nodes.replaceAll(looked.extra);
      this.recheck = newRecheckCycle();
    }
    for (const [ip, answer] of looked.answers) {
      result.set(ip, answer);
      if (answer.status === 'lookup-failed') continue;
      this.nodes.remember(ip, answer);
      // Looked up by IP after the re-check began: as fresh as what it will have seen.
      if (looked.extra === undefined) this.recheck.lookedUp.add(ip);
    }
    if (refresh && looked.extra === undefined) {
      const known: string[] = [];
      for (const ip of ips) {
        const cached = result.has(ip) ? undefined : this.nodes.get(ip);
        if (cached === undefined) continue;
        known.push(ip);
        result.set(ip, cached); // unless the re-check has news
      }
      if (known.length > 0) await this.recheckNext(known, result, signal);
    }

    // The others are known from an earlier lookup. (A failed lookup stays lookup-failed even when the
    // cache knows the IP: a failed lookup changes nothing, see docs/architecture.md, 'Planner rules'.)
    const ordered = new Map<string, NodeResolution>();
    for (const ip of new Set(nodeIps)) {
      ordered.set(ip, result.get(ip) ?? this.nodes.get(ip) ?? { status: 'lookup-failed', error: 'not looked up' });
    }
    return ordered;
  }

  /**
   * One DescribeNetworkInterfaces re-checking known IPs: the next page of the VPC-wide listing, or
   * the next 200 of `known` (sorted) when IP filters go round in fewer calls. A failure is logged
   * and the cached answers stand; the next resync tries again.
   */
  private async recheckNext(known: readonly string[], into: Map<string, NodeResolution>, signal: AbortSignal): Promise<void> {
    const vpcs = this.managedVpcs();
    const cycle = this.recheck;
    try {
      if (this.listsVpcWide(known.length, vpcs)) {
        const page = await paced(this.pacer, 'DescribeNetworkInterfaces', signal, () =>
          this.api.describeNetworkInterfaces(
            { ...vpcWideListing(vpcs), ...(cycle.token !== undefined ? { NextToken: cycle.token } : {}) },
            signal,
          ),
        );
        const enis = page.NetworkInterfaces ?? [];
        const found = new Map<string, NodeResolution>();
        this.addToIndex(found, enis, vpcs);
        for (const [ip, answer] of found) {
          this.nodes.remember(ip, answer);
          cycle.seen.add(ip);
        }
        for (const ip of known) {
          const answer = found.get(ip);
          if (answer !== undefined) into.set(ip, answer);
        }
        cycle.enis += enis.length;
        cycle.token = page.NextToken === undefined || page.NextToken === '' ? undefined : page.NextToken;
        if (cycle.token === undefined) this.endRecheckCycle(cycle);
      } else {
        const sorted = [...known].sort(compareText);
        const start = cycle.ipOffset < sorted.length ? cycle.ipOffset : 0;
        const batch = sorted.slice(start, start + MAX_FILTER_VALUES);
        cycle.ipOffset = start + batch.length;
        for (const [ip, answer] of await this.lookUpBatch(batch, vpcs, signal)) {
          this.nodes.remember(ip, answer);
          into.set(ip, answer);
        }
      }
    } catch (err) {
      if (signal.aborted) throw err;
      const classified = classifyError(err);
      if (classified.class === 'aborted') throw err;
      // A page token EC2 no longer accepts: start the listing over next time.
      if (classified.code === 'InvalidPaginationToken') this.recheck = newRecheckCycle();
      this.log.warn(
        { code: classified.code, class: classified.class, known: known.length },
        'DescribeNetworkInterfaces failed: the cached node answers stand until the next resync',
      );
    }
  }

  /** The VPC-wide listing went round: IPs it did not find (and nobody looked up since) are gone from the cache. */
  private endRecheckCycle(cycle: RecheckCycle): void {
    for (const ip of this.nodes.keys()) {
      if (!cycle.seen.has(ip) && !cycle.lookedUp.has(ip)) this.nodes.forget(ip);
    }
    this.vpcEniCount = cycle.enis;
    this.recheck = newRecheckCycle();
  }

  /** Whether a call without `refresh` should re-check known IPs (see nodeRefreshIntervalMs). */
  private recheckDue(): boolean {
    const interval = this.settings.nodeRefreshIntervalMs;
    if (interval === undefined || this.lastRecheckAt === undefined) return true;
    return this.now() - this.lastRecheckAt >= interval / 2;
  }

  /**
   * Not in the cache; cached as an ENI that a managed route shows as a blackhole (gone); or cached
   * as not-found, in an event-driven pass or once that answer's lifetime is over.
   */
  private needsLookup(ip: string, eventDriven: boolean, now: number): boolean {
    const cached = this.nodes.get(ip);
    if (cached === undefined) return true;
    if (cached.status === 'found') return this.blackholeTargets.has(cached.target);
    if (cached.status !== 'not-found' || eventDriven) return true;
    return this.nodes.notFoundExpired(ip, now, this.settings.notFoundLifetimeMs);
  }

  private now(): number {
    return (this.clock ?? { now: () => performance.now() }).now();
  }

  /** The VPCs whose ENIs can be targets: those of the listed tables, else --vpc-id; undefined when unknown. */
  private managedVpcs(): ReadonlySet<string> | undefined {
    if (this.tableVpcs.size > 0) return this.tableVpcs;
    return this.settings.vpcId !== undefined ? new Set([this.settings.vpcId]) : undefined;
  }

  /**
   * Looks `ips` up with the fewest DescribeNetworkInterfaces calls: IP-filtered batches of 200, or
   * a VPC-wide listing in pages of 1,000 when that is fewer calls (sized by the last listing; at
   * first, whenever the IPs need more than one batch). `extra`: every IP the VPC-wide listing
   * found, asked or not.
   */
  private async lookUp(
    ips: readonly string[],
    signal: AbortSignal,
  ): Promise<{ answers: Map<string, NodeResolution>; extra: Map<string, NodeResolution> | undefined }> {
    const vpcs = this.managedVpcs();
    if (this.listsVpcWide(ips.length, vpcs)) return this.lookUpVpcWide(ips, vpcs, signal);
    return { answers: await this.lookUpByIp(ips, vpcs, signal), extra: undefined };
  }

  /**
   * Whether listing the VPC takes fewer calls than filtering by `ipCount` IPs (sized by the last
   * complete listing; before one, whenever the IPs need more than one call).
   */
  private listsVpcWide(ipCount: number, vpcs: ReadonlySet<string> | undefined): vpcs is ReadonlySet<string> {
    if (vpcs === undefined || vpcs.size >= MAX_FILTER_VALUES) return false;
    const ipCalls = Math.ceil(ipCount / MAX_FILTER_VALUES);
    const vpcCalls =
      this.vpcEniCount !== undefined ? Math.max(1, Math.ceil(this.vpcEniCount / ENI_PAGE_SIZE)) : ipCalls > 1 ? 1 : Number.POSITIVE_INFINITY;
    return vpcCalls < ipCalls;
  }

  private async lookUpByIp(ips: readonly string[], vpcs: ReadonlySet<string> | undefined, signal: AbortSignal): Promise<Map<string, NodeResolution>> {
    const result = new Map<string, NodeResolution>();
    for (let start = 0; start < ips.length; start += MAX_FILTER_VALUES) {
      const batch = ips.slice(start, start + MAX_FILTER_VALUES);
      try {
        for (const [ip, answer] of await this.lookUpBatch(batch, vpcs, signal)) result.set(ip, answer);
      } catch (err) {
        this.lookupFailed(err, batch, result, signal);
      }
    }
    return result;
  }

  /** IP-filtered DescribeNetworkInterfaces for at most 200 IPs (one call per family): each found or not-found. Throws when one fails. */
  private async lookUpBatch(batch: readonly string[], vpcs: ReadonlySet<string> | undefined, signal: AbortSignal): Promise<Map<string, NodeResolution>> {
    // Paginated (a large account refuses this non-indexed filter unpaginated); the VPC filter is applied
    // to the answer, not sent: EC2 counts all filter values of a call against 200, and the IPs use them all.
    const answers = new Map<string, NodeResolution>();
    for (const [family, ips] of byFamily(batch)) {
      const { index } = await this.indexNetworkInterfaces({ Filters: [addressFilter(family, ips)], MaxResults: ENI_PAGE_SIZE }, vpcs, signal);
      for (const ip of ips) answers.set(ip, index.get(ip) ?? { status: 'not-found' });
    }
    return answers;
  }

  private async lookUpVpcWide(
    ips: readonly string[],
    vpcs: ReadonlySet<string>,
    signal: AbortSignal,
  ): Promise<{ answers: Map<string, NodeResolution>; extra: Map<string, NodeResolution> | undefined }> {
    const answers = new Map<string, NodeResolution>();
    let listed: { index: Map<string, NodeResolution>; count: number };
    try {
      listed = await this.indexNetworkInterfaces(vpcWideListing(vpcs), vpcs, signal);
    } catch (err) {
      this.lookupFailed(err, ips, answers, signal);
      return { answers, extra: undefined };
    }
    this.vpcEniCount = listed.count;
    const index = listed.index;
    for (const ip of ips) answers.set(ip, index.get(ip) ?? { status: 'not-found' });
    return { answers, extra: index };
  }

  private lookupFailed(err: unknown, ips: readonly string[], into: Map<string, NodeResolution>, signal: AbortSignal): void {
    if (signal.aborted) throw err;
    const classified = classifyError(err);
    if (classified.class === 'aborted') throw err;
    this.log.warn(
      { code: classified.code, class: classified.class, ips: ips.length },
      'DescribeNetworkInterfaces failed: these node IPs stay unresolved this pass',
    );
    for (const ip of ips) into.set(ip, { status: 'lookup-failed', error: `${classified.code}: ${classified.message}` });
  }

  /** Adds IP → resolution for the in-use ENIs of the managed VPCs (the first ENI holding an IP wins). */
  private addToIndex(found: Map<string, NodeResolution>, enis: readonly NetworkInterface[], vpcs: ReadonlySet<string> | undefined): void {
    for (const eni of enis) {
      const target = eni.NetworkInterfaceId;
      if (target === undefined || eni.Status !== 'in-use') continue;
      if (vpcs !== undefined && (eni.VpcId === undefined || !vpcs.has(eni.VpcId))) continue;
      this.settings.observe?.(eni);
      const forwarding = eni.SourceDestCheck === false ? 'enabled' : 'fixable';
      for (const ip of addressesOf(eni)) {
        if (!found.has(ip)) found.set(ip, { status: 'found', target, forwarding });
      }
    }
  }

  /** Forgets what the cache says about `target` (the cloud says it does not exist). */
  forgetTarget(target: string, nodeIp?: string): void {
    if (nodeIp !== undefined) this.nodes.forget(nodeIp);
    for (const [ip, cached] of this.nodes) if (cached.status === 'found' && cached.target === target) this.nodes.forget(ip);
  }

  /**
   * DescribeNetworkInterfaces following NextToken, indexing each page as it comes: the SDK's objects
   * of one page at a time are alive, not those of the whole VPC.
   */
  private async indexNetworkInterfaces(
    input: DescribeNetworkInterfacesCommandInput,
    vpcs: ReadonlySet<string> | undefined,
    signal: AbortSignal,
  ): Promise<{ index: Map<string, NodeResolution>; count: number }> {
    const index = new Map<string, NodeResolution>();
    let count = 0;
    const seen = new Set<string>();
    let token: string | undefined;
    do {
      const request = token === undefined ? input : { ...input, NextToken: token };
      const page = await paced(this.pacer, 'DescribeNetworkInterfaces', signal, () => this.api.describeNetworkInterfaces(request, signal));
      const enis = page.NetworkInterfaces ?? [];
      count += enis.length;
      this.addToIndex(index, enis, vpcs);
      token = nextToken(page.NextToken, seen, 'DescribeNetworkInterfaces');
    } while (token !== undefined);
    return { index, count };
  }

}

/** Where the re-check of known IPs stands (see recheckNext). */
interface RecheckCycle {
  /** Where the next page of the VPC-wide listing starts; undefined: at the beginning. */
  token: string | undefined;
  /** IPs the cycle's pages found so far, and the in-use ENIs they held. */
  readonly seen: Set<string>;
  enis: number;
  /** IPs looked up on their own while the cycle ran: as fresh as what it saw. */
  readonly lookedUp: Set<string>;
  /** How far through the sorted known IPs the IP-filtered re-check is. */
  ipOffset: number;
}

function newRecheckCycle(): RecheckCycle {
  return { token: undefined, seen: new Set(), enis: 0, lookedUp: new Set(), ipOffset: 0 };
}

/** Every in-use ENI of `vpcs`, in EC2's largest pages. */
function vpcWideListing(vpcs: ReadonlySet<string>): DescribeNetworkInterfacesCommandInput {
  return {
    Filters: [
      { Name: 'vpc-id', Values: [...vpcs] },
      { Name: 'status', Values: ['in-use'] },
    ],
    MaxResults: ENI_PAGE_SIZE,
  };
}

