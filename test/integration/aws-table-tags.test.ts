/**
 * Which tables the aws-vpc provider discovers by tag: `routesync.io/cluster/<cluster>` = owned |
 * shared (several clusters on one table), the deprecated `routesync/cluster=<cluster>` with a
 * warning once per table, and an unknown value left alone with a warning. Against the EC2 simulator.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createAwsVpcProvider } from '../../providers/aws-vpc/index.js';
import { judgeTableTags } from '../../providers/aws-vpc/table-tags.js';
import { startEc2Simulator, type Ec2Simulator } from '../sim/ec2/server.js';

const signal = new AbortController().signal;
let sim: Ec2Simulator;

beforeEach(async () => {
  vi.stubEnv('AWS_ACCESS_KEY_ID', 'test');
  vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'test');
  sim = await startEc2Simulator({ throttling: false });
});

afterEach(async () => {
  await sim.close();
  vi.unstubAllEnvs();
});

describe('judgeTableTags', () => {
  const cases: Array<[string, Array<[string, string]>, string, ReturnType<typeof judgeTableTags>]> = [
    ['owned', [['routesync.io/cluster/a', 'owned']], 'a', { managed: true, by: 'tag' }],
    ['shared', [['routesync.io/cluster/a', 'shared']], 'a', { managed: true, by: 'tag' }],
    ['another cluster\'s key', [['routesync.io/cluster/b', 'owned']], 'a', { managed: false }],
    ['an unknown value', [['routesync.io/cluster/a', 'true']], 'a', { managed: false, badValue: 'true' }],
    ['an empty value', [['routesync.io/cluster/a', '']], 'a', { managed: false, badValue: '' }],
    ['the old tag', [['routesync/cluster', 'a']], 'a', { managed: true, by: 'legacy-tag' }],
    ['the old tag of another cluster', [['routesync/cluster', 'b']], 'a', { managed: false }],
    ['the new key wins over the old tag', [['routesync/cluster', 'a'], ['routesync.io/cluster/a', 'nope']], 'a', { managed: false, badValue: 'nope' }],
    ['both, agreeing', [['routesync/cluster', 'a'], ['routesync.io/cluster/a', 'owned']], 'a', { managed: true, by: 'tag' }],
    ['no tags', [], 'a', { managed: false }],
  ];
  for (const [name, tags, cluster, verdict] of cases) {
    it(name, () => {
      expect(judgeTableTags(tags.map(([Key, Value]) => ({ Key, Value })), cluster)).toEqual(verdict);
    });
  }
});

describe('discovery by tag', () => {
  it('manages owned, shared and old-tagged tables of this cluster only, and warns once per table', async () => {
    const world = sim.world;
    const vpc = world.createVpc({ cidr: '10.0.0.0/16' });
    const owned = world.createRouteTable({ vpcId: vpc.vpcId, tags: { 'routesync.io/cluster/a': 'owned' } }).routeTableId;
    const shared = world.createRouteTable({ vpcId: vpc.vpcId, tags: { 'routesync.io/cluster/a': 'shared', 'routesync.io/cluster/b': 'shared' } }).routeTableId;
    const legacy = world.createRouteTable({ vpcId: vpc.vpcId, tags: { 'routesync/cluster': 'a' } }).routeTableId;
    const typo = world.createRouteTable({ vpcId: vpc.vpcId, tags: { 'routesync.io/cluster/a': 'owend' } }).routeTableId;
    world.createRouteTable({ vpcId: vpc.vpcId, tags: { 'routesync/cluster': 'b' } });
    world.createRouteTable({ vpcId: vpc.vpcId, tags: { 'routesync.io/cluster/b': 'owned' } });

    const warnings: Array<{ fields: Record<string, unknown>; message: string }> = [];
    const provider = createAwsVpcProvider({
      region: 'us-east-1',
      endpoint: sim.url,
      routeTableIds: [],
      vpcId: vpc.vpcId,
      clusterName: 'a',
      routeLimit: 50,
      logger: { debug: () => undefined, warn: (fields, message) => warnings.push({ fields, message }) },
    });
    try {
      for (let pass = 0; pass < 3; pass += 1) {
        const tables = await provider.listTables(signal);
        expect(tables.map((t) => t.id)).toEqual([owned, shared, legacy].sort());
      }
      expect(world.calls('DescribeRouteTables')).toHaveLength(3);
      expect(warnings.map((w) => [w.fields['table'], w.message.split(':')[0]])).toEqual([
        [legacy, 'deprecated tag'],
        [typo, 'route table not managed'],
      ]);
    } finally {
      await provider.close();
    }
  });

  it('explicit --route-table-id tables are managed whatever their tags', async () => {
    const world = sim.world;
    const vpc = world.createVpc({ cidr: '10.0.0.0/16' });
    const untagged = world.createRouteTable({ vpcId: vpc.vpcId }).routeTableId;
    const provider = createAwsVpcProvider({ region: 'us-east-1', endpoint: sim.url, routeTableIds: [untagged], clusterName: 'a', routeLimit: 50 });
    try {
      expect((await provider.listTables(signal)).map((t) => t.id)).toEqual([untagged]);
    } finally {
      await provider.close();
    }
  });
});
