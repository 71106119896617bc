/**
 * The managed route tables: one DescribeRouteTables listing (by id, or by the cluster's tag in the
 * VPC, table-tags.ts, following NextToken), and each EC2 route mapped to the facts the planner
 * needs (docs/architecture.md, 'AWS facts').
 */
import type { DescribeRouteTablesCommandInput, Route, RouteTable as SdkRouteTable } from '@aws-sdk/client-ec2';
import { ConfigError, classifyError } from '../../src/errors.js';
import { canonicalCidr } from '../../src/net/cidr.js';
import { formatCidr6, parseCidr6 } from '../../src/net/cidr6.js';
import { paced, type Pacer } from '../../src/pacing/pacer.js';
import type { ActualRoute, RouteOrigin, RouteTable, TargetKind } from '../provider.js';
import type { Ec2Api } from './ec2-api.js';
import { compareText, nextToken } from './paging.js';
import { prefixListIdsOf, type PrefixListCache, type PrefixListFacts } from './prefix-lists.js';
import { clusterTagText, discoveryFilter, judgeTableTags, TagNotices } from './table-tags.js';
/** DescribeRouteTables page size (EC2's maximum). */
const ROUTE_TABLE_PAGE_SIZE = 100;

export interface TableSelection {
  /** Managed tables; when empty, tables in `vpcId` tagged for the cluster (table-tags.ts). */
  readonly routeTableIds: readonly string[];
  readonly vpcId?: string;
  readonly clusterName: string;
  /** The route limit reported for every table (--route-limit). */
  readonly routeLimit: number;
  /**
   * The limit of each table's IPv6 routes; absent: `routeLimit`. AWS's "routes per route table"
   * quota has one value, applied to IPv4 and IPv6 routes separately
   * (https://docs.aws.amazon.com/vpc/latest/userguide/amazon-vpc-limits.html#vpc-limits-route-tables).
   */
  readonly ipv6RouteLimit?: number;
}

export interface ListedTables {
  readonly tables: RouteTable[];
  /** The VPCs of the listed tables: the only VPCs whose ENIs are targets. */
  readonly vpcs: ReadonlySet<string>;
}

interface Warner {
  warn(fields: Record<string, unknown>, message: string): void;
}

export async function listManagedTables(
  api: Ec2Api,
  pacer: Pacer | undefined,
  selection: TableSelection,
  log: Warner,
  signal: AbortSignal,
  notices: TagNotices = new TagNotices(log),
  /** Weighs routes to managed prefix lists; without it, a table holding one fails the listing. */
  prefixLists?: PrefixListCache,
): Promise<ListedTables> {
  const { routeTableIds, vpcId, clusterName } = selection;
  const byId = routeTableIds.length > 0;
  if (!byId && vpcId === undefined) {
    throw new ConfigError(`aws-vpc needs --route-table-id, or --vpc-id to discover tables tagged ${clusterTagText(clusterName)}`);
  }
  // Paginated like every describe: ids go in a filter (EC2 refuses id lists together with
  // MaxResults on some describes); an unknown id is then simply not returned.
  const input: DescribeRouteTablesCommandInput = byId
    ? { Filters: [{ Name: 'route-table-id', Values: [...new Set(routeTableIds)] }], MaxResults: ROUTE_TABLE_PAGE_SIZE }
    : {
        Filters: [
          { Name: 'vpc-id', Values: [vpcId ?? ''] },
          discoveryFilter(clusterName),
        ],
        MaxResults: ROUTE_TABLE_PAGE_SIZE,
      };
  let found: SdkRouteTable[];
  try {
    found = await describeAllRouteTables(api, pacer, input, signal);
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
      if (table === undefined) throw new ConfigError(`--route-table-id ${id}: EC2 has no route table with this id`);
      if (vpcId !== undefined && table.VpcId !== vpcId) {
        throw new ConfigError(`route table ${id} (--route-table-id) is in ${table.VpcId ?? 'an unknown VPC'}, not in --vpc-id ${vpcId}`);
      }
      return table;
    });
  } else {
    const managed = found.filter((t) => {
      const verdict = judgeTableTags(t.Tags, clusterName);
      notices.note(t.RouteTableId ?? '', verdict, clusterName);
      return verdict.managed;
    });
    if (managed.length === 0) {
      throw new ConfigError(
        `no route tables tagged ${clusterTagText(clusterName)} in VPC ${vpcId ?? ''}: tag the tables routesync ` +
          'should manage (--cluster-name names the tag) or name them with --route-table-id',
      );
    }
    tables = [...managed].sort((a, b) => compareText(a.RouteTableId ?? '', b.RouteTableId ?? ''));
  }
  const listIds = prefixListIdsOf(tables);
  if (listIds.length > 0 && prefixLists === undefined) throw new Error('a route to a managed prefix list needs a PrefixListCache to be weighed');
  const lists = listIds.length > 0 && prefixLists !== undefined ? await prefixLists.factsOf(listIds, signal) : new Map<string, PrefixListFacts>();
  return {
    tables: tables.map((t) => toRouteTable(t, selection.routeLimit, selection.ipv6RouteLimit ?? selection.routeLimit, log, lists)),
    vpcs: new Set(tables.map((t) => t.VpcId).filter((v): v is string => v !== undefined)),
  };
}

async function describeAllRouteTables(
  api: Ec2Api,
  pacer: Pacer | undefined,
  input: DescribeRouteTablesCommandInput,
  signal: AbortSignal,
): Promise<SdkRouteTable[]> {
  const tables: SdkRouteTable[] = [];
  const seen = new Set<string>();
  let token: string | undefined;
  do {
    const request = token === undefined ? input : { ...input, NextToken: token };
    const page = await paced(pacer, 'DescribeRouteTables', signal, () => api.describeRouteTables(request, signal));
    tables.push(...(page.RouteTables ?? []));
    token = nextToken(page.NextToken, seen, 'DescribeRouteTables');
  } while (token !== undefined);
  return tables;
}

function toRouteTable(table: SdkRouteTable, limit: number, ipv6Limit: number, log: Warner, lists: ReadonlyMap<string, PrefixListFacts>): RouteTable {
  const routes: ActualRoute[] = [];
  for (const route of table.Routes ?? []) {
    const actual = toActualRoute(route, table.RouteTableId ?? '', log, lists);
    if (actual !== undefined) routes.push(actual);
  }
  return { id: table.RouteTableId ?? '', limit, ipv6Limit, quota: 'aws-vpc-routes-per-table', routes };
}

function toActualRoute(route: Route, tableId: string, log: Warner, lists: ReadonlyMap<string, PrefixListFacts>): ActualRoute | undefined {
  const v6 = route.DestinationCidrBlock === undefined ? route.DestinationIpv6CidrBlock : undefined;
  if (route.DestinationCidrBlock === undefined && v6 === undefined) return prefixListRoute(route, lists);
  let destination: string;
  try {
    // Canonical text, so that a route and a lease's subnet compare as strings.
    destination = v6 === undefined ? canonicalCidr(route.DestinationCidrBlock ?? '') : formatCidr6(parseCidr6(v6));
  } catch {
    log.warn({ table: tableId, destination: route.DestinationCidrBlock ?? v6 }, 'skipping a route with an unparseable destination');
    return undefined;
  }
  const eni = route.NetworkInterfaceId;
  const instance = route.InstanceId;
  const via = viaOf(route);
  return {
    destination,
    target: eni ?? instance ?? null,
    targetKind: targetKindOf(route, via),
    origin: originOf(route),
    quotaWeight: 1,
    family: v6 === undefined ? 'ipv4' : 'ipv6',
    blackhole: route.State === 'blackhole',
    bearsOwnerMarks: route.Origin === 'CreateRoute' && (eni !== undefined || instance !== undefined),
    inManagedSpace: true,
    via,
  };
}

/**
 * A route to a managed prefix list: it weighs the list's max entries, in its family's quota, and is
 * never routesync's.
 */
function prefixListRoute(route: Route, lists: ReadonlyMap<string, PrefixListFacts>): ActualRoute | undefined {
  const via = viaOf(route);
  const common = { target: null, targetKind: targetKindOf(route, via), origin: originOf(route), blackhole: route.State === 'blackhole', bearsOwnerMarks: false, via };
  const listId = route.DestinationPrefixListId;
  if (listId !== undefined) {
    const list = lists.get(listId);
    if (list === undefined) return undefined; // listManagedTables read every list of the tables
    // In the table like any route: it only uses its family's quota (a list id is no lease's subnet).
    return { ...common, destination: listId, quotaWeight: list.maxEntries, family: list.family, inManagedSpace: true };
  }
  return undefined;
}

function originOf(route: Route): RouteOrigin {
  switch (route.Origin) {
    case 'CreateRouteTable':
      return 'table-default';
    case 'EnableVgwRoutePropagation':
      return 'propagated';
    default:
      // CreateRoute, or a listing without an origin: a route someone made.
      return 'created';
  }
}

function targetKindOf(route: Route, via: string): TargetKind {
  if (route.NetworkInterfaceId !== undefined) return 'interface';
  if (route.InstanceId !== undefined) return 'instance';
  return via === 'unknown' ? 'none' : 'gateway';
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
