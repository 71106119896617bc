/**
 * The aws-vpc provider: AWS VPC route tables as routesync's capacity domains (docs/architecture.md, 'AWS facts').
 *
 * - listTables: one DescribeRouteTables listing per pass for every managed table (route-tables.ts).
 * - resolveNodes: node IP → the in-use ENI holding it, from a cache that looks up unknown IPs at
 *   once and re-checks known ones one call per resync (node-cache.ts).
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
import { withSignal } from '../../src/abort.js';
import { classifyError } from '../../src/errors.js';
import { familyOfDestination } from '../../src/net/cidr6.js';
import { Pacer, paced } from '../../src/pacing/pacer.js';
import type { PacingClock } from '../../src/pacing/clock.js';
import type { ApplyCallOptions, Change, NodeResolution, RateLimit, ResolveOptions, RouteProvider, RouteTable } from '../provider.js';
import { createEc2Client, ec2ApiFromClient, type Ec2Api } from './ec2-api.js';
import { AWS_EC2_RATE_LIMITS, ec2ActionFor } from './limits.js';
import { hasNodeFilters, NodeEligibility, type NodeTag } from './eligibility.js';
import { NodeCache } from './node-cache.js';
import { PrefixListCache } from './prefix-lists.js';
import { RouteQuotaReader } from './route-quota.js';
import { listManagedTables } from './route-tables.js';
import { createServiceQuotasClient, serviceQuotasApiFromClient, type ServiceQuotasApi } from './service-quotas-api.js';
import { TagNotices } from './table-tags.js';

export { createEc2Client, ec2ApiFromClient, type Ec2Api, type Ec2ClientSettings } from './ec2-api.js';
export { AWS_EC2_RATE_LIMITS, ec2ActionFor } from './limits.js';
export { ENI_PAGE_SIZE, MAX_FILTER_VALUES } from './node-cache.js';
export { CLUSTER_TAG_PREFIX, CLUSTER_TAG_VALUES, LEGACY_CLUSTER_TAG_KEY, clusterTagKey } from './table-tags.js';
export { QUOTA_REFRESH_MS, QUOTA_RETRY_MS, ROUTES_PER_TABLE_QUOTA } from './route-quota.js';
export { createServiceQuotasClient, serviceQuotasApiFromClient, type ServiceQuotasApi } from './service-quotas-api.js';

export const PROVIDER_NAME = 'aws-vpc';

/** Structured logging, pino-compatible (`logger.warn({ fields }, 'message')`). */
export interface AwsVpcLogger {
  debug(fields: Record<string, unknown>, message: string): void;
  warn(fields: Record<string, unknown>, message: string): void;
}

export interface AwsVpcProviderOptions {
  readonly region: string;
  /** Endpoint override (a simulator, a VPC endpoint); default: the SDK's resolution for the region. */
  readonly endpoint?: string;
  /** Managed tables; when empty, tables in `vpcId` tagged for the cluster are discovered (table-tags.ts). */
  readonly routeTableIds: readonly string[];
  readonly vpcId?: string;
  readonly clusterName: string;
  /** --route-limit: a number for every table, or `auto`: the account's quota, read from Service Quotas. */
  readonly routeLimit: number | 'auto';
  /** The limit when `auto` cannot read the quota (default 50: see flags.ts). */
  readonly routeLimitFallback?: number;
  /** Service Quotas endpoint override (a simulator); default the SDK's for the region. */
  readonly serviceQuotasEndpoint?: string;
  /** A ready Service Quotas surface (tests); default a real client built from the options. */
  readonly serviceQuotas?: ServiceQuotasApi;
  /** How often the quota is read again, ms (default hourly), and how soon after a failed read. */
  readonly quotaRefreshMs?: number;
  readonly quotaRetryMs?: number;
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
  /** --node-tag: only ENIs that carry one of these, or whose instance does, are targets (eligibility.ts). */
  readonly nodeTags?: readonly NodeTag[];
  /** --node-subnet-id: only ENIs in these subnets are targets. */
  readonly nodeSubnetIds?: readonly string[];
}

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
  const quotas =
    options.routeLimit !== 'auto'
      ? undefined
      : (options.serviceQuotas ??
        serviceQuotasApiFromClient(
          createServiceQuotasClient({
            region: options.region,
            ...(options.serviceQuotasEndpoint !== undefined ? { endpoint: options.serviceQuotasEndpoint } : {}),
            ...(options.userAgentSuffix !== undefined ? { userAgentSuffix: options.userAgentSuffix } : {}),
            ...(options.credentials !== undefined ? { credentials: options.credentials } : {}),
            requestTimeoutMs: options.requestTimeoutMs ?? 30_000,
            connectionTimeoutMs: options.connectionTimeoutMs ?? 5_000,
          }),
        ));
  return new AwsVpcProvider(api, quotas, options, options.logger ?? NO_LOG);
}

class AwsVpcProvider implements RouteProvider {
  readonly name = PROVIDER_NAME;
  readonly pacer?: Pacer;
  private readonly nodes: NodeCache;
  private readonly prefixLists: PrefixListCache;
  private readonly quota: RouteQuotaReader;
  private readonly eligibility: NodeEligibility | undefined;
  /** Tag warnings are given once per table, not every pass. */
  private readonly tagNotices: TagNotices;

  constructor(
    private readonly api: Ec2Api,
    private readonly quotas: ServiceQuotasApi | undefined,
    private readonly options: AwsVpcProviderOptions,
    private readonly log: AwsVpcLogger,
  ) {
    if (options.rateLimits !== false) {
      this.pacer = new Pacer({
        limits: options.rateLimits ?? AWS_EC2_RATE_LIMITS,
        ...(options.pacingClock !== undefined ? { clock: options.pacingClock } : {}),
        onThrottled: (action, drained) =>
          this.log.warn({ action, drained }, drained ? 'EC2 throttled a paced call: slowing this action down' : 'EC2 throttled a call sent before the slowdown'),
      });
    }
    this.tagNotices = new TagNotices(log);
    const filters = { nodeTags: options.nodeTags ?? [], nodeSubnetIds: options.nodeSubnetIds ?? [] };
    const eligibility = hasNodeFilters(filters) ? new NodeEligibility(api, this.pacer, filters, log) : undefined;
    this.eligibility = eligibility;
    this.quota = new RouteQuotaReader(
      quotas,
      {
        routeLimit: options.routeLimit,
        fallback: options.routeLimitFallback ?? 50,
        ...(options.quotaRefreshMs !== undefined ? { refreshMs: options.quotaRefreshMs } : {}),
        ...(options.quotaRetryMs !== undefined ? { retryMs: options.quotaRetryMs } : {}),
      },
      log,
    );
    // Max entries of the prefix lists routes point at, read again about once per resync.
    this.prefixLists = new PrefixListCache(
      api,
      this.pacer,
      {
        ...(options.nodeRefreshIntervalMs !== undefined ? { refreshIntervalMs: options.nodeRefreshIntervalMs } : {}),
        ...(options.pacingClock !== undefined ? { clock: options.pacingClock } : {}),
      },
      log,
    );
    this.nodes = new NodeCache(
      api,
      this.pacer,
      {
        ...(eligibility !== undefined ? { observe: (eni) => eligibility.observe(eni) } : {}),
        ...(options.vpcId !== undefined ? { vpcId: options.vpcId } : {}),
        ...(options.nodeRefreshIntervalMs !== undefined ? { nodeRefreshIntervalMs: options.nodeRefreshIntervalMs } : {}),
        ...(options.notFoundLifetimeMs !== undefined ? { notFoundLifetimeMs: options.notFoundLifetimeMs } : {}),
        ...(options.pacingClock !== undefined ? { clock: options.pacingClock } : {}),
      },
      log,
    );
  }

  // Each call runs on a signal of its own: the SDK and the pacer add an abort listener per request
  // or wait, and on the caller's long-lived signal 11 in flight make Node print a warning.
  listTables(signal: AbortSignal): Promise<RouteTable[]> {
    return withSignal(signal, (own) => this.listTablesOnce(own));
  }

  resolveNodes(nodeIps: readonly string[], signal: AbortSignal, options: ResolveOptions = {}): Promise<Map<string, NodeResolution>> {
    return withSignal(signal, (own) => this.resolveOnce(nodeIps, own, options));
  }

  private async resolveOnce(nodeIps: readonly string[], signal: AbortSignal, options: ResolveOptions): Promise<Map<string, NodeResolution>> {
    const resolved = await this.nodes.resolve(nodeIps, signal, options);
    if (this.eligibility === undefined) return resolved;
    const judged = await this.eligibility.judge(resolved, signal, options.refresh !== false);
    // Found in the cache, but listed before eligibility knew of it: look it up again next pass.
    for (const target of judged.unknown) this.nodes.forgetTarget(target);
    return judged.resolutions;
  }

  apply(change: Change, signal: AbortSignal, options?: ApplyCallOptions): Promise<void> {
    return withSignal(signal, (own) => this.applyWith(change, own, options?.urgent === true));
  }

  private async listTablesOnce(signal: AbortSignal): Promise<RouteTable[]> {
    // The quota is account-wide: every table gets it (read at most once per period, not per pass).
    const reading = await this.quota.current(signal);
    const listed = await listManagedTables(this.api, this.pacer, { ...this.options, routeLimit: reading.limit }, this.log, signal, this.tagNotices, this.prefixLists);
    this.nodes.sawTables(listed.vpcs, listed.tables);
    return listed.tables.map((table) => ({
      ...table,
      limitSource: reading.source,
      ...(reading.readAt !== undefined ? { limitReadAt: reading.readAt } : {}),
    }));
  }

  private async applyWith(change: Change, signal: AbortSignal, urgent: boolean): Promise<void> {
    try {
      await paced(this.pacer, ec2ActionFor(change), signal, () => this.applyOnce(change, signal), { urgent });
    } catch (err) {
      if (change.kind !== 'delete' && classifyError(err).code === 'InvalidNetworkInterfaceID.NotFound') {
        this.nodes.forgetTarget(change.target, change.nodeIp);
      }
      throw err;
    }
    if (change.kind === 'enable-forwarding') this.nodes.forwardingEnabled(change.target);
  }

  private async applyOnce(change: Change, signal: AbortSignal): Promise<void> {
    switch (change.kind) {
      case 'create': {
        const out = await this.api.createRoute({ RouteTableId: change.table, ...destinationOf(change.destination), NetworkInterfaceId: change.target }, signal);
        if (out.Return === false) throw new Error(`CreateRoute ${change.destination} in ${change.table} returned false`);
        return;
      }
      case 'replace':
        await this.api.replaceRoute({ RouteTableId: change.table, ...destinationOf(change.destination), NetworkInterfaceId: change.target }, signal);
        return;
      case 'delete':
        try {
          await this.api.deleteRoute({ RouteTableId: change.table, ...destinationOf(change.destination) }, signal);
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
    this.quotas?.destroy();
    return Promise.resolve();
  }
}

/**
 * The destination parameter of CreateRoute, ReplaceRoute and DeleteRoute: an IPv6 route is named by
 * DestinationIpv6CidrBlock (https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_CreateRoute.html).
 */
function destinationOf(destination: string): { DestinationCidrBlock: string } | { DestinationIpv6CidrBlock: string } {
  return familyOfDestination(destination) === 'ipv6' ? { DestinationIpv6CidrBlock: destination } : { DestinationCidrBlock: destination };
}
