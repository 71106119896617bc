/**
 * Node IP → the instance whose interface in --gce-network has that `networkIP`, cached and
 * re-checked in bounded slices (the aws-vpc node cache is the model).
 *
 * - Unknown IPs (and not-found answers in an event-driven pass or older than notFoundLifetimeMs,
 *   and IPs whose instance a listed route shows as gone) are looked up at once with
 *   instances.aggregatedList filtered on `networkInterfaces.networkIP` (a regular expression of
 *   up to 50 IPs: "The literal value is interpreted as a regular expression using Google RE2
 *   library syntax", and nested fields may be filtered:
 *   https://cloud.google.com/compute/docs/reference/rest/v1/instances/aggregatedList), or with
 *   the whole listing when that takes fewer calls.
 * - A resync also re-checks known IPs with one call whatever their number: the next page (500)
 *   of the whole listing, or the next 50 known IPs when those go round sooner. Every node is
 *   re-checked within min(⌈instances / 500⌉, ⌈nodes / 50⌉) resyncs.
 *
 * IPv6 node addresses (a dual-stack interface's internal `ipv6Address` or external
 * `ipv6AccessConfigs[].externalIpv6`) are found in the whole listing and re-checked page by page: one
 * filter cannot name both fields without OR. An IPv4 answer says `ipv6Capable: false` when the
 * interface has no IPv6 address (stackType IPV4_ONLY), so the planner can tell why an IPv6 half is
 * not routed.
 *
 * The target is the instance path `projects/{p}/zones/{z}/instances/{name}`; canIpForward false →
 * `disabled`. A stopped instance still resolves: it keeps its IP and its route works again when it
 * starts, so the route stays rather than flapping.
 */
import { classifyError } from '../../src/errors.js';
import { isIpv4 } from '../../src/net/cidr.js';
import { canonicalIpv6, isIpv6 } from '../../src/net/cidr6.js';
import type { NodeResolution, ResolveOptions } from '../provider.js';
import type { GceApi, GceInstancesScopedList } from './compute-api.js';
import type { IneligibleWhy } from './eligibility.js';
import { instancePath, resourcePath } from './route-mapping.js';
import { NodeAnswers } from '../node-answers.js';

/** IPs per filtered lookup: keeps the request line short (about 1.5 kB). */
export const IPS_PER_FILTER = 50;
/** instances.aggregatedList's largest page. */
export const INSTANCE_PAGE_SIZE = 500;

interface Warner {
  warn(fields: Record<string, unknown>, message: string): void;
}

type Scopes = Iterable<readonly [string, GceInstancesScopedList]>;
type Definitive = Extract<NodeResolution, { status: 'found' | 'not-found' | 'not-eligible' }>;

interface Indexed {
  readonly found: Map<string, Definitive>;
  readonly unreachable: string[];
  instances: number;
}

/** Where the re-check of known IPs stands. */
interface RecheckCycle {
  token: string | undefined;
  readonly seen: Set<string>;
  readonly lookedUp: Set<string>;
  instances: number;
  partial: boolean;
  ipOffset: number;
}

const newCycle = (): RecheckCycle => ({ token: undefined, seen: new Set(), lookedUp: new Set(), instances: 0, partial: false, ipOffset: 0 });

export class InstanceLookups {
  private readonly nodes = new NodeAnswers<Definitive>(() => this.now());
  /** Instances at the last complete listing (sizes the next lookups). */
  private instanceCount: number | undefined;
  private recheck = newCycle();
  /** Targets of managed routes GCE shows as gone (NEXT_HOP_INSTANCE_NOT_FOUND), from the last listing. */
  private goneTargets: ReadonlySet<string> = new Set();

  constructor(
    private readonly api: GceApi,
    private readonly project: string,
    /** networkPath of --gce-network: only interfaces in it hold node IPs. */
    private readonly networkId: string,
    private readonly log: Warner,
    /** --node-network-tag / --node-label; undefined: every instance is a node. */
    private readonly ineligible?: IneligibleWhy,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** What the last route listing says: these targets no longer exist. */
  sawGoneTargets(targets: ReadonlySet<string>): void {
    this.goneTargets = targets;
  }

  async resolve(nodeIps: readonly string[], signal: AbortSignal, options?: ResolveOptions): Promise<Map<string, NodeResolution>> {
    const result = new Map<string, NodeResolution>();
    const ips: string[] = [];
    for (const ip of new Set(nodeIps)) {
      if (isIpv4(ip) || isIpv6(ip)) ips.push(ip);
      else result.set(ip, { status: 'lookup-failed', error: `not an IP address: ${JSON.stringify(ip)}` });
    }
    const eventDriven = options?.refresh === false;
    const now = this.now();
    const unknown = ips.filter((ip) => this.needsLookup(ip, eventDriven, now));
    let listedAll = false;
    if (unknown.length > 0) {
      if (this.listsAll(unknown.length) || unknown.some(isIpv6)) {
        listedAll = await this.lookUpAll(unknown, result, signal);
      } else {
        await this.lookUpByIp(unknown, result, signal, (ip) => this.recheck.lookedUp.add(ip));
      }
    }
    if (!eventDriven && !listedAll) {
      const known = ips.filter((ip) => !result.has(ip) && this.nodes.has(ip));
      if (known.length > 0) await this.recheckNext(known, result, signal);
    }
    signal.throwIfAborted();
    const ordered = new Map<string, NodeResolution>();
    for (const ip of new Set(nodeIps)) {
      ordered.set(ip, result.get(ip) ?? this.nodes.get(ip) ?? { status: 'lookup-failed', error: 'not looked up' });
    }
    return ordered;
  }

  private needsLookup(ip: string, eventDriven: boolean, now: number): boolean {
    const cached = this.nodes.get(ip);
    if (cached === undefined) return true;
    if (cached.status !== 'not-found') return this.goneTargets.has(cached.target);
    if (eventDriven) return true; // flannel gives a returning node its old lease: the event may be it
    return this.nodes.notFoundExpired(ip, now);
  }

  /** Whether the whole listing takes fewer calls than filters for `ipCount` IPs (before one: whenever the IPs need two filters). */
  private listsAll(ipCount: number): boolean {
    const filterCalls = Math.ceil(ipCount / IPS_PER_FILTER);
    const listCalls = this.instanceCount !== undefined ? Math.max(1, Math.ceil(this.instanceCount / INSTANCE_PAGE_SIZE)) : filterCalls > 1 ? 1 : Infinity;
    return listCalls < filterCalls;
  }

  /** The whole listing: it replaces the cache and restarts the re-check. False when it failed. */
  private async lookUpAll(ips: readonly string[], into: Map<string, NodeResolution>, signal: AbortSignal): Promise<boolean> {
    let indexed: Indexed;
    try {
      indexed = await this.listPages(undefined, signal);
    } catch (err) {
      this.failed(err, ips, into, signal);
      return false;
    }
    this.instanceCount = indexed.instances;
    this.nodes.replaceAll(indexed.found);
    this.recheck = newCycle();
    for (const ip of ips) this.answer(ip, indexed, into);
    return true;
  }

  private async lookUpByIp(ips: readonly string[], into: Map<string, NodeResolution>, signal: AbortSignal, each: (ip: string) => void): Promise<void> {
    for (let start = 0; start < ips.length; start += IPS_PER_FILTER) {
      const batch = ips.slice(start, start + IPS_PER_FILTER);
      try {
        const indexed = await this.listPages(ipFilter(batch), signal);
        for (const ip of batch) {
          this.answer(ip, indexed, into);
          each(ip);
        }
      } catch (err) {
        this.failed(err, batch, into, signal);
      }
    }
  }

  /** Records the answer for `ip`: definitive ones are cached; a miss where zones were unreachable is not. */
  private answer(ip: string, indexed: Indexed, into: Map<string, NodeResolution>): void {
    const found = indexed.found.get(ip);
    if (found === undefined && indexed.unreachable.length > 0) {
      into.set(ip, { status: 'lookup-failed', error: `instances of ${indexed.unreachable.join(', ')} could not be listed` });
      return;
    }
    const answer: Definitive = found ?? { status: 'not-found' };
    this.nodes.remember(ip, answer);
    into.set(ip, answer);
  }

  /** One call re-checking known IPs (see the file comment). A failure is logged; the cached answers stand. */
  private async recheckNext(known: readonly string[], into: Map<string, NodeResolution>, signal: AbortSignal): Promise<void> {
    const cycle = this.recheck;
    const byPage = this.listsAll(known.length) || known.some(isIpv6);
    try {
      if (byPage) {
        const page = await this.onePage(cycle.token, signal);
        const indexed = this.index(page.scopes);
        for (const [ip, answer] of indexed.found) {
          this.nodes.remember(ip, answer);
          cycle.seen.add(ip);
        }
        for (const ip of known) {
          const answer = indexed.found.get(ip);
          if (answer !== undefined) into.set(ip, answer);
        }
        cycle.instances += indexed.instances;
        cycle.partial ||= indexed.unreachable.length > 0;
        cycle.token = page.nextPageToken;
        if (cycle.token === undefined) {
          const complete = !cycle.partial;
          this.endCycle(cycle);
          // A whole listing that went round without a known IP is a definitive answer for it.
          if (complete) {
            for (const ip of known) {
              if (into.has(ip) || cycle.seen.has(ip) || cycle.lookedUp.has(ip)) continue;
              this.nodes.remember(ip, { status: 'not-found' });
              into.set(ip, { status: 'not-found' });
            }
          }
        }
      } else {
        // The filter names networkIP: IPv6 addresses are re-checked by the listing only.
        const sorted = known.filter(isIpv4).sort();
        const start = cycle.ipOffset < sorted.length ? cycle.ipOffset : 0;
        const batch = sorted.slice(start, start + IPS_PER_FILTER);
        cycle.ipOffset = start + batch.length;
        const indexed = await this.listPages(ipFilter(batch), signal);
        for (const ip of batch) if (indexed.found.has(ip) || indexed.unreachable.length === 0) this.answer(ip, indexed, into);
      }
    } catch (err) {
      if (signal.aborted || classifyError(err).class === 'aborted') throw err;
      const classified = classifyError(err);
      // A page token GCE no longer accepts: start the listing over next time.
      if (classified.code === 'invalid') this.recheck = newCycle();
      this.log.warn({ code: classified.code, known: known.length }, 'instances.aggregatedList failed: the cached node answers stand until the next resync');
    }
  }

  /** The listing went round: IPs it did not see (and nobody looked up since) leave the cache. */
  private endCycle(cycle: RecheckCycle): void {
    if (!cycle.partial) {
      for (const ip of [...this.nodes.keys()]) if (!cycle.seen.has(ip) && !cycle.lookedUp.has(ip)) this.nodes.forget(ip);
      this.instanceCount = cycle.instances;
    }
    this.recheck = newCycle();
  }

  private failed(err: unknown, ips: readonly string[], into: Map<string, NodeResolution>, signal: AbortSignal): void {
    if (signal.aborted) throw err;
    const classified = classifyError(err);
    if (classified.class === 'aborted') throw err;
    this.log.warn({ code: classified.code, class: classified.class, ips: ips.length }, 'instances.aggregatedList failed: these node IPs stay unresolved this pass');
    for (const ip of ips) into.set(ip, { status: 'lookup-failed', error: `${classified.code}: ${classified.message}` });
  }

  private onePage(pageToken: string | undefined, signal: AbortSignal) {
    return this.api.aggregatedInstancesPage({ project: this.project, ...(pageToken !== undefined ? { pageToken } : {}) }, signal);
  }

  /** Every page of one (optionally filtered) listing, indexed page by page. */
  private async listPages(filter: string | undefined, signal: AbortSignal): Promise<Indexed> {
    const total: Indexed = { found: new Map(), unreachable: [], instances: 0 };
    const seen = new Set<string>();
    let token: string | undefined;
    do {
      const page = await this.api.aggregatedInstancesPage(
        { project: this.project, ...(filter !== undefined ? { filter } : {}), ...(token !== undefined ? { pageToken: token } : {}) },
        signal,
      );
      this.index(page.scopes, total);
      token = page.nextPageToken;
      if (token !== undefined && seen.has(token)) throw new Error('instances.aggregatedList returned the same nextPageToken twice');
      if (token !== undefined) seen.add(token);
    } while (token !== undefined);
    return this.warnUnreachable(total);
  }

  private warnUnreachable(indexed: Indexed): Indexed {
    if (indexed.unreachable.length > 0) {
      this.log.warn({ scopes: indexed.unreachable }, 'instances.aggregatedList could not reach some zones: nodes not found there stay unresolved');
    }
    return indexed;
  }

  /** Adds each interface in the network of the listed instances (the first instance holding an IP wins). */
  private index(scopes: Scopes, into: Indexed = { found: new Map(), unreachable: [], instances: 0 }): Indexed {
    for (const [scope, list] of scopes) {
      const warning = list.warning?.code;
      const instances = list.instances ?? [];
      if (warning !== undefined && warning !== null && warning !== 'NO_RESULTS_ON_PAGE' && instances.length === 0) into.unreachable.push(scope);
      into.instances += instances.length;
      for (const instance of instances) {
        const target = instancePath(instance.selfLink ?? '', this.project);
        if (target === undefined) continue;
        for (const nic of instance.networkInterfaces ?? []) {
          if (!nic.network || !nic.networkIP || resourcePath(nic.network, this.project) !== this.networkId) continue;
          const existing = into.found.get(nic.networkIP);
          if (existing !== undefined && existing.status !== 'not-found' && existing.target !== target) {
            this.log.warn({ ip: nic.networkIP, instances: [existing.target, target] }, 'two instances hold one IP in the network; using the first');
            continue;
          }
          const why = this.ineligible?.(instance);
          const v6 = ipv6AddressesOf(nic);
          const forwarding = instance.canIpForward === true ? 'enabled' : 'disabled';
          into.found.set(
            nic.networkIP,
            why !== undefined ? { status: 'not-eligible', target, why } : { status: 'found', target, forwarding, ...(v6.length === 0 ? { ipv6Capable: false } : {}) },
          );
          for (const ip of v6) {
            if (!into.found.has(ip)) into.found.set(ip, why !== undefined ? { status: 'not-eligible', target, why } : { status: 'found', target, forwarding });
          }
        }
      }
    }
    return into;
  }
}

/**
 * `networkInterfaces.networkIP eq "<RE2 alternation>"`: the instances holding any of `ips`. A dot
 * is written `[.]`, not `\.`: no backslash whose quoting could differ.
 */
export function ipFilter(ips: readonly string[]): string {
  return `networkInterfaces.networkIP eq "${ips.map((ip) => ip.replaceAll('.', '[.]')).join('|')}"`;
}

/** A dual-stack interface's IPv6 addresses (canonical): internal `ipv6Address`, external `ipv6AccessConfigs[].externalIpv6`. */
function ipv6AddressesOf(nic: { readonly ipv6Address?: string | null; readonly ipv6AccessConfigs?: ReadonlyArray<{ readonly externalIpv6?: string | null }> | null }): string[] {
  const found = [nic.ipv6Address, ...(nic.ipv6AccessConfigs ?? []).map((c) => c.externalIpv6)];
  return found.filter((ip): ip is string => typeof ip === 'string' && isIpv6(ip)).map(canonicalIpv6);
}
