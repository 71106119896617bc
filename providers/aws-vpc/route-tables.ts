/**
 * The managed route tables: one DescribeRouteTables listing (by id, or by the
 * `routesync/cluster=<cluster>` tag in the VPC, following NextToken), and each EC2 route mapped to
 * the facts the planner needs (docs/architecture.md, 'AWS facts').
 */
import type { DescribeRouteTablesCommandInput, Route, RouteTable as SdkRouteTable } from '@aws-sdk/client-ec2';
import { ConfigError, classifyError } from '../../src/errors.js';
import { canonicalCidr } from '../../src/net/cidr.js';
import { paced, type Pacer } from '../../src/pacing/pacer.js';
import type { ActualRoute, RouteOrigin, RouteTable, TargetKind } from '../provider.js';
import type { Ec2Api } from './ec2-api.js';
import { compareText, nextToken } from './paging.js';

/** The tag that marks a route table as managed by a routesync cluster (value: the cluster name). */
export const CLUSTER_TAG_KEY = 'routesync/cluster';
/** DescribeRouteTables page size (EC2's maximum). */
const ROUTE_TABLE_PAGE_SIZE = 100;

export interface TableSelection {
  /** Managed tables; when empty, tables in `vpcId` tagged `routesync/cluster=<clusterName>`. */
  readonly routeTableIds: readonly string[];
  readonly vpcId?: string;
  readonly clusterName: string;
  /** The route limit reported for every table (--route-limit). */
  readonly routeLimit: number;
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
): Promise<ListedTables> {
  const { routeTableIds, vpcId, clusterName } = selection;
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
  return {
    tables: tables.map((t) => toRouteTable(t, selection.routeLimit, log)),
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

function toRouteTable(table: SdkRouteTable, limit: number, log: Warner): RouteTable {
  const routes: ActualRoute[] = [];
  for (const route of table.Routes ?? []) {
    const actual = toActualRoute(route, table.RouteTableId ?? '', log);
    if (actual !== undefined) routes.push(actual);
  }
  return { id: table.RouteTableId ?? '', limit, quota: 'aws-vpc-routes-per-table', routes };
}

function toActualRoute(route: Route, tableId: string, log: Warner): ActualRoute | undefined {
  // IPv6 routes use a quota of their own; prefix-list routes are not mapped yet (docs/architecture.md, 'Known issues').
  if (route.DestinationCidrBlock === undefined) return undefined;
  let destination: string;
  try {
    destination = canonicalCidr(route.DestinationCidrBlock);
  } catch {
    log.warn({ table: tableId, destination: route.DestinationCidrBlock }, 'skipping a route with an unparseable destination');
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
    blackhole: route.State === 'blackhole',
    bearsOwnerMarks: route.Origin === 'CreateRoute' && (eni !== undefined || instance !== undefined),
    inManagedSpace: true,
    via,
  };
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
