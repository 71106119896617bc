/**
 * The EC2 simulator's world: one AWS account in one region. VPCs, subnets, route tables (with their
 * `local` route), instances and their ENIs, plus the request machinery that belongs to an account:
 * per-action token buckets, injected faults and the call log.
 *
 * Everything here is in-process; `server.ts` puts it behind the EC2 Query API and a JSON control API.
 * Semantics follow real EC2 (docs/architecture.md, 'AWS facts'): routes to a deleted or detached ENI turn `blackhole`, the
 * route limit counts every non-propagated route (the `local` route included), error codes and
 * messages are EC2's.
 */
import {
  cidrContains,
  formatCidr,
  ipInCidr,
  ipv4ToNumber,
  isIpv4,
  numberToIpv4,
  parseCidr,
  type Ipv4Cidr,
} from '../../../src/net/cidr.js';
import { filterValueMatches, type QueryFilter, type QueryParams } from './query.js';
import { CallLog, FaultInjector } from '../shared/faults.js';
import { positive, seededHash, seededRandom } from '../shared/util.js';
import { Throttle, type BucketSpec, type Clock, type ThrottleCategory } from './throttle.js';
import { PrefixLists, type CreatePrefixListInput, type SimManagedPrefixList } from './prefix-lists.js';
import { canonicalIpv6, canonicalIpv6Cidr, ipv6InCidr, isIpv6Text, prefixLength } from '../shared/ipv6.js';

/** An EC2 API error: code, message and HTTP status exactly as EC2 sends them. */
export class Ec2ApiError extends Error {
  override readonly name = 'Ec2ApiError';

  constructor(
    readonly code: string,
    message: string,
    readonly httpStatus = 400,
  ) {
    super(message);
  }
}

export type RouteOrigin = 'CreateRouteTable' | 'CreateRoute' | 'EnableVgwRoutePropagation';
export type RouteState = 'active' | 'blackhole';
export type EniStatus = 'in-use' | 'available';

/** Exactly one of these is a route's target. */
export interface RouteTargetInput {
  readonly gatewayId?: string;
  readonly natGatewayId?: string;
  readonly networkInterfaceId?: string;
  readonly instanceId?: string;
  readonly transitGatewayId?: string;
  readonly vpcPeeringConnectionId?: string;
}

const TARGET_KEYS = [
  'gatewayId',
  'natGatewayId',
  'networkInterfaceId',
  'instanceId',
  'transitGatewayId',
  'vpcPeeringConnectionId',
] as const;

/** One destination: DestinationCidrBlock (IPv4) or DestinationIpv6CidrBlock. */
export interface RouteInput extends RouteTargetInput {
  readonly destinationCidrBlock?: string;
  readonly destinationIpv6CidrBlock?: string;
}

/** A route someone else made: an internet gateway, a NAT gateway, a propagated VPN route, … */
export interface ForeignRouteInput extends RouteTargetInput {
  /** One destination: an IPv4 CIDR, an IPv6 CIDR or a prefix list. */
  readonly destinationCidrBlock?: string;
  readonly destinationIpv6CidrBlock?: string;
  readonly destinationPrefixListId?: string;
  /** Default `CreateRoute`; `EnableVgwRoutePropagation` for a propagated route (not counted). */
  readonly origin?: RouteOrigin;
  /** Force a state (e.g. a NAT route whose gateway was deleted); ENI routes compute theirs. */
  readonly state?: RouteState;
  /**
   * For a prefix list the world does not hold: its max entries (default 1). A list made with
   * createManagedPrefixList weighs its own MaxEntries, and counts in its own address family.
   */
  readonly prefixListMaxEntries?: number;
  /** Refuse with RouteLimitExceeded, as CreateRoute does, when the route does not fit its family's quota. */
  readonly checkLimit?: boolean;
}

/** A route as DescribeRouteTables shows it. */
export interface SimRoute {
  readonly destinationCidrBlock?: string;
  readonly destinationIpv6CidrBlock?: string;
  readonly destinationPrefixListId?: string;
  readonly gatewayId?: string;
  readonly instanceId?: string;
  readonly instanceOwnerId?: string;
  readonly natGatewayId?: string;
  readonly transitGatewayId?: string;
  readonly networkInterfaceId?: string;
  readonly vpcPeeringConnectionId?: string;
  readonly state: RouteState;
  readonly origin: RouteOrigin;
}

export interface SimRouteTable {
  readonly routeTableId: string;
  readonly vpcId: string;
  readonly ownerId: string;
  readonly main: boolean;
  readonly associationId: string | undefined;
  readonly tags: Readonly<Record<string, string>>;
  readonly routes: readonly SimRoute[];
  readonly propagatingVgws: readonly string[];
  /** This table's route limit. */
  readonly routeLimit: number;
  /** Routes that count toward the limit now (non-propagated IPv4 and IPv4 prefix-list routes). */
  readonly countedRoutes: number;
  /** The same for IPv6 routes, counted against the same limit apart. */
  readonly countedIpv6Routes: number;
}

export interface SimAttachment {
  readonly attachmentId: string;
  readonly instanceId: string;
  readonly deviceIndex: number;
  readonly status: 'attached';
  readonly attachTime: string;
  readonly deleteOnTermination: boolean;
}

export interface SimNetworkInterface {
  readonly networkInterfaceId: string;
  readonly subnetId: string;
  readonly vpcId: string;
  readonly availabilityZone: string;
  readonly ownerId: string;
  readonly description: string;
  readonly status: EniStatus;
  readonly macAddress: string;
  readonly privateIpAddress: string;
  readonly secondaryPrivateIpAddresses: readonly string[];
  /** The ENI's IPv6 addresses (canonical), from its subnet's IPv6 CIDR. */
  readonly ipv6Addresses: readonly string[];
  readonly sourceDestCheck: boolean;
  readonly attachment: SimAttachment | undefined;
  readonly tags: Readonly<Record<string, string>>;
}

export interface SimVpc {
  readonly vpcId: string;
  readonly cidr: string;
  readonly ipv6Cidr?: string;
  readonly mainRouteTableId: string;
}

export interface SimSubnet {
  readonly subnetId: string;
  readonly vpcId: string;
  readonly cidr: string;
  readonly ipv6Cidr?: string;
  readonly availabilityZone: string;
}

export type InstanceState = 'running' | 'stopped';

export interface SimInstance {
  readonly instanceId: string;
  readonly subnetId: string;
  readonly vpcId: string;
  readonly networkInterfaceIds: readonly string[];
  readonly state: InstanceState;
  readonly tags: Readonly<Record<string, string>>;
}

export interface EniSpec {
  /** Primary private IP; the next free address of the subnet when absent. */
  readonly privateIp?: string;
  readonly secondaryIps?: readonly string[];
  /** IPv6 addresses, inside the subnet's IPv6 CIDR (AssignIpv6Addresses / Ipv6Addresses at launch). */
  readonly ipv6Addresses?: readonly string[];
  /** Default true, as AWS. */
  readonly sourceDestCheck?: boolean;
  /** Default: the instance's subnet. Must be in the same VPC. */
  readonly subnetId?: string;
  readonly tags?: Readonly<Record<string, string>>;
  readonly description?: string;
  /** Default true: terminating the instance deletes the ENI. */
  readonly deleteOnTermination?: boolean;
}

/** The Service Quotas reads the simulator serves (service-quotas.ts). */
export type ServiceQuotasAction = 'GetServiceQuota' | 'GetAWSDefaultServiceQuota';
export type ServiceQuotasAccess = 'allow' | 'deny' | 'unavailable';

/** One request as the simulator saw it. */
export interface Ec2Call {
  readonly seq: number;
  /** The world's clock (ms) when the request arrived. */
  readonly time: number;
  readonly action: string;
  /** The form parameters as sent (`Filter.1.Name`, `RouteTableId.1`, …). */
  readonly params: QueryParams;
  /** The `user-agent` header (the SDK appends `customUserAgent` to it). */
  readonly userAgent: string;
  /** The `x-amz-user-agent` header. */
  readonly amzUserAgent: string;
  readonly requestId: string;
  /** 0 when the connection was reset instead of answered. */
  readonly httpStatus: number;
  readonly errorCode?: string;
  /** Set when the answer was not the world's own: throttled, injected, random fault, reset. */
  readonly fault?: 'throttled' | 'injected' | 'random' | 'reset';
  /** True when the action's effect was applied (a mutation that succeeded, maybe behind a fault). */
  readonly applied: boolean;
}

/** Per-action request counts since the last clearCalls(), kept without copying the call log. */
export interface Ec2CallStats {
  readonly total: number;
  /** 2xx answers. */
  readonly ok: number;
  /** 503 RequestLimitExceeded from the token buckets (not injected ones). */
  readonly throttled: number;
  /** Every other error answer or reset. */
  readonly failed: number;
}

/** A planned fault for the next matching request(s). */
export interface ScriptedFault {
  readonly action: string;
  readonly kind: 'error' | 'reset';
  readonly code: string;
  readonly message: string;
  readonly httpStatus: number;
  /** Apply the action first, then fail (the client sees an error for work that was done). */
  readonly afterApply: boolean;
  remaining: number;
}

export interface FaultSettings {
  /** Probability (0..1) of a random 500 InternalError / 503 Unavailable per request. */
  readonly errorRate: number;
  /** Restricts the random errors to these actions (default: all). */
  readonly errorRateActions?: readonly string[];
  /** Latency added to every EC2 request, in ms (divided by timeScale). */
  readonly latencyMs: number;
  /** Uniform random extra latency 0..jitter ms (seeded). */
  readonly latencyJitterMs: number;
}

export interface Ec2WorldOptions {
  /** Seeds IDs, request IDs and random faults. Default 1. */
  readonly seed?: number;
  /** ms clock for token buckets and the call log. Default Date.now. */
  readonly clock?: Clock;
  /** 10 = buckets refill 10× faster and injected latency is 10× shorter. Default 1. */
  readonly timeScale?: number;
  /** Token-bucket throttling on (default) or off. */
  readonly throttling?: boolean;
  readonly buckets?: Partial<Record<ThrottleCategory, BucketSpec>>;
  /**
   * AWS's default "routes per route table" quota (Service Quotas L-93826ACB), each of IPv4 and IPv6
   * counted apart: 500 since June 2025 (Amazon VPC quotas,
   * https://docs.aws.amazon.com/vpc/latest/userguide/amazon-vpc-limits.html). Default 500.
   */
  readonly routeLimit?: number;
  readonly region?: string;
  readonly accountId?: string;
  /** Reject requests without a SigV4 Authorization header (401 AuthFailure). Default true. */
  readonly requireAuth?: boolean;
  readonly errorRate?: number;
  readonly latencyMs?: number;
  /** ENIs in the account above which unpaginated DescribeNetworkInterfaces without an indexed filter fail (describe-rules.ts). Default 1,000. */
  readonly largeAccountEnis?: number;
}

/** The actions routesync uses; everything else is InvalidAction. */
export const EC2_ACTIONS = [
  'DescribeRouteTables',
  'DescribeNetworkInterfaces',
  'DescribeManagedPrefixLists',
  'DescribeTags',
  'CreateRoute',
  'ReplaceRoute',
  'DeleteRoute',
  'ModifyNetworkInterfaceAttribute',
] as const;
export type Ec2Action = (typeof EC2_ACTIONS)[number];

export const MUTATING_ACTIONS: readonly string[] = ['CreateRoute', 'ReplaceRoute', 'DeleteRoute', 'ModifyNetworkInterfaceAttribute'];

/** Default HTTP status for an error code (EC2 uses 503 for throttling and overload, 500 for internal errors). */
export function defaultStatusFor(code: string): number {
  if (code === 'RequestLimitExceeded' || code === 'Unavailable' || code === 'ServiceUnavailable') return 503;
  if (code === 'InternalError' || code === 'InternalFailure') return 500;
  if (code === 'AuthFailure' || code === 'UnauthorizedOperation') return code === 'AuthFailure' ? 401 : 403;
  return 400;
}

const DEFAULT_MESSAGES: Readonly<Record<string, string>> = {
  RequestLimitExceeded: 'Request limit exceeded.',
  InternalError: 'An internal error has occurred',
  InternalFailure: 'The request processing has failed because of an unknown error, exception or failure.',
  Unavailable: "The server is overloaded and can't handle the request.",
  ServiceUnavailable: 'The request has failed due to a temporary failure of the server.',
  UnauthorizedOperation: 'You are not authorized to perform this operation.',
  AuthFailure: 'AWS was not able to validate the provided access credentials',
  RouteLimitExceeded: 'The maximum number of routes has been reached.',
};

// ---------------------------------------------------------------- internal records

interface RouteRecord {
  destinationCidrBlock?: string;
  destinationIpv6CidrBlock?: string;
  destinationPrefixListId?: string;
  gatewayId?: string;
  natGatewayId?: string;
  networkInterfaceId?: string;
  /** For ENI routes: the instance the ENI was attached to when it was deleted (shown afterwards). */
  instanceId?: string;
  transitGatewayId?: string;
  vpcPeeringConnectionId?: string;
  origin: RouteOrigin;
  forcedState?: RouteState;
  weight: number;
}

interface TableRecord {
  id: string;
  vpcId: string;
  main: boolean;
  associationId: string | undefined;
  tags: Map<string, string>;
  /** Keyed by destination text; insertion order is EC2's listing order. */
  routes: Map<string, RouteRecord>;
  routeLimit: number | undefined;
}

interface VpcRecord {
  id: string;
  cidr: Ipv4Cidr;
  ipv6Cidr?: string;
  mainRouteTableId: string;
}

interface SubnetRecord {
  id: string;
  vpcId: string;
  cidr: Ipv4Cidr;
  ipv6Cidr?: string;
  availabilityZone: string;
  nextHost: number;
}

interface AttachmentRecord {
  attachmentId: string;
  instanceId: string;
  deviceIndex: number;
  attachTime: string;
  deleteOnTermination: boolean;
}

interface EniRecord {
  id: string;
  subnetId: string;
  vpcId: string;
  availabilityZone: string;
  description: string;
  primaryIp: string;
  secondaryIps: string[];
  ipv6Ips: string[];
  sourceDestCheck: boolean;
  attachment: AttachmentRecord | undefined;
  tags: Map<string, string>;
  macAddress: string;
}

interface InstanceRecord {
  id: string;
  subnetId: string;
  vpcId: string;
  eniIds: string[];
  state: InstanceState;
  tags: Map<string, string>;
}

const ID_PATTERNS: Readonly<Record<string, RegExp>> = {
  rtb: /^rtb-([0-9a-f]{8}|[0-9a-f]{17})$/,
  eni: /^eni-([0-9a-f]{8}|[0-9a-f]{17})$/,
  i: /^i-([0-9a-f]{8}|[0-9a-f]{17})$/,
};

// ---------------------------------------------------------------- the world

export class Ec2World {
  readonly region: string;
  readonly accountId: string;
  readonly requireAuth: boolean;
  readonly clock: Clock;
  readonly throttle: Throttle;

  private timeScaleValue: number;
  private defaultRouteLimit: number;
  private appliedRouteQuota: number | undefined;
  private readonly serviceQuotasAccess = new Map<ServiceQuotasAction, ServiceQuotasAccess>();
  private readonly seed: number;
  private readonly idCounters = new Map<string, number>();
  private readonly usedIds = new Set<string>();

  private readonly vpcs = new Map<string, VpcRecord>();
  private readonly subnets = new Map<string, SubnetRecord>();
  private readonly tables = new Map<string, TableRecord>();
  private readonly enis = new Map<string, EniRecord>();
  private readonly instances = new Map<string, InstanceRecord>();
  readonly prefixLists: PrefixLists;
  private largeAccountEnisValue: number;

  private readonly injector: FaultInjector<FaultSettings, 'action', 'code'>;
  private readonly callLog = new CallLog<Ec2Call>((call) => call.action);
  private readonly stats = new Map<string, Ec2CallStats>();

  constructor(options: Ec2WorldOptions = {}) {
    this.seed = options.seed ?? 1;
    this.clock = options.clock ?? Date.now;
    this.timeScaleValue = positive(options.timeScale ?? 1, 'timeScale');
    this.defaultRouteLimit = positive(options.routeLimit ?? 500, 'routeLimit');
    this.region = options.region ?? 'us-east-1';
    this.accountId = options.accountId ?? '123456789012';
    this.requireAuth = options.requireAuth ?? true;
    this.prefixLists = new PrefixLists(() => this.newId('pl'), this.accountId, this.region);
    this.largeAccountEnisValue = options.largeAccountEnis ?? 1000;
    this.throttle = new Throttle({
      clock: this.clock,
      timeScale: () => this.timeScaleValue,
      ...(options.buckets !== undefined ? { buckets: options.buckets } : {}),
    });
    this.throttle.enabled = options.throttling ?? true;
    this.injector = new FaultInjector({
      targetKey: 'action',
      errorKey: 'code',
      scopeKey: 'errorRateActions',
      randomErrors: ['InternalError', 'Unavailable'],
      statusFor: defaultStatusFor,
      messages: DEFAULT_MESSAGES,
      random: seededRandom(this.seed ^ 0x5eed),
      timeScale: () => this.timeScaleValue,
      errorRate: options.errorRate,
      latencyMs: options.latencyMs,
    });
  }

  // ------------------------------------------------------------ time, throttling, faults

  get timeScale(): number {
    return this.timeScaleValue;
  }

  setTimeScale(scale: number): void {
    this.timeScaleValue = positive(scale, 'timeScale');
  }

  /** Turns token-bucket throttling on or off (buckets are refilled when turned on). */
  setThrottling(enabled: boolean): void {
    if (enabled && !this.throttle.enabled) this.throttle.reset();
    this.throttle.enabled = enabled;
  }

  /** Sets the random error rate and added latency; omitted fields keep their value. */
  setFaults(settings: Partial<FaultSettings>): void {
    this.injector.set(settings);
  }

  get faults(): FaultSettings {
    return this.injector.settings;
  }

  /**
   * The next `times` requests for `action` (`*` = any action) fail with `code`. The HTTP status
   * defaults to EC2's for the code (503 RequestLimitExceeded/Unavailable, 500 InternalError, else 400).
   */
  failNext(
    action: string,
    code: string,
    times = 1,
    httpStatus?: number,
    options: { readonly afterApply?: boolean; readonly message?: string } = {},
  ): void {
    this.injector.failNext(action, code, times, httpStatus, options);
  }

  /** The next `times` requests for `action` (`*` = any) get their connection destroyed, no answer. */
  resetConnectionNext(action = '*', times = 1, options: { readonly afterApply?: boolean } = {}): void {
    this.injector.resetConnectionNext(action, times, options);
  }

  /** Drops scripted faults and sets error rate and latency back to zero. */
  clearFaults(): void {
    this.injector.clear();
  }

  /** Consumes the scripted fault that applies to this request, if any. */
  takeScriptedFault(action: string): ScriptedFault | undefined {
    return this.injector.take(action);
  }

  /** Rolls the dice for a random InternalError / Unavailable. */
  rollRandomFault(action: string): { code: string; httpStatus: number; message: string } | undefined {
    return this.injector.roll(action);
  }

  /** Latency to add to the next request, already divided by the time scale. */
  nextLatencyMs(): number {
    return this.injector.nextLatencyMs();
  }

  // ------------------------------------------------------------ call log

  nextSeq(): number {
    return this.callLog.nextSeq();
  }

  /** EC2 requests received and not answered yet (e.g. held by injected latency). */
  inFlight(): number {
    return this.callLog.inFlight();
  }

  /** A request id shaped like EC2's (a UUID), derived from the seed and the sequence number. */
  requestIdFor(seq: number): string {
    const hex = this.hash(`req:${seq}`) + this.hash(`req2:${seq}`);
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-a${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
  }

  record(call: Ec2Call): void {
    this.callLog.record(call);
    const stats = this.stats.get(call.action) ?? { total: 0, ok: 0, throttled: 0, failed: 0 };
    const ok = call.httpStatus >= 200 && call.httpStatus < 300;
    this.stats.set(call.action, {
      total: stats.total + 1,
      ok: stats.ok + (ok ? 1 : 0),
      throttled: stats.throttled + (call.fault === 'throttled' ? 1 : 0),
      failed: stats.failed + (!ok && call.fault !== 'throttled' ? 1 : 0),
    });
  }

  /** Requests per action since the last clearCalls() (cheap: for polling in benchmarks). */
  callStats(): Record<string, Ec2CallStats> {
    return Object.fromEntries(this.stats);
  }

  /** Every EC2 request so far (or those for one action), in arrival order. */
  calls(action?: string): Ec2Call[] {
    return this.callLog.calls(action);
  }

  /** CreateRoute, ReplaceRoute, DeleteRoute and ModifyNetworkInterfaceAttribute requests. */
  mutatingCalls(): Ec2Call[] {
    return this.calls().filter((c) => MUTATING_ACTIONS.includes(c.action));
  }

  clearCalls(): void {
    this.callLog.clear();
    this.stats.clear();
  }

  // ------------------------------------------------------------ VPCs and subnets

  /** A VPC with its main route table (holding the `local` route, untagged). */
  /**
   * `ipv6Cidr`: an IPv6 block of the VPC; Amazon-provided blocks are /56, BYOIP and IPAM ones /44 to
   * /60 (https://docs.aws.amazon.com/vpc/latest/userguide/vpc-cidr-blocks.html).
   */
  createVpc(input: { readonly cidr: string; readonly ipv6Cidr?: string }): SimVpc {
    const cidr = parseCidr(input.cidr);
    if (cidr.length < 16 || cidr.length > 28) throw new Error(`VPC CIDR must be /16../28, got ${input.cidr}`);
    const ipv6Cidr = input.ipv6Cidr === undefined ? undefined : canonicalIpv6Cidr(input.ipv6Cidr);
    if (ipv6Cidr !== undefined && (prefixLength(ipv6Cidr) < 44 || prefixLength(ipv6Cidr) > 60)) throw new Error(`VPC IPv6 CIDR must be /44../60, got ${ipv6Cidr}`);
    const id = this.newId('vpc');
    const record: VpcRecord = { id, cidr, ...(ipv6Cidr === undefined ? {} : { ipv6Cidr }), mainRouteTableId: '' };
    this.vpcs.set(id, record);
    const main = this.addTable(id, {}, true);
    record.mainRouteTableId = main.id;
    return this.vpcView(record);
  }

  /** `ipv6Cidr`: the subnet's IPv6 block, inside the VPC's, /44 to /64 (same page as createVpc). */
  createSubnet(input: { readonly vpcId: string; readonly cidr: string; readonly ipv6Cidr?: string; readonly availabilityZone?: string }): SimSubnet {
    const vpc = this.requireVpc(input.vpcId);
    const cidr = parseCidr(input.cidr);
    if (!cidrContains(vpc.cidr, cidr)) throw new Error(`subnet ${input.cidr} is not inside ${formatCidr(vpc.cidr)}`);
    const ipv6Cidr = input.ipv6Cidr === undefined ? undefined : canonicalIpv6Cidr(input.ipv6Cidr);
    if (ipv6Cidr !== undefined) {
      const inside = vpc.ipv6Cidr !== undefined && ipv6InCidr(ipv6Cidr.split('/')[0] ?? '', vpc.ipv6Cidr) && prefixLength(ipv6Cidr) >= prefixLength(vpc.ipv6Cidr);
      if (!inside || prefixLength(ipv6Cidr) > 64) throw new Error(`subnet IPv6 CIDR ${ipv6Cidr} must be a /44../64 inside the VPC's ${vpc.ipv6Cidr ?? '(none)'}`);
    }
    for (const other of this.subnets.values()) {
      if (other.vpcId === vpc.id && (cidrContains(other.cidr, cidr) || cidrContains(cidr, other.cidr))) {
        throw new Ec2ApiError('InvalidSubnet.Conflict', `The CIDR '${input.cidr}' conflicts with another subnet`);
      }
    }
    const id = this.newId('subnet');
    const record: SubnetRecord = {
      id,
      vpcId: vpc.id,
      cidr,
      ...(ipv6Cidr === undefined ? {} : { ipv6Cidr }),
      availabilityZone: input.availabilityZone ?? `${this.region}a`,
      nextHost: cidr.base + 4, // AWS reserves the first four addresses of every subnet
    };
    this.subnets.set(id, record);
    return this.subnetView(record);
  }

  vpc(vpcId: string): SimVpc {
    return this.vpcView(this.requireVpc(vpcId));
  }

  subnet(subnetId: string): SimSubnet {
    return this.subnetView(this.requireSubnet(subnetId));
  }

  // ------------------------------------------------------------ route tables

  /** A custom route table holding the `local` route (VPC CIDR → local, origin CreateRouteTable). */
  createRouteTable(input: {
    readonly vpcId: string;
    readonly tags?: Readonly<Record<string, string>>;
    readonly routeLimit?: number;
  }): SimRouteTable {
    const vpc = this.requireVpc(input.vpcId);
    const inVpc = [...this.tables.values()].filter((t) => t.vpcId === vpc.id).length;
    if (inVpc >= 200) {
      throw new Ec2ApiError('RouteTableLimitExceeded', 'The maximum number of route tables has been reached.');
    }
    const table = this.addTable(vpc.id, input.tags ?? {}, false);
    if (input.routeLimit !== undefined) table.routeLimit = positive(input.routeLimit, 'routeLimit');
    return this.tableView(table);
  }

  /** Replaces a table's tags. */
  setTags(routeTableId: string, tags: Readonly<Record<string, string>>): void {
    this.requireTable(routeTableId).tags = new Map(Object.entries(tags));
  }

  /**
   * The account's applied value of the routes-per-table quota (an increase AWS granted), or null
   * for none: then AWS's default applies. GetServiceQuota reports it (service-quotas.ts).
   */
  setAppliedRouteQuota(value: number | null): void {
    this.appliedRouteQuota = value === null ? undefined : positive(value, 'appliedRouteQuota');
  }

  /** The quota as Service Quotas has it: the applied value (if any) and AWS's default. */
  routeQuota(): { readonly applied: number | undefined; readonly default: number } {
    return { applied: this.appliedRouteQuota, default: this.defaultRouteLimit };
  }

  /** How Service Quotas answers each read: `deny` (AccessDeniedException), `unavailable` (ServiceException). */
  setServiceQuotasAccess(access: Partial<Record<ServiceQuotasAction, ServiceQuotasAccess>>): void {
    for (const [action, value] of Object.entries(access)) this.serviceQuotasAccess.set(action as ServiceQuotasAction, value);
  }

  serviceQuotasAccessOf(action: ServiceQuotasAction): ServiceQuotasAccess {
    return this.serviceQuotasAccess.get(action) ?? 'allow';
  }

  /** A table's enforced limit: its own (a test's per-table override), else the applied quota, else the default. */
  private limitOf(table: TableRecord): number {
    return table.routeLimit ?? this.appliedRouteQuota ?? this.defaultRouteLimit;
  }

  /** Sets the route limit of one table, or the default of every table without its own. */
  setRouteLimit(limit: number, routeTableId?: string): void {
    positive(limit, 'routeLimit');
    if (routeTableId === undefined) this.defaultRouteLimit = limit;
    else this.requireTable(routeTableId).routeLimit = limit;
  }

  routeLimitOf(routeTableId: string): number {
    return this.limitOf(this.requireTable(routeTableId));
  }

  routeTable(routeTableId: string): SimRouteTable {
    return this.tableView(this.requireTable(routeTableId));
  }

  routeTables(): SimRouteTable[] {
    return [...this.tables.values()].map((t) => this.tableView(t));
  }

  /** The routes of a table, as DescribeRouteTables would show them. */
  routes(routeTableId: string): SimRoute[] {
    const table = this.requireTable(routeTableId);
    return [...table.routes.values()].map((r) => this.routeView(r));
  }

  /** One route by destination (IPv4/IPv6 CIDR or prefix-list id), or undefined. */
  route(routeTableId: string, destination: string): SimRoute | undefined {
    const record = this.requireTable(routeTableId).routes.get(destinationKey(destination));
    return record === undefined ? undefined : this.routeView(record);
  }

  /**
   * Adds a route no API call made (or one made by someone else long ago): an internet gateway,
   * a NAT gateway, a propagated VGW route. Only duplicates are refused; the limit is not checked
   * (a table can be over its limit when the quota was lowered).
   */
  addForeignRoute(routeTableId: string, input: ForeignRouteInput): SimRoute {
    const table = this.requireTable(routeTableId);
    const destinations = [input.destinationCidrBlock, input.destinationIpv6CidrBlock, input.destinationPrefixListId].filter(
      (d): d is string => d !== undefined,
    );
    if (destinations.length !== 1) throw new Error('a foreign route needs exactly one destination');
    const targets = TARGET_KEYS.filter((k) => input[k] !== undefined);
    if (targets.length !== 1) throw new Error('a foreign route needs exactly one target');
    const record: RouteRecord = { origin: input.origin ?? 'CreateRoute', weight: 1 };
    if (input.destinationCidrBlock !== undefined) record.destinationCidrBlock = formatCidr(parseCidr(input.destinationCidrBlock));
    if (input.destinationIpv6CidrBlock !== undefined) record.destinationIpv6CidrBlock = canonicalIpv6Cidr(input.destinationIpv6CidrBlock);
    if (input.destinationPrefixListId !== undefined) {
      record.destinationPrefixListId = input.destinationPrefixListId;
      record.weight = input.prefixListMaxEntries ?? 1;
    }
    for (const key of targets) {
      const value = input[key];
      if (value !== undefined) record[key] = value;
    }
    if (input.state !== undefined) record.forcedState = input.state;
    const key = routeKey(record);
    if (table.routes.has(key)) throw new Ec2ApiError('RouteAlreadyExists', `The route identified by ${key} already exists.`);
    const { family, weight } = this.quotaShare(record);
    if (input.checkLimit === true && this.countedRoutes(table, family) + weight > this.limitOf(table)) {
      throw new Ec2ApiError('RouteLimitExceeded', DEFAULT_MESSAGES.RouteLimitExceeded ?? 'RouteLimitExceeded');
    }
    table.routes.set(key, record);
    return this.routeView(record);
  }

  /** A customer-managed prefix list, as CreateManagedPrefixList makes it (prefix-lists.ts). */
  createManagedPrefixList(input: CreatePrefixListInput): SimManagedPrefixList {
    return this.prefixLists.create(input);
  }

  /** See Ec2WorldOptions.largeAccountEnis. */
  setLargeAccountEnis(threshold: number): void {
    this.largeAccountEnisValue = positive(threshold, 'largeAccountEnis');
  }

  get largeAccountEnis(): number {
    return this.largeAccountEnisValue;
  }

  /** ENIs in the account (the large-account rule counts them). */
  networkInterfaceCount(): number {
    return this.enis.size;
  }

  /** Removes any route (foreign or not) without EC2's checks. */
  removeRoute(routeTableId: string, destination: string): boolean {
    return this.requireTable(routeTableId).routes.delete(destinationKey(destination));
  }

  // ------------------------------------------------------------ route API semantics

  /** CreateRoute, with EC2's validation and errors (also usable "behind routesync's back"). */
  createRoute(routeTableId: string, input: RouteInput): SimRoute {
    const table = this.apiTable(routeTableId);
    const destination = routeDestination(input);
    const record = this.resolveTarget(table, input, destination);
    if (table.routes.has(destination)) {
      throw new Ec2ApiError('RouteAlreadyExists', `The route identified by ${destination} already exists.`);
    }
    // One quota value, counted for each family apart (the IPv6 routes of a table against their own).
    if (this.countedRoutes(table, destination.includes(':') ? 'IPv6' : 'IPv4') + 1 > this.limitOf(table)) {
      throw new Ec2ApiError('RouteLimitExceeded', DEFAULT_MESSAGES.RouteLimitExceeded ?? 'RouteLimitExceeded');
    }
    table.routes.set(destination, record);
    return this.routeView(record);
  }

  /** ReplaceRoute: same target rules as CreateRoute; the route must exist. */
  replaceRoute(routeTableId: string, input: RouteInput): SimRoute {
    const table = this.apiTable(routeTableId);
    const destination = routeDestination(input);
    const record = this.resolveTarget(table, input, destination);
    const existing = table.routes.get(destination);
    if (existing === undefined) {
      throw new Ec2ApiError(
        'InvalidParameterValue',
        `There is no route defined for '${destination}' in the route table. Use CreateRoute instead.`,
      );
    }
    if (existing.origin === 'CreateRouteTable') {
      throw new Ec2ApiError('InvalidParameterValue', `cannot replace local route ${destination} in route table ${table.id}`);
    }
    table.routes.set(destination, record);
    return this.routeView(record);
  }

  /** DeleteRoute (an IPv4 or an IPv6 CIDR): a missing route is InvalidRoute.NotFound; the `local` route cannot be removed. */
  deleteRoute(routeTableId: string, destinationCidr: string): void {
    const table = this.apiTable(routeTableId);
    const destination = destinationCidr.includes(':') ? routeDestination({ destinationIpv6CidrBlock: destinationCidr }) : routeDestination({ destinationCidrBlock: destinationCidr });
    const existing = table.routes.get(destination);
    if (existing === undefined) {
      throw new Ec2ApiError(
        'InvalidRoute.NotFound',
        `no route with destination-cidr-block ${destination} in route table ${table.id}`,
      );
    }
    if (existing.origin === 'CreateRouteTable') {
      throw new Ec2ApiError('InvalidParameterValue', `cannot remove local route ${destination} in route table ${table.id}`);
    }
    if (existing.origin === 'EnableVgwRoutePropagation') {
      throw new Ec2ApiError(
        'InvalidRoute.NotFound',
        `no route with destination-cidr-block ${destination} in route table ${table.id}`,
      );
    }
    table.routes.delete(destination);
  }

  /** ModifyNetworkInterfaceAttribute SourceDestCheck. */
  setSourceDestCheck(networkInterfaceId: string, value: boolean): void {
    this.apiEni(networkInterfaceId).sourceDestCheck = value;
  }

  /** Routes counting toward the limit of one family: non-propagated routes (local included) and prefix-list routes of that family. */
  countedRoutesOf(routeTableId: string, family: 'IPv4' | 'IPv6' = 'IPv4'): number {
    return this.countedRoutes(this.requireTable(routeTableId), family);
  }

  // ------------------------------------------------------------ instances and ENIs

  /**
   * An instance with one or more ENIs (device index = position). The first ENI is the primary one.
   * Private IPs must be free in the VPC and inside their subnet.
   */
  launchInstance(input: {
    readonly subnetId: string;
    readonly enis?: readonly EniSpec[];
    readonly tags?: Readonly<Record<string, string>>;
  }): SimInstance {
    const subnet = this.requireSubnet(input.subnetId);
    const specs = input.enis === undefined || input.enis.length === 0 ? [{}] : input.enis;
    const instanceId = this.newId('i');
    const reserved = new Set<string>();
    const created = specs.map((spec) => this.buildEni({ ...spec, subnetId: spec.subnetId ?? subnet.id }, subnet.vpcId, reserved));
    const record: InstanceRecord = { id: instanceId, subnetId: subnet.id, vpcId: subnet.vpcId, eniIds: [], state: 'running', tags: new Map(Object.entries(input.tags ?? {})) };
    this.instances.set(instanceId, record);
    created.forEach((eni, index) => {
      this.enis.set(eni.id, eni);
      this.attach(eni, record, index, specs[index]?.deleteOnTermination ?? true);
    });
    return this.instanceView(record);
  }

  /**
   * Terminates an instance: ENIs with deleteOnTermination are deleted (their routes turn blackhole,
   * keeping networkInterfaceId and instanceId, as AWS shows them), the others are detached.
   */
  terminateInstance(instanceId: string): void {
    const instance = this.instances.get(instanceId);
    if (instance === undefined) throw new Ec2ApiError('InvalidInstanceID.NotFound', `The instance ID '${instanceId}' does not exist`);
    for (const eniId of [...instance.eniIds]) {
      const eni = this.enis.get(eniId);
      if (eni === undefined) continue;
      if (eni.attachment?.deleteOnTermination ?? false) this.removeEni(eni);
      else this.detach(eni);
    }
    this.instances.delete(instanceId);
  }

  /**
   * Stops an instance: its ENIs stay attached (`in-use`, same ids and addresses), and routes to them
   * or to the instance turn `blackhole`, the target being unavailable
   * (https://docs.aws.amazon.com/vpc/latest/userguide/RouteTables.html, route "blackhole";
   * https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/how-ec2-instance-stop-start-works.html:
   * a stopped instance keeps its network interfaces and private IPv4 addresses).
   */
  stopInstance(instanceId: string): void {
    this.requireInstance(instanceId).state = 'stopped';
  }

  /**
   * Replaces an instance's or an ENI's tags (CreateTags/DeleteTags). Tags are per resource: an
   * instance's tags are not its ENIs' (https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/Using_Tags.html).
   */
  setResourceTags(resourceId: string, tags: Readonly<Record<string, string>>): void {
    const target = resourceId.startsWith('i-') ? this.requireInstance(resourceId) : this.requireEni(resourceId);
    target.tags = new Map(Object.entries(tags));
  }

  /** Starts a stopped instance: the routes to its ENIs are `active` again, with nothing rewritten. */
  startInstance(instanceId: string): void {
    this.requireInstance(instanceId).state = 'running';
  }

  private requireInstance(instanceId: string): InstanceRecord {
    const instance = this.instances.get(instanceId);
    if (instance === undefined) throw new Ec2ApiError('InvalidInstanceID.NotFound', `The instance ID '${instanceId}' does not exist`);
    return instance;
  }

  /** A detached (`available`) ENI. */
  createNetworkInterface(input: EniSpec & { readonly subnetId: string }): SimNetworkInterface {
    const subnet = this.requireSubnet(input.subnetId);
    const eni = this.buildEni(input, subnet.vpcId, new Set());
    this.enis.set(eni.id, eni);
    return this.eniView(eni);
  }

  attachNetworkInterface(networkInterfaceId: string, instanceId: string, deviceIndex?: number): SimNetworkInterface {
    const eni = this.requireEni(networkInterfaceId);
    const instance = this.instances.get(instanceId);
    if (instance === undefined) throw new Ec2ApiError('InvalidInstanceID.NotFound', `The instance ID '${instanceId}' does not exist`);
    if (eni.attachment !== undefined) {
      throw new Ec2ApiError('InvalidNetworkInterface.InUse', `Interface: [${eni.id}] in use.`);
    }
    if (eni.vpcId !== instance.vpcId) throw new Error(`${eni.id} and ${instanceId} are in different VPCs`);
    const used = new Set(instance.eniIds.map((id) => this.enis.get(id)?.attachment?.deviceIndex));
    let index = deviceIndex ?? 0;
    if (deviceIndex === undefined) while (used.has(index)) index++;
    else if (used.has(index)) throw new Error(`device index ${index} is in use on ${instanceId}`);
    this.attach(eni, instance, index, false);
    return this.eniView(eni);
  }

  /** Detaches an ENI: it turns `available`, routes to it turn blackhole. */
  detachNetworkInterface(networkInterfaceId: string): SimNetworkInterface {
    const eni = this.requireEni(networkInterfaceId);
    if (eni.attachment === undefined) throw new Error(`${eni.id} is not attached`);
    this.detach(eni);
    return this.eniView(eni);
  }

  /** Deletes a detached ENI (EC2 refuses to delete one in use). Routes to it turn blackhole. */
  deleteNetworkInterface(networkInterfaceId: string): void {
    const eni = this.requireEni(networkInterfaceId);
    if (eni.attachment !== undefined) {
      throw new Ec2ApiError('InvalidNetworkInterface.InUse', `The network interface '${eni.id}' is currently in use.`);
    }
    this.removeEni(eni);
  }

  /** Assigns a secondary private IP to an ENI. */
  assignPrivateIp(networkInterfaceId: string, ip: string): SimNetworkInterface {
    const eni = this.requireEni(networkInterfaceId);
    const subnet = this.requireSubnet(eni.subnetId);
    this.checkIpFree(ip, subnet, new Set());
    eni.secondaryIps.push(ip);
    return this.eniView(eni);
  }

  unassignPrivateIp(networkInterfaceId: string, ip: string): SimNetworkInterface {
    const eni = this.requireEni(networkInterfaceId);
    const index = eni.secondaryIps.indexOf(ip);
    if (index < 0) throw new Error(`${ip} is not a secondary IP of ${eni.id}`);
    eni.secondaryIps.splice(index, 1);
    return this.eniView(eni);
  }

  networkInterface(networkInterfaceId: string): SimNetworkInterface {
    return this.eniView(this.requireEni(networkInterfaceId));
  }

  networkInterfaces(): SimNetworkInterface[] {
    return [...this.enis.values()].map((e) => this.eniView(e));
  }

  instance(instanceId: string): SimInstance {
    const record = this.instances.get(instanceId);
    if (record === undefined) throw new Error(`no instance ${instanceId}`);
    return this.instanceView(record);
  }

  instancesList(): SimInstance[] {
    return [...this.instances.values()].map((i) => this.instanceView(i));
  }

  /** Everything, JSON-friendly (for the control API and debugging). */
  snapshot(): {
    vpcs: SimVpc[];
    subnets: SimSubnet[];
    routeTables: SimRouteTable[];
    instances: SimInstance[];
    networkInterfaces: SimNetworkInterface[];
  } {
    return {
      vpcs: [...this.vpcs.values()].map((v) => this.vpcView(v)),
      subnets: [...this.subnets.values()].map((s) => this.subnetView(s)),
      routeTables: this.routeTables(),
      instances: this.instancesList(),
      networkInterfaces: this.networkInterfaces(),
    };
  }

  // ------------------------------------------------------------ describe semantics

  /** DescribeRouteTables before pagination: unknown ids fail, filters AND, values OR. */
  describeRouteTables(ids: readonly string[], filters: readonly QueryFilter[]): SimRouteTable[] {
    for (const id of ids) this.checkIdFormat('rtb', id, 'InvalidRouteTableID.Malformed');
    const missing = ids.filter((id) => !this.tables.has(id));
    if (missing.length > 0) throw notFound('InvalidRouteTableID.NotFound', 'routeTable', missing);
    const predicates = filters.map((f) => routeTablePredicate(f));
    const wanted = ids.length > 0 ? new Set(ids) : undefined;
    return this.routeTables().filter(
      (t) => (wanted === undefined || wanted.has(t.routeTableId)) && predicates.every((p) => p(t)),
    );
  }

  /** DescribeNetworkInterfaces before pagination. */
  describeNetworkInterfaces(ids: readonly string[], filters: readonly QueryFilter[]): SimNetworkInterface[] {
    for (const id of ids) this.checkIdFormat('eni', id, 'InvalidNetworkInterfaceID.Malformed');
    const missing = ids.filter((id) => !this.enis.has(id));
    if (missing.length > 0) throw notFound('InvalidNetworkInterfaceID.NotFound', 'networkInterface', missing);
    const predicates = filters.map((f) => eniPredicate(f));
    const wanted = ids.length > 0 ? new Set(ids) : undefined;
    return this.networkInterfaces().filter(
      (e) => (wanted === undefined || wanted.has(e.networkInterfaceId)) && predicates.every((p) => p(e)),
    );
  }

  // ------------------------------------------------------------ internals

  private addTable(vpcId: string, tags: Readonly<Record<string, string>>, main: boolean): TableRecord {
    const vpc = this.requireVpc(vpcId);
    const id = this.newId('rtb');
    const local = formatCidr(vpc.cidr);
    const table: TableRecord = {
      id,
      vpcId,
      main,
      associationId: main ? this.newId('rtbassoc') : undefined,
      tags: new Map(Object.entries(tags)),
      routes: new Map([[local, { destinationCidrBlock: local, gatewayId: 'local', origin: 'CreateRouteTable', weight: 1 }]]),
      routeLimit: undefined,
    };
    // A VPC with an IPv6 block has a local route for it in every table
    // (https://docs.aws.amazon.com/vpc/latest/userguide/RouteTables.html#route-table-routes).
    if (vpc.ipv6Cidr !== undefined) {
      table.routes.set(vpc.ipv6Cidr, { destinationIpv6CidrBlock: vpc.ipv6Cidr, gatewayId: 'local', origin: 'CreateRouteTable', weight: 1 });
    }
    this.tables.set(id, table);
    return table;
  }

  /**
   * Routes counted toward one family's "routes per route table" quota: IPv4 and IPv6 are counted
   * apart, propagated routes not at all, and a prefix-list route as its list's max entries
   * (https://docs.aws.amazon.com/vpc/latest/userguide/amazon-vpc-limits.html).
   */
  private countedRoutes(table: TableRecord, family: 'IPv4' | 'IPv6'): number {
    let count = 0;
    for (const route of table.routes.values()) {
      if (route.origin === 'EnableVgwRoutePropagation') continue;
      const share = this.quotaShare(route);
      if (share.family === family) count += share.weight;
    }
    return count;
  }

  private quotaShare(route: RouteRecord): { family: 'IPv4' | 'IPv6'; weight: number } {
    if (route.destinationIpv6CidrBlock !== undefined) return { family: 'IPv6', weight: route.weight };
    const list = route.destinationPrefixListId !== undefined ? this.prefixLists.get(route.destinationPrefixListId) : undefined;
    return list !== undefined ? { family: list.addressFamily, weight: list.maxEntries } : { family: 'IPv4', weight: route.weight };
  }

  /** Validates a CreateRoute/ReplaceRoute target the way EC2 does and builds the route record. */
  private resolveTarget(table: TableRecord, input: RouteTargetInput, destination: string): RouteRecord {
    const given = TARGET_KEYS.filter((k) => input[k] !== undefined && input[k] !== '');
    if (given.length === 0) {
      throw new Ec2ApiError(
        'MissingParameter',
        'The request must contain exactly one of gatewayId, natGatewayId, networkInterfaceId, vpcPeeringConnectionId, transitGatewayId or instanceId',
      );
    }
    if (given.length > 1) {
      throw new Ec2ApiError(
        'InvalidParameterCombination',
        `The parameter ${given.map(upperFirst).join(' and ')} cannot be used together`,
      );
    }
    const vpc = this.requireVpc(table.vpcId);
    const v6 = destination.includes(':');
    const insideVpc = v6
      ? vpc.ipv6Cidr !== undefined && ipv6InCidr(destination.split('/')[0] ?? '', vpc.ipv6Cidr) && prefixLength(destination) >= prefixLength(vpc.ipv6Cidr)
      : cidrContains(vpc.cidr, parseCidr(destination));
    const record: RouteRecord = { ...(v6 ? { destinationIpv6CidrBlock: destination } : { destinationCidrBlock: destination }), origin: 'CreateRoute', weight: 1 };
    if (input.networkInterfaceId !== undefined) {
      const eni = this.apiEni(input.networkInterfaceId);
      if (eni.vpcId !== table.vpcId) {
        throw new Ec2ApiError(
          'InvalidParameterValue',
          `route table ${table.id} and network interface ${eni.id} belong to different networks`,
        );
      }
      record.networkInterfaceId = eni.id;
      if (eni.attachment !== undefined) record.instanceId = eni.attachment.instanceId;
      return record;
    }
    if (input.instanceId !== undefined) {
      this.checkIdFormat('i', input.instanceId, 'InvalidInstanceID.Malformed');
      const instance = this.instances.get(input.instanceId);
      if (instance === undefined) {
        throw new Ec2ApiError('InvalidInstanceID.NotFound', `The instance ID '${input.instanceId}' does not exist`);
      }
      if (instance.eniIds.length > 1) {
        throw new Ec2ApiError(
          'InvalidInstanceID',
          `There are multiple interfaces attached to instance '${instance.id}'. Please specify an interface ID for the operation instead.`,
        );
      }
      if (instance.vpcId !== table.vpcId) {
        throw new Ec2ApiError('InvalidParameterValue', `route table ${table.id} and instance ${instance.id} belong to different networks`);
      }
      const eniId = instance.eniIds[0];
      if (eniId !== undefined) record.networkInterfaceId = eniId;
      record.instanceId = instance.id;
      return record;
    }
    if (insideVpc) {
      throw new Ec2ApiError(
        'InvalidParameterValue',
        `The destination CIDR block ${destination} is equal to or more specific than one of this VPC's CIDR blocks. This route can target only an interface or an instance.`,
      );
    }
    if (input.gatewayId !== undefined) {
      if (!/^(igw|vgw)-[0-9a-f]{8,17}$/.test(input.gatewayId)) {
        throw new Ec2ApiError('InvalidGatewayID.NotFound', `The gateway ID '${input.gatewayId}' does not exist`);
      }
      record.gatewayId = input.gatewayId;
    } else if (input.natGatewayId !== undefined) {
      if (!/^nat-[0-9a-f]{8,17}$/.test(input.natGatewayId)) {
        throw new Ec2ApiError('NatGatewayNotFound', `The Nat Gateway ${input.natGatewayId} was not found`);
      }
      record.natGatewayId = input.natGatewayId;
    } else if (input.transitGatewayId !== undefined) {
      record.transitGatewayId = input.transitGatewayId;
    } else if (input.vpcPeeringConnectionId !== undefined) {
      record.vpcPeeringConnectionId = input.vpcPeeringConnectionId;
    }
    return record;
  }

  /** Builds (does not store) an ENI; `reserved` holds IPs taken by ENIs built in the same launch. */
  private buildEni(spec: EniSpec & { readonly subnetId?: string }, vpcId: string, reserved: Set<string>): EniRecord {
    const subnet = this.requireSubnet(spec.subnetId ?? '');
    if (subnet.vpcId !== vpcId) throw new Error(`subnet ${subnet.id} is not in ${vpcId}`);
    const primaryIp = spec.privateIp ?? this.allocateIp(subnet, reserved);
    this.checkIpFree(primaryIp, subnet, reserved);
    reserved.add(primaryIp);
    const secondaryIps = [...(spec.secondaryIps ?? [])];
    for (const ip of secondaryIps) {
      this.checkIpFree(ip, subnet, reserved);
      reserved.add(ip);
    }
    const ipv6Ips = (spec.ipv6Addresses ?? []).map((ip) => this.checkIpv6(ip, subnet, reserved));
    const id = this.newId('eni');
    return {
      id,
      subnetId: subnet.id,
      vpcId,
      availabilityZone: subnet.availabilityZone,
      description: spec.description ?? '',
      primaryIp,
      secondaryIps,
      ipv6Ips,
      sourceDestCheck: spec.sourceDestCheck ?? true,
      attachment: undefined,
      tags: new Map(Object.entries(spec.tags ?? {})),
      macAddress: `02:${id.slice(4, 14).match(/../g)?.join(':') ?? '00:00:00:00:00'}`,
    };
  }

  private allocateIp(subnet: SubnetRecord, reserved: ReadonlySet<string>): string {
    const last = subnet.cidr.base + 2 ** (32 - subnet.cidr.length) - 2; // the broadcast address is reserved
    for (let host = subnet.nextHost; host <= last; host++) {
      const ip = numberToIpv4(host >>> 0);
      if (!this.ipTaken(ip, subnet.vpcId, reserved)) {
        subnet.nextHost = host + 1;
        return ip;
      }
    }
    throw new Ec2ApiError('InsufficientFreeAddressesInSubnet', `The specified subnet ${subnet.id} has no free addresses.`);
  }

  /** An ENI's IPv6 address: inside its subnet's IPv6 CIDR and free (InvalidParameterValue, InvalidIPAddress.InUse as for IPv4). */
  private checkIpv6(ip: string, subnet: SubnetRecord, reserved: Set<string>): string {
    if (!isIpv6Text(ip)) throw new Ec2ApiError('InvalidParameterValue', `Invalid IPv6 address: ${ip}`);
    const address = canonicalIpv6(ip);
    if (subnet.ipv6Cidr === undefined || !ipv6InCidr(address, subnet.ipv6Cidr)) {
      throw new Ec2ApiError('InvalidParameterValue', `Address ${address} does not fall within the subnet's IPv6 address range`);
    }
    const taken = reserved.has(address) || [...this.enis.values()].some((e) => e.vpcId === subnet.vpcId && e.ipv6Ips.includes(address));
    if (taken) throw new Ec2ApiError('InvalidIPAddress.InUse', `Address ${address} is in use.`);
    reserved.add(address);
    return address;
  }

  private checkIpFree(ip: string, subnet: SubnetRecord, reserved: ReadonlySet<string>): void {
    if (!isIpv4(ip)) throw new Ec2ApiError('InvalidParameterValue', `Invalid IPv4 address: ${ip}`);
    if (!ipInCidr(ip, subnet.cidr)) {
      throw new Ec2ApiError('InvalidParameterValue', `Address ${ip} does not fall within the subnet's address range`);
    }
    const offset = ipv4ToNumber(ip) - subnet.cidr.base;
    const size = 2 ** (32 - subnet.cidr.length);
    if (offset < 4 || offset === size - 1) {
      throw new Ec2ApiError('InvalidParameterValue', `Address ${ip} is reserved by AWS in subnet ${subnet.id}`);
    }
    if (this.ipTaken(ip, subnet.vpcId, reserved)) {
      throw new Ec2ApiError('InvalidIPAddress.InUse', `Address ${ip} is in use.`);
    }
  }

  /** Private IPs are unique within a VPC (the same IP may exist in another VPC). */
  private ipTaken(ip: string, vpcId: string, reserved: ReadonlySet<string>): boolean {
    if (reserved.has(ip)) return true;
    for (const eni of this.enis.values()) {
      if (eni.vpcId === vpcId && (eni.primaryIp === ip || eni.secondaryIps.includes(ip))) return true;
    }
    return false;
  }

  private attach(eni: EniRecord, instance: InstanceRecord, deviceIndex: number, deleteOnTermination: boolean): void {
    eni.attachment = {
      attachmentId: this.newId('eni-attach'),
      instanceId: instance.id,
      deviceIndex,
      attachTime: new Date(this.clock()).toISOString(),
      deleteOnTermination,
    };
    instance.eniIds.push(eni.id);
  }

  private detach(eni: EniRecord): void {
    const instanceId = eni.attachment?.instanceId;
    eni.attachment = undefined;
    if (instanceId === undefined) return;
    const instance = this.instances.get(instanceId);
    if (instance !== undefined) instance.eniIds = instance.eniIds.filter((id) => id !== eni.id);
  }

  private removeEni(eni: EniRecord): void {
    const instanceId = eni.attachment?.instanceId;
    for (const table of this.tables.values()) {
      for (const route of table.routes.values()) {
        if (route.networkInterfaceId !== eni.id) continue;
        if (instanceId !== undefined) route.instanceId = instanceId;
        else delete route.instanceId;
      }
    }
    if (instanceId !== undefined) {
      const instance = this.instances.get(instanceId);
      if (instance !== undefined) instance.eniIds = instance.eniIds.filter((id) => id !== eni.id);
    }
    this.enis.delete(eni.id);
  }

  private routeView(record: RouteRecord): SimRoute {
    const view: { -readonly [K in keyof SimRoute]: SimRoute[K] } = { state: 'active', origin: record.origin };
    if (record.destinationCidrBlock !== undefined) view.destinationCidrBlock = record.destinationCidrBlock;
    if (record.destinationIpv6CidrBlock !== undefined) view.destinationIpv6CidrBlock = record.destinationIpv6CidrBlock;
    if (record.destinationPrefixListId !== undefined) view.destinationPrefixListId = record.destinationPrefixListId;
    if (record.gatewayId !== undefined) view.gatewayId = record.gatewayId;
    if (record.natGatewayId !== undefined) view.natGatewayId = record.natGatewayId;
    if (record.transitGatewayId !== undefined) view.transitGatewayId = record.transitGatewayId;
    if (record.vpcPeeringConnectionId !== undefined) view.vpcPeeringConnectionId = record.vpcPeeringConnectionId;
    if (record.networkInterfaceId !== undefined) {
      view.networkInterfaceId = record.networkInterfaceId;
      const eni = this.enis.get(record.networkInterfaceId);
      const instanceId = eni !== undefined ? eni.attachment?.instanceId : record.instanceId;
      if (instanceId !== undefined) {
        view.instanceId = instanceId;
        view.instanceOwnerId = this.accountId;
      }
      const attachedTo = eni?.attachment !== undefined ? this.instances.get(eni.attachment.instanceId) : undefined;
      view.state = attachedTo !== undefined && attachedTo.state === 'running' ? 'active' : 'blackhole';
    } else if (record.instanceId !== undefined) {
      view.instanceId = record.instanceId;
      view.instanceOwnerId = this.accountId;
      view.state = this.instances.get(record.instanceId)?.state === 'running' ? 'active' : 'blackhole';
    }
    if (record.forcedState !== undefined) view.state = record.forcedState;
    return view;
  }

  private tableView(table: TableRecord): SimRouteTable {
    const routes = [...table.routes.values()];
    const vgws = new Set<string>();
    for (const r of routes) {
      if (r.origin === 'EnableVgwRoutePropagation' && r.gatewayId !== undefined) vgws.add(r.gatewayId);
    }
    return {
      routeTableId: table.id,
      vpcId: table.vpcId,
      ownerId: this.accountId,
      main: table.main,
      associationId: table.associationId,
      tags: Object.fromEntries(table.tags),
      routes: routes.map((r) => this.routeView(r)),
      propagatingVgws: [...vgws],
      routeLimit: this.limitOf(table),
      countedRoutes: this.countedRoutes(table, 'IPv4'),
      countedIpv6Routes: this.countedRoutes(table, 'IPv6'),
    };
  }

  private eniView(eni: EniRecord): SimNetworkInterface {
    return {
      networkInterfaceId: eni.id,
      subnetId: eni.subnetId,
      vpcId: eni.vpcId,
      availabilityZone: eni.availabilityZone,
      ownerId: this.accountId,
      description: eni.description,
      status: eni.attachment !== undefined ? 'in-use' : 'available',
      macAddress: eni.macAddress,
      privateIpAddress: eni.primaryIp,
      secondaryPrivateIpAddresses: [...eni.secondaryIps],
      ipv6Addresses: [...eni.ipv6Ips],
      sourceDestCheck: eni.sourceDestCheck,
      attachment:
        eni.attachment === undefined
          ? undefined
          : { ...eni.attachment, status: 'attached' },
      tags: Object.fromEntries(eni.tags),
    };
  }

  private vpcView(vpc: VpcRecord): SimVpc {
    return { vpcId: vpc.id, cidr: formatCidr(vpc.cidr), ...(vpc.ipv6Cidr === undefined ? {} : { ipv6Cidr: vpc.ipv6Cidr }), mainRouteTableId: vpc.mainRouteTableId };
  }

  private subnetView(subnet: SubnetRecord): SimSubnet {
    return {
      subnetId: subnet.id,
      vpcId: subnet.vpcId,
      cidr: formatCidr(subnet.cidr),
      ...(subnet.ipv6Cidr === undefined ? {} : { ipv6Cidr: subnet.ipv6Cidr }),
      availabilityZone: subnet.availabilityZone,
    };
  }

  private instanceView(instance: InstanceRecord): SimInstance {
    return {
      instanceId: instance.id,
      subnetId: instance.subnetId,
      vpcId: instance.vpcId,
      networkInterfaceIds: [...instance.eniIds],
      state: instance.state,
      tags: Object.fromEntries(instance.tags),
    };
  }

  private requireVpc(id: string): VpcRecord {
    const vpc = this.vpcs.get(id);
    if (vpc === undefined) throw new Ec2ApiError('InvalidVpcID.NotFound', `The vpc ID '${id}' does not exist`);
    return vpc;
  }

  private requireSubnet(id: string): SubnetRecord {
    const subnet = this.subnets.get(id);
    if (subnet === undefined) throw new Ec2ApiError('InvalidSubnetID.NotFound', `The subnet ID '${id}' does not exist`);
    return subnet;
  }

  private requireTable(id: string): TableRecord {
    const table = this.tables.get(id);
    if (table === undefined) throw notFound('InvalidRouteTableID.NotFound', 'routeTable', [id]);
    return table;
  }

  private requireEni(id: string): EniRecord {
    const eni = this.enis.get(id);
    if (eni === undefined) throw notFound('InvalidNetworkInterfaceID.NotFound', 'networkInterface', [id]);
    return eni;
  }

  /** A table named in an API call: malformed ids and unknown ids fail as EC2 fails them. */
  private apiTable(id: string): TableRecord {
    this.checkIdFormat('rtb', id, 'InvalidRouteTableID.Malformed');
    return this.requireTable(id);
  }

  private apiEni(id: string): EniRecord {
    this.checkIdFormat('eni', id, 'InvalidNetworkInterfaceID.Malformed');
    return this.requireEni(id);
  }

  private checkIdFormat(kind: 'rtb' | 'eni' | 'i', id: string, code: string): void {
    const pattern = ID_PATTERNS[kind];
    if (pattern !== undefined && !pattern.test(id)) throw new Ec2ApiError(code, `Invalid id: "${id}"`);
  }

  /** IDs like AWS's: `<prefix>-0` + 16 hex digits (17 in all), deterministic from the seed. */
  private newId(prefix: string): string {
    for (;;) {
      const n = (this.idCounters.get(prefix) ?? 0) + 1;
      this.idCounters.set(prefix, n);
      const id = `${prefix}-0${this.hash(`${prefix}:${n}`)}`;
      if (!this.usedIds.has(id)) {
        this.usedIds.add(id);
        return id;
      }
    }
  }

  /** 16 hex digits from the seed and a text. */
  private hash(text: string): string {
    return seededHash(this.seed, text);
  }
}

// ---------------------------------------------------------------- filters

type Predicate<T> = (item: T) => boolean;

function anyMatch(values: readonly string[], candidates: readonly (string | undefined)[]): boolean {
  return candidates.some((c) => c !== undefined && values.some((v) => filterValueMatches(v, c)));
}

function tagPredicate<T extends { readonly tags: Readonly<Record<string, string>> }>(filter: QueryFilter): Predicate<T> | undefined {
  const { name, values } = filter;
  if (name.startsWith('tag:')) {
    const key = name.slice(4);
    return (item) => {
      const value = item.tags[key];
      return value !== undefined && anyMatch(values, [value]);
    };
  }
  if (name === 'tag-key') return (item) => anyMatch(values, Object.keys(item.tags));
  if (name === 'tag-value') return (item) => anyMatch(values, Object.values(item.tags));
  return undefined;
}

function invalidFilter(name: string): Ec2ApiError {
  return new Ec2ApiError('InvalidParameterValue', `The filter '${name}' is invalid`);
}

function routeTablePredicate(filter: QueryFilter): Predicate<SimRouteTable> {
  const tag = tagPredicate<SimRouteTable>(filter);
  if (tag !== undefined) return tag;
  const v = filter.values;
  const onRoutes = (pick: (r: SimRoute) => string | undefined): Predicate<SimRouteTable> => (t) =>
    t.routes.some((r) => anyMatch(v, [pick(r)]));
  switch (filter.name) {
    case 'vpc-id':
      return (t) => anyMatch(v, [t.vpcId]);
    case 'route-table-id':
      return (t) => anyMatch(v, [t.routeTableId]);
    case 'owner-id':
      return (t) => anyMatch(v, [t.ownerId]);
    case 'association.main':
      return (t) => anyMatch(v, [String(t.main)]);
    case 'association.route-table-association-id':
      return (t) => anyMatch(v, [t.associationId]);
    case 'association.route-table-id':
      return (t) => t.associationId !== undefined && anyMatch(v, [t.routeTableId]);
    case 'route.destination-cidr-block':
      return onRoutes((r) => r.destinationCidrBlock);
    case 'route.destination-ipv6-cidr-block':
      return onRoutes((r) => r.destinationIpv6CidrBlock);
    case 'route.destination-prefix-list-id':
      return onRoutes((r) => r.destinationPrefixListId);
    case 'route.gateway-id':
      return onRoutes((r) => r.gatewayId);
    case 'route.instance-id':
      return onRoutes((r) => r.instanceId);
    case 'route.nat-gateway-id':
      return onRoutes((r) => r.natGatewayId);
    case 'route.transit-gateway-id':
      return onRoutes((r) => r.transitGatewayId);
    case 'route.vpc-peering-connection-id':
      return onRoutes((r) => r.vpcPeeringConnectionId);
    case 'route.origin':
      return onRoutes((r) => r.origin);
    case 'route.state':
      return onRoutes((r) => r.state);
    default:
      throw invalidFilter(filter.name);
  }
}

function eniPredicate(filter: QueryFilter): Predicate<SimNetworkInterface> {
  const tag = tagPredicate<SimNetworkInterface>(filter);
  if (tag !== undefined) return tag;
  const v = filter.values;
  switch (filter.name) {
    case 'addresses.private-ip-address':
    case 'private-ip-address':
      return (e) => anyMatch(v, [e.privateIpAddress, ...e.secondaryPrivateIpAddresses]);
    case 'ipv6-addresses.ipv6-address': {
      // Matched as addresses, not text: EC2 lists them compressed, a filter may spell them otherwise.
      const wanted = v.filter(isIpv6Text).map(canonicalIpv6);
      return (e) => e.ipv6Addresses.some((ip) => wanted.includes(ip));
    }
    case 'network-interface-id':
      return (e) => anyMatch(v, [e.networkInterfaceId]);
    case 'vpc-id':
      return (e) => anyMatch(v, [e.vpcId]);
    case 'subnet-id':
      return (e) => anyMatch(v, [e.subnetId]);
    case 'status':
      return (e) => anyMatch(v, [e.status]);
    case 'source-dest-check':
      return (e) => anyMatch(v, [String(e.sourceDestCheck)]);
    case 'availability-zone':
      return (e) => anyMatch(v, [e.availabilityZone]);
    case 'owner-id':
      return (e) => anyMatch(v, [e.ownerId]);
    case 'description':
      return (e) => anyMatch(v, [e.description]);
    case 'mac-address':
      return (e) => anyMatch(v, [e.macAddress]);
    case 'attachment.instance-id':
      return (e) => anyMatch(v, [e.attachment?.instanceId]);
    case 'attachment.status':
      return (e) => anyMatch(v, [e.attachment?.status]);
    case 'attachment.device-index':
      return (e) => anyMatch(v, [e.attachment === undefined ? undefined : String(e.attachment.deviceIndex)]);
    case 'attachment.attachment-id':
      return (e) => anyMatch(v, [e.attachment?.attachmentId]);
    default:
      throw invalidFilter(filter.name);
  }
}

// ---------------------------------------------------------------- helpers

function notFound(code: string, noun: string, ids: readonly string[]): Ec2ApiError {
  const list = ids.join(', ');
  return new Ec2ApiError(
    code,
    ids.length === 1 ? `The ${noun} ID '${list}' does not exist` : `The ${noun} IDs '${list}' do not exist`,
  );
}

/**
 * The destination of a CreateRoute/ReplaceRoute: exactly one of DestinationCidrBlock and
 * DestinationIpv6CidrBlock (https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_CreateRoute.html),
 * canonical; two given is InvalidParameterCombination.
 */
function routeDestination(input: RouteInput): string {
  const v4 = input.destinationCidrBlock === '' ? undefined : input.destinationCidrBlock;
  const v6 = input.destinationIpv6CidrBlock === '' ? undefined : input.destinationIpv6CidrBlock;
  if (v4 !== undefined && v6 !== undefined) {
    throw new Ec2ApiError('InvalidParameterCombination', 'The parameter destinationCidrBlock cannot be used with the parameter destinationIpv6CidrBlock');
  }
  if (v6 === undefined) return parseDestination(v4);
  try {
    return canonicalIpv6Cidr(v6);
  } catch {
    throw new Ec2ApiError('InvalidParameterValue', `Value (${v6}) for parameter destinationIpv6CidrBlock is invalid. This is not a valid IPv6 CIDR block.`);
  }
}

/** A route destination from an API call: an aligned IPv4 CIDR, canonical. */
function parseDestination(text: string | undefined): string {
  if (text === undefined || text === '') {
    throw new Ec2ApiError('MissingParameter', 'The request must contain the parameter destinationCidrBlock');
  }
  try {
    return formatCidr(parseCidr(text));
  } catch {
    throw new Ec2ApiError(
      'InvalidParameterValue',
      `Value (${text}) for parameter destinationCidrBlock is invalid. This is not a valid CIDR block.`,
    );
  }
}

function destinationKey(destination: string): string {
  const cidr = /^\d+\.\d+\.\d+\.\d+\/\d+$/.test(destination) ? formatCidr(parseCidr(destination, false)) : destination;
  if (!cidr.includes(':')) return cidr;
  try {
    return canonicalIpv6Cidr(cidr);
  } catch {
    return cidr.toLowerCase();
  }
}

function routeKey(record: RouteRecord): string {
  return record.destinationCidrBlock ?? record.destinationIpv6CidrBlock ?? record.destinationPrefixListId ?? '';
}

function upperFirst(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
