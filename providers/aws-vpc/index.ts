/**
 * The aws-vpc provider: AWS VPC route tables as routesync's capacity domains (DESIGN §5, §6).
 *
 * - listTables: one DescribeRouteTables listing per pass for every managed table (by id, or by the
 *   `routesync/cluster=<cluster>` tag in the VPC), following NextToken.
 * - resolveNodes: node IP → the in-use ENI holding it (primary or secondary IP), with
 *   DescribeNetworkInterfaces filtered by `addresses.private-ip-address`, 200 values per call.
 * - apply: CreateRoute / ReplaceRoute / DeleteRoute to the ENI; ModifyNetworkInterfaceAttribute
 *   SourceDestCheck=false. Errors propagate unchanged for src/errors.ts to classify, except a delete
 *   of a route that is already gone, which is done.
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
import { ConfigError, classifyError } from '../../src/errors.js';
import { canonicalCidr, isIpv4 } from '../../src/net/cidr.js';
import type { ActualRoute, Change, NodeResolution, RouteProvider, RouteTable } from '../provider.js';
import { createEc2Client, ec2ApiFromClient, type Ec2Api } from './ec2-api.js';

export { createEc2Client, ec2ApiFromClient, type Ec2Api, type Ec2ClientSettings } from './ec2-api.js';

export const PROVIDER_NAME = 'aws-vpc';
/** The tag that marks a route table as managed by a routesync cluster (value: the cluster name). */
export const CLUSTER_TAG_KEY = 'routesync/cluster';
/** EC2 accepts at most 200 filter values per call (all filters together). */
export const MAX_FILTER_VALUES = 200;
/** DescribeRouteTables page size (EC2's maximum). */
const ROUTE_TABLE_PAGE_SIZE = 100;

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
}

const NO_LOG: AwsVpcLogger = { debug: () => undefined, warn: () => undefined };

export function createAwsVpcProvider(options: AwsVpcProviderOptions): RouteProvider {
  if (options.region.trim() === '') {
    throw new ConfigError('aws-vpc needs a region: set --aws-region or AWS_REGION');
  }
  if (!Number.isInteger(options.routeLimit) || options.routeLimit < 1) {
    throw new ConfigError(`--route-limit must be a positive integer, got ${options.routeLimit}`);
  }
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
  /** The VPCs of the managed tables, from the last listing: the only VPCs whose ENIs are targets. */
  private tableVpcs: ReadonlySet<string> = new Set();

  constructor(
    private readonly api: Ec2Api,
    private readonly options: AwsVpcProviderOptions,
    private readonly log: AwsVpcLogger,
  ) {}

  async listTables(signal: AbortSignal): Promise<RouteTable[]> {
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
    const found = await this.describeAllRouteTables(input, signal);

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
    return tables.map((t) => this.toRouteTable(t));
  }

  async resolveNodes(nodeIps: readonly string[], signal: AbortSignal): Promise<Map<string, NodeResolution>> {
    const result = new Map<string, NodeResolution>();
    const ips: string[] = [];
    for (const ip of new Set(nodeIps)) {
      if (isIpv4(ip)) ips.push(ip);
      else result.set(ip, { status: 'lookup-failed', error: `not an IPv4 address: ${JSON.stringify(ip)}` });
    }
    // The VPC filter is applied to the answer, not sent: EC2 counts the values of all filters of a
    // call against its limit of 200, and the IP filter alone uses them all.
    const vpcs = this.tableVpcs.size > 0 ? this.tableVpcs : this.options.vpcId !== undefined ? new Set([this.options.vpcId]) : undefined;
    for (let start = 0; start < ips.length; start += MAX_FILTER_VALUES) {
      const batch = ips.slice(start, start + MAX_FILTER_VALUES);
      let enis: NetworkInterface[];
      try {
        enis = await this.describeAllNetworkInterfaces(
          { Filters: [{ Name: 'addresses.private-ip-address', Values: batch }] },
          signal,
        );
      } catch (err) {
        if (signal.aborted) throw err;
        const classified = classifyError(err);
        this.log.warn(
          { code: classified.code, class: classified.class, ips: batch.length },
          'DescribeNetworkInterfaces failed: these node IPs stay unresolved this pass',
        );
        for (const ip of batch) result.set(ip, { status: 'lookup-failed', error: `${classified.code}: ${classified.message}` });
        continue;
      }
      const wanted = new Set(batch);
      for (const eni of enis) {
        const target = eni.NetworkInterfaceId;
        if (target === undefined || eni.Status !== 'in-use') continue;
        if (vpcs !== undefined && (eni.VpcId === undefined || !vpcs.has(eni.VpcId))) continue;
        const forwarding = eni.SourceDestCheck === false ? 'enabled' : 'fixable';
        for (const ip of addressesOf(eni)) {
          if (wanted.has(ip) && !result.has(ip)) result.set(ip, { status: 'found', target, forwarding });
        }
      }
      for (const ip of batch) if (!result.has(ip)) result.set(ip, { status: 'not-found' });
    }
    return result;
  }

  async apply(change: Change, signal: AbortSignal): Promise<void> {
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
      const page = await this.api.describeRouteTables(token === undefined ? input : { ...input, NextToken: token }, signal);
      tables.push(...(page.RouteTables ?? []));
      token = nextToken(page.NextToken, seen, 'DescribeRouteTables');
    } while (token !== undefined);
    return tables;
  }

  private async describeAllNetworkInterfaces(
    input: DescribeNetworkInterfacesCommandInput,
    signal: AbortSignal,
  ): Promise<NetworkInterface[]> {
    const enis: NetworkInterface[] = [];
    const seen = new Set<string>();
    let token: string | undefined;
    do {
      const page = await this.api.describeNetworkInterfaces(token === undefined ? input : { ...input, NextToken: token }, signal);
      enis.push(...(page.NetworkInterfaces ?? []));
      token = nextToken(page.NextToken, seen, 'DescribeNetworkInterfaces');
    } while (token !== undefined);
    return enis;
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
