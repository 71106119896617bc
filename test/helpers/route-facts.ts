/**
 * The facts of ActualRoute fixtures, spread into a route literal: `{ destination, target, blackhole, ...OWNER_MARKED, via }`.
 * What they mean for ownership and counting is the planner's business (src/planner/ownership.ts, counting.ts).
 */
import type { ActualRoute } from '../../providers/provider.js';

type Facts = Pick<ActualRoute, 'targetKind' | 'origin' | 'quotaWeight' | 'bearsOwnerMarks' | 'inManagedSpace'>;

/** A route routesync made: CreateRoute to an ENI, in the table. */
export const OWNER_MARKED: Facts = { targetKind: 'interface', origin: 'created', quotaWeight: 1, bearsOwnerMarks: true, inManagedSpace: true };
/** Someone else's route to a gateway: it counts. */
export const FOREIGN: Facts = { targetKind: 'gateway', origin: 'created', quotaWeight: 1, bearsOwnerMarks: false, inManagedSpace: true };
/** The table's own route (AWS `local`): it counts. */
export const TABLE_DEFAULT: Facts = { ...FOREIGN, origin: 'table-default' };
/** A propagated route (AWS VGW): it does not count on AWS. */
export const PROPAGATED: Facts = { ...FOREIGN, origin: 'propagated' };
