/**
 * No valid lease while owned routes exist looks more like a broken lease view than a cluster with
 * no nodes: delete nothing (and warn) unless --allow-empty says it is real.
 */
import type { Changes, PolicyStep } from './changes.js';

export interface EmptyViewGuardOptions {
  /** Valid leases in the view. */
  readonly validLeases: number;
  /** --allow-empty */
  readonly allowEmpty: boolean;
}

export function emptyViewGuard(options: EmptyViewGuardOptions): PolicyStep {
  return (changes: Changes): Changes => {
    if (options.validLeases > 0 || options.allowEmpty) return changes;
    const owned = changes.tables.reduce((sum, table) => sum + table.owned, 0);
    if (owned === 0) return changes;
    return {
      tables: changes.tables.map((table) => ({ ...table, deletes: [], held: [...table.held, ...table.deletes] })),
      warnings: [
        ...changes.warnings,
        `no valid lease in etcd while ${owned} owned route(s) exist: deleting nothing (pass --allow-empty to allow it)`,
      ],
    };
  };
}
