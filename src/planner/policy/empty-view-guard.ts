/**
 * No valid lease while owned routes exist looks more like a broken lease view than a cluster with
 * no nodes: delete nothing (and warn) unless --allow-empty says it is real.
 */
import type { ActualRoute } from '../../../providers/provider.js';
import type { Changes, PolicyStep } from './changes.js';

export interface EmptyViewGuardOptions {
  /** Valid leases in the view. */
  readonly validLeases: number;
  /** --allow-empty */
  readonly allowEmpty: boolean;
  /**
   * flannel's multi-network mode: the network whose view is empty that owns a route (undefined: none).
   * Then each network is guarded on its own, and `validLeases` is not used.
   */
  readonly ofEmptyNetwork?: (route: ActualRoute) => string | undefined;
}

export function emptyViewGuard(options: EmptyViewGuardOptions): PolicyStep {
  return (changes: Changes): Changes => {
    if (options.allowEmpty) return changes;
    const ofEmpty = options.ofEmptyNetwork;
    if (ofEmpty !== undefined) {
      const held = new Map<string, number>();
      const tables = changes.tables.map((table) => {
        const hold = table.deletes.filter(({ route }) => ofEmpty(route) !== undefined);
        for (const { route } of hold) held.set(ofEmpty(route) as string, (held.get(ofEmpty(route) as string) ?? 0) + 1);
        return hold.length === 0 ? table : { ...table, deletes: table.deletes.filter((d) => !hold.includes(d)), held: [...table.held, ...hold] };
      });
      const warnings = [...held].map(
        ([network, count]) => `no valid lease in etcd for network ${network}: keeping its ${count} owned route(s) (pass --allow-empty to allow deleting them)`,
      );
      return { tables, warnings: [...changes.warnings, ...warnings] };
    }
    if (options.validLeases > 0) return changes;
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
