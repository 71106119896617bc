/**
 * The lease view's state, kept current one key at a time.
 *
 * A mass join (1,000 nodes at once) is 1,000 watch events; rebuilding the whole snapshot on each
 * costs O(events × leases). Here each key is parsed once per change of that key (and all of them
 * once per config change), and the snapshot is assembled only when asked for after a change.
 * The result is exactly `buildLeaseSnapshot` over the same keys, which the tests check.
 *
 * Bad leases are reported through `onInvalid` once per change of the key or of its reason, as the
 * events arrive, not when a snapshot is read.
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
import type { InvalidLease, Lease, LeaseSnapshot, NetworkConfig } from './types.js';

export type ParsedConfig = ReturnType<typeof configFromText>;

export class LeaseIndex {
  /** Keys under `subnets/` parsed since creation. */
  keysParsed = 0;
  revision = 0;

  private readonly raws = new Map<string, RawKeyValue>();
  private readonly candidates = new Map<string, LeaseCandidate>();
  /** subnet → keys of the candidates that name it (more than one: duplicates). */
  private readonly bySubnet = new Map<string, Set<string>>();
  /** Every invalid key: bad on its own, or a duplicate. */
  private readonly invalid = new Map<string, InvalidLease>();
  private readonly reported = new Map<string, string>();
  private config: NetworkConfig | null = null;
  private configError: string | undefined;
  private cached: LeaseSnapshot | null = null;

  constructor(
    private readonly prefix: string,
    private readonly onInvalid: (bad: InvalidLease) => void = () => {},
  ) {}

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
    for (const keys of this.bySubnet.values()) if (keys.size > 1) this.resolve(keys);
    this.cached = null;
    if (this.config === null) {
      // One line for the config, not one per lease: they are all unvalidated for the same reason.
      this.reported.clear();
      return;
    }
    for (const key of this.invalid.keys()) this.report(key);
    for (const key of [...this.reported.keys()]) if (!this.invalid.has(key)) this.reported.delete(key);
  }

  /** Validates every key again against a changed config. */
  setConfig(parsedConfig: ParsedConfig): void {
    this.reset(this.raws.values(), parsedConfig);
  }

  put(kv: RawKeyValue): void {
    const subnets = new Set<string>();
    const old = this.remove(kv.key);
    if (old !== undefined) subnets.add(old);
    const added = this.add(kv);
    if (added !== undefined) subnets.add(added);
    this.settle(kv.key, subnets);
  }

  delete(key: string): void {
    const old = this.remove(key);
    this.settle(key, old === undefined ? [] : [old]);
  }

  /** The snapshot at `revision`, assembled once per change. */
  snapshot(): LeaseSnapshot {
    if (this.cached === null) {
      const winners: LeaseCandidate[] = [];
      for (const keys of this.bySubnet.values()) {
        const winner = this.winner(keys);
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

  /** Parses one key in; returns its subnet when it is a candidate. */
  private add(kv: RawKeyValue): string | undefined {
    this.keysParsed++;
    const parsed = parseLeaseKv(kv, this.prefix, this.config, this.configError);
    if ('skip' in parsed) return undefined;
    this.raws.set(kv.key, kv);
    if ('invalid' in parsed) {
      this.invalid.set(kv.key, parsed.invalid);
      return undefined;
    }
    const subnet = parsed.candidate.lease.subnet;
    this.candidates.set(kv.key, parsed.candidate);
    let keys = this.bySubnet.get(subnet);
    if (keys === undefined) this.bySubnet.set(subnet, (keys = new Set()));
    keys.add(kv.key);
    return subnet;
  }

  /** Takes one key out; returns the subnet it was a candidate for. */
  private remove(key: string): string | undefined {
    this.raws.delete(key);
    this.invalid.delete(key);
    const candidate = this.candidates.get(key);
    if (candidate === undefined) return undefined;
    this.candidates.delete(key);
    const subnet = candidate.lease.subnet;
    const keys = this.bySubnet.get(subnet);
    keys?.delete(key);
    if (keys?.size === 0) this.bySubnet.delete(subnet);
    return subnet;
  }

  private settle(key: string, subnets: Iterable<string>): void {
    this.cached = null;
    const touched = new Set<string>([key]);
    for (const subnet of subnets) {
      const keys = this.bySubnet.get(subnet);
      if (keys === undefined) continue;
      this.resolve(keys);
      for (const k of keys) touched.add(k);
    }
    if (this.config === null) return;
    for (const k of touched) this.report(k);
  }

  private winner(keys: Set<string>): LeaseCandidate | undefined {
    let best: LeaseCandidate | undefined;
    for (const key of keys) {
      const candidate = this.candidates.get(key);
      if (candidate !== undefined && (best === undefined || compareCandidates(candidate, best) < 0)) best = candidate;
    }
    return best;
  }

  /** Marks every candidate for one subnet but the oldest as a duplicate. */
  private resolve(keys: Set<string>): void {
    const holder: Lease | undefined = this.winner(keys)?.lease;
    for (const key of keys) {
      const candidate = this.candidates.get(key);
      if (candidate === undefined || holder === undefined) continue;
      if (candidate.lease.key === holder.key) this.invalid.delete(key);
      else this.invalid.set(key, duplicateLease(candidate.lease, holder));
    }
  }

  private report(key: string): void {
    const bad = this.invalid.get(key);
    if (bad === undefined) {
      this.reported.delete(key);
      return;
    }
    const signature = `${this.raws.get(key)?.modRevision ?? ''}|${bad.reason}`;
    if (this.reported.get(key) === signature) return;
    this.reported.set(key, signature);
    this.onInvalid(bad);
  }
}
