/**
 * The lease view's keys by flannel network. With one network (the default) its keys are
 * `<prefix>/config` and `<prefix>/subnets/…`; in flannel's multi-network mode each selected network
 * has `<prefix>/<name>/config` and `<prefix>/<name>/subnets/…` (flannel's etcd registry joins
 * prefix, network and `config` or `subnets`). One listing and one watch of `<prefix>/` serve them
 * all: each key is routed to its network by its path, and each network keeps its own index,
 * validated against its own config.
 */
import type { IWatchResponse } from 'etcd3';

import { toRaw, type Listing } from './etcd-reads.js';
import { configFromText, configKey, subnetsPrefix, type RawKeyValue } from './flannel.js';
import { LeaseIndex, type ParsedConfig } from './lease-index.js';
import type { LeaseSourceChange, LeaseSourceLogger } from './lease-source-types.js';
import type { InvalidLease, Lease, LeaseSnapshot, NetworkView } from './types.js';

interface Slot {
  /** undefined: the single network at the prefix itself. */
  readonly name: string | undefined;
  readonly configKey: string;
  readonly subnets: string;
  readonly index: LeaseIndex;
  config: RawKeyValue | null;
  loggedConfig: string | null;
}

export class NetworkKeys {
  private readonly slots: Slot[];
  private readonly byName = new Map<string, Slot>();
  private merged: { parts: readonly LeaseSnapshot[]; snapshot: LeaseSnapshot } | null = null;

  constructor(
    private readonly prefix: string,
    networks: readonly string[] | undefined,
    private readonly logger: LeaseSourceLogger,
  ) {
    const names: Array<string | undefined> = networks === undefined || networks.length === 0 ? [undefined] : [...networks];
    this.slots = names.map((name) => {
      const base = name === undefined ? prefix : `${prefix}/${name}`;
      const index = new LeaseIndex(
        base,
        (bad) => {
          const fields = { ...(name === undefined ? {} : { network: name }), key: bad.key, ...(bad.subnet === undefined ? {} : { subnet: bad.subnet }) };
          this.logger.warn({ ...fields, reason: bad.reason }, 'skipping invalid flannel lease');
        },
        name,
      );
      const slot: Slot = { name, configKey: configKey(base), subnets: subnetsPrefix(base), index, config: null, loggedConfig: null };
      if (name !== undefined) this.byName.set(name, slot);
      return slot;
    });
  }

  /** The selected network names; empty with a single network. */
  get names(): string[] {
    return [...this.byName.keys()];
  }

  get keysParsed(): number {
    return this.slots.reduce((sum, slot) => sum + slot.index.keysParsed, 0);
  }

  get validCount(): number {
    return this.slots.reduce((sum, slot) => sum + slot.index.validCount, 0);
  }

  get invalidCount(): number {
    return this.slots.reduce((sum, slot) => sum + slot.index.invalidCount, 0);
  }

  /** Replaces every network's state with a listing's. */
  install(listing: Listing, revision: number): void {
    for (const slot of this.slots) {
      slot.config = slot.name === undefined ? listing.config : (listing.networkConfigs?.get(slot.name) ?? null);
      slot.index.revision = revision;
      const own = [...listing.subnets.values()].filter((kv) => kv.key.startsWith(slot.subnets));
      slot.index.reset(own, this.parseConfig(slot));
    }
  }

  /** Applies one watch response; returns the changes to announce. */
  apply(response: IWatchResponse, revision: number): LeaseSourceChange[] {
    const changes: LeaseSourceChange[] = [];
    // A new config first (the last one in the response wins), so the leases are validated against it.
    for (const slot of this.slots) {
      const configEvent = response.events.findLast((event) => event.kv.key.toString('utf8') === slot.configKey);
      if (configEvent === undefined) continue;
      slot.config = configEvent.type === 'Delete' ? null : toRaw(configEvent.kv);
      slot.index.setConfig(this.parseConfig(slot));
    }
    for (const event of response.events) {
      const raw = toRaw(event.kv);
      const slot = this.slotOf(raw.key);
      if (slot === undefined) continue;
      const type = event.type === 'Delete' ? 'delete' : 'put';
      const network = slot.name === undefined ? {} : { network: slot.name };
      if (raw.key === slot.configKey) {
        changes.push({ type, kind: 'config', key: raw.key, revision: raw.modRevision as number, ...network });
      } else if (raw.key.startsWith(slot.subnets)) {
        if (type === 'put') slot.index.put(raw);
        else slot.index.delete(raw.key);
        changes.push({ type, kind: 'lease', key: raw.key, revision: raw.modRevision as number, ...network });
      }
    }
    this.setRevision(revision);
    return changes;
  }

  setRevision(revision: number): void {
    for (const slot of this.slots) slot.index.revision = revision;
  }

  snapshot(): LeaseSnapshot {
    const parts = this.slots.map((slot) => slot.index.snapshot());
    const [only] = parts;
    if (this.byName.size === 0 && only !== undefined) return only;
    if (this.merged !== null && this.merged.parts.every((part, i) => part === parts[i])) return this.merged.snapshot;
    const networks: NetworkView[] = this.slots.map((slot, i) => {
      const part = parts[i] as LeaseSnapshot;
      return { name: slot.name as string, config: part.config, ...(part.configError === undefined ? {} : { configError: part.configError }) };
    });
    const usable = networks.find((n) => n.config !== null);
    const leases: Lease[] = parts.flatMap((part) => part.leases);
    leases.sort((a, b) => a.createRevision - b.createRevision || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    const invalid: InvalidLease[] = parts.flatMap((part) => part.invalid);
    const snapshot: LeaseSnapshot = {
      revision: only?.revision ?? 0,
      config: usable?.config ?? null,
      ...(usable === undefined ? { configError: networks.map((n) => `${n.name}: ${n.configError ?? 'missing'}`).join('; ') } : {}),
      leases,
      invalid,
      networks,
    };
    this.merged = { parts, snapshot };
    return snapshot;
  }

  private slotOf(key: string): Slot | undefined {
    if (this.byName.size === 0) return this.slots[0];
    if (!key.startsWith(`${this.prefix}/`)) return undefined;
    const rest = key.slice(this.prefix.length + 1);
    const cut = rest.indexOf('/');
    return cut < 0 ? undefined : this.byName.get(rest.slice(0, cut));
  }

  /** Parses a network's config and logs it when it changed. */
  private parseConfig(slot: Slot): ParsedConfig {
    const base = slot.configKey.slice(0, -'/config'.length);
    const parsed = configFromText(slot.config?.value ?? null, base);
    const signature = `${slot.config?.modRevision ?? 'none'}|${'error' in parsed ? parsed.error : JSON.stringify(parsed.config)}`;
    if (signature === slot.loggedConfig) return parsed;
    slot.loggedConfig = signature;
    const fields = { ...(slot.name === undefined ? {} : { network: slot.name }), key: slot.configKey };
    if ('error' in parsed) {
      this.logger.error(
        { ...fields, err: parsed.error, leaseKeys: slot.index.size },
        slot.name === undefined
          ? 'flannel network config is unusable: no lease can be validated or routed'
          : "flannel network config is unusable: none of this network's leases can be validated or routed, and its routes are left alone",
      );
      return parsed;
    }
    this.logger.info({ ...fields, ...parsed.config }, 'flannel network config');
    for (const warning of parsed.warnings) this.logger.warn(fields, warning);
    return parsed;
  }
}
