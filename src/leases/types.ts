/** An address family: flannel leases have up to one half of each. */
export type Family = 'ipv4' | 'ipv6';

/** flannel's network config (`<prefix>/config`), reduced to what routesync needs. */
export interface NetworkConfig {
  /**
   * The flannel Network, canonical `a.b.c.d/len`. Absent only when EnableIPv4 is false and the
   * config names none (an IPv6-only cluster).
   */
  readonly network?: string;
  readonly subnetLen: number;
  readonly enableIPv4: boolean;
  /** EnableIPv6 (default false). */
  readonly enableIPv6?: boolean;
  /** IPv6Network, canonical `addr/len`; present when EnableIPv6 is true (and kept when given otherwise). */
  readonly ipv6Network?: string;
  /** IPv6SubnetLen as flannel runs with it (default 64); present with ipv6Network. */
  readonly ipv6SubnetLen?: number;
  /** `Backend.Type`, lower-case; `udp` when Backend is missing (flannel's default). */
  readonly backendType: string;
}

/**
 * One half of a valid flannel lease: one desired route. A dual-stack key
 * (`10.5.1.0-24&fc00::-64`) gives two, sharing the key and revisions; an IPv6-only key
 * (`0.0.0.0-0&fc00::-64`) gives its IPv6 half only.
 */
export interface Lease {
  /** The etcd key, e.g. `/coreos.com/network/subnets/10.1.19.0-24`. */
  readonly key: string;
  /** flannel's multi-network mode: the network the key lies under; absent with a single network. */
  readonly network?: string;
  /** Absent: ipv4. */
  readonly family?: Family;
  /** Canonical subnet taken from the key: `10.1.19.0/24` (IPv4 half), `fc00:0:0:1::/64` (IPv6 half). */
  readonly subnet: string;
  /** The node's address from the value: PublicIP (IPv4 half), PublicIPv6 (IPv6 half). */
  readonly nodeIp: string;
  /** etcd create_revision: lease age; lower is older and wins under the route limit. */
  readonly createRevision: number;
  readonly modRevision: number;
  /** A reservation is a lease key written without an etcd lease (no TTL). */
  readonly reservation: boolean;
}

/** A key under `subnets/`, or one half of it, that could not be used, with why. */
export interface InvalidLease {
  readonly key: string;
  /** As Lease.network. */
  readonly network?: string;
  /** The half that is invalid; absent when the whole key is (it did not parse, or no config). */
  readonly family?: Family;
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
  /** Valid lease halves: a dual-stack lease appears once per family. */
  readonly leases: readonly Lease[];
  readonly invalid: readonly InvalidLease[];
  /**
   * flannel's multi-network mode: each selected network's config, in --networks order. Then `leases`
   * and `invalid` hold every network's (each tagged with it), and `config` is the first usable one
   * (null when none is usable).
   */
  readonly networks?: readonly NetworkView[];
}

/** One network of flannel's multi-network mode. */
export interface NetworkView {
  readonly name: string;
  /** null when `<prefix>/<name>/config` is missing or invalid: that network's leases are all invalid. */
  readonly config: NetworkConfig | null;
  readonly configError?: string;
}
