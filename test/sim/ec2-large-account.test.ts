/**
 * The EC2 simulator's large-account rule (test/sim/ec2/describe-rules.ts): on an account with more
 * ENIs than the threshold, DescribeNetworkInterfaces fails unless it is paginated or uses an indexed
 * filter, as the DescribeNetworkInterfaces API reference says.
 */
import { DescribeNetworkInterfacesCommand, EC2Client, type DescribeNetworkInterfacesCommandInput } from '@aws-sdk/client-ec2';
import { afterEach, describe, expect, it } from 'vitest';
import { classifyError } from '../../src/errors.js';
import { startEc2Simulator, type Ec2Simulator } from './ec2/index.js';

let sim: Ec2Simulator | undefined;
let ec2: EC2Client | undefined;
afterEach(async () => {
  ec2?.destroy();
  await sim?.close();
  sim = undefined;
});

describe('EC2 simulator: DescribeNetworkInterfaces on a large account', () => {
  it('refuses an unpaginated call without an indexed filter once the account holds more ENIs than the threshold', async () => {
    sim = await startEc2Simulator({ throttling: false });
    ec2 = new EC2Client({ endpoint: sim.url, region: 'us-east-1', maxAttempts: 1, credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
    const world = sim.world;
    const vpc = world.createVpc({ cidr: '10.0.0.0/16' });
    const subnet = world.createSubnet({ vpcId: vpc.vpcId, cidr: '10.0.0.0/20' });
    for (let i = 0; i < 6; i++) world.launchInstance({ subnetId: subnet.subnetId, enis: [{}] });
    const byIp: DescribeNetworkInterfacesCommandInput = { Filters: [{ Name: 'addresses.private-ip-address', Values: ['10.0.0.4'] }] };
    const send = (input: DescribeNetworkInterfacesCommandInput) => ec2?.send(new DescribeNetworkInterfacesCommand(input)).then(
      (out) => out.NetworkInterfaces?.length ?? 0,
      (err: unknown) => classifyError(err).code,
    );

    // At the threshold, everything goes.
    world.setLargeAccountEnis(6);
    expect(await send(byIp)).toBe(1);
    expect(await send({})).toBe(6);

    // Above it: unpaginated with no indexed filter fails (addresses.private-ip-address is not indexed) …
    world.setLargeAccountEnis(5);
    expect(await send(byIp)).toBe('UnsupportedOperation');
    expect(await send({})).toBe('UnsupportedOperation');
    expect(await send({ Filters: [{ Name: 'status', Values: ['in-use'] }] })).toBe('UnsupportedOperation');
    // … while paginating, an indexed filter or naming ids works.
    expect(await send({ ...byIp, MaxResults: 5 })).toBe(1);
    expect(await send({ MaxResults: 1000 })).toBe(6);
    expect(await send({ Filters: [{ Name: 'private-ip-address', Values: ['10.0.0.4'] }] })).toBe(1);
    expect(await send({ Filters: [{ Name: 'vpc-id', Values: [vpc.vpcId] }] })).toBe(6);
    const eni = world.networkInterfaces()[0]?.networkInterfaceId ?? '';
    expect(await send({ NetworkInterfaceIds: [eni] })).toBe(1);
    expect(world.calls('DescribeNetworkInterfaces').filter((c) => c.errorCode === 'UnsupportedOperation')).toHaveLength(3);
  });

  it('defaults to 1,000 ENIs', async () => {
    sim = await startEc2Simulator({ throttling: false });
    expect(sim.world.largeAccountEnis).toBe(1000);
  });
});
