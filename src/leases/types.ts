/** flannel's network config (`<prefix>/config`), reduced to what routesync needs. */
export interface NetworkConfig {
  /** The flannel Network, canonical `a.b.c.d/len`. */
  readonly network: string;
  readonly subnetLen: number;
  readonly enableIPv4: boolean;
  /** `Backend.Type`, lower-case; `udp` when Backend is missing (flannel's default). */
  readonly backendType: string;
}

/** A valid subnet lease: one node's pod subnet. */
export interface Lease {
  /** The etcd key, e.g. `/coreos.com/network/subnets/10.1.19.0-24`. */
  readonly key: string;
  /** Canonical IPv4 subnet taken from the key, e.g. `10.1.19.0/24`. */
  readonly subnet: string;
  /** The node's PublicIP from the value. */
  readonly nodeIp: string;
  /** etcd create_revision: lease age; lower is older and wins under the route limit. */
  readonly createRevision: number;
  readonly modRevision: number;
  /** A reservation is a lease key written without an etcd lease (no TTL). */
  readonly reservation: boolean;
}

/** A key under `subnets/` that could not be used, with why. */
export interface InvalidLease {
  readonly key: string;
  /** The subnet, when the key itself parsed (so its route can be left alone). */
  readonly subnet?: string;
  readonly reason: string;
}

/** A complete, consistent view of flannel's state at one etcd revision. */
export interface LeaseSnapshot {
  readonly revision: number;
  /** null when the config is missing or invalid: then no lease can be validated. */
  readonly config: NetworkConfig | null;
  readonly configError?: string;
  readonly leases: readonly Lease[];
  readonly invalid: readonly InvalidLease[];
}
