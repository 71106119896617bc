/**
 * The lease view's state, kept current one key at a time.
 *
 * A mass join (1,000 nodes at once) is 1,000 watch events; rebuilding the whole snapshot on each
 * costs O(events × leases). Here each key is parsed once per change of that key (and all of them
 * once per config change), and the snapshot is assembled only when asked for after a change.
 * The result is exactly `buildLeaseSnapshot` over the same keys, which the tests check.
 *
 * Bad leases are reported through `onInvalid` once per change of the key or of its reason, as the
 * events arrive, not when a snapshot is read. A key has up to two halves (IPv4, IPv6), each valid,
 * invalid or a duplicate on its own; invalid entries are kept per key and half.
 */
import {
  compareCandidates,
  compareInvalid,
  configFromText,
  duplicateLease,
  parseLeaseKv,
  type LeaseCandidate,
  type RawKeyValue,
} from './flannel.js';
import type { Family, InvalidLease, Lease, LeaseSnapshot, NetworkConfig } from './types.js';

/** Invalid entries are kept per key and half: a whole-key entry has no family. */
function entryId(key: string, family: Family | undefined): string {
  return `${key}\n${family ?? ''}`;
}

const ENTRY_SUFFIXES = ['', 'ipv4', 'ipv6'] as const;

export type ParsedConfig = ReturnType<typeof configFromText>;

export class LeaseIndex {
  /** Keys under `subnets/` parsed since creation. */
  keysParsed = 0;
  revision = 0;

  private readonly raws = new Map<string, RawKeyValue>();
  /** key → its valid halves. */
  private readonly candidates = new Map<string, LeaseCandidate[]>();
  /** subnet → keys of the candidates that name it (more than one: duplicates). */
  private readonly bySubnet = new Map<string, Set<string>>();
  /** Every invalid entry (entryId): bad on its own, or a duplicate. */
  private readonly invalid = new Map<string, InvalidLease>();
  private readonly reported = new Map<string, string>();
  private config: NetworkConfig | null = null;
  private configError: string | undefined;
  private cached: LeaseSnapshot | null = null;

  /** `network`: the multi-network mode's name for `prefix` (`<etcd prefix>/<name>`), tagged on every entry. */
  constructor(
    private readonly prefix: string,
    private readonly onInvalid: (bad: InvalidLease) => void = () => {},
    private readonly network?: string,
  ) {}

  private tag<T extends Lease | InvalidLease>(entry: T): T {
    return this.network === undefined ? entry : { ...entry, network: this.network };
  }

  /** Lease-like keys, valid or not. */
  get size(): number {
    return this.raws.size;
  }

  get validCount(): number {
    return this.bySubnet.size;
  }

  get invalidCount(): number {
    return this.invalid.size;
  }

  /** Replaces everything: a new listing, or a new config (every key is validated again). */
  reset(kvs: Iterable<RawKeyValue>, parsedConfig: ParsedConfig): void {
    this.config = 'config' in parsedConfig ? parsedConfig.config : null;
    this.configError = 'error' in parsedConfig ? parsedConfig.error : undefined;
    const entries = [...kvs]; // may be this.raws itself
    this.raws.clear();
    this.candidates.clear();
    this.bySubnet.clear();
    this.invalid.clear();
    for (const kv of entries) this.add(kv);
    for (const [subnet, keys] of this.bySubnet) if (keys.size > 1) this.resolve(subnet, keys);
    this.cached = null;
    if (this.config === null) {
      // One line for the config, not one per lease: they are all unvalidated for the same reason.
      this.reported.clear();
      return;
    }
    for (const id of this.invalid.keys()) this.report(id);
    for (const id of [...this.reported.keys()]) if (!this.invalid.has(id)) this.reported.delete(id);
  }

  /** Validates every key again against a changed config. */
  setConfig(parsedConfig: ParsedConfig): void {
    this.reset(this.raws.values(), parsedConfig);
  }

  put(kv: RawKeyValue): void {
    const subnets = new Set<string>(this.remove(kv.key));
    for (const subnet of this.add(kv)) subnets.add(subnet);
    this.settle(kv.key, subnets);
  }

  delete(key: string): void {
    this.settle(key, this.remove(key));
  }

  /** The snapshot at `revision`, assembled once per change. */
  snapshot(): LeaseSnapshot {
    if (this.cached === null) {
      const winners: LeaseCandidate[] = [];
      for (const [subnet, keys] of this.bySubnet) {
        const winner = this.winner(subnet, keys);
        if (winner !== undefined) winners.push(winner);
      }
      winners.sort(compareCandidates);
      this.cached = {
        revision: this.revision,
        config: this.config,
        ...(this.configError === undefined ? {} : { configError: this.configError }),
        leases: winners.map(c => c.lease),
        invalid: [...this.invalid.values()].sort(compareInvalid),
      };
    } else if (this.cached.revision !== this.revision) {
      this.cached = { ...this.cached, revision: this.revision };
    }
    return this.cached;
  }

  // -------------------------------------------------------------------------------------------

  /** Parses one key in; returns the subnets of its valid halves. */
  private add(kv: RawKeyValue): string[] {
    this.keysParsed++;
    const parsed = parseLeaseKv(kv, this.prefix, this.config, this.configError);
    if ('skip' in parsed) return [];
    this.raws.set(kv.key, kv);
    for (const bad of parsed.invalid) this.invalid.set(entryId(kv.key, bad.family), this.tag(bad));
    if (parsed.candidates.length === 0) return [];
    this.candidates.set(kv.key, parsed.candidates.map((c) => (this.network === undefined ? c : { ...c, lease: this.tag(c.lease) })));
    const subnets: string[] = [];
    for (const candidate of parsed.candidates) {
      const subnet = candidate.lease.subnet;
      let keys = this.bySubnet.get(subnet);
      if (keys === undefined) this.bySubnet.set(subnet, (keys = new Set()));
      keys.add(kv.key);
      subnets.push(subnet);
    }
    return subnets;
  }

  /** Takes one key out; returns the subnets its halves were candidates for. */
  private remove(key: string): string[] {
    this.raws.delete(key);
    for (const suffix of ENTRY_SUFFIXES) this.invalid.delete(`${key}\n${suffix}`);
    const candidates = this.candidates.get(key);
    if (candidates === undefined) return [];
    this.candidates.delete(key);
    const subnets: string[] = [];
    for (const candidate of candidates) {
      const subnet = candidate.lease.subnet;
      const keys = this.bySubnet.get(subnet);
      keys?.delete(key);
      if (keys?.size === 0) this.bySubnet.delete(subnet);
      subnets.push(subnet);
    }
    return subnets;
  }

  private settle(key: string, subnets: Iterable<string>): void {
    this.cached = null;
    const touched = new Set<string>([key]);
    for (const subnet of subnets) {
      const keys = this.bySubnet.get(subnet);
      if (keys === undefined) continue;
      this.resolve(subnet, keys);
      for (const k of keys) touched.add(k);
    }
    if (this.config === null) return;
    for (const k of touched) for (const suffix of ENTRY_SUFFIXES) this.report(`${k}\n${suffix}`);
  }

  /** The candidate half of `key` for `subnet`. */
  private candidate(key: string, subnet: string): LeaseCandidate | undefined {
    return this.candidates.get(key)?.find((c) => c.lease.subnet === subnet);
  }

  private winner(subnet: string, keys: Set<string>): LeaseCandidate | undefined {
    let best: LeaseCandidate | undefined;
    for (const key of keys) {
      const candidate = this.candidate(key, subnet);
      if (candidate !== undefined && (best === undefined || compareCandidates(candidate, best) < 0)) best = candidate;
    }
    return best;
  }

  /** Marks every candidate half for one subnet but the oldest as a duplicate. */
  private resolve(subnet: string, keys: Set<string>): void {
    const holder: Lease | undefined = this.winner(subnet, keys)?.lease;
    for (const key of keys) {
      const candidate = this.candidate(key, subnet);
      if (candidate === undefined || holder === undefined) continue;
      const duplicate = this.tag(duplicateLease(candidate.lease, holder));
      const id = entryId(key, duplicate.family);
      if (candidate.lease.key === holder.key) this.invalid.delete(id);
      else this.invalid.set(id, duplicate);
    }
  }

  private report(id: string): void {
    const bad = this.invalid.get(id);
    if (bad === undefined) {
      this.reported.delete(id);
      return;
    }
    const signature = `${this.raws.get(bad.key)?.modRevision ?? ''}|${bad.reason}`;
    if (this.reported.get(id) === signature) return;
    this.reported.set(id, signature);
    this.onInvalid(bad);
  }
}
