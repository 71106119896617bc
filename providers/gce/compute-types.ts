/**
 * The Compute Engine v1 REST resources as routesync reads and writes them: only the fields it
 * uses, named and typed as the JSON API sends them (int64 values such as `id` arrive as strings).
 * References: https://cloud.google.com/compute/docs/reference/rest/v1/routes,
 * …/globalOperations, …/instances, …/projects.
 */

/** A warning on a resource or on one scope of an aggregated listing. */
export interface GceWarning {
  readonly code?: string | null;
  readonly message?: string | null;
}

export interface GceRoute {
  readonly name?: string | null;
  readonly id?: string | null;
  readonly network?: string | null;
  readonly destRange?: string | null;
  readonly priority?: number | null;
  readonly description?: string | null;
  readonly tags?: readonly string[] | null;
  readonly nextHopInstance?: string | null;
  readonly nextHopIp?: string | null;
  readonly nextHopGateway?: string | null;
  readonly nextHopNetwork?: string | null;
  readonly nextHopPeering?: string | null;
  readonly nextHopIlb?: string | null;
  readonly nextHopVpnTunnel?: string | null;
  /** TRANSIT, SUBNET, BGP or STATIC. */
  readonly routeType?: string | null;
  readonly selfLink?: string | null;
  readonly warnings?: readonly GceWarning[] | null;
}

/** Mutable: a test double moves its status along. */
export interface GceOperation {
  name?: string | null;
  operationType?: string | null;
  targetLink?: string | null;
  /** PENDING, RUNNING or DONE. */
  status?: string | null;
  httpErrorStatusCode?: number | null;
  error?: { readonly errors?: ReadonlyArray<{ readonly code?: string | null; readonly message?: string | null }> | null } | null;
}

export interface GceNetworkInterface {
  readonly network?: string | null;
  readonly networkIP?: string | null;
  readonly ipv6Address?: string | null;
  readonly ipv6AccessConfigs?: ReadonlyArray<{ readonly externalIpv6?: string | null }> | null;
  readonly stackType?: string | null;
}

export interface GceInstance {
  readonly name?: string | null;
  readonly selfLink?: string | null;
  readonly status?: string | null;
  readonly canIpForward?: boolean | null;
  readonly networkInterfaces?: readonly GceNetworkInterface[] | null;
  readonly tags?: { readonly items?: readonly string[] | null } | null;
  readonly labels?: Readonly<Record<string, string>> | null;
}

/** One scope (`zones/<zone>`) of instances.aggregatedList. */
export interface GceInstancesScopedList {
  readonly instances?: readonly GceInstance[] | null;
  readonly warning?: GceWarning | null;
}
