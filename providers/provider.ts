/**
 * The one interface every cloud adapter implements. Providers list what exists, resolve node IPs,
 * apply single changes and report capacity; they never compute diffs (that is src/planner).
 */

/**
 * How a route came to be, in neutral terms: `table-default` was made by the cloud with the table or
 * a subnet (AWS `local`, origin CreateRouteTable; GCE subnet routes), `created` by an API call (AWS
 * CreateRoute; GCE static routes, the default internet route included), `propagated` was learned
 * from elsewhere (AWS VGW propagation; GCE peering and Cloud Router routes).
 */
export type RouteOrigin = 'table-default' | 'created' | 'propagated';

/**
 * What a route's next hop is: a network interface (AWS ENI), an instance, a gateway of the cloud
 * (internet, NAT, VPN, peering, transit, `local`), an IP address, a network (GCE subnet routes), or
 * nothing the listing names.
 */
export type TargetKind = 'interface' | 'instance' | 'gateway' | 'address' | 'network' | 'none';

/**
 * A route as the cloud reports it: facts only. What is routesync's and what counts toward a limit
 * is decided from them in src/planner (ownership.ts, counting.ts).
 */
export interface ActualRoute {
  /**
   * Canonical destination: IPv4 `a.b.c.d/len`, IPv6 in RFC 5952 form (`fc00:0:0:1::/64`, as
   * src/net/cidr6.ts prints it); a route outside the managed space may carry the cloud's text instead.
   */
  readonly destination: string;
  /** Provider target id (AWS ENI id, GCE instance URL); null when the route has none we can compare. */
  readonly target: string | null;
  readonly targetKind: TargetKind;
  readonly origin: RouteOrigin;
  /**
   * How much the route weighs toward its quota when it counts: 1 for a plain route; AWS counts a
   * route to a managed prefix list as the list's maximum entries (its `destination` is the list id).
   */
  readonly quotaWeight: number;
  /**
   * The address family of the destination; absent means IPv4. AWS counts IPv6 routes against a
   * quota of their own, and a prefix-list route against the one of its list's family.
   */
  readonly family?: 'ipv4' | 'ipv6';
  /** The route no longer forwards (AWS state `blackhole`: its ENI or instance is gone). */
  readonly blackhole: boolean;
  /**
   * Carries the marks of a route routesync makes (AWS: origin CreateRoute and an ENI or instance
   * target; GCE: name `<cluster>-…` and description `routesync:<cluster>`). Marks alone do not make
   * a route routesync's: src/planner/ownership.ts adds the managed space and the Network.
   */
  readonly bearsOwnerMarks: boolean;
  /**
   * The route lies where routesync manages routes: the table itself (AWS), the routes of
   * --gce-network (GCE). false: it only shares the table's quota (GCE: another network of the
   * project, or an IPv6 route without routesync's marks); it is never owned and never conflicts.
   */
  readonly inManagedSpace: boolean;
  /** Free text for logs and status: what the route points at (igw-…, nat-…, eni-…). */
  readonly via: string;
}

/**
 * Which quota a table's limit is; src/planner/counting.ts holds each one's rule of what counts.
 * `aws-vpc-routes-per-table`: AWS's "routes per route table" (IPv4; IPv6 routes have a quota of their own). `gce-routes-per-project`:
 * GCE's per-project ROUTES quota, shared by every network of the project.
 */
export type RouteQuota = 'aws-vpc-routes-per-table' | 'gce-routes-per-project';

/**
 * Where a table's limit came from: `flag` (--route-limit N), `quota-api` (the account's applied
 * quota: AWS GetServiceQuota, GCE projects.get), `default-api` (AWS GetAWSDefaultServiceQuota, the
 * applied value being unreadable), `fallback` (no read succeeded: the provider's stated value),
 * `learned-from-refusal` (the cloud refused a create below the read limit: src/reconcile).
 */
export type LimitSource = 'flag' | 'quota-api' | 'default-api' | 'fallback' | 'learned-from-refusal';

/** One capacity domain: an AWS route table, or a GCE project's routes in one network. */
export interface RouteTable {
  readonly id: string;
  /**
   * The route limit of this table (--route-limit, or read from the account: see limitSource). Where
   * the quota counts IPv6 routes apart (AWS), this is the IPv4 routes' limit.
   */
  readonly limit: number;
  /**
   * AWS: the limit of the table's IPv6 routes, a quota of its own ("routes per route table" is
   * counted separately for IPv4 and IPv6); absent: the same value as `limit`. Unused where one
   * quota counts both families (GCE).
   */
  readonly ipv6Limit?: number;
  /** Where `limit` came from; absent: `flag`. */
  readonly limitSource?: LimitSource;
  /**
   * When the quota read behind `limit` was made (ISO time; absent for `flag`). A new value means a
   * new read, which replaces what was learned from refusals.
   */
  readonly limitReadAt?: string;
  /**
   * The quota's own usage count, when the cloud reported it with this listing (GCE projects.get
   * ROUTES `usage`): src/planner/counting.ts checks it against what the listing counts.
   */
  readonly quotaUsage?: number;
  readonly quota: RouteQuota;
  readonly routes: readonly ActualRoute[];
  /**
   * A replace here can make before it breaks (GCE: the new route goes in beside the old one under
   * another name, then the old one goes) when one slot of the limit is free for that moment; the
   * planner decides which replaces get one (Change `makeBeforeBreak`).
   */
  readonly replaceNeedsSpareSlot?: boolean;
}

/** What a node IP resolves to in one lookup. */
export type NodeResolution =
  | {
      readonly status: 'found';
      /** The route target: AWS ENI id, GCE instance URL. */
      readonly target: string;
      /**
       * `enabled`: the target forwards; `fixable`: routesync can turn forwarding on (AWS
       * SourceDestCheck); `disabled`: it cannot (GCE canIpForward false), so no route is made.
       */
      readonly forwarding: 'enabled' | 'fixable' | 'disabled';
      /**
       * false: the target has no IPv6 interface (GCE stack type IPV4_ONLY), so it cannot take an
       * IPv6 route; absent: it has one, or the provider does not say.
       */
      readonly ipv6Capable?: boolean;
    }
  /** A successful lookup found nothing for this IP: the node is gone. */
  | { readonly status: 'not-found' }
  /**
   * The lookup found the IP's interface or instance, but it is not a node of the cluster (it lacks
   * the node tag or label, or lies outside the node subnets): no route may point at it.
   */
  | { readonly status: 'not-eligible'; readonly target: string; readonly why: string }
  /** The lookup itself failed: nothing may change for this IP. */
  | { readonly status: 'lookup-failed'; readonly error: string };

/** The changes a plan is made of; each is applied on its own. */
export type Change =
  | {
      readonly kind: 'create';
      readonly table: string;
      readonly destination: string;
      readonly target: string;
      readonly nodeIp: string;
    }
  | {
      readonly kind: 'replace';
      readonly table: string;
      readonly destination: string;
      readonly target: string;
      readonly previousTarget: string | null;
      readonly nodeIp: string;
      /** Set on tables with replaceNeedsSpareSlot: true, a slot is free for the old and new route at once. */
      readonly makeBeforeBreak?: boolean;
    }
  | {
      readonly kind: 'delete';
      readonly table: string;
      readonly destination: string;
      readonly previousTarget: string | null;
      readonly reason: DeleteReason;
    }
  | { readonly kind: 'enable-forwarding'; readonly target: string; readonly nodeIp: string };

/**
 * no-lease: the lease is gone; blackhole: the route leads nowhere and no lease can use it;
 * node-not-found: the lease's node is gone (flannel keeps leases 24 h); node-not-eligible: the
 * lease's IP belongs to a machine that is not a cluster node; duplicate: a second owned
 * route for one destination; forwarding-disabled: the lease's node cannot forward, and the route
 * still points at another target (the previous node).
 */
export type DeleteReason = 'no-lease' | 'blackhole' | 'node-not-found' | 'node-not-eligible' | 'duplicate' | 'forwarding-disabled';

/**
 * One API action's request-rate limit as the cloud enforces it: a token bucket of `capacity` tokens
 * that gains `refill` tokens every `intervalMs` (AWS CreateRoute: 50, +5 every 1000 ms).
 */
export interface RateLimit {
  readonly capacity: number;
  readonly refill: number;
  readonly intervalMs: number;
}

/** How a paced call ended: `throttled` when the cloud refused it for rate (RequestLimitExceeded, rateLimitExceeded). */
export type PacedOutcome = 'ok' | 'throttled' | 'failed';

/** The right to make one call now; report how the call went exactly once. */
export interface PacerPermit {
  done(outcome: PacedOutcome): void;
}

/**
 * Client-side pacing of a provider's API calls (src/pacing implements it): one token bucket per API
 * action, shared by every table and pass, mirroring the cloud's own limits.
 */
export interface RequestPacer {
  /** Waits until `action` may be called (FIFO per action, urgent first); rejects with the signal's reason on abort. */
  acquire(action: string, signal: AbortSignal, options?: AcquireOptions): Promise<PacerPermit>;
}

export interface AcquireOptions {
  /** Served before every waiting caller that is not urgent (after the urgent ones already waiting). */
  readonly urgent?: boolean;
}

/** How a change is applied. */
export interface ApplyCallOptions {
  /**
   * A create for a lease that came during a long pass: a paced provider lets it go ahead of the
   * pass's calls already waiting for the rate limit (src/reconcile/late-creates.ts).
   */
  readonly urgent?: boolean;
}

/** How much of the node cache a lookup may trust. */
export interface ResolveOptions {
  /**
   * true (the default): a resync — re-check known IPs too, all of them or, for a provider that
   * spreads the work over resyncs to bound its reads, the next share. false: answer known IPs from
   * the provider's cache and look up only the unknown ones (an event-driven pass).
   */
  readonly refresh?: boolean;
}

export interface RouteProvider {
  /** The --provider name. */
  readonly name: string;
  /** Every managed table with all its routes: one consistent read per pass. */
  listTables(signal: AbortSignal): Promise<RouteTable[]>;
  /** Resolves every given node IP; the map has one entry per IP asked. */
  resolveNodes(nodeIps: readonly string[], signal: AbortSignal, options?: ResolveOptions): Promise<Map<string, NodeResolution>>;
  /**
   * Applies one change. Resolves when it is done (idempotent outcomes such as deleting a route that
   * is already gone count as done); rejects with the cloud's error otherwise (see src/errors.ts).
   */
  apply(change: Change, signal: AbortSignal, options?: ApplyCallOptions): Promise<void>;
  /** Releases sockets and timers. */
  close(): Promise<void>;
  /**
   * Optional: the provider's client-side pacer (one per provider, shared by every table and pass).
   * A provider that has one paces every call it makes with it, reads and changes alike, so callers
   * (and wrappers) need do nothing; src/reconcile/apply.ts only uses its presence to retry a
   * throttled change at once — the drained bucket holds the retry back until its next refill.
   */
  readonly pacer?: RequestPacer;
  /**
   * Optional: how many changes of one kind the provider wants in flight at once, overriding the
   * caller's default (8). A cloud whose changes are slow operations (GCE: each insert or delete waits
   * seconds for its operation) needs many more to converge at its rate limit than one whose calls
   * return in milliseconds.
   */
  readonly concurrency?: number;
}
