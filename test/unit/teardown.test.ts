/** planTeardown: which routes `routesync cleanup` deletes, table-driven. */
import { describe, expect, it } from 'vitest';
import type { ActualRoute, RouteTable } from '../../providers/provider.js';
import { planTeardown } from '../../src/planner/teardown.js';
import { FOREIGN, OWNER_MARKED, PROPAGATED, TABLE_DEFAULT } from '../helpers/route-facts.js';

const NETWORK = '10.1.0.0/16';

function route(destination: string, facts: Omit<ActualRoute, 'destination' | 'target' | 'blackhole' | 'via'>, extra: Partial<ActualRoute> = {}): ActualRoute {
  return { destination, target: facts.bearsOwnerMarks ? `eni-${destination}` : null, blackhole: false, via: 'x', ...facts, ...extra };
}

function table(id: string, routes: ActualRoute[]): RouteTable {
  return { id, limit: 50, quota: 'aws-vpc-routes-per-table', routes };
}

interface Case {
  readonly name: string;
  readonly tables: RouteTable[];
  /** `table destination reason` of each delete, in order. */
  readonly deletes: string[];
  /** Foreign routes per table. */
  readonly foreign: number[];
}

const cases: Case[] = [
  {
    name: 'every owned route goes, however many (no delete cap), and no lease is needed (no empty-view guard)',
    tables: [table('rtb-a', Array.from({ length: 30 }, (_, i) => route(`10.1.${i}.0/24`, OWNER_MARKED)))],
    deletes: Array.from({ length: 30 }, (_, i) => `10.1.${i}.0/24`)
      .sort()
      .map((d) => `rtb-a ${d} no-lease`),
    foreign: [0],
  },
  {
    name: 'foreign routes stay: gateways inside the Network, the local route, propagated routes',
    tables: [
      table('rtb-a', [
        route('172.31.0.0/16', TABLE_DEFAULT),
        route('0.0.0.0/0', FOREIGN),
        route('10.1.200.0/24', FOREIGN),
        route('192.168.0.0/16', PROPAGATED),
        route('10.1.1.0/24', OWNER_MARKED),
      ]),
    ],
    deletes: ['rtb-a 10.1.1.0/24 no-lease'],
    foreign: [4],
  },
  {
    name: 'another cluster\'s routes on a shared table lie outside this Network: foreign',
    tables: [table('rtb-shared', [route('10.2.1.0/24', OWNER_MARKED), route('10.2.2.0/24', OWNER_MARKED), route('10.1.7.0/24', OWNER_MARKED)])],
    deletes: ['rtb-shared 10.1.7.0/24 no-lease'],
    foreign: [2],
  },
  {
    name: 'a route wider than the Network is not inside it',
    tables: [table('rtb-a', [route('10.0.0.0/8', OWNER_MARKED), route('10.1.0.0/16', OWNER_MARKED)])],
    deletes: ['rtb-a 10.1.0.0/16 no-lease'],
    foreign: [1],
  },
  {
    name: 'blackholes are deleted as blackholes; a second route for one destination as a duplicate',
    tables: [
      table('rtb-a', [
        route('10.1.2.0/24', OWNER_MARKED, { blackhole: true, target: 'eni-gone' }),
        route('10.1.3.0/24', OWNER_MARKED, { target: 'inst-a' }),
        route('10.1.3.0/24', OWNER_MARKED, { target: 'inst-b' }),
      ]),
    ],
    deletes: ['rtb-a 10.1.2.0/24 blackhole', 'rtb-a 10.1.3.0/24 no-lease', 'rtb-a 10.1.3.0/24 duplicate'],
    foreign: [0],
  },
  {
    name: 'outside the managed space nothing is owned or foreign (GCE: other networks, IPv6)',
    tables: [table('net', [route('10.1.4.0/24', { ...OWNER_MARKED, inManagedSpace: false }), route('10.1.5.0/24', OWNER_MARKED)])],
    deletes: ['net 10.1.5.0/24 no-lease'],
    foreign: [0],
  },
  {
    name: 'several tables, each on its own; an empty table has nothing to do',
    tables: [table('rtb-b', [route('10.1.9.0/24', OWNER_MARKED)]), table('rtb-a', [route('10.1.8.0/24', OWNER_MARKED), route('0.0.0.0/0', FOREIGN)]), table('rtb-c', [])],
    deletes: ['rtb-b 10.1.9.0/24 no-lease', 'rtb-a 10.1.8.0/24 no-lease'],
    foreign: [0, 1, 0],
  },
];

describe('planTeardown', () => {
  for (const c of cases) {
    it(c.name, () => {
      const plan = planTeardown(NETWORK, c.tables);
      expect(plan.deletes.map((d) => (d.kind === 'delete' ? `${d.table} ${d.destination} ${d.reason}` : d.kind))).toEqual(c.deletes);
      expect(plan.tables.map((t) => t.foreign)).toEqual(c.foreign);
      expect(plan.tables.map((t) => t.owned.length)).toEqual(c.tables.map((t) => c.deletes.filter((d) => d.startsWith(`${t.id} `)).length));
    });
  }

  it('is idempotent: once the deletes are done, the plan is empty', () => {
    const tables = cases.flatMap((c) => c.tables);
    const plan = planTeardown(NETWORK, tables);
    const gone = new Set(plan.tables.flatMap((t) => t.owned));
    const after = tables.map((t) => ({ ...t, routes: t.routes.filter((r) => !gone.has(r)) }));
    expect(planTeardown(NETWORK, after).deletes).toEqual([]);
  });
});
