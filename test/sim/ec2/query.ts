/**
 * Reading the EC2 Query API's form parameters: `Action=…&Version=…`, lists as `Name.N`
 * (`RouteTableId.1`, `RouteTableId.2`), filters as `Filter.N.Name` / `Filter.N.Value.M`,
 * structures as `Name.Member` (`SourceDestCheck.Value`).
 */

export type QueryParams = Readonly<Record<string, string>>;

/** Parses an `application/x-www-form-urlencoded` body (or a query string) into a flat record. */
export function parseQuery(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of new URLSearchParams(text)) out[key] = value;
  return out;
}

/** Values of a flattened list `prefix.1`, `prefix.2`, … in index order (gaps allowed, as EC2 does). */
export function listParam(params: QueryParams, prefix: string): string[] {
  const indexed: Array<[number, string]> = [];
  const pattern = new RegExp(`^${escapeRegExp(prefix)}\\.(\\d+)$`);
  for (const [key, value] of Object.entries(params)) {
    const match = pattern.exec(key);
    if (match?.[1] !== undefined) indexed.push([Number(match[1]), value]);
  }
  return indexed.sort((a, b) => a[0] - b[0]).map(([, value]) => value);
}

export interface QueryFilter {
  readonly name: string;
  readonly values: readonly string[];
}

/** `Filter.N.Name` + `Filter.N.Value.M`, in index order. */
export function filtersParam(params: QueryParams): QueryFilter[] {
  const byIndex = new Map<number, { name?: string; values: Array<[number, string]> }>();
  const entry = (index: number): { name?: string; values: Array<[number, string]> } => {
    let found = byIndex.get(index);
    if (found === undefined) {
      found = { values: [] };
      byIndex.set(index, found);
    }
    return found;
  };
  for (const [key, value] of Object.entries(params)) {
    const nameMatch = /^Filter\.(\d+)\.Name$/.exec(key);
    if (nameMatch?.[1] !== undefined) {
      entry(Number(nameMatch[1])).name = value;
      continue;
    }
    const valueMatch = /^Filter\.(\d+)\.Value\.(\d+)$/.exec(key);
    if (valueMatch?.[1] !== undefined && valueMatch[2] !== undefined) {
      entry(Number(valueMatch[1])).values.push([Number(valueMatch[2]), value]);
    }
  }
  return [...byIndex.entries()]
    .sort((a, b) => a[0] - b[0])
    .map(([, f]) => ({
      name: f.name ?? '',
      values: f.values.sort((a, b) => a[0] - b[0]).map(([, v]) => v),
    }));
}

/** True when any parameter starts with `prefix.` (a list or structure was sent). */
export function hasPrefix(params: QueryParams, prefix: string): boolean {
  return Object.keys(params).some((key) => key.startsWith(`${prefix}.`));
}

/**
 * EC2 filter values accept `*` (any run of characters) and `?` (exactly one), with `\` escaping
 * them. Matching is case-sensitive.
 */
export function filterValueMatches(pattern: string, value: string): boolean {
  if (!/[*?\\]/.test(pattern)) return pattern === value;
  let source = '^';
  for (let i = 0; i < pattern.length; i++) {
    const ch = pattern[i] ?? '';
    if (ch === '\\' && i + 1 < pattern.length) {
      source += escapeRegExp(pattern[i + 1] ?? '');
      i++;
    } else if (ch === '*') source += '.*';
    else if (ch === '?') source += '.';
    else source += escapeRegExp(ch);
  }
  return new RegExp(`${source}$`, 's').test(value);
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}
