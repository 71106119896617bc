/**
 * Node eligibility of the aws-vpc provider (--node-tag, --node-subnet-id) against the EC2
 * simulator: which ENIs may be targets, and what it costs in extra reads (DescribeTags calls,
 * counted from the simulator's call log).
 */
import { describe, expect, it } from 'vitest';
import { useAwsSdkTest } from '../helpers/aws-sdk-test.js';
import { createAwsVpcProvider, type AwsVpcProviderOptions } from '../../providers/aws-vpc/index.js';
import type { NodeResolution, RouteProvider } from '../../providers/provider.js';
import { startEc2Simulator, type Ec2Simulator, type Ec2World } from '../sim/ec2/index.js';

const signal = new AbortController().signal;
const TAG = { key: 'kubernetes.io/cluster/c1', value: 'owned' };
const TAGS = { [TAG.key]: TAG.value };
const cleanup = useAwsSdkTest();

interface Node {
  readonly ip: string;
  readonly eni: string;
  readonly instanceId: string;
}

interface Fixture {
  readonly world: Ec2World;
  readonly subnetId: string;
  readonly otherSubnetId: string;
  /** Launches an instance with one ENI; `tag` says which of them carries the node tag. */
  node(tag: 'instance' | 'eni' | 'none', subnet?: 'main' | 'other'): Node;
  provider(options?: Partial<AwsVpcProviderOptions>): RouteProvider;
  /** Calls of `action` since the last look. */
  calls(action: string): number;
}

async function setup(): Promise<Fixture> {
  const sim: Ec2Simulator = await startEc2Simulator({ throttling: false, routeLimit: 1000 });
  cleanup.push(() => sim.close());
  const world = sim.world;
  const vpc = world.createVpc({ cidr: '10.0.0.0/16' });
  const subnet = world.createSubnet({ vpcId: vpc.vpcId, cidr: '10.0.16.0/20' });
  const other = world.createSubnet({ vpcId: vpc.vpcId, cidr: '10.0.32.0/20' });
  const table = world.createRouteTable({ vpcId: vpc.vpcId });
  let count = 0;
  const seen = new Map<string, number>();
  return {
    world,
    subnetId: subnet.subnetId,
    otherSubnetId: other.subnetId,
    node: (tag, where = 'main') => {
      count += 1;
      const ip = `10.0.${(where === 'main' ? 16 : 32) + Math.floor(count / 240)}.${10 + (count % 240)}`;
      const instance = world.launchInstance({
        subnetId: where === 'main' ? subnet.subnetId : other.subnetId,
        enis: [{ privateIp: ip, ...(tag === 'eni' ? { tags: TAGS } : {}) }],
        ...(tag === 'instance' ? { tags: TAGS } : {}),
      });
      return { ip, eni: instance.networkInterfaceIds[0] ?? '', instanceId: instance.instanceId };
    },
    provider: (options = {}) => {
      const provider = createAwsVpcProvider({
        region: 'us-east-1',
        endpoint: sim.url,
        routeTableIds: [table.routeTableId],
        clusterName: 'c1',
        routeLimit: 1000,
        rateLimits: false,
        nodeTags: [TAG],
        ...options,
      });
      cleanup.push(() => provider.close());
      return provider;
    },
    calls: (action) => {
      const total = world.calls(action).length;
      const since = total - (seen.get(action) ?? 0);
      seen.set(action, total);
      return since;
    },
  };
}

async function pass(provider: RouteProvider, ips: readonly string[], refresh = true): Promise<Map<string, NodeResolution>> {
  await provider.listTables(signal);
  return provider.resolveNodes(ips, signal, { refresh });
}

const statusOf = (r: NodeResolution | undefined): string => (r === undefined ? 'missing' : r.status);

describe('aws-vpc node eligibility', () => {
  it('an ENI that carries the node tag, or whose instance does, is a target; another in the VPC is not-eligible', async () => {
    const f = await setup();
    const onEni = f.node('eni');
    const onInstance = f.node('instance');
    const untagged = f.node('none');
    const result = await pass(f.provider(), [onEni.ip, onInstance.ip, untagged.ip]);
    expect(result.get(onEni.ip)).toEqual({ status: 'found', target: onEni.eni, forwarding: 'fixable' });
    expect(result.get(onInstance.ip)).toEqual({ status: 'found', target: onInstance.eni, forwarding: 'fixable' });
    expect(result.get(untagged.ip)).toMatchObject({ status: 'not-eligible', target: untagged.eni });
    expect(result.get(untagged.ip)?.status === 'not-eligible' && result.get(untagged.ip)).toMatchObject({
      why: `neither ${untagged.eni} nor its instance ${untagged.instanceId} carries ${TAG.key}=${TAG.value}`,
    });
  });

  it('a tag of the same key with another value does not qualify', async () => {
    const f = await setup();
    const node = f.node('none');
    f.world.setResourceTags(node.instanceId, { [TAG.key]: 'shared' });
    expect(statusOf((await pass(f.provider(), [node.ip])).get(node.ip))).toBe('not-eligible');
    const either = f.provider({ nodeTags: [TAG, { key: TAG.key, value: 'shared' }] });
    expect(statusOf((await pass(either, [node.ip])).get(node.ip))).toBe('found');
  });

  it('--node-subnet-id rules out ENIs of other subnets, tagged or not', async () => {
    const f = await setup();
    const inside = f.node('eni');
    const outside = f.node('eni', 'other');
    const result = await pass(f.provider({ nodeSubnetIds: [f.subnetId] }), [inside.ip, outside.ip]);
    expect(statusOf(result.get(inside.ip))).toBe('found');
    expect(result.get(outside.ip)).toMatchObject({ status: 'not-eligible', why: `${outside.eni} is in ${f.otherSubnetId}, not in a --node-subnet-id` });
    // Subnets alone, no tag: the untagged ENI in the subnet is a target.
    const bare = f.node('none');
    const subnetsOnly = await pass(f.provider({ nodeTags: [], nodeSubnetIds: [f.subnetId] }), [bare.ip]);
    expect(statusOf(subnetsOnly.get(bare.ip))).toBe('found');
    // The ENIs' own tags and subnets decided: no instance tags were read.
    expect(f.calls('DescribeTags')).toBe(0);
  });

  it('extra reads: none when the ENIs carry the tag; one DescribeTags per resync for up to 199 instance-tagged nodes; none between resyncs', async () => {
    const f = await setup();
    const eniTagged = Array.from({ length: 150 }, () => f.node('eni'));
    const provider = f.provider();
    await pass(provider, eniTagged.map((n) => n.ip));
    await pass(provider, eniTagged.map((n) => n.ip));
    expect(f.calls('DescribeTags')).toBe(0);

    const instanceTagged = Array.from({ length: 150 }, () => f.node('instance'));
    const ips = [...eniTagged, ...instanceTagged].map((n) => n.ip);
    const fresh = f.provider();
    const first = await pass(fresh, ips);
    expect([...first.values()].every((r) => r.status === 'found')).toBe(true);
    expect(f.calls('DescribeTags')).toBe(1);
    await pass(fresh, ips, false); // an event-driven pass trusts the cache
    expect(f.calls('DescribeTags')).toBe(0);
    await pass(fresh, ips, true); // a resync re-reads the instances' tags
    expect(f.calls('DescribeTags')).toBe(1);
  });

  it('extra reads: beyond 199 instances, one tag-wide listing (pages of 1,000 tagged instances) instead of a call per 199', async () => {
    const f = await setup();
    const nodes = Array.from({ length: 450 }, () => f.node('instance'));
    const provider = f.provider();
    const result = await pass(provider, nodes.map((n) => n.ip));
    expect([...result.values()].every((r) => r.status === 'found')).toBe(true);
    expect(f.calls('DescribeTags')).toBe(1);
    await pass(provider, nodes.map((n) => n.ip));
    expect(f.calls('DescribeTags')).toBe(1);
  });

  it('a tag removed from the instance makes its ENI not-eligible at the next resync, not before', async () => {
    const f = await setup();
    const node = f.node('instance');
    const provider = f.provider();
    expect(statusOf((await pass(provider, [node.ip])).get(node.ip))).toBe('found');
    f.world.setResourceTags(node.instanceId, {});
    expect(statusOf((await pass(provider, [node.ip], false)).get(node.ip))).toBe('found');
    expect(statusOf((await pass(provider, [node.ip], true)).get(node.ip))).toBe('not-eligible');
    f.world.setResourceTags(node.instanceId, TAGS);
    expect(statusOf((await pass(provider, [node.ip], true)).get(node.ip))).toBe('found');
  });

  it('a failed DescribeTags leaves unknown instances lookup-failed (nothing changes for them) and cached ones as they were', async () => {
    const f = await setup();
    const known = f.node('instance');
    const provider = f.provider();
    await pass(provider, [known.ip]);
    const fresh = f.node('instance');
    f.world.failNext('DescribeTags', 'InternalError');
    const result = await pass(provider, [known.ip, fresh.ip]);
    expect(statusOf(result.get(known.ip))).toBe('found');
    expect(statusOf(result.get(fresh.ip))).toBe('lookup-failed');
  });
});
