/**
 * The value the safety valves act on: per table, the deletes a pass proposes and those held back.
 * Each policy step takes a Changes and returns a new one (external-dns's plan policies); plan.ts
 * composes them and plans creates afterwards, because held deletes keep their room.
 */
import type { ActualRoute, DeleteReason } from '../../../providers/provider.js';

export interface PlannedDelete {
  readonly route: ActualRoute;
  readonly reason: DeleteReason;
}

export interface TableDeletes {
  readonly table: string;
  /** Owned routes in the table before the pass: what a percentage cap is of. */
  readonly owned: number;
  /** To send this pass, most urgent first. */
  readonly deletes: readonly PlannedDelete[];
  /** Held back for a later pass; they still occupy capacity. */
  readonly held: readonly PlannedDelete[];
}

export interface Changes {
  readonly tables: readonly TableDeletes[];
  readonly warnings: readonly string[];
}

export type PolicyStep = (changes: Changes) => Changes;

export function applyPolicies(changes: Changes, steps: readonly PolicyStep[]): Changes {
  return steps.reduce((current, step) => step(current), changes);
}
