/**
 * The GCE simulator's world: one Google Cloud project with its VPC networks (and their system
 * routes), zones, instances, routes and global operations, plus the request machinery that belongs
 * to a project: the ROUTES quota, the per-minute API rate quotas, injected faults and the call log.
 *
 * Semantics follow Compute Engine (docs/architecture.md, 'GCE facts'), not convenience:
 * - routes.insert / routes.delete are accepted synchronously (validation, 404, 409) and return a
 *   PENDING global operation; the change takes effect when the operation turns DONE. The ROUTES
 *   quota is checked at that moment: an insert beyond it ends DONE with `error.errors[0].code`
 *   `QUOTA_EXCEEDED` and `httpErrorStatusCode` 403, and no route is made.
 * - The ROUTES quota counts the static routes of every network in the project, the system-generated
 *   default internet route included; subnet routes do not count (Google's VPC quota documentation:
 *   "Routes — counts custom static routes defined in all VPC networks in the project. It does not
 *   include subnet routes …").
 * - A route whose next-hop instance is deleted stays, with a `NEXT_HOP_INSTANCE_NOT_FOUND` warning;
 *   one to a stopped instance carries `NEXT_HOP_NOT_RUNNING`, one to an instance without IP
 *   forwarding `NEXT_HOP_CANNOT_IP_FORWARD` (warnings are computed when the route is read).
 *
 * Operations progress with the world's clock (PENDING → RUNNING → DONE over `operationLatencyMs`
 * divided by `timeScale`) and are settled lazily, in completion order, whenever the world is read.
 */
import { cidrContains, formatCidr, ipInCidr, isIpv4, numberToIpv4, parseCidr, type Ipv4Cidr } from '../../../src/net/cidr.js';
import { CallLog, FaultInjector } from '../shared/faults.js';
import { canonicalIpv6, canonicalIpv6Cidr, isIpv6Text } from '../shared/ipv6.js';
import { nonNegative, positive, seededHash, seededRandom, type Clock } from '../shared/util.js';

export { ManualClock, type Clock } from '../shared/util.js';

/** Real GCE writes `https://www.googleapis.com/compute/v1/…` into selfLinks, whatever endpoint was called. */
export const SELF_LINK_BASE = 'https://www.googleapis.com/compute/v1';

/** An HTTP-level API error, shaped as Google sends it: status, `errors[0].reason`, message. */
export class GceApiError extends Error {
  override readonly name = 'GceApiError';

  constructor(
    readonly httpStatus: number,
    readonly reason: string,
    message: string,
    readonly domain = 'global',
  ) {
    super(message);
  }
}

/** The API methods the simulator serves (Discovery-style names, as in IAM permissions and logs). */
export const GCE_METHODS = [
  'projects.get',
  'routes.list',
  'routes.get',
  'routes.insert',
  'routes.delete',
  'globalOperations.list',
  'globalOperations.get',
  'globalOperations.wait',
  'networks.list',
  'networks.get',
  'zones.list',
  'zones.get',
  'instances.list',
  'instances.get',
  'instances.aggregatedList',
] as const;
export type GceMethod = (typeof GCE_METHODS)[number];

/** The methods that change something (and draw from the per-minute write quota). */
export const MUTATING_METHODS: readonly string[] = ['routes.insert', 'routes.delete'];

export type OperationStatus = 'PENDING' | 'RUNNING' | 'DONE';
export type InstanceStatus = 'RUNNING' | 'STOPPING' | 'TERMINATED' | 'SUSPENDED' | 'PROVISIONING' | 'STAGING';

/** Default HTTP status for a Google error reason. */
export function defaultStatusFor(reason: string): number {
  switch (reason) {
    case 'rateLimitExceeded':
    case 'userRateLimitExceeded':
    case 'quotaExceeded':
    case 'forbidden':
    case 'insufficientPermissions':
      return 403;
    case 'notFound':
      return 404;
    case 'alreadyExists':
      return 409;
    case 'conditionNotMet':
      return 412;
    case 'required':
    case 'authError':
      return 401;
    case 'internalError':
      return 500;
    case 'backendError':
      return 503;
    default:
      return 400;
  }
}

const DEFAULT_MESSAGES: Readonly<Record<string, string>> = {
  backendError: 'Backend Error',
  internalError: 'Internal Error',
  forbidden: 'Required permission is missing for this resource.',
  rateLimitExceeded: 'Rate Limit Exceeded',
};

export interface SubnetSpec {
  readonly name?: string;
  readonly region: string;
  readonly ipCidrRange: string;
}

export interface NetworkSpec {
  readonly name: string;
  /** A legacy network's single range (no subnets), e.g. `10.240.0.0/16`, as flannel's GCE days had. */
  readonly ipv4Range?: string;
  /** Subnets of a custom-mode network; each gets a subnet route (not counted by the ROUTES quota). */
  readonly subnets?: readonly SubnetSpec[];
  /** Create the system default internet route `default-route-…` (0.0.0.0/0). Default true. */
  readonly defaultRoute?: boolean;
}

export interface InterfaceSpec {
  /** Network name; default `default`. */
  readonly network?: string;
  /** Internal IP; default: the next free address of the network (the subnet of the zone's region). */
  readonly networkIP?: string;
  /**
   * An IPv6 address makes the interface dual-stack (stackType IPV4_IPV6); without one it is
   * IPV4_ONLY. INTERNAL (the default) shows it as `ipv6Address`, EXTERNAL in
   * `ipv6AccessConfigs[].externalIpv6` (https://cloud.google.com/compute/docs/reference/rest/v1/instances).
   */
  readonly ipv6Address?: string;
  readonly ipv6AccessType?: 'INTERNAL' | 'EXTERNAL';
}

export interface InstanceSpec {
  /** Default `node-<n>`. */
  readonly name?: string;
  /** Default: the world's first zone. */
  readonly zone?: string;
  /** Shorthand for one interface: network name (default `default`). */
  readonly network?: string;
  /** Shorthand for one interface: its internal IP. */
  readonly networkIP?: string;
  /** Shorthand for one interface: its IPv6 address and access type (InterfaceSpec). */
  readonly ipv6Address?: string;
  readonly ipv6AccessType?: 'INTERNAL' | 'EXTERNAL';
  /** Several NICs (nic0, nic1, …); overrides network/networkIP. */
  readonly networkInterfaces?: readonly InterfaceSpec[];
  /** GCE's default is false; it can only be set at creation (or while stopped). */
  readonly canIpForward?: boolean;
  readonly status?: InstanceStatus;
  /** Network tags (`tags.items`) and labels, as instances.insert takes them. */
  readonly tags?: readonly string[];
  readonly labels?: Readonly<Record<string, string>>;
}

/** A route made outside routesync (or long ago): any next hop, no validation beyond the basics. */
export interface ForeignRouteInput {
  readonly name: string;
  readonly network?: string;
  readonly destRange: string;
  readonly priority?: number;
  readonly description?: string;
  readonly tags?: readonly string[];
  readonly nextHopGateway?: string;
  readonly nextHopInstance?: string;
  readonly nextHopIp?: string;
  readonly nextHopVpnTunnel?: string;
  readonly nextHopIlb?: string;
  /** Counts toward the ROUTES quota unless it is a subnet route (`nextHopNetwork`). */
  readonly nextHopNetwork?: string;
}

/** A routes.insert body (the fields the simulator understands; others are ignored as GCE ignores output-only ones). */
export interface RouteInsertBody {
  readonly name?: unknown;
  readonly network?: unknown;
  readonly destRange?: unknown;
  readonly priority?: unknown;
  readonly description?: unknown;
  readonly tags?: unknown;
  readonly nextHopInstance?: unknown;
  readonly nextHopIp?: unknown;
  readonly nextHopGateway?: unknown;
  readonly nextHopVpnTunnel?: unknown;
  readonly nextHopIlb?: unknown;
  readonly nextHopNetwork?: unknown;
}

export interface GceWarning {
  readonly code: string;
  readonly message: string;
  readonly data: ReadonlyArray<{ readonly key: string; readonly value: string }>;
}

/** A route as routes.list / routes.get show it. */
export interface SimRoute {
  readonly kind: 'compute#route';
  readonly id: string;
  readonly creationTimestamp: string;
  readonly name: string;
  readonly description?: string;
  readonly network: string;
  readonly destRange: string;
  readonly priority: number;
  readonly tags?: readonly string[];
  readonly nextHopInstance?: string;
  readonly nextHopIp?: string;
  readonly nextHopGateway?: string;
  readonly nextHopNetwork?: string;
  readonly nextHopVpnTunnel?: string;
  readonly nextHopIlb?: string;
  readonly routeType: 'STATIC' | 'SUBNET';
  readonly selfLink: string;
  readonly warnings?: readonly GceWarning[];
}

export interface SimNetworkInterface {
  readonly kind: 'compute#networkInterface';
  readonly name: string;
  readonly network: string;
  readonly subnetwork?: string;
  readonly networkIP: string;
  readonly fingerprint: string;
  readonly stackType: 'IPV4_ONLY' | 'IPV4_IPV6';
  readonly ipv6AccessType?: 'INTERNAL' | 'EXTERNAL';
  readonly ipv6Address?: string;
  readonly ipv6AccessConfigs?: ReadonlyArray<{ readonly type: 'DIRECT_IPV6'; readonly name: string; readonly externalIpv6: string; readonly externalIpv6PrefixLength: number }>;
}

export interface SimInstance {
  readonly kind: 'compute#instance';
  readonly id: string;
  readonly creationTimestamp: string;
  readonly name: string;
  readonly description: string;
  readonly zone: string;
  readonly machineType: string;
  readonly status: InstanceStatus;
  readonly canIpForward: boolean;
  readonly networkInterfaces: readonly SimNetworkInterface[];
  /** Network tags; `fingerprint` is what instances.setTags must be given back. */
  readonly tags: { readonly items?: readonly string[]; readonly fingerprint: string };
  readonly labels: Readonly<Record<string, string>>;
  readonly selfLink: string;
}

export interface SimNetwork {
  readonly kind: 'compute#network';
  readonly id: string;
  readonly creationTimestamp: string;
  readonly name: string;
  readonly selfLink: string;
  readonly IPv4Range?: string;
  readonly gatewayIPv4?: string;
  readonly autoCreateSubnetworks?: boolean;
  readonly subnetworks?: readonly string[];
  readonly routingConfig: { readonly routingMode: 'REGIONAL' };
}

export interface SimZone {
  readonly kind: 'compute#zone';
  readonly id: string;
  readonly creationTimestamp: string;
  readonly name: string;
  readonly description: string;
  readonly status: 'UP';
  readonly region: string;
  readonly selfLink: string;
}

export interface SimOperation {
  readonly kind: 'compute#operation';
  readonly id: string;
  readonly name: string;
  readonly operationType: 'insert' | 'delete';
  readonly targetLink: string;
  readonly targetId: string;
  readonly status: OperationStatus;
  readonly user: string;
  readonly progress: number;
  readonly insertTime: string;
  readonly startTime?: string;
  readonly endTime?: string;
  readonly selfLink: string;
  readonly error?: { readonly errors: ReadonlyArray<{ readonly code: string; readonly message: string; readonly errorDetails?: readonly unknown[] }> };
  readonly httpErrorStatusCode?: number;
  readonly httpErrorMessage?: string;
}

/** One request as the simulator saw it. */
/** A route appearing or going, at the moment GCE applies it (an operation's DONE time). */
export interface RouteEvent {
  readonly time: number;
  readonly event: 'added' | 'removed';
  readonly name: string;
  readonly destRange: string;
  readonly priority: number;
  /** `zone/name` of an instance next hop. */
  readonly nextHopInstance?: string;
}

export interface GceCall {
  readonly seq: number;
  /** The world's clock (ms) when the request arrived. */
  readonly time: number;
  /** e.g. `routes.insert`; `unknown` for a path the API does not have. */
  readonly method: string;
  readonly httpMethod: string;
  readonly path: string;
  readonly query: Readonly<Record<string, string>>;
  /** The parsed JSON body of a POST (undefined otherwise). */
  readonly body?: unknown;
  /** The `user-agent` header (routesync appends its replica identity). */
  readonly userAgent: string;
  /** The `x-goog-api-client` header. */
  readonly apiClient: string;
  /** 0 when the connection was reset instead of answered. */
  readonly status: number;
  /** `errors[0].reason` of an error answer. */
  readonly reason?: string;
  /** Set when the answer was not the world's own: rate limited, injected, random fault, reset. */
  readonly fault?: 'rate-limited' | 'injected' | 'random' | 'reset';
  /** True when a mutation was accepted (an operation was created), maybe behind a fault. */
  readonly applied: boolean;
  /** The operation a mutation created (or a wait/get asked about). */
  readonly operation?: string;
}

/** A planned HTTP-level fault for the next matching request(s). */
export interface ScriptedFault {
  readonly method: string;
  readonly kind: 'error' | 'reset';
  readonly reason: string;
  readonly message: string;
  readonly httpStatus: number;
  /** Perform the request first (e.g. accept the insert), then answer the error. */
  readonly afterApply: boolean;
  remaining: number;
}

/** A planned failure of the next accepted operation(s): they end DONE with this error and no effect. */
export interface OperationFaultInput {
  /** `routes.insert`, `routes.delete` or `*` (default). */
  readonly method?: string;
  /** Only operations on this route name (default: any). */
  readonly routeName?: string;
  /** `error.errors[0].code`, e.g. `QUOTA_EXCEEDED`, `RESOURCE_NOT_FOUND`, `INTERNAL_ERROR`. */
  readonly code: string;
  readonly message?: string;
  /** Default 500 for INTERNAL_ERROR-like codes, 403 for QUOTA_EXCEEDED, 404 for RESOURCE_NOT_FOUND, else 400. */
  readonly httpErrorStatusCode?: number;
  readonly times?: number;
}

interface OperationFault {
  readonly method: string;
  readonly routeName: string | undefined;
  readonly code: string;
  readonly message: string;
  readonly httpErrorStatusCode: number;
  remaining: number;
}

export interface FaultSettings {
  /** Probability (0..1) of a random 503 backendError / 500 internalError per request. */
  readonly errorRate: number;
  /** Restricts the random errors to these methods (default: all). */
  readonly errorRateMethods?: readonly string[];
  /** Latency added to every API request, ms (divided by timeScale). */
  readonly latencyMs: number;
  /** Uniform random extra latency 0..jitter ms (seeded). */
  readonly latencyJitterMs: number;
}

export interface GceWorldOptions {
  /** Project id. Default `routesync-sim`. */
  readonly project?: string;
  readonly projectNumber?: string;
  /** Seeds ids, names and random faults. Default 1. */
  readonly seed?: number;
  /** ms clock for operations, rate quotas and the call log. Default Date.now. */
  readonly clock?: Clock;
  /** 10 = operations 10× faster, minutes of the rate quotas 10× shorter, latency 10× shorter. Default 1. */
  readonly timeScale?: number;
  /** The project's ROUTES quota. Default 100 (flannel's day). */
  readonly routeQuota?: number;
  /** routes.insert/delete requests per minute; 0 = unlimited. Default 1500. */
  readonly writeRequestsPerMinute?: number;
  /** Other requests per minute; 0 = unlimited (default). */
  readonly readRequestsPerMinute?: number;
  /** PENDING → DONE time of an operation, ms (divided by timeScale). Default 2000: real ones take seconds. */
  readonly operationLatencyMs?: number;
  /** How long operations.wait holds a request at most, ms (divided by timeScale). Default 120000 (GCE: ~2 minutes). */
  readonly waitTimeoutMs?: number;
  /** Zone names. Default us-central1-a/-b/-c, us-east1-b, europe-west1-b. */
  readonly zones?: readonly string[];
  /** Answer 401 to requests without `Authorization: Bearer …`. Default false (PassThroughClient sends none). */
  readonly requireAuth?: boolean;
  readonly errorRate?: number;
  readonly latencyMs?: number;
  /** The identity shown as operations' `user`. */
  readonly user?: string;
}

const DEFAULT_ZONES = ['us-central1-a', 'us-central1-b', 'us-central1-c', 'us-east1-b', 'europe-west1-b'];
const NAME_PATTERN = /^[a-z](?:[-a-z0-9]{0,61}[a-z0-9])?$/;
const NAME_REGEX_TEXT = '(?:[a-z](?:[-a-z0-9]{0,61}[a-z0-9])?)';

// ---------------------------------------------------------------- internal records

type NextHop =
  | { readonly kind: 'instance'; readonly zone: string; readonly instance: string }
  | { readonly kind: 'ip'; readonly ip: string }
  | { readonly kind: 'gateway'; readonly gateway: string }
  | { readonly kind: 'network'; readonly network: string }
  | { readonly kind: 'vpnTunnel'; readonly url: string }
  | { readonly kind: 'ilb'; readonly value: string };

interface RouteRecord {
  readonly name: string;
  readonly id: string;
  readonly createdAt: number;
  readonly network: string;
  readonly destRange: string;
  readonly priority: number;
  readonly description: string | undefined;
  readonly tags: readonly string[];
  readonly nextHop: NextHop;
}

interface SubnetRecord {
  readonly name: string;
  readonly region: string;
  readonly cidr: Ipv4Cidr;
  nextHost: number;
}

interface NetworkRecord {
  readonly name: string;
  readonly id: string;
  readonly createdAt: number;
  readonly legacyRange: (Ipv4Cidr & { nextHost: number }) | undefined;
  readonly subnets: SubnetRecord[];
}

interface InterfaceRecord {
  readonly network: string;
  readonly subnet: string | undefined;
  readonly networkIP: string;
  readonly fingerprint: string;
  readonly ipv6?: { readonly address: string; readonly accessType: 'INTERNAL' | 'EXTERNAL' };
}

interface InstanceRecord {
  readonly name: string;
  readonly zone: string;
  readonly id: string;
  readonly createdAt: number;
  status: InstanceStatus;
  canIpForward: boolean;
  readonly interfaces: InterfaceRecord[];
  tags: string[];
  labels: Record<string, string>;
}

interface OperationRecord {
  readonly seq: number;
  readonly id: string;
  readonly name: string;
  readonly type: 'insert' | 'delete';
  readonly routeName: string;
  readonly targetId: string;
  readonly acceptedAt: number;
  readonly startAt: number;
  readonly doneAt: number;
  readonly requestId: string | undefined;
  /** The route an insert creates. */
  readonly route: RouteRecord | undefined;
  /** Injected failure decided when the operation was accepted. */
  readonly injected: OperationFault | undefined;
  settled: boolean;
  error: { code: string; message: string; httpErrorStatusCode: number; errorDetails?: unknown[] } | undefined;
}

// ---------------------------------------------------------------- the world

export class GceWorld {
  readonly project: string;
  readonly projectNumber: string;
  readonly requireAuth: boolean;
  readonly clock: Clock;
  readonly user: string;

  private timeScaleValue: number;
  private routeQuotaValue: number;
  private writePerMinute: number;
  private readPerMinute: number;
  private operationLatency: number;
  private waitTimeout: number;
  private readonly seed: number;
  private readonly zoneNames: string[];
  private readonly projectCreatedAt: number;

  private readonly networks = new Map<string, NetworkRecord>();
  private readonly routesByName = new Map<string, RouteRecord>();
  private readonly routeEvents: RouteEvent[] = [];
  /** Keyed by `zone/name`. */
  private readonly instances = new Map<string, InstanceRecord>();
  private readonly operations = new Map<string, OperationRecord>();
  /** Names of operations not settled yet (settle() looks only at these). */
  private readonly unsettled = new Set<string>();
  private readonly operationsByRequestId = new Map<string, string>();

  private readonly injector: FaultInjector<FaultSettings, 'method', 'reason'>;
  private operationFaults: OperationFault[] = [];
  private unreachable = new Set<string>();
  private readonly rateWindows = new Map<'read' | 'write', { window: number; used: number }>();
  private readonly callLog = new CallLog<GceCall>((call) => call.method);
  private operationSeq = 0;
  private counter = 0;
  private idCounter = 0;

  constructor(options: GceWorldOptions = {}) {
    this.project = options.project ?? 'routesync-sim';
    if (!/^[a-z][-a-z0-9]{4,28}[a-z0-9]$/.test(this.project)) throw new Error(`not a GCE project id: ${this.project}`);
    this.seed = options.seed ?? 1;
    this.projectNumber = options.projectNumber ?? String(100000000000 + (Number.parseInt(this.hash('project').slice(0, 8), 16) % 900000000000));
    this.clock = options.clock ?? Date.now;
    this.timeScaleValue = positive(options.timeScale ?? 1, 'timeScale');
    this.routeQuotaValue = nonNegative(options.routeQuota ?? 100, 'routeQuota');
    this.writePerMinute = nonNegative(options.writeRequestsPerMinute ?? 1500, 'writeRequestsPerMinute');
    this.readPerMinute = nonNegative(options.readRequestsPerMinute ?? 0, 'readRequestsPerMinute');
    this.operationLatency = nonNegative(options.operationLatencyMs ?? 2000, 'operationLatencyMs');
    this.waitTimeout = positive(options.waitTimeoutMs ?? 120_000, 'waitTimeoutMs');
    this.requireAuth = options.requireAuth ?? false;
    this.user = options.user ?? `routesync@${this.project}.iam.gserviceaccount.com`;
    this.zoneNames = [...(options.zones ?? DEFAULT_ZONES)].sort();
    for (const zone of this.zoneNames) regionOf(zone);
    this.projectCreatedAt = this.clock();
    this.injector = new FaultInjector({
      targetKey: 'method',
      errorKey: 'reason',
      scopeKey: 'errorRateMethods',
      randomErrors: ['backendError', 'internalError'],
      statusFor: defaultStatusFor,
      messages: DEFAULT_MESSAGES,
      random: seededRandom(this.seed ^ 0x6ce),
      timeScale: () => this.timeScaleValue,
      errorRate: options.errorRate,
      latencyMs: options.latencyMs,
    });
  }

  // ------------------------------------------------------------ time, quotas, faults

  get timeScale(): number {
    return this.timeScaleValue;
  }

  setTimeScale(scale: number): void {
    this.timeScaleValue = positive(scale, 'timeScale');
  }

  /** The operations' PENDING → DONE time for operations accepted from now on, ms (before timeScale). */
  setOperationLatency(ms: number): void {
    this.operationLatency = nonNegative(ms, 'operationLatencyMs');
  }

  get operationLatencyMs(): number {
    return this.operationLatency;
  }

  /** How long operations.wait holds at most, in real ms (already divided by timeScale). */
  waitTimeoutRealMs(): number {
    return this.waitTimeout / this.timeScaleValue;
  }

  setRouteQuota(limit: number): void {
    this.routeQuotaValue = nonNegative(limit, 'routeQuota');
  }

  routeQuota(): number {
    return this.routeQuotaValue;
  }

  /** routes.insert/delete requests allowed per (scaled) minute; 0 = unlimited. */
  setWriteRateLimit(perMinute: number): void {
    this.writePerMinute = nonNegative(perMinute, 'writeRequestsPerMinute');
  }

  /** Other requests allowed per (scaled) minute; 0 = unlimited. */
  setReadRateLimit(perMinute: number): void {
    this.readPerMinute = nonNegative(perMinute, 'readRequestsPerMinute');
  }

  /**
   * Takes one request from the per-minute rate quota of its kind. The quota refills at each whole
   * (scaled) minute of the clock, as Google's per-minute quotas do. False means 403 rateLimitExceeded.
   */
  takeRateQuota(method: string): boolean {
    const kind = MUTATING_METHODS.includes(method) ? 'write' : 'read';
    const limit = kind === 'write' ? this.writePerMinute : this.readPerMinute;
    if (limit <= 0) return true;
    const window = Math.floor((this.clock() * this.timeScaleValue) / 60_000);
    const state = this.rateWindows.get(kind);
    const current = state !== undefined && state.window === window ? state : { window, used: 0 };
    this.rateWindows.set(kind, current);
    if (current.used >= limit) return false;
    current.used += 1;
    return true;
  }

  /** Real ms until the per-minute quotas refill. */
  msUntilRateQuotaRefill(): number {
    const minute = 60_000 / this.timeScaleValue;
    return minute - (this.clock() % minute);
  }

  setFaults(settings: Partial<FaultSettings>): void {
    this.injector.set(settings);
  }

  get faults(): FaultSettings {
    return this.injector.settings;
  }

  /**
   * The next `times` requests for `method` (`*` = any) fail with an HTTP error of this reason
   * (`rateLimitExceeded`, `backendError`, `notFound`, …). The status defaults to Google's for the
   * reason. `afterApply` performs the request first (an accepted insert whose answer is lost).
   */
  failNext(
    method: string,
    reason: string,
    times = 1,
    httpStatus?: number,
    options: { readonly afterApply?: boolean; readonly message?: string } = {},
  ): void {
    if (method !== '*' && !(GCE_METHODS as readonly string[]).includes(method)) {
      throw new Error(`unknown method ${method}; known: ${GCE_METHODS.join(', ')}`);
    }
    this.injector.failNext(method, reason, times, httpStatus, options);
  }

  /** The next `times` requests for `method` (`*` = any) get their connection destroyed. */
  resetConnectionNext(method = '*', times = 1, options: { readonly afterApply?: boolean } = {}): void {
    this.injector.resetConnectionNext(method, times, options);
  }

  /**
   * The next accepted operation(s) matching (method, route name) end DONE with this error and
   * change nothing: how GCE reports failures after acceptance (`wait` does not fail for them).
   */
  failNextOperation(input: OperationFaultInput): void {
    const method = input.method ?? '*';
    if (method !== '*' && !MUTATING_METHODS.includes(method)) throw new Error(`operations come from ${MUTATING_METHODS.join(', ')}, not ${method}`);
    this.operationFaults.push({
      method,
      routeName: input.routeName,
      code: input.code,
      message: input.message ?? `Injected operation failure ${input.code}`,
      httpErrorStatusCode: input.httpErrorStatusCode ?? operationStatusFor(input.code),
      remaining: input.times ?? 1,
    });
  }

  /** Zones whose instances cannot be listed: aggregatedList answers 503 or, with returnPartialSuccess, a partial list. */
  setUnreachableZones(zones: readonly string[]): void {
    for (const zone of zones) this.requireZone(zone);
    this.unreachable = new Set(zones);
  }

  unreachableZones(): string[] {
    return [...this.unreachable].sort();
  }

  /** Drops scripted and operation faults, unreachable zones, error rate and latency. */
  clearFaults(): void {
    this.injector.clear();
    this.operationFaults = [];
    this.unreachable.clear();
  }

  takeScriptedFault(method: string): ScriptedFault | undefined {
    return this.injector.take(method);
  }

  rollRandomFault(method: string): { reason: string; httpStatus: number; message: string } | undefined {
    return this.injector.roll(method);
  }

  /** Latency to add to the next request, already divided by the time scale. */
  nextLatencyMs(): number {
    return this.injector.nextLatencyMs();
  }

  // ------------------------------------------------------------ call log

  nextSeq(): number {
    return this.callLog.nextSeq();
  }

  /** Requests received and not answered yet (held by latency or an operations.wait). */
  inFlight(): number {
    return this.callLog.inFlight();
  }

  record(call: GceCall): void {
    this.callLog.record(call);
  }

  /** Every request so far (or those of one method), in arrival order. */
  calls(method?: string): GceCall[] {
    return this.callLog.calls(method);
  }

  /** routes.insert and routes.delete requests. */
  mutatingCalls(): GceCall[] {
    return this.calls().filter((c) => MUTATING_METHODS.includes(c.method));
  }

  clearCalls(): void {
    this.callLog.clear();
  }

  /** Every route added or removed so far, in the order GCE applied them (a timeline of the routes). */
  routeHistory(): RouteEvent[] {
    this.settle();
    return [...this.routeEvents];
  }

  private noteRoute(time: number, event: RouteEvent['event'], route: RouteRecord): void {
    this.routeEvents.push({
      time,
      event,
      name: route.name,
      destRange: route.destRange,
      priority: route.priority,
      ...(route.nextHop.kind === 'instance' ? { nextHopInstance: `${route.nextHop.zone}/${route.nextHop.instance}` } : {}),
    });
  }

  // ------------------------------------------------------------ zones and networks

  zones(): SimZone[] {
    return this.zoneNames.map((z) => this.zoneView(z));
  }

  zone(name: string): SimZone {
    return this.zoneView(this.requireZone(name));
  }

  /** A network with its system routes: the default internet route and one subnet route per subnet. */
  createNetwork(spec: NetworkSpec): SimNetwork {
    checkName(spec.name, 'network');
    if (this.networks.has(spec.name)) throw new GceApiError(409, 'alreadyExists', `The resource '${this.networkPath(spec.name)}' already exists`);
    if (spec.ipv4Range !== undefined && spec.subnets !== undefined && spec.subnets.length > 0) {
      throw new Error('a legacy network (ipv4Range) has no subnets');
    }
    let legacyRange: NetworkRecord['legacyRange'];
    if (spec.ipv4Range !== undefined) {
      const cidr = parseCidr(spec.ipv4Range);
      legacyRange = { ...cidr, nextHost: cidr.base + 2 };
    }
    const record: NetworkRecord = { name: spec.name, id: this.newId(`network:${spec.name}`), createdAt: this.clock(), legacyRange, subnets: [] };
    this.networks.set(spec.name, record);
    if (spec.defaultRoute ?? true) {
      this.storeRoute({
        name: `default-route-${this.hash(`default:${spec.name}`)}`,
        network: spec.name,
        destRange: '0.0.0.0/0',
        priority: 1000,
        description: 'Default route to the Internet.',
        tags: [],
        nextHop: { kind: 'gateway', gateway: 'default-internet-gateway' },
      });
    }
    for (const subnet of spec.subnets ?? []) this.addSubnet(spec.name, subnet);
    return this.networkView(record);
  }

  /** Adds a subnet to a network, with its subnet route (not counted by the ROUTES quota). */
  addSubnet(network: string, spec: SubnetSpec): SimNetwork {
    const record = this.requireNetwork(network);
    if (record.legacyRange !== undefined) throw new Error(`network ${network} is a legacy network: it has no subnets`);
    const cidr = parseCidr(spec.ipCidrRange);
    const name = spec.name ?? `${network}-${spec.region}`;
    checkName(name, 'subnetwork');
    for (const other of record.subnets) {
      if (cidrContains(other.cidr, cidr) || cidrContains(cidr, other.cidr)) {
        throw new GceApiError(400, 'invalid', `Invalid IPCidrRange: ${spec.ipCidrRange} conflicts with existing subnetwork '${other.name}' in region '${other.region}'.`);
      }
    }
    regionOf(`${spec.region}-a`);
    // GCE reserves the network and gateway addresses (.0, .1) and the last two of every subnet.
    record.subnets.push({ name, region: spec.region, cidr, nextHost: cidr.base + 2 });
    this.storeRoute({
      name: `default-route-${this.hash(`subnet:${network}:${name}`)}`,
      network,
      destRange: formatCidr(cidr),
      priority: 0,
      description: `Default local route to the subnetwork ${formatCidr(cidr)}.`,
      tags: [],
      nextHop: { kind: 'network', network },
    });
    return this.networkView(record);
  }

  networksList(): SimNetwork[] {
    return [...this.networks.values()].sort((a, b) => compareText(a.name, b.name)).map((n) => this.networkView(n));
  }

  network(name: string): SimNetwork {
    return this.networkView(this.requireNetwork(name));
  }

  // ------------------------------------------------------------ instances

  /** An instance with one NIC per interface (nic0 first). GCE's default canIpForward is false. */
  createInstance(spec: InstanceSpec = {}): SimInstance {
    this.counter += 1;
    const zone = this.requireZone(spec.zone ?? this.zoneNames[0] ?? 'us-central1-a');
    const name = spec.name ?? `node-${this.counter}`;
    checkName(name, 'instance');
    const key = `${zone}/${name}`;
    if (this.instances.has(key)) throw new GceApiError(409, 'alreadyExists', `The resource '${this.instancePath(zone, name)}' already exists`);
    const specs: readonly InterfaceSpec[] = spec.networkInterfaces ?? [
      {
        ...(spec.network !== undefined ? { network: spec.network } : {}),
        ...(spec.networkIP !== undefined ? { networkIP: spec.networkIP } : {}),
        ...(spec.ipv6Address !== undefined ? { ipv6Address: spec.ipv6Address } : {}),
        ...(spec.ipv6AccessType !== undefined ? { ipv6AccessType: spec.ipv6AccessType } : {}),
      },
    ];
    if (specs.length === 0 || specs.length > 8) throw new Error('an instance has 1 to 8 network interfaces');
    const seenNetworks = new Set<string>();
    const reserved = new Set<string>();
    const interfaces = specs.map((nic, index): InterfaceRecord => {
      const networkName = nic.network ?? 'default';
      const network = this.requireNetwork(networkName);
      if (seenNetworks.has(networkName)) throw new Error(`instance ${name}: two interfaces in network ${networkName}`);
      seenNetworks.add(networkName);
      const { ip, subnet } = this.allocateIp(network, regionOf(zone), nic.networkIP, reserved);
      reserved.add(`${networkName}/${ip}`);
      if (nic.ipv6Address !== undefined && !isIpv6Text(nic.ipv6Address)) throw new Error(`instance ${name}: ${nic.ipv6Address} is not an IPv6 address`);
      const ipv6 = nic.ipv6Address === undefined ? {} : { ipv6: { address: canonicalIpv6(nic.ipv6Address), accessType: nic.ipv6AccessType ?? ('INTERNAL' as const) } };
      return { network: networkName, subnet, networkIP: ip, fingerprint: this.hash(`nic:${key}:${index}`).slice(0, 11), ...ipv6 };
    });
    const record: InstanceRecord = {
      name,
      zone,
      id: this.newId(`instance:${key}:${this.counter}`),
      createdAt: this.clock(),
      status: spec.status ?? 'RUNNING',
      canIpForward: spec.canIpForward ?? false,
      interfaces,
      tags: [...(spec.tags ?? [])],
      labels: { ...(spec.labels ?? {}) },
    };
    this.instances.set(key, record);
    return this.instanceView(record);
  }

  /** Deletes an instance; routes to it stay, with a NEXT_HOP_INSTANCE_NOT_FOUND warning. */
  deleteInstance(name: string, zone?: string): void {
    const record = this.findInstance(name, zone);
    this.instances.delete(`${record.zone}/${record.name}`);
  }

  /** Stops an instance (status TERMINATED, GCE's word for stopped): it keeps its internal IP. */
  stopInstance(name: string, zone?: string): SimInstance {
    const record = this.findInstance(name, zone);
    record.status = 'TERMINATED';
    return this.instanceView(record);
  }

  startInstance(name: string, zone?: string): SimInstance {
    const record = this.findInstance(name, zone);
    record.status = 'RUNNING';
    return this.instanceView(record);
  }

  /**
   * instances.setTags / setLabels: both may change on a running instance
   * (https://cloud.google.com/compute/docs/reference/rest/v1/instances/setTags,
   * https://cloud.google.com/compute/docs/reference/rest/v1/instances/setLabels).
   */
  setInstanceTags(name: string, tags: readonly string[], zone?: string): SimInstance {
    const record = this.findInstance(name, zone);
    record.tags = [...tags];
    return this.instanceView(record);
  }

  setInstanceLabels(name: string, labels: Readonly<Record<string, string>>, zone?: string): SimInstance {
    const record = this.findInstance(name, zone);
    record.labels = { ...labels };
    return this.instanceView(record);
  }

  /** GCE allows this only while the instance is stopped (instances.update); the simulator does too. */
  setCanIpForward(name: string, value: boolean, zone?: string): SimInstance {
    const record = this.findInstance(name, zone);
    if (record.status === 'RUNNING') {
      throw new GceApiError(400, 'invalid', `canIpForward of a running instance cannot be changed: stop ${record.name} first`);
    }
    record.canIpForward = value;
    return this.instanceView(record);
  }

  instance(name: string, zone?: string): SimInstance {
    return this.instanceView(this.findInstance(name, zone));
  }

  /** All instances, or those of one zone, by zone then name. */
  instancesList(zone?: string): SimInstance[] {
    if (zone !== undefined) this.requireZone(zone);
    return [...this.instances.values()]
      .filter((i) => zone === undefined || i.zone === zone)
      .sort((a, b) => compareText(a.zone, b.zone) || compareText(a.name, b.name))
      .map((i) => this.instanceView(i));
  }

  // ------------------------------------------------------------ routes (state)

  /** Every route of the project (or of one network), by name, as routes.list shows them. */
  routes(network?: string): SimRoute[] {
    this.settle();
    return [...this.routesByName.values()]
      .filter((r) => network === undefined || r.network === network)
      .sort((a, b) => compareText(a.name, b.name))
      .map((r) => this.routeView(r));
  }

  route(name: string): SimRoute | undefined {
    this.settle();
    const record = this.routesByName.get(name);
    return record === undefined ? undefined : this.routeView(record);
  }

  /** Routes counted by the ROUTES quota: every static route of every network (not subnet routes). */
  countedRoutes(): number {
    this.settle();
    return [...this.routesByName.values()].filter(counts).length;
  }

  /**
   * Adds a route someone else made (a VPN, a NAT instance, another tool): created at once, no
   * operation, no quota check (a project can be over a lowered quota). Only the name must be free.
   */
  addForeignRoute(input: ForeignRouteInput): SimRoute {
    this.settle();
    checkName(input.name, 'route');
    if (this.routesByName.has(input.name)) throw new GceApiError(409, 'alreadyExists', `The resource '${this.routePath(input.name)}' already exists`);
    const network = input.network ?? 'default';
    this.requireNetwork(network);
    const hops: NextHop[] = [];
    if (input.nextHopGateway !== undefined) hops.push({ kind: 'gateway', gateway: lastSegment(input.nextHopGateway) });
    if (input.nextHopInstance !== undefined) hops.push(this.parseInstanceHop(input.nextHopInstance, false));
    if (input.nextHopIp !== undefined) hops.push({ kind: 'ip', ip: input.nextHopIp });
    if (input.nextHopVpnTunnel !== undefined) hops.push({ kind: 'vpnTunnel', url: input.nextHopVpnTunnel });
    if (input.nextHopIlb !== undefined) hops.push({ kind: 'ilb', value: input.nextHopIlb });
    if (input.nextHopNetwork !== undefined) hops.push({ kind: 'network', network: lastSegment(input.nextHopNetwork) });
    const [hop, ...more] = hops;
    if (hop === undefined || more.length > 0) throw new Error('a route needs exactly one next hop');
    const record = this.storeRoute({
      name: input.name,
      network,
      destRange: input.destRange.includes(':') ? canonicalIpv6Cidr(input.destRange) : formatCidr(parseCidr(input.destRange)),
      priority: input.priority ?? 1000,
      description: input.description,
      tags: input.tags ?? [],
      nextHop: hop,
    });
    return this.routeView(record);
  }

  /** Removes any route at once, without GCE's checks. */
  removeRoute(name: string): boolean {
    this.settle();
    const record = this.routesByName.get(name);
    if (record !== undefined) this.noteRoute(this.clock(), 'removed', record);
    return this.routesByName.delete(name);
  }

  // ------------------------------------------------------------ routes (API semantics)

  /**
   * routes.insert: validates synchronously (400 invalid, 404 notFound, 409 alreadyExists) and
   * accepts an operation; the route appears when it is DONE, if the ROUTES quota allows it then.
   * A repeated `requestId` returns the operation of the first request.
   */
  insertRoute(body: RouteInsertBody, requestId?: string): SimOperation {
    this.settle();
    const repeated = this.repeatedRequest(requestId);
    if (repeated !== undefined) return repeated;
    const route = this.validateInsert(body);
    const op = this.acceptOperation('insert', route.name, route.id, requestId, route);
    return this.operationView(op);
  }

  /** routes.delete: 404 for a missing route; the route goes when the operation is DONE. */
  deleteRoute(name: string, requestId?: string): SimOperation {
    this.settle();
    const repeated = this.repeatedRequest(requestId);
    if (repeated !== undefined) return repeated;
    const record = this.routesByName.get(name);
    if (record === undefined) throw this.routeNotFound(name);
    if (this.pendingOperation(name, 'delete') !== undefined) {
      throw new GceApiError(400, 'resourceNotReady', `The resource '${this.routePath(name)}' is not ready`);
    }
    const op = this.acceptOperation('delete', name, record.id, requestId, undefined);
    return this.operationView(op);
  }

  /** routes.insert and wait in one step (for tests and the control API: "someone else made this route"). */
  createRoute(body: RouteInsertBody): SimOperation {
    const op = this.insertRoute(body);
    return this.finishOperation(op.name);
  }

  /** Completes an operation now (whatever its latency), and returns it DONE. */
  finishOperation(name: string): SimOperation {
    const op = this.requireOperation(name);
    if (!op.settled) {
      const early: OperationRecord = { ...op, startAt: Math.min(op.startAt, this.clock()), doneAt: Math.min(op.doneAt, this.clock()) };
      this.operations.set(name, early);
      this.settle();
    }
    return this.operationView(this.requireOperation(name));
  }

  // ------------------------------------------------------------ operations

  operation(name: string): SimOperation {
    this.settle();
    return this.operationView(this.requireOperation(name));
  }

  operationsList(): SimOperation[] {
    this.settle();
    return [...this.operations.values()].sort((a, b) => a.seq - b.seq).map((op) => this.operationView(op));
  }

  /** Real ms until an operation is DONE (0 when it is). */
  msUntilDone(name: string): number {
    this.settle();
    const op = this.requireOperation(name);
    return op.settled ? 0 : Math.max(0, op.doneAt - this.clock());
  }

  /** Operations not DONE yet. */
  pendingOperations(): SimOperation[] {
    return this.operationsList().filter((op) => op.status !== 'DONE');
  }

  /**
   * Applies every operation whose time has come, in completion order: inserts check the ROUTES
   * quota and create their route; deletes remove theirs.
   */
  settle(): void {
    const now = this.clock();
    if (this.unsettled.size === 0) return;
    const due = [...this.unsettled]
      .map((name) => this.operations.get(name))
      .filter((op): op is OperationRecord => op !== undefined && !op.settled && op.doneAt <= now)
      .sort((a, b) => a.doneAt - b.doneAt || a.seq - b.seq);
    for (const op of due) {
      op.settled = true;
      this.unsettled.delete(op.name);
      if (op.injected !== undefined) {
        op.error = { code: op.injected.code, message: op.injected.message, httpErrorStatusCode: op.injected.httpErrorStatusCode };
        continue;
      }
      if (op.type === 'insert') {
        const route = op.route;
        if (route === undefined) continue;
        if (counts(route) && [...this.routesByName.values()].filter(counts).length + 1 > this.routeQuotaValue) {
          op.error = {
            code: 'QUOTA_EXCEEDED',
            message: `Quota 'ROUTES' exceeded.  Limit: ${this.routeQuotaValue.toFixed(1)} globally.`,
            httpErrorStatusCode: 403,
            errorDetails: [
              {
                quotaInfo: {
                  metricName: 'compute.googleapis.com/routes',
                  limitName: 'ROUTES-per-project',
                  dimensions: { global: 'global' },
                  limit: this.routeQuotaValue,
                },
              },
            ],
          };
          continue;
        }
        if (this.routesByName.has(route.name)) {
          op.error = { code: 'RESOURCE_ALREADY_EXISTS', message: `The resource '${this.routePath(route.name)}' already exists`, httpErrorStatusCode: 409 };
          continue;
        }
        this.routesByName.set(route.name, { ...route, createdAt: op.doneAt });
        this.noteRoute(op.doneAt, 'added', route);
      } else {
        const gone = this.routesByName.get(op.routeName);
        if (gone !== undefined) {
          this.routesByName.delete(op.routeName);
          this.noteRoute(op.doneAt, 'removed', gone);
          continue;
        }
        op.error = { code: 'RESOURCE_NOT_FOUND', message: `The resource '${this.routePath(op.routeName)}' was not found`, httpErrorStatusCode: 404 };
      }
    }
  }

  // ------------------------------------------------------------ the project

  /** projects.get: the project with its quotas (ROUTES limit and usage among them). */
  projectInfo(): Record<string, unknown> {
    const counted = this.countedRoutes();
    return {
      kind: 'compute#project',
      id: this.projectNumber,
      creationTimestamp: rfc3339(this.projectCreatedAt),
      name: this.project,
      selfLink: `${SELF_LINK_BASE}/projects/${this.project}`,
      defaultServiceAccount: `${this.projectNumber}-compute@developer.gserviceaccount.com`,
      quotas: [
        { metric: 'ROUTES', limit: this.routeQuotaValue, usage: counted },
        { metric: 'NETWORKS', limit: 15, usage: this.networks.size },
        { metric: 'SUBNETWORKS', limit: 175, usage: [...this.networks.values()].reduce((n, net) => n + net.subnets.length, 0) },
      ],
    };
  }

  /** Everything, for debugging and the control API. */
  snapshot(): Record<string, unknown> {
    return {
      project: this.project,
      routeQuota: this.routeQuotaValue,
      countedRoutes: this.countedRoutes(),
      networks: this.networksList(),
      instances: this.instancesList(),
      routes: this.routes(),
      pendingOperations: this.pendingOperations(),
    };
  }

  // ------------------------------------------------------------ URLs

  projectPath(): string {
    return `projects/${this.project}`;
  }

  networkPath(name: string): string {
    return `projects/${this.project}/global/networks/${name}`;
  }

  routePath(name: string): string {
    return `projects/${this.project}/global/routes/${name}`;
  }

  instancePath(zone: string, name: string): string {
    return `projects/${this.project}/zones/${zone}/instances/${name}`;
  }

  url(path: string): string {
    return `${SELF_LINK_BASE}/${path}`;
  }

  // ------------------------------------------------------------ internals

  private repeatedRequest(requestId: string | undefined): SimOperation | undefined {
    if (requestId === undefined || requestId === '') return undefined;
    if (!/^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/.test(requestId)) {
      throw new GceApiError(400, 'invalid', `Invalid value for field 'requestId': '${requestId}'. The requestId must be a valid UUID.`);
    }
    const name = this.operationsByRequestId.get(requestId);
    return name === undefined ? undefined : this.operationView(this.requireOperation(name));
  }

  private validateInsert(body: RouteInsertBody): RouteRecord {
    const text = (field: string, value: unknown): string | undefined => {
      if (value === undefined || value === null || value === '') return undefined;
      if (typeof value !== 'string') throw invalid(field, String(value), 'Expected a string.');
      return value;
    };
    const name = text('resource.name', body.name);
    if (name === undefined) throw new GceApiError(400, 'required', "Required field 'resource.name' not specified");
    if (!NAME_PATTERN.test(name)) throw invalid('resource.name', name, `Must be a match of regex '${NAME_REGEX_TEXT}'`);

    const networkText = text('resource.network', body.network);
    if (networkText === undefined) throw new GceApiError(400, 'required', "Required field 'resource.network' not specified");
    const networkName = this.parseResource(networkText, 'global/networks', 'resource.network');
    if (!this.networks.has(networkName)) throw new GceApiError(404, 'notFound', `The resource '${this.networkPath(networkName)}' was not found`);

    const destText = text('resource.destRange', body.destRange);
    if (destText === undefined) throw new GceApiError(400, 'required', "Required field 'resource.destRange' not specified");
    // IPv4 or IPv6 (https://cloud.google.com/vpc/docs/static-routes): canonical, host bits zero.
    const v6 = destText.includes(':');
    let dest: Ipv4Cidr | undefined;
    let destRange: string;
    try {
      if (v6) destRange = canonicalIpv6Cidr(destText);
      else destRange = formatCidr((dest = parseCidr(destText)));
    } catch {
      throw invalid('resource.destRange', destText, 'Must be a valid IPv4 or IPv6 CIDR range with no host bits set.');
    }
    for (const route of this.routesByName.values()) {
      if (dest === undefined || route.network !== networkName || route.nextHop.kind !== 'network') continue;
      const subnet = parseCidr(route.destRange);
      if (cidrContains(subnet, dest)) {
        throw invalid(
          'resource.destRange',
          destRange,
          `The destination range overlaps with the subnetwork range ${route.destRange}: a route may not be equal to or more specific than a subnet route.`,
        );
      }
    }

    let priority = 1000;
    if (body.priority !== undefined && body.priority !== null) {
      const value = typeof body.priority === 'string' ? Number(body.priority) : body.priority;
      if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > 65535) {
        throw invalid('resource.priority', String(body.priority), 'Must be an integer between 0 and 65535.');
      }
      priority = value;
    }
    const description = text('resource.description', body.description);
    if (description !== undefined && description.length > 2048) throw invalid('resource.description', description.slice(0, 20), 'Must be at most 2048 characters.');
    const tags = Array.isArray(body.tags) ? body.tags.filter((t): t is string => typeof t === 'string') : [];

    const hops: NextHop[] = [];
    const instance = text('resource.nextHopInstance', body.nextHopInstance);
    if (instance !== undefined) hops.push(this.parseInstanceHop(instance, true));
    const ip = text('resource.nextHopIp', body.nextHopIp);
    if (ip !== undefined) {
      if (!isIpv4(ip)) throw invalid('resource.nextHopIp', ip, 'Must be an IPv4 address.');
      hops.push({ kind: 'ip', ip });
    }
    const gateway = text('resource.nextHopGateway', body.nextHopGateway);
    if (gateway !== undefined) {
      const gatewayName = this.parseResource(gateway, 'global/gateways', 'resource.nextHopGateway');
      if (gatewayName !== 'default-internet-gateway') throw invalid('resource.nextHopGateway', gateway, 'Only the default internet gateway can be a next hop.');
      hops.push({ kind: 'gateway', gateway: gatewayName });
    }
    const tunnel = text('resource.nextHopVpnTunnel', body.nextHopVpnTunnel);
    if (tunnel !== undefined) hops.push({ kind: 'vpnTunnel', url: tunnel });
    const ilb = text('resource.nextHopIlb', body.nextHopIlb);
    if (ilb !== undefined) hops.push({ kind: 'ilb', value: ilb });
    if (text('resource.nextHopNetwork', body.nextHopNetwork) !== undefined) {
      throw invalid('resource.nextHopNetwork', String(body.nextHopNetwork), 'Subnet routes are created with their subnetwork, not with routes.insert.');
    }
    const [hop, ...more] = hops;
    if (hop === undefined) throw new GceApiError(400, 'invalid', 'Invalid value for field \'resource\': \'\'. A route must have exactly one next hop.');
    if (more.length > 0) throw new GceApiError(400, 'invalid', "Invalid value for field 'resource': ''. A route must have exactly one next hop: more than one was specified.");
    // An IPv6 route's next-hop instance needs an IPv6 interface in the route's network: a dual-stack
    // VM (https://cloud.google.com/vpc/docs/static-routes#static-route-next-hops).
    if (v6 && hop.kind === 'instance') {
      const target = this.instances.get(`${hop.zone}/${hop.instance}`);
      if (target !== undefined && !target.interfaces.some((nic) => nic.network === networkName && nic.ipv6 !== undefined)) {
        throw invalid('resource.nextHopInstance', instance ?? '', 'The next hop instance of an IPv6 route must have an IPv6 address in the route\'s network (a dual-stack interface).');
      }
    }

    if (this.routesByName.has(name) || this.pendingOperation(name, 'insert') !== undefined) {
      throw new GceApiError(409, 'alreadyExists', `The resource '${this.routePath(name)}' already exists`);
    }
    return { name, id: this.newId(`route:${name}:${this.clock()}:${this.operationSeq}`), createdAt: this.clock(), network: networkName, destRange, priority, description, tags, nextHop: hop };
  }

  /** `https://…/projects/p/zones/z/instances/n`, `projects/p/zones/z/instances/n` or `zones/z/instances/n`. */
  private parseInstanceHop(text: string, mustExist: boolean): NextHop {
    const match = /^(?:https?:\/\/[^/]+\/compute\/(?:v1|beta|alpha)\/)?(?:projects\/([^/]+)\/)?zones\/([^/]+)\/instances\/([^/]+)$/.exec(text);
    if (match === null) throw invalid('resource.nextHopInstance', text, 'Must be a full or partial URL of an instance: projects/{project}/zones/{zone}/instances/{instance}.');
    const [, project, zone = '', instance = ''] = match;
    if (project !== undefined && project !== this.project) {
      throw new GceApiError(404, 'notFound', `The resource 'projects/${project}/zones/${zone}/instances/${instance}' was not found`);
    }
    if (mustExist && !this.instances.has(`${zone}/${instance}`)) {
      throw new GceApiError(404, 'notFound', `The resource '${this.instancePath(zone, instance)}' was not found`);
    }
    return { kind: 'instance', zone, instance };
  }

  /** A global resource name from a full/partial URL or a bare name. */
  private parseResource(text: string, collection: string, field: string): string {
    const match = new RegExp(`^(?:https?://[^/]+/compute/(?:v1|beta|alpha)/)?(?:projects/([^/]+)/)?(?:${collection}/)?([^/]+)$`).exec(text);
    if (match === null) throw invalid(field, text, `Must be a URL of a resource in ${collection}.`);
    const [, project, name = ''] = match;
    if (project !== undefined && project !== this.project) throw new GceApiError(404, 'notFound', `The resource 'projects/${project}/${collection}/${name}' was not found`);
    return name;
  }

  private acceptOperation(
    type: 'insert' | 'delete',
    routeName: string,
    targetId: string,
    requestId: string | undefined,
    route: RouteRecord | undefined,
  ): OperationRecord {
    this.operationSeq += 1;
    const now = this.clock();
    const latency = this.operationLatency / this.timeScaleValue;
    const method = type === 'insert' ? 'routes.insert' : 'routes.delete';
    const faultIndex = this.operationFaults.findIndex(
      (f) => f.remaining > 0 && (f.method === '*' || f.method === method) && (f.routeName === undefined || f.routeName === routeName),
    );
    let injected: OperationFault | undefined;
    if (faultIndex >= 0) {
      const fault = this.operationFaults[faultIndex];
      if (fault !== undefined) {
        fault.remaining -= 1;
        injected = { ...fault };
        if (fault.remaining <= 0) this.operationFaults.splice(faultIndex, 1);
      }
    }
    const hex = this.hash(`op:${this.operationSeq}`);
    const record: OperationRecord = {
      seq: this.operationSeq,
      id: this.newId(`operation:${this.operationSeq}`),
      name: `operation-${now}-${hex.slice(0, 13)}-${hex.slice(0, 8)}-${this.hash(`op2:${this.operationSeq}`).slice(0, 8)}`,
      type,
      routeName,
      targetId,
      acceptedAt: now,
      startAt: now + latency * 0.25,
      doneAt: now + latency,
      requestId,
      route,
      injected,
      settled: false,
      error: undefined,
    };
    this.operations.set(record.name, record);
    this.unsettled.add(record.name);
    if (requestId !== undefined && requestId !== '') this.operationsByRequestId.set(requestId, record.name);
    return record;
  }

  private pendingOperation(routeName: string, type: 'insert' | 'delete'): OperationRecord | undefined {
    for (const name of this.unsettled) {
      const op = this.operations.get(name);
      if (op !== undefined && !op.settled && op.type === type && op.routeName === routeName) return op;
    }
    return undefined;
  }

  private requireOperation(name: string): OperationRecord {
    const op = this.operations.get(name);
    if (op === undefined) throw new GceApiError(404, 'notFound', `The resource 'projects/${this.project}/global/operations/${name}' was not found`);
    return op;
  }

  private routeNotFound(name: string): GceApiError {
    return new GceApiError(404, 'notFound', `The resource '${this.routePath(name)}' was not found`);
  }

  private storeRoute(input: Omit<RouteRecord, 'id' | 'createdAt'>): RouteRecord {
    const record: RouteRecord = { ...input, id: this.newId(`route:${input.name}:${this.clock()}`), createdAt: this.clock() };
    this.routesByName.set(record.name, record);
    this.noteRoute(record.createdAt, 'added', record);
    return record;
  }

  private allocateIp(network: NetworkRecord, region: string, wanted: string | undefined, reserved: ReadonlySet<string>): { ip: string; subnet: string | undefined } {
    const taken = (ip: string): boolean => reserved.has(`${network.name}/${ip}`) || this.ipTaken(network.name, ip);
    const ranges: Array<{ cidr: Ipv4Cidr; subnet: string | undefined; cursor: { nextHost: number } }> = [];
    if (network.legacyRange !== undefined) ranges.push({ cidr: network.legacyRange, subnet: undefined, cursor: network.legacyRange });
    for (const subnet of network.subnets) if (subnet.region === region) ranges.push({ cidr: subnet.cidr, subnet: subnet.name, cursor: subnet });
    if (ranges.length === 0) throw new GceApiError(400, 'invalid', `Network ${network.name} has no subnetwork in region ${region}`);
    if (wanted !== undefined) {
      if (!isIpv4(wanted)) throw new GceApiError(400, 'invalid', `Invalid value for field 'resource.networkInterfaces[0].networkIP': '${wanted}'.`);
      const range = ranges.find((r) => ipInCidr(wanted, r.cidr));
      if (range === undefined) throw new GceApiError(400, 'invalid', `IP address ${wanted} is not in a range of network ${network.name} in region ${region}`);
      if (taken(wanted)) throw new GceApiError(400, 'invalid', `IP address '${wanted}' is already being used by another resource.`);
      return { ip: wanted, subnet: range.subnet };
    }
    for (const range of ranges) {
      const last = range.cidr.base + 2 ** (32 - range.cidr.length) - 3;
      for (let host = range.cursor.nextHost; host <= last; host++) {
        const ip = numberToIpv4(host >>> 0);
        if (!taken(ip)) {
          range.cursor.nextHost = host + 1;
          return { ip, subnet: range.subnet };
        }
      }
    }
    throw new GceApiError(400, 'invalid', `No free IP address left in network ${network.name} in region ${region}`);
  }

  private ipTaken(network: string, ip: string): boolean {
    for (const instance of this.instances.values()) {
      if (instance.interfaces.some((nic) => nic.network === network && nic.networkIP === ip)) return true;
    }
    return false;
  }

  private findInstance(name: string, zone?: string): InstanceRecord {
    const path = /^(?:.*\/)?zones\/([^/]+)\/instances\/([^/]+)$/.exec(name);
    const wantedZone = zone ?? path?.[1];
    const wantedName = path?.[2] ?? name;
    const matches = [...this.instances.values()].filter((i) => i.name === wantedName && (wantedZone === undefined || i.zone === wantedZone));
    const [first, second] = matches;
    if (first === undefined) {
      throw new GceApiError(404, 'notFound', `The resource '${this.instancePath(wantedZone ?? '-', wantedName)}' was not found`);
    }
    if (second !== undefined) throw new Error(`instance ${wantedName} exists in several zones: name the zone`);
    return first;
  }

  private requireZone(name: string): string {
    if (!this.zoneNames.includes(name)) throw new GceApiError(404, 'notFound', `The resource 'projects/${this.project}/zones/${name}' was not found`);
    return name;
  }

  private requireNetwork(name: string): NetworkRecord {
    const network = this.networks.get(name);
    if (network === undefined) throw new GceApiError(404, 'notFound', `The resource '${this.networkPath(name)}' was not found`);
    return network;
  }

  // ------------------------------------------------------------ views

  private routeView(record: RouteRecord): SimRoute {
    const view: { -readonly [K in keyof SimRoute]: SimRoute[K] } = {
      kind: 'compute#route',
      id: record.id,
      creationTimestamp: rfc3339(record.createdAt),
      name: record.name,
      network: this.url(this.networkPath(record.network)),
      destRange: record.destRange,
      priority: record.priority,
      routeType: record.nextHop.kind === 'network' ? 'SUBNET' : 'STATIC',
      selfLink: this.url(this.routePath(record.name)),
    };
    if (record.description !== undefined) view.description = record.description;
    if (record.tags.length > 0) view.tags = [...record.tags];
    const hop = record.nextHop;
    const warnings: GceWarning[] = [];
    switch (hop.kind) {
      case 'instance': {
        const path = this.instancePath(hop.zone, hop.instance);
        view.nextHopInstance = this.url(path);
        const instance = this.instances.get(`${hop.zone}/${hop.instance}`);
        const data = [{ key: 'instance', value: this.url(path) }];
        if (instance === undefined) {
          warnings.push({ code: 'NEXT_HOP_INSTANCE_NOT_FOUND', message: `Next hop instance '${this.url(path)}' does not exist.`, data });
        } else {
          if (!instance.interfaces.some((nic) => nic.network === record.network)) {
            warnings.push({ code: 'NEXT_HOP_INSTANCE_NOT_ON_NETWORK', message: `Next hop instance '${this.url(path)}' is not on the route's network.`, data });
          }
          if (!instance.canIpForward) {
            warnings.push({ code: 'NEXT_HOP_CANNOT_IP_FORWARD', message: `Next hop instance '${this.url(path)}' cannot ip forward.`, data });
          }
          if (instance.status !== 'RUNNING') {
            warnings.push({ code: 'NEXT_HOP_NOT_RUNNING', message: `Next hop instance '${this.url(path)}' is not running.`, data });
          }
        }
        break;
      }
      case 'ip':
        view.nextHopIp = hop.ip;
        break;
      case 'gateway':
        view.nextHopGateway = this.url(`projects/${this.project}/global/gateways/${hop.gateway}`);
        break;
      case 'network':
        view.nextHopNetwork = this.url(this.networkPath(hop.network));
        break;
      case 'vpnTunnel':
        view.nextHopVpnTunnel = hop.url;
        break;
      case 'ilb':
        view.nextHopIlb = hop.value;
        break;
    }
    if (warnings.length > 0) view.warnings = warnings;
    return view;
  }

  private operationView(op: OperationRecord): SimOperation {
    const now = this.clock();
    const status: OperationStatus = op.settled ? 'DONE' : now >= op.startAt ? 'RUNNING' : 'PENDING';
    const path = `projects/${this.project}/global/operations/${op.name}`;
    const view: { -readonly [K in keyof SimOperation]: SimOperation[K] } = {
      kind: 'compute#operation',
      id: op.id,
      name: op.name,
      operationType: op.type,
      targetLink: this.url(this.routePath(op.routeName)),
      targetId: op.targetId,
      status,
      user: this.user,
      progress: status === 'DONE' ? 100 : 0,
      insertTime: rfc3339(op.acceptedAt),
      selfLink: this.url(path),
    };
    if (status !== 'PENDING') view.startTime = rfc3339(op.startAt);
    if (status === 'DONE') view.endTime = rfc3339(op.doneAt);
    if (status === 'DONE' && op.error !== undefined) {
      view.error = {
        errors: [
          {
            code: op.error.code,
            message: op.error.message,
            ...(op.error.errorDetails !== undefined ? { errorDetails: op.error.errorDetails } : {}),
          },
        ],
      };
      view.httpErrorStatusCode = op.error.httpErrorStatusCode;
      view.httpErrorMessage = httpReason(op.error.httpErrorStatusCode);
    }
    return view;
  }

  private instanceView(record: InstanceRecord): SimInstance {
    const region = regionOf(record.zone);
    return {
      kind: 'compute#instance',
      id: record.id,
      creationTimestamp: rfc3339(record.createdAt),
      name: record.name,
      description: '',
      zone: this.url(`projects/${this.project}/zones/${record.zone}`),
      machineType: this.url(`projects/${this.project}/zones/${record.zone}/machineTypes/e2-standard-2`),
      status: record.status,
      canIpForward: record.canIpForward,
      networkInterfaces: record.interfaces.map((nic, index) => ({
        kind: 'compute#networkInterface' as const,
        name: `nic${index}`,
        network: this.url(this.networkPath(nic.network)),
        ...(nic.subnet !== undefined ? { subnetwork: this.url(`projects/${this.project}/regions/${region}/subnetworks/${nic.subnet}`) } : {}),
        networkIP: nic.networkIP,
        fingerprint: nic.fingerprint,
        ...nicStack(nic),
      })),
      // An instance without tags shows `tags` with a fingerprint only.
      tags: { ...(record.tags.length > 0 ? { items: [...record.tags] } : {}), fingerprint: this.hash(`tags:${record.tags.join(',')}`).slice(0, 11) },
      labels: { ...record.labels },
      selfLink: this.url(this.instancePath(record.zone, record.name)),
    };
  }

  private networkView(record: NetworkRecord): SimNetwork {
    const view: { -readonly [K in keyof SimNetwork]: SimNetwork[K] } = {
      kind: 'compute#network',
      id: record.id,
      creationTimestamp: rfc3339(record.createdAt),
      name: record.name,
      selfLink: this.url(this.networkPath(record.name)),
      routingConfig: { routingMode: 'REGIONAL' },
    };
    if (record.legacyRange !== undefined) {
      view.IPv4Range = formatCidr(record.legacyRange);
      view.gatewayIPv4 = numberToIpv4((record.legacyRange.base + 1) >>> 0);
    } else {
      view.autoCreateSubnetworks = false;
      view.subnetworks = record.subnets.map((s) => this.url(`projects/${this.project}/regions/${s.region}/subnetworks/${s.name}`));
    }
    return view;
  }

  private zoneView(name: string): SimZone {
    return {
      kind: 'compute#zone',
      id: this.newIdStable(`zone:${name}`),
      creationTimestamp: rfc3339(this.projectCreatedAt),
      name,
      description: name,
      status: 'UP',
      region: this.url(`projects/${this.project}/regions/${regionOf(name)}`),
      selfLink: this.url(`projects/${this.project}/zones/${name}`),
    };
  }

  /** uint64 ids as decimal strings, deterministic from the seed. */
  private newId(text: string): string {
    return this.newIdStable(`${text}#${++this.idCounter}`);
  }

  private newIdStable(text: string): string {
    const hex = this.hash(text);
    return (BigInt(`0x${hex}`) % 9000000000000000000n + 1000000000000000000n).toString();
  }

  /** 16 hex digits from the seed and a text. */
  private hash(text: string): string {
    return seededHash(this.seed, text);
  }
}

// ---------------------------------------------------------------- helpers

/** Subnet routes do not count toward the ROUTES quota; every static route does. */
function counts(route: RouteRecord): boolean {
  return route.nextHop.kind !== 'network';
}

function invalid(field: string, value: string, why: string): GceApiError {
  return new GceApiError(400, 'invalid', `Invalid value for field '${field}': '${value}'. ${why}`);
}

function checkName(name: string, what: string): void {
  if (!NAME_PATTERN.test(name)) throw invalid(`resource.name`, name, `Must be a match of regex '${NAME_REGEX_TEXT}' (${what}).`);
}

function operationStatusFor(code: string): number {
  if (code === 'QUOTA_EXCEEDED' || code === 'RATE_LIMIT_EXCEEDED') return 403;
  if (code === 'RESOURCE_NOT_FOUND') return 404;
  if (code === 'RESOURCE_ALREADY_EXISTS') return 409;
  if (code === 'INTERNAL_ERROR' || code === 'INTERNAL') return 500;
  if (code === 'SERVICE_UNAVAILABLE' || code === 'UNAVAILABLE') return 503;
  return 400;
}

function httpReason(status: number): string {
  const reasons: Readonly<Record<number, string>> = {
    400: 'BAD REQUEST',
    403: 'FORBIDDEN',
    404: 'NOT FOUND',
    409: 'CONFLICT',
    500: 'INTERNAL SERVER ERROR',
    503: 'SERVICE UNAVAILABLE',
  };
  return reasons[status] ?? 'ERROR';
}

/** `us-central1-a` → `us-central1`. */
export function regionOf(zone: string): string {
  const match = /^([a-z]+-[a-z]+\d+)-[a-z]$/.exec(zone);
  if (match?.[1] === undefined) throw new Error(`not a zone name: ${zone}`);
  return match[1];
}

/** GCE's RFC 3339 timestamps carry the Pacific offset, e.g. `2024-05-01T10:20:30.123-07:00`. */
export function rfc3339(ms: number): string {
  return `${new Date(ms - 7 * 3600_000).toISOString().slice(0, 23)}-07:00`;
}

function lastSegment(text: string): string {
  return text.split('/').at(-1) ?? text;
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** An interface's stack as GCE shows it: IPV4_ONLY, or IPV4_IPV6 with its internal or external IPv6 address. */
function nicStack(nic: InterfaceRecord): Pick<SimNetworkInterface, 'stackType' | 'ipv6AccessType' | 'ipv6Address' | 'ipv6AccessConfigs'> {
  if (nic.ipv6 === undefined) return { stackType: 'IPV4_ONLY' };
  if (nic.ipv6.accessType === 'INTERNAL') return { stackType: 'IPV4_IPV6', ipv6AccessType: 'INTERNAL', ipv6Address: nic.ipv6.address };
  return {
    stackType: 'IPV4_IPV6',
    ipv6AccessType: 'EXTERNAL',
    ipv6AccessConfigs: [{ type: 'DIRECT_IPV6', name: 'external-ipv6', externalIpv6: nic.ipv6.address, externalIpv6PrefixLength: 96 }],
  };
}
