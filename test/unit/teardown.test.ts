/** planTeardown: which routes `routesync cleanup` deletes, table-driven. */
import { describe, expect, it } from 'vitest';
import type { ActualRoute, RouteTable } from '../../providers/provider.js';
import { planTeardown } from '../../src/planner/teardown.js';
import type { NamedNetworks } from '../../src/planner/ownership.js';
import { parseCidr } from '../../src/net/cidr.js';
import { parseCidr6 } from '../../src/net/cidr6.js';
import { FOREIGN, OWNER_MARKED, PROPAGATED, TABLE_DEFAULT } from '../helpers/route-facts.js';

const SINGLE: NamedNetworks[] = [{ name: undefined, ipv4: parseCidr('10.1.0.0/16') }];
/** flannel's multi-network mode: blue and green selected (red, 10.3.0.0/16, is not). */
const BLUE_GREEN: NamedNetworks[] = [
  { name: 'blue', ipv4: parseCidr('10.1.0.0/16'), ipv6: parseCidr6('fd00:1::/48') },
  { name: 'green', ipv4: parseCidr('10.2.0.0/16') },
];

function route(destination: string, facts: Omit<ActualRoute, 'destination' | 'target' | 'blackhole' | 'via'>, extra: Partial<ActualRoute> = {}): ActualRoute {
  return { destination, target: facts.bearsOwnerMarks ? `eni-${destination}` : null, blackhole: false, via: 'x', ...facts, ...extra };
}

function table(id: string, routes: ActualRoute[]): RouteTable {
  return { id, limit: 50, quota: 'aws-vpc-routes-per-table', routes };
}

interface Case {
  readonly name: string;
  readonly tables: RouteTable[];
  /** The networks owned; the single 10.1.0.0/16 unless given. */
  readonly spaces?: NamedNetworks[];
  /** `table destination reason [network]` of each delete, in order. */
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
  {
    name: 'several networks: the routes inside any selected one go, each labelled with its network; an unselected network\'s stay',
    spaces: BLUE_GREEN,
    tables: [
      table('rtb-a', [
        route('10.2.1.0/24', OWNER_MARKED),
        route('10.1.1.0/24', OWNER_MARKED),
        route('10.3.1.0/24', OWNER_MARKED),
        route('10.1.200.0/24', FOREIGN),
        route('10.2.2.0/24', OWNER_MARKED, { blackhole: true, target: 'eni-gone' }),
      ]),
    ],
    deletes: ['rtb-a 10.1.1.0/24 no-lease blue', 'rtb-a 10.2.1.0/24 no-lease green', 'rtb-a 10.2.2.0/24 blackhole green'],
    foreign: [2],
  },
  {
    name: 'several networks: IPv6 routes inside a network\'s IPv6Network are its own; a network without one owns no IPv6 route',
    spaces: BLUE_GREEN,
    tables: [table('rtb-a', [route('fd00:1:0:5::/64', OWNER_MARKED, { family: 'ipv6' }), route('fd00:2:0:5::/64', OWNER_MARKED, { family: 'ipv6' })])],
    deletes: ['rtb-a fd00:1:0:5::/64 no-lease blue'],
    foreign: [1],
  },
  {
    name: 'several networks: a route wider than one network, covering both, is neither\'s',
    spaces: BLUE_GREEN,
    tables: [table('rtb-a', [route('10.0.0.0/14', OWNER_MARKED), route('10.2.0.0/16', OWNER_MARKED)])],
    deletes: ['rtb-a 10.2.0.0/16 no-lease green'],
    foreign: [1],
  },
];

describe('planTeardown', () => {
  for (const c of cases) {
    it(c.name, () => {
      const plan = planTeardown(c.spaces ?? SINGLE, c.tables);
      const network = (d: (typeof plan.deletes)[number]): string => (plan.networkOf.has(d) ? ` ${plan.networkOf.get(d) ?? ''}` : '');
      expect(plan.deletes.map((d) => (d.kind === 'delete' ? `${d.table} ${d.destination} ${d.reason}${network(d)}` : d.kind))).toEqual(c.deletes);
      expect(plan.tables.map((t) => t.foreign)).toEqual(c.foreign);
      expect(plan.tables.map((t) => t.owned.length)).toEqual(c.tables.map((t) => c.deletes.filter((d) => d.startsWith(`${t.id} `)).length));
    });
  }

  it('is idempotent: once the deletes are done, the plan is empty', () => {
    const tables = cases.flatMap((c) => c.tables);
    const plan = planTeardown(BLUE_GREEN, tables);
    const gone = new Set(plan.tables.flatMap((t) => t.owned));
    const after = tables.map((t) => ({ ...t, routes: t.routes.filter((r) => !gone.has(r)) }));
    expect(planTeardown(BLUE_GREEN, after).deletes).toEqual([]);
  });
});
