/**
 * Managed prefix lists as route-table quota facts. AWS counts a route to a prefix list as the list's
 * maximum entries ("the maximum number of entries for the prefix lists counts against the quota for
 * the number of entries for the resource": Amazon VPC quotas, managed prefix lists), in the list's
 * address family. MaxEntries comes from DescribeManagedPrefixLists (ec2:DescribeManagedPrefixLists,
 * a read-only action; GetManagedPrefixListEntries would list entries, which do not count). The
 * answers are cached and read again once older than the refresh interval (the resync interval);
 * lists the cache does not know are read at once. Sources: docs/architecture.md, 'AWS facts'.
 */
import type { ManagedPrefixList, RouteTable as SdkRouteTable } from '@aws-sdk/client-ec2';
import { classifyError } from '../../src/errors.js';
import { paced, type Pacer } from '../../src/pacing/pacer.js';
import type { PacingClock } from '../../src/pacing/clock.js';
import type { Ec2Api } from './ec2-api.js';
import { nextToken } from './paging.js';

/** What a route to the list weighs, and which family's quota it counts toward. */
export interface PrefixListFacts {
  readonly maxEntries: number;
  readonly family: 'ipv4' | 'ipv6';
}

/** DescribeManagedPrefixLists: MaxResults 1–100. */
const PAGE_SIZE = 100;
/** EC2 accepts at most 200 filter values per call. */
const MAX_FILTER_VALUES = 200;

interface Warner {
  warn(fields: Record<string, unknown>, message: string): void;
}

/** The prefix lists the tables' routes point at, sorted, each once. */
export function prefixListIdsOf(tables: readonly SdkRouteTable[]): string[] {
  const ids = new Set<string>();
  for (const table of tables) {
    for (const route of table.Routes ?? []) if (route.DestinationPrefixListId !== undefined) ids.add(route.DestinationPrefixListId);
  }
  return [...ids].sort();
}

export class PrefixListCache {
  private readonly known = new Map<string, { readonly facts: PrefixListFacts; readonly at: number }>();

  constructor(
    private readonly api: Ec2Api,
    private readonly pacer: Pacer | undefined,
    private readonly settings: { readonly refreshIntervalMs?: number; readonly clock?: PacingClock },
    private readonly log: Warner,
  ) {}

  /**
   * The facts of every id. Unknown or stale ones are read in one paginated listing. When it fails,
   * cached answers stand (logged); a list never read makes the listing fail: without its weight the
   * capacity of its table is unknown.
   */
  async factsOf(ids: readonly string[], signal: AbortSignal): Promise<ReadonlyMap<string, PrefixListFacts>> {
    const now = this.now();
    const interval = this.settings.refreshIntervalMs;
    const due = ids.filter((id) => {
      const cached = this.known.get(id);
      return cached === undefined || interval === undefined || now - cached.at >= interval;
    });
    if (due.length > 0) {
      try {
        await this.read(due, now, signal);
      } catch (err) {
        if (signal.aborted || ids.some((id) => !this.known.has(id))) throw err;
        const { code, class: errorClass } = classifyError(err);
        this.log.warn({ code, class: errorClass, prefixLists: due.length }, 'DescribeManagedPrefixLists failed: using the max entries read before');
      }
    }
    const facts = new Map<string, PrefixListFacts>();
    for (const id of ids) {
      const cached = this.known.get(id);
      if (cached === undefined) throw new Error(`prefix list ${id} (a route's destination) was not returned by DescribeManagedPrefixLists`);
      facts.set(id, cached.facts);
    }
    return facts;
  }

  private async read(ids: readonly string[], at: number, signal: AbortSignal): Promise<void> {
    // A filter rather than PrefixListIds: EC2 refuses ids together with MaxResults on some describes,
    // and a filter pages like the others.
    for (let start = 0; start < ids.length; start += MAX_FILTER_VALUES) {
      const input = { Filters: [{ Name: 'prefix-list-id', Values: ids.slice(start, start + MAX_FILTER_VALUES) }], MaxResults: PAGE_SIZE };
      const seen = new Set<string>();
      let token: string | undefined;
      do {
        const request = token === undefined ? input : { ...input, NextToken: token };
        const page = await paced(this.pacer, 'DescribeManagedPrefixLists', signal, () => this.api.describeManagedPrefixLists(request, signal));
        for (const list of page.PrefixLists ?? []) this.remember(list, at);
        token = nextToken(page.NextToken, seen, 'DescribeManagedPrefixLists');
      } while (token !== undefined);
    }
  }

  private remember(list: ManagedPrefixList, at: number): void {
    if (list.PrefixListId === undefined || list.MaxEntries === undefined) return;
    this.known.set(list.PrefixListId, { facts: { maxEntries: list.MaxEntries, family: list.AddressFamily === 'IPv6' ? 'ipv6' : 'ipv4' }, at });
  }

  private now(): number {
    return (this.settings.clock ?? { now: () => performance.now() }).now();
  }
}
