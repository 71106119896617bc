/** The aws-vpc provider against a stubbed Ec2Api: what it sends, what it passes through, what it refuses. */
import type { DescribeNetworkInterfacesResult, DescribeRouteTablesResult, NetworkInterface } from '@aws-sdk/client-ec2';
import { describe, expect, it } from 'vitest';
import { createAwsVpcProvider, type AwsVpcProviderOptions, type Ec2Api } from '../../providers/aws-vpc/index.js';
import { ConfigError } from '../../src/errors.js';

type Call = { method: keyof Ec2Api; input: unknown; signal: AbortSignal | undefined };

function stub(overrides: Partial<Ec2Api> = {}): { api: Ec2Api; calls: Call[]; destroyed: () => number } {
  const calls: Call[] = [];
  let destroyed = 0;
  const record =
    <T>(method: keyof Ec2Api, answer: (input: never) => T) =>
    async (input: unknown, signal?: AbortSignal): Promise<T> => {
      calls.push({ method, input, signal });
      const override = overrides[method] as ((i: unknown, s?: AbortSignal) => Promise<T>) | undefined;
      return override !== undefined ? override(input, signal) : answer(input as never);
    };
  const api: Ec2Api = {
    describeRouteTables: record('describeRouteTables', (): DescribeRouteTablesResult => ({ RouteTables: [] })),
    describeNetworkInterfaces: record('describeNetworkInterfaces', (): DescribeNetworkInterfacesResult => ({ NetworkInterfaces: [] })),
    describeTags: record('describeTags', () => ({ Tags: [] })),
    describeManagedPrefixLists: record('describeManagedPrefixLists', () => ({ PrefixLists: [] })),
    createRoute: record('createRoute', () => ({ Return: true })),
    replaceRoute: record('replaceRoute', () => ({})),
    deleteRoute: record('deleteRoute', () => ({})),
    modifyNetworkInterfaceAttribute: record('modifyNetworkInterfaceAttribute', () => ({})),
    destroy: () => {
      destroyed += 1;
    },
  };
  return { api, calls, destroyed: () => destroyed };
}

function provider(api: Ec2Api, options: Partial<AwsVpcProviderOptions> = {}) {
  return createAwsVpcProvider({
    region: 'us-east-1',
    routeTableIds: ['rtb-0123456789abcdef0'],
    clusterName: 'c1',
    routeLimit: 50,
    client: api,
    ...options,
  });
}

function eni(id: string, vpcId: string, ips: string[], extra: Partial<NetworkInterface> = {}): NetworkInterface {
  return {
    NetworkInterfaceId: id,
    VpcId: vpcId,
    Status: 'in-use',
    PrivateIpAddress: ips[0],
    PrivateIpAddresses: ips.map((ip, i) => ({ PrivateIpAddress: ip, Primary: i === 0 })),
    SourceDestCheck: true,
    ...extra,
  };
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (err) {
    return err;
  }
  throw new Error('expected a rejection');
}

describe('aws-vpc provider (stubbed EC2)', () => {
  it('passes the AbortSignal to every call and sends routes to the ENI', async () => {
    const s = stub({
      describeRouteTables: async () => ({ RouteTables: [{ RouteTableId: 'rtb-0123456789abcdef0', VpcId: 'vpc-0123456789abcdef0', Routes: [] }] }),
    });
    const p = provider(s.api);
    const signal = new AbortController().signal;
    const table = 'rtb-0123456789abcdef0';
    await p.listTables(signal);
    await p.resolveNodes(['10.0.0.1'], signal);
    await p.apply({ kind: 'create', table, destination: '10.244.1.0/24', target: 'eni-0123456789abcdef0', nodeIp: '10.0.0.1' }, signal);
    await p.apply(
      { kind: 'replace', table, destination: '10.244.1.0/24', target: 'eni-0123456789abcdef1', previousTarget: null, nodeIp: '10.0.0.2' },
      signal,
    );
    await p.apply({ kind: 'delete', table, destination: '10.244.1.0/24', previousTarget: null, reason: 'blackhole' }, signal);
    await p.apply({ kind: 'enable-forwarding', target: 'eni-0123456789abcdef0', nodeIp: '10.0.0.1' }, signal);
    expect(s.calls.map((c) => c.method)).toEqual([
      'describeRouteTables',
      'describeNetworkInterfaces',
      'createRoute',
      'replaceRoute',
      'deleteRoute',
      'modifyNetworkInterfaceAttribute',
    ]);
    // Each call gets a signal of its own, linked to the caller's (which keeps no listener from it).
    expect(s.calls.every((c) => c.signal instanceof AbortSignal && c.signal !== signal && !c.signal.aborted)).toBe(true);
    expect(s.calls[2]?.input).toEqual({ RouteTableId: table, DestinationCidrBlock: '10.244.1.0/24', NetworkInterfaceId: 'eni-0123456789abcdef0' });
    expect(s.calls[4]?.input).toEqual({ RouteTableId: table, DestinationCidrBlock: '10.244.1.0/24' });
    expect(s.calls[5]?.input).toEqual({ NetworkInterfaceId: 'eni-0123456789abcdef0', SourceDestCheck: { Value: false } });
    await p.close();
    expect(s.destroyed()).toBe(1);

    // … and the caller's abort reaches a call in flight.
    const caller = new AbortController();
    const held = stub({
      describeRouteTables: (_input, callSignal) =>
        new Promise((_resolve, reject) => callSignal?.addEventListener('abort', () => reject(callSignal.reason as Error), { once: true })),
    });
    const listing = provider(held.api).listTables(caller.signal);
    const reason = Object.assign(new Error('lost leadership'), { name: 'AbortError' });
    await Promise.resolve();
    caller.abort(reason);
    expect(await rejection(listing)).toBe(reason);
  });

  it('rethrows API errors unchanged; only InvalidRoute.NotFound on delete counts as done', async () => {
    const limit = Object.assign(new Error('The maximum number of routes has been reached.'), {
      name: 'RouteLimitExceeded',
      Code: 'RouteLimitExceeded',
      $metadata: { httpStatusCode: 400 },
    });
    const missing = Object.assign(new Error('no route'), { name: 'InvalidRoute.NotFound', Code: 'InvalidRoute.NotFound' });
    const denied = Object.assign(new Error('denied'), { name: 'UnauthorizedOperation', Code: 'UnauthorizedOperation' });
    let deleteError: Error = missing;
    const s = stub({
      createRoute: () => Promise.reject(limit),
      deleteRoute: () => Promise.reject(deleteError),
    });
    const p = provider(s.api);
    const signal = new AbortController().signal;
    const table = 'rtb-0123456789abcdef0';
    expect(
      await rejection(p.apply({ kind: 'create', table, destination: '10.244.1.0/24', target: 'eni-0123456789abcdef0', nodeIp: '10.0.0.1' }, signal)),
    ).toBe(limit);
    await p.apply({ kind: 'delete', table, destination: '10.244.1.0/24', previousTarget: null, reason: 'no-lease' }, signal);
    deleteError = denied;
    expect(
      await rejection(p.apply({ kind: 'delete', table, destination: '10.244.1.0/24', previousTarget: null, reason: 'no-lease' }, signal)),
    ).toBe(denied);
  });

  // The flag rules (region, route limit) are checked once, at parse time: test/unit/provider-flags.test.ts.
  it('refuses a configuration with no table source with ConfigError before calling EC2', async () => {
    const s = stub();
    const err = await rejection(provider(s.api, { routeTableIds: [] }).listTables(new AbortController().signal));
    expect(err).toBeInstanceOf(ConfigError);
    expect(s.calls).toEqual([]);
  });

  it('resolves only ENIs of the managed VPC (from the listing, else --vpc-id) that are in use', async () => {
    const s = stub({
      describeRouteTables: async () => ({ RouteTables: [{ RouteTableId: 'rtb-0123456789abcdef0', VpcId: 'vpc-a', Routes: [] }] }),
      describeNetworkInterfaces: async () => ({
        NetworkInterfaces: [
          eni('eni-b', 'vpc-b', ['10.0.0.1']),
          eni('eni-a', 'vpc-a', ['10.0.0.1', '10.0.0.2'], { SourceDestCheck: false }),
          eni('eni-free', 'vpc-a', ['10.0.0.3'], { Status: 'available' }),
          eni('eni-a2', 'vpc-a', ['10.0.0.4'], { SourceDestCheck: undefined }),
        ],
      }),
    });
    const signal = new AbortController().signal;
    const byOption = provider(s.api, { vpcId: 'vpc-b' });
    expect((await byOption.resolveNodes(['10.0.0.1'], signal)).get('10.0.0.1')).toEqual({
      status: 'found',
      target: 'eni-b',
      forwarding: 'fixable',
    });
    await byOption.listTables(signal).catch(() => undefined); // vpc-a table vs --vpc-id vpc-b: ConfigError
    const p = provider(s.api);
    await p.listTables(signal);
    const result = await p.resolveNodes(['10.0.0.1', '10.0.0.2', '10.0.0.3', '10.0.0.4'], signal);
    expect(Object.fromEntries(result)).toEqual({
      '10.0.0.1': { status: 'found', target: 'eni-a', forwarding: 'enabled' },
      '10.0.0.2': { status: 'found', target: 'eni-a', forwarding: 'enabled' },
      '10.0.0.3': { status: 'not-found' },
      '10.0.0.4': { status: 'found', target: 'eni-a2', forwarding: 'fixable' },
    });
    // Only the IP filter is sent (EC2 allows 200 filter values per call in all), paginated.
    const describe = s.calls.filter((c) => c.method === 'describeNetworkInterfaces').at(-1);
    expect(describe?.input).toEqual({ Filters: [{ Name: 'addresses.private-ip-address', Values: ['10.0.0.1', '10.0.0.2', '10.0.0.3', '10.0.0.4'] }], MaxResults: 1000 });
  });

  it('batches 401 IPs into 200 + 200 + 1, follows NextToken, and stops on a repeated token', async () => {
    const s = stub();
    const ips = Array.from({ length: 401 }, (_, i) => `10.${Math.floor(i / 250)}.${i % 250}.1`);
    const result = await provider(s.api).resolveNodes(ips, new AbortController().signal);
    expect(result.size).toBe(401);
    const sizes = s.calls.map((c) => (c.input as { Filters: Array<{ Values: string[] }> }).Filters[0]?.Values.length);
    expect(sizes).toEqual([200, 200, 1]);

    let page = 0;
    const paged = stub({
      describeRouteTables: async (input) => {
        page += 1;
        const Tags = [{ Key: 'routesync.io/cluster/c1', Value: 'owned' }];
        if (page === 1) return { RouteTables: [{ RouteTableId: 'rtb-0123456789abcdef1', VpcId: 'vpc-a', Tags }], NextToken: 't1' };
        expect(input.NextToken).toBe('t1');
        return { RouteTables: [{ RouteTableId: 'rtb-0123456789abcdef0', VpcId: 'vpc-a', Tags }] };
      },
    });
    const tables = await provider(paged.api, { routeTableIds: [], vpcId: 'vpc-0123456789abcdef0' }).listTables(
      new AbortController().signal,
    );
    expect(tables.map((t) => t.id)).toEqual(['rtb-0123456789abcdef0', 'rtb-0123456789abcdef1']);

    const looping = stub({ describeRouteTables: async () => ({ RouteTables: [], NextToken: 'same' }) });
    const err = await rejection(provider(looping.api).listTables(new AbortController().signal));
    expect(String(err)).toContain('same NextToken twice');
  });

  it('a failed describe makes its batch lookup-failed, but an abort propagates', async () => {
    const controller = new AbortController();
    let n = 0;
    const s = stub({
      describeNetworkInterfaces: async () => {
        n += 1;
        if (n === 1) throw Object.assign(new Error('Request limit exceeded.'), { name: 'RequestLimitExceeded', Code: 'RequestLimitExceeded' });
        return { NetworkInterfaces: [] };
      },
    });
    const ips = Array.from({ length: 201 }, (_, i) => `10.0.${Math.floor(i / 200)}.${i % 200}`);
    const result = await provider(s.api).resolveNodes(ips, controller.signal);
    expect(result.get('10.0.0.0')).toEqual({ status: 'lookup-failed', error: 'RequestLimitExceeded: Request limit exceeded.' });
    expect(result.get('10.0.1.0')).toEqual({ status: 'not-found' });

    const abortError = Object.assign(new Error('aborted'), { name: 'AbortError' });
    const aborting = stub({
      describeNetworkInterfaces: async () => {
        controller.abort();
        throw abortError;
      },
    });
    expect(await rejection(provider(aborting.api).resolveNodes(['10.0.0.1'], controller.signal))).toBe(abortError);
  });
});
