/**
 * Which replaces may make before they break. On a table whose provider declares
 * `replaceNeedsSpareSlot` (GCE: routes are immutable, so a move inserts a second route and then
 * deletes the first), a replace holds one more route for a moment. Replaces run before the pass's
 * deletes are known to be done and before its creates, so only the slots free at the listing can
 * be lent; the rest break before they make. What counts is counting.ts's, as everywhere.
 */
import type { Change, RouteTable } from '../../providers/provider.js';
import { spareSlots } from './counting.js';

export function markMakeBeforeBreak(changes: readonly Change[], tables: readonly RouteTable[]): Change[] {
  const spare = new Map<string, number>();
  for (const table of tables) if (table.replaceNeedsSpareSlot === true) spare.set(table.id, spareSlots(table));
  if (spare.size === 0) return [...changes];
  return changes.map((change) => {
    if (change.kind !== 'replace') return change;
    const left = spare.get(change.table);
    if (left === undefined) return change;
    spare.set(change.table, left - 1);
    return { ...change, makeBeforeBreak: left > 0 };
  });
}
