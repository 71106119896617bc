/**
 * The teardown plan of `routesync cleanup`: delete every route routesync owns for this cluster.
 * Ownership is the same rule as every pass (ownership.ts ownerNetwork: owner marks, managed space,
 * inside the flannel network of its family, of one of the networks given). Leases play no part, so the empty-view guard and the per-pass delete cap, which
 * exist to protect routes of leases a pass may not see, do not apply. Pure: no I/O, no clock.
 */
import type { ActualRoute, Change, RouteTable } from '../../providers/provider.js';
import { ownerNetwork, type NamedNetworks } from './ownership.js';

export interface TeardownTable {
  readonly table: string;
  /** The owned routes, by destination: every one is deleted. */
  readonly owned: readonly ActualRoute[];
  /** Routes of the managed space left alone: not routesync's (another cluster's, gateways, `local`). */
  readonly foreign: number;
}

export interface TeardownPlan {
  readonly tables: readonly TeardownTable[];
  /** One delete per owned route, table by table, by destination. */
  readonly deletes: readonly Change[];
  /** The network of each delete, in flannel's multi-network mode (named networks only). */
  readonly networkOf: ReadonlyMap<Change, string>;
}

const byDestination = (a: ActualRoute, b: ActualRoute): number => (a.destination < b.destination ? -1 : a.destination > b.destination ? 1 : 0);

/**
 * The delete reasons are the planner's own: with no lease read, every owned route is one without a
 * lease (`no-lease`), or a `blackhole`; a second owned route for one destination (GCE allows it) is
 * a `duplicate`, so that the provider picks another route name for it.
 */
export function planTeardown(spaces: readonly NamedNetworks[], tables: readonly RouteTable[]): TeardownPlan {
  const owner = ownerNetwork(spaces, new Map());
  const outTables: TeardownTable[] = [];
  const deletes: Change[] = [];
  const networkOf = new Map<Change, string>();
  for (const table of tables) {
    const inSpace = table.routes.filter((r) => r.inManagedSpace);
    const owners = new Map(inSpace.map((r) => [r, owner(r)] as const));
    const owned = inSpace.filter((r) => owners.get(r) !== undefined).sort(byDestination);
    const seen = new Set<string>();
    for (const route of owned) {
      const reason = seen.has(route.destination) ? 'duplicate' : route.blackhole ? 'blackhole' : 'no-lease';
      seen.add(route.destination);
      const change: Change = { kind: 'delete', table: table.id, destination: route.destination, previousTarget: route.target, reason };
      deletes.push(change);
      const name = owners.get(route)?.name;
      if (name !== undefined) networkOf.set(change, name);
    }
    outTables.push({ table: table.id, owned, foreign: inSpace.length - owned.length });
  }
  return { tables: outTables, deletes, networkOf };
}
