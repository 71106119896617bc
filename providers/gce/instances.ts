/**
 * Node IP → the instance whose interface in --gce-network has that `networkIP`, from one
 * instances.aggregatedList per pass (cached: listed again after each table listing, on a miss, and
 * not when the caller asks for `refresh: false` and every IP is known). The target is the instance
 * path `projects/{p}/zones/{z}/instances/{name}`; canIpForward false → `disabled`. A stopped
 * (TERMINATED/SUSPENDED) instance still resolves: it keeps its IP and its route works again when it
 * starts, so the route stays rather than flapping.
 */
import { classifyError } from '../../src/errors.js';
import { isIpv4 } from '../../src/net/cidr.js';
import type { NodeResolution } from '../provider.js';
import type { GceApi } from './compute-api.js';
import type { IneligibleWhy } from './eligibility.js';
import { instancePath, resourcePath } from './route-mapping.js';

interface Warner {
  warn(fields: Record<string, unknown>, message: string): void;
}

interface InstanceEntry {
  readonly target: string;
  readonly canIpForward: boolean;
  readonly status: string;
  /** Set when the instance is not a cluster node (eligibility.ts). */
  readonly ineligible: string | undefined;
}

type InstanceLookup =
  | { readonly ok: true; readonly index: ReadonlyMap<string, InstanceEntry>; readonly unreachable: readonly string[] }
  | { readonly ok: false; readonly error: string };

export class InstanceLookups {
  /** The last successful instance listing, and whether a new pass began after it. */
  private cached: Extract<InstanceLookup, { ok: true }> | undefined;
  private stale = true;

  constructor(
    private readonly api: GceApi,
    private readonly project: string,
    /** networkPath of --gce-network: only interfaces in it hold node IPs. */
    private readonly networkId: string,
    private readonly log: Warner,
    /** --node-network-tag / --node-label; undefined: every instance is a node. */
    private readonly ineligible?: IneligibleWhy,
  ) {}

  /** A new pass began: the next resolve lists the instances again (unless told to trust its cache). */
  newPass(): void {
    this.stale = true;
  }

  async resolve(nodeIps: readonly string[], signal: AbortSignal, options?: { readonly refresh?: boolean }): Promise<Map<string, NodeResolution>> {
    const result = new Map<string, NodeResolution>();
    const ips: string[] = [];
    for (const ip of new Set(nodeIps)) {
      if (isIpv4(ip)) ips.push(ip);
      else result.set(ip, { status: 'lookup-failed', error: `not an IPv4 address: ${JSON.stringify(ip)}` });
    }
    if (ips.length === 0) return result;

    // A full pass (refresh, the default) lists the instances once; an event-driven pass
    // (refresh: false) answers known IPs from the last listing. A miss in a cached listing looks again.
    let lookup: InstanceLookup;
    const cached = this.cached;
    const trustCache = cached !== undefined && (options?.refresh === false || !this.stale);
    if (trustCache && !hasMiss(cached.index, ips)) {
      lookup = cached;
    } else {
      lookup = await this.fetchInstances(signal);
      if (lookup.ok) this.stale = false;
    }
    signal.throwIfAborted();
    if (!lookup.ok) {
      for (const ip of ips) result.set(ip, { status: 'lookup-failed', error: lookup.error });
      return result;
    }
    this.cached = lookup;
    for (const ip of ips) {
      const entry = lookup.index.get(ip);
      if (entry?.ineligible !== undefined) {
        result.set(ip, { status: 'not-eligible', target: entry.target, why: entry.ineligible });
      } else if (entry !== undefined) {
        result.set(ip, { status: 'found', target: entry.target, forwarding: entry.canIpForward ? 'enabled' : 'disabled' });
      } else if (lookup.unreachable.length > 0) {
        // The listing missed zones: this node may be in one of them.
        result.set(ip, { status: 'lookup-failed', error: `instances of ${lookup.unreachable.join(', ')} could not be listed` });
      } else {
        result.set(ip, { status: 'not-found' });
      }
    }
    return result;
  }

  private async fetchInstances(signal: AbortSignal): Promise<InstanceLookup> {
    try {
      const index = new Map<string, InstanceEntry>();
      const unreachable: string[] = [];
      for await (const [scope, list] of this.api.aggregatedInstances(this.project, signal)) {
        const warning = list.warning?.code;
        if (warning !== undefined && warning !== null && warning !== 'NO_RESULTS_ON_PAGE' && (list.instances ?? []).length === 0) {
          unreachable.push(scope);
        }
        for (const instance of list.instances ?? []) {
          const target = instancePath(instance.selfLink ?? '', this.project);
          if (target === undefined) continue;
          for (const nic of instance.networkInterfaces ?? []) {
            if (!nic.network || !nic.networkIP || resourcePath(nic.network, this.project) !== this.networkId) continue;
            const existing = index.get(nic.networkIP);
            if (existing !== undefined && existing.target !== target) {
              this.log.warn({ ip: nic.networkIP, instances: [existing.target, target] }, 'two instances hold one IP in the network; using the first');
              continue;
            }
            index.set(nic.networkIP, {
              target,
              canIpForward: instance.canIpForward === true,
              status: String(instance.status ?? ''),
              ineligible: this.ineligible?.(instance),
            });
          }
        }
      }
      if (unreachable.length > 0) {
        this.log.warn({ scopes: unreachable }, 'instances.aggregatedList could not reach some zones: nodes not found there stay unresolved');
      }
      return { ok: true, index, unreachable };
    } catch (err) {
      const classified = classifyError(err);
      if (!signal.aborted) {
        this.log.warn({ code: classified.code, class: classified.class }, 'instances.aggregatedList failed: node IPs stay unresolved this pass');
      }
      return { ok: false, error: `${classified.code}: ${classified.message}` };
    }
  }
}

function hasMiss(index: ReadonlyMap<string, unknown>, ips: readonly string[]): boolean {
  return ips.some((ip) => !index.has(ip));
}
