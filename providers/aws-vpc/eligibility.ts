/**
 * Which ENIs may be route targets (--node-tag, --node-subnet-id): those of cluster nodes, not any
 * interface that holds a lease's IP in the VPC. An etcd writer chooses the IP; this bounds where
 * its traffic can go.
 *
 * The cheapest documented reads: DescribeNetworkInterfaces (which the node cache makes anyway)
 * returns each ENI's own TagSet, SubnetId and attachment InstanceId, so an ENI that carries a node
 * tag, or fails the subnet filter, costs nothing more. Only for an ENI without the tag are its
 * instance's tags read, with DescribeTags (tags only, not whole instance descriptions as
 * DescribeInstances returns): `resource-id` = up to 200 − (node tag keys) instance ids and `key` =
 * the node tag keys per call, or, when that takes more calls, every instance carrying a node tag
 * in pages of 1,000. Instance answers are cached; every pass that re-checks the node cache
 * (`refresh`, a resync) re-reads them, so a removed tag is seen at the next resync.
 * https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DescribeTags.html
 */
import type { DescribeTagsCommandInput, NetworkInterface } from '@aws-sdk/client-ec2';
import { classifyError } from '../../src/errors.js';
import { paced, type Pacer } from '../../src/pacing/pacer.js';
import type { NodeResolution } from '../provider.js';
import type { Ec2Api } from './ec2-api.js';
import { MAX_FILTER_VALUES } from './node-cache.js';
import { nextToken } from './paging.js';

/** DescribeTags page size (EC2's maximum). */
export const TAG_PAGE_SIZE = 1000;

export interface NodeTag {
  readonly key: string;
  readonly value: string;
}

export interface EligibilitySettings {
  /** An ENI is a node's when it, or its instance, carries one of these tags; empty: no tag needed. */
  readonly nodeTags: readonly NodeTag[];
  /** When given, only ENIs in these subnets are nodes'. */
  readonly nodeSubnetIds: readonly string[];
}

interface Warner {
  warn(fields: Record<string, unknown>, message: string): void;
}

/** What an ENI listing said about an ENI, as far as eligibility goes. */
interface EniFacts {
  readonly subnetId: string | undefined;
  readonly tagged: boolean;
  readonly instanceId: string | undefined;
}

/** Whether any node filter is set (else every ENI is a target and no NodeEligibility is made). */
export function hasNodeFilters(settings: EligibilitySettings): boolean {
  return settings.nodeTags.length > 0 || settings.nodeSubnetIds.length > 0;
}

export class NodeEligibility {
  private enis = new Map<string, EniFacts>();
  /** Instance id → whether it carries a node tag, from the last DescribeTags that answered for it. */
  private instances = new Map<string, boolean>();
  /** Instances carrying a node tag at the last tag-wide listing (sizes the next choice). */
  private taggedInstanceCount: number | undefined;
  private readonly keys: readonly string[];
  private readonly subnets: ReadonlySet<string>;

  constructor(
    private readonly api: Ec2Api,
    private readonly pacer: Pacer | undefined,
    private readonly settings: EligibilitySettings,
    private readonly log: Warner,
  ) {
    this.keys = [...new Set(settings.nodeTags.map((t) => t.key))];
    this.subnets = new Set(settings.nodeSubnetIds);
  }

  /** An in-use ENI the node cache listed: remember what eligibility needs of it. */
  observe(eni: NetworkInterface): void {
    if (eni.NetworkInterfaceId === undefined) return;
    this.enis.set(eni.NetworkInterfaceId, {
      subnetId: eni.SubnetId,
      tagged: (eni.TagSet ?? []).some((tag) => this.isNodeTag(tag.Key, tag.Value)),
      instanceId: eni.Attachment?.InstanceId,
    });
  }

  /**
   * Turns each `found` resolution whose ENI is not a node's into `not-eligible`. `unknown`: found
   * targets whose facts were dropped (the node cache answered from its cache): lookup-failed this
   * pass, and the caller forgets them so that the next pass lists them again.
   */
  async judge(
    resolutions: ReadonlyMap<string, NodeResolution>,
    signal: AbortSignal,
    refresh: boolean,
  ): Promise<{ readonly resolutions: Map<string, NodeResolution>; readonly unknown: readonly string[] }> {
    const verdicts = new Map<string, NodeResolution>(resolutions);
    const unknown: string[] = [];
    const byInstance = new Map<string, string[]>(); // instance → IPs whose ENI needs its tags
    const usedEnis = new Set<string>();
    for (const [ip, resolution] of resolutions) {
      if (resolution.status !== 'found') continue;
      const facts = this.enis.get(resolution.target);
      if (facts === undefined) {
        unknown.push(resolution.target);
        verdicts.set(ip, { status: 'lookup-failed', error: `no listing of ${resolution.target} to check it is a node's` });
        continue;
      }
      usedEnis.add(resolution.target);
      const why = this.ownVerdict(resolution.target, facts);
      if (why !== undefined) verdicts.set(ip, { status: 'not-eligible', target: resolution.target, why });
      else if (!facts.tagged && this.keys.length > 0 && facts.instanceId !== undefined) {
        byInstance.set(facts.instanceId, [...(byInstance.get(facts.instanceId) ?? []), ip]);
      }
    }
    if (refresh) {
      // A resync asks for every lease: what it does not use belongs to no lease's node.
      this.enis = new Map([...this.enis].filter(([id]) => usedEnis.has(id)));
      this.instances = new Map([...this.instances].filter(([id]) => byInstance.has(id)));
    }
    if (byInstance.size > 0) {
      const instances = [...byInstance.keys()];
      const failed = await this.readInstanceTags(refresh ? instances : instances.filter((id) => !this.instances.has(id)), signal);
      for (const [instanceId, ips] of byInstance) {
        const tagged = this.instances.get(instanceId);
        for (const ip of ips) {
          const resolution = resolutions.get(ip);
          if (resolution?.status !== 'found') continue;
          if (tagged === undefined) {
            verdicts.set(ip, { status: 'lookup-failed', error: failed ?? `the tags of ${instanceId} were not read` });
          } else if (!tagged) {
            verdicts.set(ip, { status: 'not-eligible', target: resolution.target, why: `neither ${resolution.target} nor its instance ${instanceId} carries ${this.tagText()}` });
          }
        }
      }
    }
    return { resolutions: verdicts, unknown };
  }

  /** Why the ENI alone rules itself out, or undefined when it qualifies or its instance decides. */
  private ownVerdict(target: string, facts: EniFacts): string | undefined {
    if (this.subnets.size > 0 && (facts.subnetId === undefined || !this.subnets.has(facts.subnetId))) {
      return `${target} is in ${facts.subnetId ?? 'no subnet'}, not in a --node-subnet-id`;
    }
    if (this.keys.length === 0 || facts.tagged) return undefined;
    if (facts.instanceId === undefined) return `${target} carries no ${this.tagText()} and is attached to no instance`;
    return undefined;
  }

  /**
   * Reads whether `instanceIds` carry a node tag, in the fewest DescribeTags calls; an answer stays
   * cached. Returns the error text when a call failed (those instances keep their cached answer).
   */
  private async readInstanceTags(instanceIds: readonly string[], signal: AbortSignal): Promise<string | undefined> {
    if (instanceIds.length === 0) return undefined;
    const perCall = MAX_FILTER_VALUES - this.keys.length;
    const idCalls = Math.ceil(instanceIds.length / perCall);
    const wideCalls = this.taggedInstanceCount === undefined ? (idCalls > 1 ? 1 : Infinity) : Math.max(1, Math.ceil(this.taggedInstanceCount / TAG_PAGE_SIZE));
    try {
      if (wideCalls < idCalls) {
        const tagged = await this.taggedIds({ Filters: [{ Name: 'resource-type', Values: ['instance'] }, ...this.keyValueFilters()] }, signal);
        this.taggedInstanceCount = tagged.size;
        for (const id of instanceIds) this.instances.set(id, tagged.has(id));
        return undefined;
      }
      for (let start = 0; start < instanceIds.length; start += perCall) {
        const batch = instanceIds.slice(start, start + perCall);
        // Only the keys are sent with the ids: the filter values of a call count together.
        const tagged = await this.taggedIds({ Filters: [{ Name: 'resource-id', Values: batch }, { Name: 'key', Values: [...this.keys] }] }, signal);
        for (const id of batch) this.instances.set(id, tagged.has(id));
      }
      return undefined;
    } catch (err) {
      if (signal.aborted) throw err;
      const classified = classifyError(err);
      if (classified.class === 'aborted') throw err;
      this.log.warn({ code: classified.code, class: classified.class, instances: instanceIds.length }, 'DescribeTags failed: cached node tag answers stand, the others stay unresolved');
      return `${classified.code}: ${classified.message}`;
    }
  }

  /** Every resource id of a DescribeTags listing (all pages) that carries a node tag exactly. */
  private async taggedIds(input: DescribeTagsCommandInput, signal: AbortSignal): Promise<Set<string>> {
    const ids = new Set<string>();
    const seen = new Set<string>();
    let token: string | undefined;
    do {
      const request: DescribeTagsCommandInput = { ...input, MaxResults: TAG_PAGE_SIZE, ...(token !== undefined ? { NextToken: token } : {}) };
      const page = await paced(this.pacer, 'DescribeTags', signal, () => this.api.describeTags(request, signal));
      for (const tag of page.Tags ?? []) {
        if (tag.ResourceId !== undefined && this.isNodeTag(tag.Key, tag.Value)) ids.add(tag.ResourceId);
      }
      token = nextToken(page.NextToken, seen, 'DescribeTags');
    } while (token !== undefined);
    return ids;
  }

  /** key and value filters: a superset of the node tags (any key with any value), narrowed by isNodeTag. */
  private keyValueFilters(): NonNullable<DescribeTagsCommandInput['Filters']> {
    return [
      { Name: 'key', Values: [...this.keys] },
      { Name: 'value', Values: [...new Set(this.settings.nodeTags.map((t) => t.value))] },
    ];
  }

  private isNodeTag(key: string | undefined, value: string | undefined): boolean {
    return this.settings.nodeTags.some((tag) => tag.key === key && tag.value === value);
  }

  private tagText(): string {
    return this.settings.nodeTags.map((t) => `${t.key}=${t.value}`).join(' or ');
  }
}
