/** Helpers shared by the EC2 listings: page tokens, and one stable order for ids and IPs. */

/** The next page token, or undefined at the end; a repeated token would loop forever, so it fails. */
export function nextToken(token: string | undefined, seen: Set<string>, action: string): string | undefined {
  if (token === undefined || token === '') return undefined;
  if (seen.has(token)) throw new Error(`${action} returned the same NextToken twice`);
  seen.add(token);
  return token;
}

export function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
