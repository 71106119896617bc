/**
 * The EC2 simulator's token buckets (EC2's per-action request-rate limits), through the real SDK on a fake clock: one bucket
 * per action for the whole account — shared by every route table and every client — refilled on a
 * whole-second grid from the world's start. Counts and order only.
 */
import { CreateRouteCommand, DeleteRouteCommand, DescribeRouteTablesCommand, EC2Client, ReplaceRouteCommand } from '@aws-sdk/client-ec2';
import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock, startEc2Simulator, type Ec2Simulator } from './ec2/index.js';

const open: Array<Ec2Simulator | EC2Client> = [];

afterEach(async () => {
  for (const item of open.splice(0).reverse()) {
    if (item instanceof EC2Client) item.destroy();
    else await item.close();
  }
});

async function world(options: { timeScale?: number } = {}) {
  const clock = new ManualClock(1_000_000);
  const sim = await startEc2Simulator({ clock: clock.now, routeLimit: 1000, ...options });
  open.push(sim);
  const vpc = sim.world.createVpc({ cidr: '10.0.0.0/16' });
  const subnet = sim.world.createSubnet({ vpcId: vpc.vpcId, cidr: '10.0.1.0/24' });
  const tables = ['a', 'b', 'c'].map((name) => sim.world.createRouteTable({ vpcId: vpc.vpcId, tags: { Name: name } }).routeTableId);
  const eni = sim.world.launchInstance({ subnetId: subnet.subnetId, enis: [{ privateIp: '10.0.1.10' }] }).networkInterfaceIds[0] ?? '';
  const client = (): EC2Client => {
    const ec2 = new EC2Client({ endpoint: sim.url, region: 'us-east-1', maxAttempts: 1, credentials: { accessKeyId: 't', secretAccessKey: 't' } });
    open.push(ec2);
    return ec2;
  };
  let n = 0;
  /** One CreateRoute in `table` through `ec2`; resolves to the HTTP status. */
  const create = async (ec2: EC2Client, table: string): Promise<number> => {
    n += 1;
    try {
      await ec2.send(new CreateRouteCommand({ RouteTableId: table, DestinationCidrBlock: `10.${100 + Math.floor(n / 250)}.${n % 250}.0/24`, NetworkInterfaceId: eni }));
      return 200;
    } catch (err) {
      return (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode ?? 0;
    }
  };
  return { sim, clock, tables, eni, client, create };
}

describe('EC2 simulator token buckets', () => {
  it('one CreateRoute bucket for all tables and all clients: 20 + 20 + 10 pass, the 51st fails in any table', async () => {
    const w = await world();
    const [a = '', b = '', c = ''] = w.tables;
    const first = w.client();
    const second = w.client();
    const statuses: number[] = [];
    for (let i = 0; i < 20; i += 1) statuses.push(await w.create(first, a));
    for (let i = 0; i < 20; i += 1) statuses.push(await w.create(second, b));
    for (let i = 0; i < 10; i += 1) statuses.push(await w.create(first, c));
    expect(statuses).toEqual(Array<number>(50).fill(200));
    expect([await w.create(first, a), await w.create(second, b), await w.create(first, c)]).toEqual([503, 503, 503]);
    expect(w.sim.world.callStats()['CreateRoute']).toEqual({ total: 53, ok: 50, throttled: 3, failed: 0 });
    // Other actions keep their own buckets.
    await first.send(new DeleteRouteCommand({ RouteTableId: a, DestinationCidrBlock: '10.100.1.0/24' }));
    await first.send(new ReplaceRouteCommand({ RouteTableId: b, DestinationCidrBlock: '10.100.21.0/24', NetworkInterfaceId: w.eni }));
    await first.send(new DescribeRouteTablesCommand({ RouteTableIds: w.tables }));
    expect(w.sim.world.throttle.available('CreateRoute', 'mutating')).toBe(0);
    expect(w.sim.world.throttle.available('DeleteRoute', 'mutating')).toBe(49);
    expect(w.sim.world.throttle.available('ReplaceRoute', 'mutating')).toBe(49);
  });

  it("refills 5 a second on the world's grid, whoever calls and whenever the first call came", async () => {
    const w = await world();
    const [a = '', b = ''] = w.tables;
    const ec2 = w.client();
    w.clock.advance(700); // the first call comes 700 ms into the world's second
    for (let i = 0; i < 50; i += 1) await w.create(ec2, i % 2 === 0 ? a : b);
    expect(await w.create(ec2, a)).toBe(503);
    w.clock.advance(299); // 999 ms: not yet
    expect(await w.create(ec2, b)).toBe(503);
    w.clock.advance(1); // the world's next whole second: 300 ms after the burst, not 1 s
    const refill: number[] = [];
    for (let i = 0; i < 6; i += 1) refill.push(await w.create(ec2, i % 2 === 0 ? a : b));
    expect(refill).toEqual([200, 200, 200, 200, 200, 503]);
    w.clock.advance(3000);
    const later: number[] = [];
    for (let i = 0; i < 16; i += 1) later.push(await w.create(ec2, a));
    expect(later).toEqual([...Array<number>(15).fill(200), 503]);
    const log = w.sim.world.calls('CreateRoute');
    expect(log.filter((call) => call.fault === 'throttled')).toHaveLength(4);
    expect(new Set(log.map((call) => call.params['RouteTableId']))).toEqual(new Set([a, b]));
  });

  it('time scale 10: the same grid, ten times finer', async () => {
    const w = await world({ timeScale: 10 });
    const [a = ''] = w.tables;
    const ec2 = w.client();
    for (let i = 0; i < 50; i += 1) await w.create(ec2, a);
    expect(await w.create(ec2, a)).toBe(503);
    w.clock.advance(100);
    const statuses: number[] = [];
    for (let i = 0; i < 6; i += 1) statuses.push(await w.create(ec2, a));
    expect(statuses).toEqual([200, 200, 200, 200, 200, 503]);
  });
});
