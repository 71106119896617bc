/** --max-deletes-per-pass: a bad view deletes a bounded share of the routes, not all of them at once. */
import type { Changes, PolicyStep, TableDeletes } from './changes.js';

/** How many owned routes one pass may delete in one table. */
export type DeleteCap = { readonly kind: 'count'; readonly value: number } | { readonly kind: 'percent'; readonly value: number };

/** A percentage is of the owned routes in the table and allows at least one, so a small table still drains. */
export function allowedDeletes(cap: DeleteCap, ownedInTable: number): number {
  if (cap.kind === 'count') return Math.max(0, Math.floor(cap.value));
  return Math.max(1, Math.ceil((cap.value / 100) * ownedInTable));
}

/** Keeps the first deletes of each table (the most urgent) and holds the rest. */
export function deleteCap(cap: DeleteCap): PolicyStep {
  return (changes: Changes): Changes => {
    const warnings = [...changes.warnings];
    const tables = changes.tables.map((table): TableDeletes => {
      const allowed = allowedDeletes(cap, table.owned);
      if (table.deletes.length <= allowed) return table;
      const deletes = table.deletes.slice(0, allowed);
      const held = [...table.held, ...table.deletes.slice(allowed)];
      warnings.push(`table ${table.table}: ${held.length} delete(s) deferred by --max-deletes-per-pass (${deletes.length} this pass)`);
      return { ...table, deletes, held };
    });
    return { tables, warnings };
  };
}
