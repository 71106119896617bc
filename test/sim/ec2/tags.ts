/**
 * DescribeTags over the simulator's tagged resources: instances, ENIs and route tables
 * (https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DescribeTags.html). Filters `key`,
 * `resource-id`, `resource-type`, `tag:<key>` and `value` (filters AND, values OR, `*`/`?`
 * wildcards); any other is refused. One item per tag: `resourceId`, `resourceType`, `key`, `value`.
 * MaxResults 5–1000 with NextToken, as the reference gives it.
 */
import { checkFilterLimits, paginate } from './describe-rules.js';
import { filtersParam, filterValueMatches, type QueryFilter, type QueryParams } from './query.js';
import { Ec2ApiError, type Ec2World } from './world.js';
import { el, set, type XmlNode } from './xml.js';

interface TagItem {
  readonly resourceId: string;
  readonly resourceType: 'instance' | 'network-interface' | 'route-table';
  readonly key: string;
  readonly value: string;
}

export function describeTags(world: Ec2World, params: QueryParams): XmlNode[] {
  const filters = filtersParam(params);
  checkFilterLimits(filters);
  const predicates = filters.map(tagItemPredicate);
  const items = taggedResources(world).filter((item) => predicates.every((p) => p(item)));
  const page = paginate(items, params, { min: 5, max: 1000 });
  return [
    set(
      'tagSet',
      page.items.map((t) => [el('resourceId', t.resourceId), el('resourceType', t.resourceType), el('key', t.key), el('value', t.value)]),
    ),
    el('nextToken', page.nextToken),
  ];
}

/** Every tag of every resource, in a stable order (resource id, then key). */
function taggedResources(world: Ec2World): TagItem[] {
  const items: TagItem[] = [];
  const add = (resourceId: string, resourceType: TagItem['resourceType'], tags: Readonly<Record<string, string>>): void => {
    for (const [key, value] of Object.entries(tags)) items.push({ resourceId, resourceType, key, value });
  };
  for (const instance of world.instancesList()) add(instance.instanceId, 'instance', instance.tags);
  for (const eni of world.networkInterfaces()) add(eni.networkInterfaceId, 'network-interface', eni.tags);
  for (const table of world.routeTables()) add(table.routeTableId, 'route-table', table.tags);
  return items.sort((a, b) => (a.resourceId < b.resourceId ? -1 : a.resourceId > b.resourceId ? 1 : a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

function tagItemPredicate(filter: QueryFilter): (item: TagItem) => boolean {
  const any = (value: string): boolean => filter.values.some((pattern) => filterValueMatches(pattern, value));
  switch (filter.name) {
    case 'key':
      return (item) => any(item.key);
    case 'value':
      return (item) => any(item.value);
    case 'resource-id':
      return (item) => any(item.resourceId);
    case 'resource-type':
      return (item) => any(item.resourceType);
    default:
      if (filter.name.startsWith('tag:')) {
        const key = filter.name.slice('tag:'.length);
        return (item) => item.key === key && any(item.value);
      }
      throw new Ec2ApiError('InvalidParameterValue', `The filter '${filter.name}' is invalid`);
  }
}
