/**
 * Which discovered route tables a cluster manages, from their tags. The convention is Kubernetes'
 * (`kubernetes.io/cluster/<id>` = `owned` | `shared`): a table tagged
 * `routesync.io/cluster/<cluster>` with value `owned` or `shared` is managed, so several clusters can
 * share one table, each with its own key. The old `routesync/cluster=<cluster>` tag (one key, one
 * cluster) is still accepted for one release, with a deprecation warning.
 */
import type { Filter, Tag } from '@aws-sdk/client-ec2';

/** The tag key prefix; the key is `routesync.io/cluster/<cluster-name>`. */
export const CLUSTER_TAG_PREFIX = 'routesync.io/cluster/';
/** The values that make a table managed by the cluster the key names. */
export const CLUSTER_TAG_VALUES: readonly string[] = ['owned', 'shared'];
/** Deprecated: `routesync/cluster=<cluster-name>`; accepted for one more release. */
export const LEGACY_CLUSTER_TAG_KEY = 'routesync/cluster';

export function clusterTagKey(clusterName: string): string {
  return `${CLUSTER_TAG_PREFIX}${clusterName}`;
}

/** How the tags are described in errors and help. */
export function clusterTagText(clusterName: string): string {
  return `${clusterTagKey(clusterName)}=owned|shared (or the deprecated ${LEGACY_CLUSTER_TAG_KEY}=${clusterName})`;
}

/**
 * One DescribeRouteTables filter for both tags: values of one filter are ORed, and filters are
 * ANDed, so `tag-key` with both keys is the only way to keep one listing per pass. It also returns
 * tables that carry an unknown value, so that the operator can be warned about them, and tables
 * tagged for other clusters under the old key, which `judgeTableTags` drops.
 */
export function discoveryFilter(clusterName: string): Filter {
  return { Name: 'tag-key', Values: [clusterTagKey(clusterName), LEGACY_CLUSTER_TAG_KEY] };
}

export type TagVerdict =
  | { readonly managed: true; readonly by: 'tag' | 'legacy-tag' }
  | { readonly managed: false; readonly badValue?: string };

/**
 * The new key, when present, decides alone: an operator who wrote it meant it, so an unknown value
 * (a typo, `true`) leaves the table unmanaged rather than falling back to the old tag.
 */
export function judgeTableTags(tags: readonly Tag[] | undefined, clusterName: string): TagVerdict {
  const key = clusterTagKey(clusterName);
  const own = tags?.find((t) => t.Key === key);
  if (own !== undefined) {
    return CLUSTER_TAG_VALUES.includes(own.Value ?? '') ? { managed: true, by: 'tag' } : { managed: false, badValue: own.Value ?? '' };
  }
  const legacy = tags?.find((t) => t.Key === LEGACY_CLUSTER_TAG_KEY);
  return legacy?.Value === clusterName ? { managed: true, by: 'legacy-tag' } : { managed: false };
}

interface Warner {
  warn(fields: Record<string, unknown>, message: string): void;
}

/** Warns once per table (per process) about a deprecated tag or an unknown value, not every pass. */
export class TagNotices {
  private readonly warned = new Set<string>();

  constructor(private readonly log: Warner) {}

  note(tableId: string, verdict: TagVerdict, clusterName: string): void {
    const notice = verdict.managed ? (verdict.by === 'legacy-tag' ? 'legacy' : undefined) : verdict.badValue !== undefined ? 'bad' : undefined;
    if (notice === undefined || this.warned.has(`${notice} ${tableId}`)) return;
    this.warned.add(`${notice} ${tableId}`);
    if (notice === 'legacy') {
      this.log.warn(
        { table: tableId, tag: `${LEGACY_CLUSTER_TAG_KEY}=${clusterName}`, replacement: `${clusterTagKey(clusterName)}=owned` },
        `deprecated tag: route table is managed through ${LEGACY_CLUSTER_TAG_KEY}, which the next release ignores; tag it ${clusterTagKey(clusterName)}=owned (or shared)`,
      );
    } else {
      this.log.warn(
        { table: tableId, tag: clusterTagKey(clusterName), value: verdict.managed ? undefined : verdict.badValue },
        `route table not managed: its ${clusterTagKey(clusterName)} tag must be owned or shared`,
      );
    }
  }
}
