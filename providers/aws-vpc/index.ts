/**
 * The aws-vpc provider: AWS VPC route tables as routesync's capacity domains (docs/architecture.md, 'AWS facts').
 *
 * - listTables: one DescribeRouteTables listing per pass for every managed table (by id, or by the
 *   `routesync/cluster=<cluster>` tag in the VPC), following NextToken.
 * - resolveNodes: node IP → the in-use ENI holding it (primary or secondary IP), cached. IPs the
 *   cache does not know (or whose cached ENI the listing shows as a blackhole target) are looked
 *   up at once with as few DescribeNetworkInterfaces calls as possible: IPs filtered by
 *   `addresses.private-ip-address` (200 values per call, EC2's limit for all filters of a call
 *   together) or, when that takes more calls, the whole VPC in pages of 1,000 in-use ENIs. A
 *   resync (`refresh`) also re-checks the known IPs, one call's worth per resync whatever the
 *   number of leases: the next page of the VPC-wide listing (all of a VPC of up to 1,000 ENIs),
 *   or the next 200 known IPs. A cycle through the whole VPC takes ⌈ENIs / 1,000⌉ resyncs.
 *   A not-found answer is asked again with the unknown IPs (same batches) in every event-driven
 *   pass, and in other passes once it is older than notFoundLifetimeMs: flannel gives a node that
 *   reuses an IP the old lease, so a lease event may be the node coming back.
 * - apply: CreateRoute / ReplaceRoute / DeleteRoute to the ENI; ModifyNetworkInterfaceAttribute
 *   SourceDestCheck=false. Errors propagate unchanged for src/errors.ts to classify, except a delete
 *   of a route that is already gone, which is done.
 * - pacing: one Pacer for the provider's lifetime mirrors EC2's per-action token buckets
 *   (AWS_EC2_RATE_LIMITS, configurable) and paces every call the provider makes: each waits for a
 *   token of its action's bucket, and a throttled answer drains that bucket (src/pacing).
 *
 * The provider never retries: the client makes one attempt per call and the caller paces and
 * retries with classifyError.
 */
import type {
  DescribeNetworkInterfacesCommandInput,
  DescribeRouteTablesCommandInput,
  NetworkInterface,
  Route,
  RouteTable as SdkRouteTable,
} from '@aws-sdk/client-ec2';
import { withSignal } from '../../src/abort.js';
import { ConfigError, classifyError } from '../../src/errors.js';
import { canonicalCidr, isIpv4 } from '../../src/net/cidr.js';
import { Pacer, paced } from '../../src/pacing/pacer.js';
import type { PacingClock } from '../../src/pacing/clock.js';
import type { ActualRoute, Change, NodeResolution, RateLimit, ResolveOptions, RouteProvider, RouteTable } from '../provider.js';
import { createEc2Client, ec2ApiFromClient, type Ec2Api } from './ec2-api.js';
import { AWS_EC2_RATE_LIMITS, ec2ActionFor } from './limits.js';

export { createEc2Client, ec2ApiFromClient, type Ec2Api, type Ec2ClientSettings } from './ec2-api.js';
export { AWS_EC2_RATE_LIMITS, ec2ActionFor } from './limits.js';

export const PROVIDER_NAME = 'aws-vpc';
/** The tag that marks a route table as managed by a routesync cluster (value: the cluster name). */
export const CLUSTER_TAG_KEY = 'routesync/cluster';
/** EC2 accepts at most 200 filter values per call (all filters together). */
export const MAX_FILTER_VALUES = 200;
/** DescribeRouteTables page size (EC2's maximum). */
const ROUTE_TABLE_PAGE_SIZE = 100;
/** DescribeNetworkInterfaces page size for a VPC-wide listing (EC2's maximum). */
export const ENI_PAGE_SIZE = 1000;

/** Structured logging, pino-compatible (`logger.warn({ fields }, 'message')`). */
export interface AwsVpcLogger {
  debug(fields: Record<string, unknown>, message: string): void;
  warn(fields: Record<string, unknown>, message: string): void;
}

export interface AwsVpcProviderOptions {
  readonly region: string;
  /** Endpoint override (a simulator, a VPC endpoint); default: the SDK's resolution for the region. */
  readonly endpoint?: string;
  /** Managed tables; when empty, tables in `vpcId` tagged `routesync/cluster=<clusterName>` are discovered. */
  readonly routeTableIds: readonly string[];
  readonly vpcId?: string;
  readonly clusterName: string;
  /** The route limit reported for every table (--route-limit). */
  readonly routeLimit: number;
  /** Appended to the SDK user agent, e.g. `routesync/0.1.0`. */
  readonly userAgentSuffix?: string;
  readonly logger?: AwsVpcLogger;
  /** A ready EC2 surface (tests); default: a real EC2Client built from the options. */
  readonly client?: Ec2Api;
  /** Per-request timeout of the built client, ms (default 30 s). */
  readonly requestTimeoutMs?: number;
  /** Connect timeout of the built client, ms (default 5 s). */
  readonly connectionTimeoutMs?: number;
  /** Static credentials for the built client; default: the SDK's default chain. */
  readonly credentials?: { readonly accessKeyId: string; readonly secretAccessKey: string };
  /**
   * Client-side pacing: EC2's request-rate limit per action (default AWS_EC2_RATE_LIMITS, AWS's
   * published values; raise them for an account whose limits AWS raised). `false`: no pacing.
   */
  readonly rateLimits?: Readonly<Record<string, RateLimit>> | false;
  /** The pacer's clock (tests); default the system's monotonic clock. */
  readonly pacingClock?: PacingClock;
  /**
   * When resolveNodes is called without `refresh`: re-check known IPs (one call's worth) if the last
   * re-check is at least half this old (give the resync interval), else trust the cache. Default:
   * always re-check.
   */
  readonly nodeRefreshIntervalMs?: number;
  /**
   * How long a not-found answer stands in a pass that is not a lease event, ms (default 10 s): a
   * storm of passes does not re-ask every time. An event-driven pass (`refresh: false`) asks again
   * whatever its age: flannel hands a replacement node on a recycled IP the old lease.
   */
  readonly notFoundLifetimeMs?: number;
}

/** Default of notFoundLifetimeMs. */
export const NOT_FOUND_LIFETIME_MS = 10_000;

const NO_LOG: AwsVpcLogger = { debug: () => undefined, warn: () => undefined };

export function createAwsVpcProvider(options: AwsVpcProviderOptions): RouteProvider {
  const api =
    options.client ??
    ec2ApiFromClient(
      createEc2Client({
        region: options.region,
        ...(options.endpoint !== undefined ? { endpoint: options.endpoint } : {}),
        ...(options.userAgentSuffix !== undefined ? { userAgentSuffix: options.userAgentSuffix } : {}),
        ...(options.credentials !== undefined ? { credentials: options.credentials } : {}),
        requestTimeoutMs: options.requestTimeoutMs ?? 30_000,
        connectionTimeoutMs: options.connectionTimeoutMs ?? 5_000,
      }),
    );
  return new AwsVpcProvider(api, options, options.logger ?? NO_LOG);
}

class AwsVpcProvider implements RouteProvider {
  readonly name = PROVIDER_NAME;
  readonly pacer?: Pacer;
  /** The VPCs of the managed tables, from the last listing: the only VPCs whose ENIs are targets. */
  private tableVpcs: ReadonlySet<string> = new Set();
  /** ENIs that managed routes point at while in state blackhole, from the last listing: gone. */
  private blackholeTargets: ReadonlySet<string> = new Set();
  /** Node IP → its last definitive lookup (found or not-found). */
  private nodes = new Map<string, NodeResolution>();
  /** Node IP → when it was last found not-found (pacing clock), for the IPs cached as not-found. */
  private readonly notFoundAt = new Map<string, number>();
  /** In-use ENIs of the managed VPCs at the last complete VPC-wide listing (sizes the next one). */
  private vpcEniCount: number | undefined;
  /** The re-check of known IPs that resyncs carry forward, one call at a time. */
  private recheck: RecheckCycle = newRecheckCycle();
  /** When a resync last re-checked known IPs (pacing clock). */
  private lastRecheckAt: number | undefined;
  private readonly clock: PacingClock | undefined;

  constructor(
    private readonly api: Ec2Api,
    private readonly options: AwsVpcProviderOptions,
    private readonly log: AwsVpcLogger,
  ) {
    this.clock = options.pacingClock;
    if (options.rateLimits !== false) {
      this.pacer = new Pacer({
        limits: options.rateLimits ?? AWS_EC2_RATE_LIMITS,
        ...(options.pacingClock !== undefined ? { clock: options.pacingClock } : {}),
        onThrottled: (action, drained) =>
          this.log.warn({ action, drained }, drained ? 'EC2 throttled a paced call: slowing this action down' : 'EC2 throttled a call sent before the slowdown'),
      });
    }
  }

  // Each call runs on a signal of its own: the SDK and the pacer add an abort listener per request
  // or wait, and on the caller's long-lived signal 11 in flight make Node print a warning.
  listTables(signal: AbortSignal): Promise<RouteTable[]> {
    return withSignal(signal, (own) => this.listTablesOnce(own));
  }

  resolveNodes(nodeIps: readonly string[], signal: AbortSignal, options: ResolveOptions = {}): Promise<Map<string, NodeResolution>> {
    return withSignal(signal, (own) => this.resolveNodesOnce(nodeIps, own, options));
  }

  apply(change: Change, signal: AbortSignal): Promise<void> {
    return withSignal(signal, (own) => this.applyWith(change, own));
  }

  private async listTablesOnce(signal: AbortSignal): Promise<RouteTable[]> {
    const { routeTableIds, vpcId, clusterName } = this.options;
    const byId = routeTableIds.length > 0;
    if (!byId && vpcId === undefined) {
      throw new ConfigError('aws-vpc needs --route-table-id, or --vpc-id to discover tables tagged ' + `${CLUSTER_TAG_KEY}=${clusterName}`);
    }
    const input: DescribeRouteTablesCommandInput = byId
      ? { RouteTableIds: [...new Set(routeTableIds)] }
      : {
          Filters: [
            { Name: 'vpc-id', Values: [vpcId ?? ''] },
            { Name: `tag:${CLUSTER_TAG_KEY}`, Values: [clusterName] },
          ],
          MaxResults: ROUTE_TABLE_PAGE_SIZE,
        };
    let found: SdkRouteTable[];
    try {
      found = await this.describeAllRouteTables(input, signal);
    } catch (err) {
      const code = classifyError(err).code;
      // EC2 fails the whole call for an unknown or malformed id: the operator's flag is wrong.
      if (byId && (code === 'InvalidRouteTableID.NotFound' || code === 'InvalidRouteTableID.Malformed')) {
        throw new ConfigError(
          `--route-table-id ${[...new Set(routeTableIds)].join(',')}: EC2 refused it (${code}: ${classifyError(err).message})`,
          { cause: err },
        );
      }
      throw err;
    }

    let tables: SdkRouteTable[];
    if (byId) {
      const index = new Map(found.map((t) => [t.RouteTableId, t]));
      tables = [...new Set(routeTableIds)].map((id) => {
        const table = index.get(id);
        // EC2 fails the whole call for an unknown id; an answer without it is not a listing we can trust.
        if (table === undefined) throw new ConfigError(`route table ${id} (--route-table-id) was not returned by EC2`);
        if (vpcId !== undefined && table.VpcId !== vpcId) {
          throw new ConfigError(`route table ${id} (--route-table-id) is in ${table.VpcId ?? 'an unknown VPC'}, not in --vpc-id ${vpcId}`);
        }
        return table;
      });
    } else {
      if (found.length === 0) {
        throw new ConfigError(
          `no route tables tagged ${CLUSTER_TAG_KEY}=${clusterName} in VPC ${vpcId ?? ''}: tag the tables routesync ` +
            'should manage (--cluster-name sets the tag value) or name them with --route-table-id',
        );
      }
      tables = [...found].sort((a, b) => compareText(a.RouteTableId ?? '', b.RouteTableId ?? ''));
    }
    this.tableVpcs = new Set(tables.map((t) => t.VpcId).filter((v): v is string => v !== undefined));
    const listed = tables.map((t) => this.toRouteTable(t));
    this.blackholeTargets = new Set(listed.flatMap((t) => t.routes.filter((r) => r.blackhole && r.target !== null).map((r) => r.target ?? '')));
    return listed;
  }

  private async resolveNodesOnce(nodeIps: readonly string[], signal: AbortSignal, options: ResolveOptions): Promise<Map<string, NodeResolution>> {
    signal.throwIfAborted();
    const result = new Map<string, NodeResolution>();
    const ips: string[] = [];
    for (const ip of new Set(nodeIps)) {
      if (isIpv4(ip)) ips.push(ip);
      else result.set(ip, { status: 'lookup-failed', error: `not an IPv4 address: ${JSON.stringify(ip)}` });
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
      this.nodes = new Map(looked.extra);
      this.notFoundAt.clear();
      this.recheck = newRecheckCycle();
    }
    for (const [ip, answer] of looked.answers) {
      result.set(ip, answer);
      if (answer.status === 'lookup-failed') continue;
      this.remember(ip, answer);
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
          this.remember(ip, answer);
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
          this.remember(ip, answer);
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
      if (!cycle.seen.has(ip) && !cycle.lookedUp.has(ip)) this.forgetIp(ip);
    }
    this.vpcEniCount = cycle.enis;
    this.recheck = newRecheckCycle();
  }

  /** Whether a call without `refresh` should re-check known IPs (see nodeRefreshIntervalMs). */
  private recheckDue(): boolean {
    const interval = this.options.nodeRefreshIntervalMs;
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
    const at = this.notFoundAt.get(ip);
    return at === undefined || now - at >= (this.options.notFoundLifetimeMs ?? NOT_FOUND_LIFETIME_MS);
  }

  /** Caches a definitive answer, noting when a not-found one was given. */
  private remember(ip: string, answer: NodeResolution): void {
    this.nodes.set(ip, answer);
    if (answer.status === 'not-found') this.notFoundAt.set(ip, this.now());
    else this.notFoundAt.delete(ip);
  }

  private forgetIp(ip: string): void {
    this.nodes.delete(ip);
    this.notFoundAt.delete(ip);
  }

  private now(): number {
    return (this.clock ?? { now: () => performance.now() }).now();
  }

  /** The VPCs whose ENIs can be targets: those of the listed tables, else --vpc-id; undefined when unknown. */
  private managedVpcs(): ReadonlySet<string> | undefined {
    if (this.tableVpcs.size > 0) return this.tableVpcs;
    return this.options.vpcId !== undefined ? new Set([this.options.vpcId]) : undefined;
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

  /** One IP-filtered DescribeNetworkInterfaces for at most 200 IPs: each found or not-found. Throws when it fails. */
  private async lookUpBatch(batch: readonly string[], vpcs: ReadonlySet<string> | undefined, signal: AbortSignal): Promise<Map<string, NodeResolution>> {
    // The VPC filter is applied to the answer, not sent: EC2 counts the values of all filters of a
    // call against its limit of 200, and the IP filter alone uses them all.
    const { index } = await this.indexNetworkInterfaces({ Filters: [{ Name: 'addresses.private-ip-address', Values: [...batch] }] }, vpcs, signal);
    return new Map(batch.map((ip): [string, NodeResolution] => [ip, index.get(ip) ?? { status: 'not-found' }]));
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
      const forwarding = eni.SourceDestCheck === false ? 'enabled' : 'fixable';
      for (const ip of addressesOf(eni)) {
        if (!found.has(ip)) found.set(ip, { status: 'found', target, forwarding });
      }
    }
  }

  /** Forgets what the cache says about `target` (the cloud says it does not exist). */
  private forgetTarget(target: string, nodeIp?: string): void {
    if (nodeIp !== undefined) this.forgetIp(nodeIp);
    for (const [ip, cached] of this.nodes) if (cached.status === 'found' && cached.target === target) this.forgetIp(ip);
  }

  private async applyWith(change: Change, signal: AbortSignal): Promise<void> {
    try {
      await paced(this.pacer, ec2ActionFor(change), signal, () => this.applyOnce(change, signal));
    } catch (err) {
      if (change.kind !== 'delete' && classifyError(err).code === 'InvalidNetworkInterfaceID.NotFound') {
        this.forgetTarget(change.target, change.nodeIp);
      }
      throw err;
    }
    if (change.kind === 'enable-forwarding') {
      for (const [ip, cached] of this.nodes) {
        if (cached.status === 'found' && cached.target === change.target) this.nodes.set(ip, { ...cached, forwarding: 'enabled' });
      }
    }
  }

  private async applyOnce(change: Change, signal: AbortSignal): Promise<void> {
    switch (change.kind) {
      case 'create': {
        const out = await this.api.createRoute(
          { RouteTableId: change.table, DestinationCidrBlock: change.destination, NetworkInterfaceId: change.target },
          signal,
        );
        if (out.Return === false) throw new Error(`CreateRoute ${change.destination} in ${change.table} returned false`);
        return;
      }
      case 'replace':
        await this.api.replaceRoute(
          { RouteTableId: change.table, DestinationCidrBlock: change.destination, NetworkInterfaceId: change.target },
          signal,
        );
        return;
      case 'delete':
        try {
          await this.api.deleteRoute({ RouteTableId: change.table, DestinationCidrBlock: change.destination }, signal);
        } catch (err) {
          if (classifyError(err).code !== 'InvalidRoute.NotFound') throw err;
          this.log.debug({ table: change.table, destination: change.destination }, 'route already gone');
        }
        return;
      case 'enable-forwarding':
        await this.api.modifyNetworkInterfaceAttribute(
          { NetworkInterfaceId: change.target, SourceDestCheck: { Value: false } },
          signal,
        );
        return;
    }
  }

  close(): Promise<void> {
    this.api.destroy();
    return Promise.resolve();
  }

  private async describeAllRouteTables(input: DescribeRouteTablesCommandInput, signal: AbortSignal): Promise<SdkRouteTable[]> {
    const tables: SdkRouteTable[] = [];
    const seen = new Set<string>();
    let token: string | undefined;
    do {
      const request = token === undefined ? input : { ...input, NextToken: token };
      const page = await paced(this.pacer, 'DescribeRouteTables', signal, () => this.api.describeRouteTables(request, signal));
      tables.push(...(page.RouteTables ?? []));
      token = nextToken(page.NextToken, seen, 'DescribeRouteTables');
    } while (token !== undefined);
    return tables;
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

  private toRouteTable(table: SdkRouteTable): RouteTable {
    const routes: ActualRoute[] = [];
    for (const route of table.Routes ?? []) {
      const actual = this.toActualRoute(route, table.RouteTableId ?? '');
      if (actual !== undefined) routes.push(actual);
    }
    return { id: table.RouteTableId ?? '', limit: this.options.routeLimit, routes };
  }

  private toActualRoute(route: Route, tableId: string): ActualRoute | undefined {
    // IPv6 and prefix-list routes are none of routesync's business.
    if (route.DestinationCidrBlock === undefined) return undefined;
    let destination: string;
    try {
      destination = canonicalCidr(route.DestinationCidrBlock);
    } catch {
      this.log.warn({ table: tableId, destination: route.DestinationCidrBlock }, 'skipping a route with an unparseable destination');
      return undefined;
    }
    const eni = route.NetworkInterfaceId;
    const instance = route.InstanceId;
    return {
      destination,
      target: eni ?? instance ?? null,
      blackhole: route.State === 'blackhole',
      ownable: route.Origin === 'CreateRoute' && (eni !== undefined || instance !== undefined),
      countsTowardLimit: route.Origin !== 'EnableVgwRoutePropagation',
      via: viaOf(route),
    };
  }
}

function viaOf(route: Route): string {
  return (
    route.GatewayId ??
    route.NatGatewayId ??
    route.NetworkInterfaceId ??
    route.InstanceId ??
    route.TransitGatewayId ??
    route.VpcPeeringConnectionId ??
    route.EgressOnlyInternetGatewayId ??
    route.LocalGatewayId ??
    route.CarrierGatewayId ??
    route.CoreNetworkArn ??
    'unknown'
  );
}

function addressesOf(eni: NetworkInterface): Set<string> {
  const ips = new Set<string>();
  if (eni.PrivateIpAddress !== undefined) ips.add(eni.PrivateIpAddress);
  for (const address of eni.PrivateIpAddresses ?? []) {
    if (address.PrivateIpAddress !== undefined) ips.add(address.PrivateIpAddress);
  }
  return ips;
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

/** The next page token, or undefined at the end; a repeated token would loop forever, so it fails. */
function nextToken(token: string | undefined, seen: Set<string>, action: string): string | undefined {
  if (token === undefined || token === '') return undefined;
  if (seen.has(token)) throw new Error(`${action} returned the same NextToken twice`);
  seen.add(token);
  return token;
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
