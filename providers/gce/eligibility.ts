/**
 * Which instances may be route targets (--node-network-tag, --node-label): cluster nodes, not any
 * instance that holds a lease's IP in the network. An etcd writer chooses the IP; this bounds
 * where its traffic can go. instances.aggregatedList already returns each instance's
 * `tags.items` (network tags) and `labels`, so the check costs no extra read
 * (https://cloud.google.com/compute/docs/reference/rest/v1/instances).
 */
import type { GceInstance } from './compute-api.js';

export interface GceNodeFilters {
  /** An instance carrying one of these network tags is a node. */
  readonly nodeNetworkTags: readonly string[];
  /** An instance carrying one of these labels (exact value) is a node. */
  readonly nodeLabels: ReadonlyArray<{ readonly key: string; readonly value: string }>;
}

/** Why `instance` is not a node (undefined: it is), or undefined for every instance when no filter is set. */
export type IneligibleWhy = (instance: GceInstance) => string | undefined;

export function nodeEligibility(filters: GceNodeFilters): IneligibleWhy | undefined {
  const { nodeNetworkTags, nodeLabels } = filters;
  if (nodeNetworkTags.length === 0 && nodeLabels.length === 0) return undefined;
  const wanted = [...nodeNetworkTags.map((t) => `network tag ${t}`), ...nodeLabels.map((l) => `label ${l.key}=${l.value}`)].join(' or ');
  return (instance) => {
    const tags = new Set(instance.tags?.items ?? []);
    const labels = instance.labels ?? {};
    if (nodeNetworkTags.some((tag) => tags.has(tag))) return undefined;
    if (nodeLabels.some((label) => labels[label.key] === label.value)) return undefined;
    return `instance ${instance.name ?? '?'} carries no ${wanted}`;
  };
}
