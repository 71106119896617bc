/**
 * Rules every EC2 describe of the simulator shares (docs/architecture.md, 'AWS facts'): the limits
 * on filter values, MaxResults/NextToken pagination, and the refusal of unpaginated
 * DescribeNetworkInterfaces on a large account.
 */
import { Ec2ApiError } from './world.js';
import type { QueryFilter, QueryParams } from './query.js';

const MAX_FILTER_VALUES = 200;
const MAX_FILTER_VALUE_LENGTH = 255;

export function checkFilterLimits(filters: readonly QueryFilter[]): void {
  let total = 0;
  for (const filter of filters) {
    total += filter.values.length;
    if (filter.values.some((v) => v.length > MAX_FILTER_VALUE_LENGTH)) {
      throw new Ec2ApiError('FilterLimitExceeded', `The maximum length for a filter value is ${MAX_FILTER_VALUE_LENGTH} characters`);
    }
  }
  // EC2 counts the values of all filters of one call together.
  if (total > MAX_FILTER_VALUES) {
    throw new Ec2ApiError(
      'FilterLimitExceeded',
      `The maximum number of filter values specified on a single call is ${MAX_FILTER_VALUES}`,
    );
  }
}

export interface Page<T> {
  readonly items: T[];
  readonly nextToken: string | undefined;
}

/**
 * MaxResults/NextToken pagination. Tokens are opaque (base64 JSON of an offset and a fingerprint of
 * the request's other parameters); a token from a different request is InvalidPaginationToken.
 */
export function paginate<T>(items: readonly T[], params: QueryParams, bounds: { min: number; max: number }): Page<T> {
  const fingerprint = requestFingerprint(params);
  let maxResults: number | undefined;
  if (params.MaxResults !== undefined) {
    maxResults = Number(params.MaxResults);
    if (!Number.isInteger(maxResults) || maxResults < bounds.min || maxResults > bounds.max) {
      throw new Ec2ApiError(
        'InvalidParameterValue',
        `Value ( ${params.MaxResults} ) for parameter maxResults is invalid. Expecting a value between ${bounds.min} and ${bounds.max}.`,
      );
    }
  }
  let offset = 0;
  if (params.NextToken !== undefined && params.NextToken !== '') {
    const decoded = decodeToken(params.NextToken);
    if (decoded === undefined || decoded.f !== fingerprint) {
      throw new Ec2ApiError('InvalidPaginationToken', 'The specified pagination token is not valid or is expired.');
    }
    offset = decoded.o;
  }
  const size = maxResults ?? Number.POSITIVE_INFINITY;
  const slice = items.slice(offset, offset + size);
  const next = offset + slice.length;
  return {
    items: slice,
    nextToken: maxResults !== undefined && next < items.length ? encodeToken({ o: next, f: fingerprint }) : undefined,
  };
}

function requestFingerprint(params: QueryParams): string {
  const text = Object.entries(params)
    .filter(([k]) => k !== 'NextToken' && k !== 'MaxResults')
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join('&');
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193) >>> 0;
  return h.toString(16);
}

function encodeToken(token: { o: number; f: string }): string {
  return Buffer.from(JSON.stringify(token)).toString('base64');
}

function decodeToken(text: string): { o: number; f: string } | undefined {
  try {
    const parsed: unknown = JSON.parse(Buffer.from(text, 'base64').toString('utf8'));
    if (typeof parsed !== 'object' || parsed === null) return undefined;
    const { o, f } = parsed as { o?: unknown; f?: unknown };
    return typeof o === 'number' && typeof f === 'string' ? { o, f } : undefined;
  } catch {
    return undefined;
  }
}

/**
 * DescribeNetworkInterfaces API reference: "If you have a large number of network interfaces, the
 * operation fails unless you use pagination or one of the following filters: group-id,
 * mac-address, private-dns-name, private-ip-address, subnet-id, or vpc-id."
 * (https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DescribeNetworkInterfaces.html).
 * AWS names neither the number nor the error code: the simulator's threshold (default 1,000 ENIs in
 * the account, EC2's largest page) and its code (UnsupportedOperation, an EC2 common error) are
 * its own choices. Naming interfaces by id (which cannot be paginated) is allowed.
 */
export const INDEXED_ENI_FILTERS: ReadonlySet<string> = new Set(['group-id', 'mac-address', 'private-dns-name', 'private-ip-address', 'subnet-id', 'vpc-id']);
export const LARGE_ACCOUNT_CODE = 'UnsupportedOperation';

export function checkLargeAccount(params: QueryParams, filters: readonly QueryFilter[], hasIds: boolean, eniCount: number, threshold: number): void {
  if (hasIds || params.MaxResults !== undefined || eniCount <= threshold) return;
  if (filters.some((f) => INDEXED_ENI_FILTERS.has(f.name))) return;
  throw new Ec2ApiError(
    LARGE_ACCOUNT_CODE,
    `This account has more than ${threshold} network interfaces: paginate DescribeNetworkInterfaces (MaxResults, NextToken) ` +
      `or filter by one of ${[...INDEXED_ENI_FILTERS].join(', ')}.`,
  );
}
