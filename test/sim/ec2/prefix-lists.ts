/**
 * Customer-managed prefix lists of the simulated account: made through the control API
 * (`createManagedPrefixList`, as CreateManagedPrefixList would), read on the wire with
 * DescribeManagedPrefixLists. What routesync needs of them is MaxEntries: "When you reference a
 * prefix list in a resource, the maximum number of entries for the prefix lists counts against the
 * quota for the number of entries for the resource"
 * (https://docs.aws.amazon.com/vpc/latest/userguide/managed-prefix-lists.html,
 * https://docs.aws.amazon.com/vpc/latest/userguide/amazon-vpc-limits.html).
 */
import { checkFilterLimits, paginate } from './describe-rules.js';
import { filterValueMatches, filtersParam, listParam, type QueryFilter, type QueryParams } from './query.js';
import { Ec2ApiError } from './world.js';
import { el, set, type XmlNode } from './xml.js';

export type AddressFamily = 'IPv4' | 'IPv6';

export interface SimManagedPrefixList {
  readonly prefixListId: string;
  readonly prefixListName: string;
  readonly addressFamily: AddressFamily;
  readonly maxEntries: number;
  readonly entries: readonly string[];
  readonly ownerId: string;
  readonly prefixListArn: string;
  readonly tags: Readonly<Record<string, string>>;
}

export interface CreatePrefixListInput {
  readonly prefixListName: string;
  readonly maxEntries: number;
  /** Default IPv4. */
  readonly addressFamily?: AddressFamily;
  readonly entries?: readonly string[];
  readonly tags?: Readonly<Record<string, string>>;
}

/** CreateManagedPrefixList: MaxEntries is required; "Maximum number of entries per prefix list: 1,000" (VPC quotas). */
const MAX_ENTRIES_LIMIT = 1000;
const ID_PATTERN = /^pl-([0-9a-f]{8}|[0-9a-f]{17})$/;

export class PrefixLists {
  private readonly lists = new Map<string, SimManagedPrefixList>();

  constructor(
    private readonly newId: () => string,
    private readonly accountId: string,
    private readonly region: string,
  ) {}

  create(input: CreatePrefixListInput): SimManagedPrefixList {
    const { maxEntries } = input;
    if (!Number.isInteger(maxEntries) || maxEntries < 1 || maxEntries > MAX_ENTRIES_LIMIT) {
      throw new Ec2ApiError('InvalidParameterValue', `The maximum number of entries must be between 1 and ${MAX_ENTRIES_LIMIT}.`);
    }
    const entries = input.entries ?? [];
    if (entries.length > maxEntries) {
      throw new Ec2ApiError('PrefixListMaxEntriesExceeded', `The number of entries exceeds the maximum of ${maxEntries}.`);
    }
    const addressFamily = input.addressFamily ?? 'IPv4';
    if (addressFamily !== 'IPv4' && addressFamily !== 'IPv6') {
      throw new Ec2ApiError('InvalidParameterValue', `Value (${String(addressFamily)}) for parameter addressFamily is invalid.`);
    }
    const prefixListId = this.newId();
    const list: SimManagedPrefixList = {
      prefixListId,
      prefixListName: input.prefixListName,
      addressFamily,
      maxEntries,
      entries: [...entries],
      ownerId: this.accountId,
      prefixListArn: `arn:aws:ec2:${this.region}:${this.accountId}:prefix-list/${prefixListId}`,
      tags: { ...(input.tags ?? {}) },
    };
    this.lists.set(prefixListId, list);
    return list;
  }

  get(prefixListId: string): SimManagedPrefixList | undefined {
    return this.lists.get(prefixListId);
  }

  all(): SimManagedPrefixList[] {
    return [...this.lists.values()];
  }

  /** DescribeManagedPrefixLists on the wire: ids, filters (owner-id, prefix-list-id, prefix-list-name), MaxResults 1–100. */
  describe(params: QueryParams): XmlNode[] {
    const filters = filtersParam(params);
    checkFilterLimits(filters);
    const ids = listParam(params, 'PrefixListId');
    for (const id of ids) {
      if (!ID_PATTERN.test(id)) throw new Ec2ApiError('InvalidPrefixListID.Malformed', `The prefix list ID '${id}' is malformed`);
    }
    const missing = ids.filter((id) => !this.lists.has(id));
    if (missing.length > 0) throw new Ec2ApiError('InvalidPrefixListID.NotFound', `The prefix list ID '${missing.join(', ')}' does not exist`);
    const predicates = filters.map(predicate);
    const wanted = ids.length > 0 ? new Set(ids) : undefined;
    const found = this.all().filter((l) => (wanted === undefined || wanted.has(l.prefixListId)) && predicates.every((p) => p(l)));
    const page = paginate(found, params, { min: 1, max: 100 });
    return [set('prefixListSet', page.items.map(prefixListXml)), el('nextToken', page.nextToken)];
  }
}

function predicate(filter: QueryFilter): (list: SimManagedPrefixList) => boolean {
  const field: Readonly<Record<string, (l: SimManagedPrefixList) => string>> = {
    'owner-id': (l) => l.ownerId,
    'prefix-list-id': (l) => l.prefixListId,
    'prefix-list-name': (l) => l.prefixListName,
  };
  const get = field[filter.name];
  if (get === undefined) throw new Ec2ApiError('InvalidParameterValue', `The filter '${filter.name}' is invalid`);
  return (l) => filter.values.some((v) => filterValueMatches(v, get(l)));
}

function prefixListXml(list: SimManagedPrefixList): XmlNode[] {
  return [
    el('prefixListId', list.prefixListId),
    el('addressFamily', list.addressFamily),
    el('state', 'create-complete'),
    el('prefixListArn', list.prefixListArn),
    el('prefixListName', list.prefixListName),
    el('maxEntries', list.maxEntries),
    el('version', 1),
    set('tagSet', Object.entries(list.tags).map(([key, value]) => [el('key', key), el('value', value)])),
    el('ownerId', list.ownerId),
  ];
}
