/**
 * Limits learned from refusals: when the cloud refuses a create for its quota (RouteLimitExceeded,
 * QUOTA_EXCEEDED) while the table held N counted routes, the table's real limit is at most N,
 * whatever the quota read said. The lower limit holds until the provider reads the quota again
 * (RouteTable.limitReadAt changes), so the same create is not sent again pass after pass.
 * A --route-limit given as a number is the operator's word and is left alone.
 */
import type { RouteTable } from '../../providers/provider.js';
import type { TableBudget } from '../planner/plan.js';
import type { ChangeResult } from './apply.js';
import { familyOfDestination } from '../net/cidr6.js';

/** The cloud's codes for a create refused because the table (project) is full. */
export const REFUSED_FOR_LIMIT = new Set(['RouteLimitExceeded', 'QUOTA_EXCEEDED', 'quotaExceeded']);

interface Learned {
  readonly limit: number;
  /** The quota read it lowers; a new read drops it. */
  readonly readAt: string | undefined;
}

export interface NewlyLearned {
  readonly table: string;
  readonly limit: number;
  readonly previous: number;
}

export class LearnedLimits {
  private readonly byTable = new Map<string, Learned>();

  /** The tables with what was learned since their quota read applied as a lower limit. */
  apply(tables: readonly RouteTable[]): RouteTable[] {
    return tables.map((table) => {
      const learned = this.byTable.get(table.id);
      if (learned === undefined) return table;
      if (learned.readAt !== table.limitReadAt || (table.limitSource ?? 'flag') === 'flag') {
        this.byTable.delete(table.id);
        return table;
      }
      return learned.limit < table.limit ? { ...table, limit: learned.limit, limitSource: 'learned-from-refusal' } : table;
    });
  }

  /**
   * After a pass: each table where a create was refused for the limit learns the count it held
   * then. Apply sends creates only after the deletes, so the count at the end of the pass (before
   * it, less the counted deletes that succeeded, plus the creates that succeeded) is at least the
   * count at the refusal: the learned limit never undercuts the real one by what the pass did.
   */
  learn(tables: readonly RouteTable[], budgets: readonly TableBudget[], results: readonly ChangeResult[]): NewlyLearned[] {
    const learnedNow: NewlyLearned[] = [];
    for (const table of tables) {
      if ((table.limitSource ?? 'flag') === 'flag') continue;
      // What is learned lowers `limit`; where IPv6 routes are a pool of their own, their refusals say nothing of it.
      const ownIpv6Pool = budgets.some((b) => b.table === table.id && b.family === 'ipv6');
      const mine = results.filter(
        (r) => r.change.kind !== 'enable-forwarding' && r.change.table === table.id && !(ownIpv6Pool && familyOfDestination(r.change.destination) === 'ipv6'),
      );
      if (!mine.some((r) => !r.ok && r.change.kind === 'create' && REFUSED_FOR_LIMIT.has(r.error.code))) continue;
      const budget = budgets.find((b) => b.table === table.id && b.family === undefined);
      if (budget === undefined) continue;
      const uncounted = new Set(budget.uncountedDeletes);
      const freed = mine.filter((r) => r.ok && r.change.kind === 'delete' && !uncounted.has(r.change.destination)).length;
      const created = mine.filter((r) => r.ok && r.change.kind === 'create').length;
      // What counted routes outside the managed space use (GCE's other networks) is part of the table's limit.
      const outside = table.limit - budget.limit;
      const limit = Math.max(1, budget.countedBefore - freed + created + outside);
      const previous = this.byTable.get(table.id);
      if (limit >= table.limit || (previous !== undefined && previous.readAt === table.limitReadAt && previous.limit <= limit)) continue;
      this.byTable.set(table.id, { limit, readAt: table.limitReadAt });
      learnedNow.push({ table: table.id, limit, previous: table.limit });
    }
    return learnedNow;
  }
}
