/** The lease source in flannel's multi-network mode, against a real etcd: one listing and one watch for all networks. */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import { EtcdLeaseSource, type LeaseSourceChange } from '../../src/leases/lease-view.js';
import { configKey } from '../../src/leases/flannel.js';
import type { LeaseSnapshot } from '../../src/leases/types.js';
import { deleteLease, putLease, putNetworkConfig, startEtcd, type EtcdServer } from '../helpers/etcd.js';

const FAST_RETRY = { initialDelayMs: 20, maxDelayMs: 300 };
let prefixCounter = 0;
const newPrefix = (): string => `/networks-${process.pid}-${++prefixCounter}/network`;

const sources: EtcdLeaseSource[] = [];
afterEach(async () => {
  await Promise.all(sources.splice(0).map((s) => s.stop()));
});

/** Resolves with the first change matching `match`; subscribe before writing. */
function nextChange(source: EtcdLeaseSource, match: (change: LeaseSourceChange) => boolean): Promise<LeaseSourceChange> {
  return new Promise((resolve) => {
    const off = source.onChange((change) => {
      if (!match(change)) return;
      off();
      resolve(change);
    });
  });
}

const byNetwork = (snap: LeaseSnapshot | null): Record<string, string[]> => {
  const out: Record<string, string[]> = {};
  for (const lease of snap?.leases ?? []) (out[lease.network ?? '-'] ??= []).push(lease.subnet);
  for (const list of Object.values(out)) list.sort();
  return out;
};

describe('EtcdLeaseSource with networks', () => {
  let etcd: EtcdServer;
  beforeAll(async () => {
    etcd = await startEtcd();
  });
  afterAll(async () => {
    await etcd?.stop();
  });

  it("lists every selected network at one revision, validates each against its own config, and follows each network's keys", async () => {
    const prefix = newPrefix();
    for (const [name, network] of [['blue', '10.1.0.0/16'], ['green', '10.2.0.0/16'], ['red', '10.3.0.0/16'], ['yellow', '10.4.0.0/16']] as const) {
      await putNetworkConfig(etcd.client, `${prefix}/${name}`, { Network: network, Backend: { Type: 'alloc' } });
    }
    await putLease(etcd.client, `${prefix}/blue`, '10.1.1.0/24', '172.31.0.1');
    await putLease(etcd.client, `${prefix}/green`, '10.2.1.0/24', '172.31.0.1');
    await putLease(etcd.client, `${prefix}/green`, '10.1.5.0/24', '172.31.0.2'); // blue's space: invalid in green
    await putLease(etcd.client, `${prefix}/red`, '10.3.1.0/24', '172.31.0.1');
    await putLease(etcd.client, `${prefix}/yellow`, '10.4.1.0/24', '172.31.0.1'); // not selected
    // The single network's keys at the prefix itself are not read in this mode.
    await putNetworkConfig(etcd.client, prefix, { Network: '10.9.0.0/16', Backend: { Type: 'alloc' } });
    await putLease(etcd.client, prefix, '10.9.1.0/24', '172.31.0.9');

    const source = new EtcdLeaseSource({ client: etcd.client, prefix, networks: ['blue', 'green', 'red'], retry: FAST_RETRY });
    sources.push(source);
    source.start();
    const snap = await source.waitUntilFresh(AbortSignal.timeout(10_000));
    expect(byNetwork(snap)).toEqual({ blue: ['10.1.1.0/24'], green: ['10.2.1.0/24'], red: ['10.3.1.0/24'] });
    expect(snap.invalid.map((i) => [i.network, i.subnet])).toEqual([['green', '10.1.5.0/24']]);
    expect(snap.networks?.map((n) => [n.name, n.config?.network])).toEqual([
      ['blue', '10.1.0.0/16'],
      ['green', '10.2.0.0/16'],
      ['red', '10.3.0.0/16'],
    ]);
    expect(source.status().listings).toBe(1);

    // A lease event is routed to its network by its key.
    const put = nextChange(source, (c) => c.type === 'put' && c.kind === 'lease');
    await putLease(etcd.client, `${prefix}/green`, '10.2.2.0/24', '172.31.0.2');
    expect(await put).toMatchObject({ network: 'green', key: `${prefix}/green/subnets/10.2.2.0-24` });
    expect(byNetwork(source.snapshot()).green).toEqual(['10.2.1.0/24', '10.2.2.0/24']);

    // One network's config deleted: only its leases become unvalidated.
    const gone = nextChange(source, (c) => c.type === 'delete' && c.kind === 'config');
    await etcd.client.delete().key(configKey(`${prefix}/red`)).exec();
    expect(await gone).toMatchObject({ network: 'red' });
    const after = source.snapshot();
    expect(byNetwork(after)).toEqual({ blue: ['10.1.1.0/24'], green: ['10.2.1.0/24', '10.2.2.0/24'] });
    expect(after?.invalid.filter((i) => i.network === 'red').map((i) => [i.subnet, i.reason])).toEqual([
      ['10.3.1.0/24', expect.stringContaining('not validated')],
    ]);
    expect(after?.networks?.find((n) => n.name === 'red')?.config).toBeNull();
    expect(after?.config?.network).toBe('10.1.0.0/16');

    // Keys of networks not selected are not followed.
    const next = nextChange(source, (c) => c.type === 'delete' && c.kind === 'lease');
    await putLease(etcd.client, `${prefix}/yellow`, '10.4.2.0/24', '172.31.0.1');
    await deleteLease(etcd.client, `${prefix}/blue`, '10.1.1.0/24');
    expect(await next).toMatchObject({ network: 'blue' });
    expect(byNetwork(source.snapshot())).toEqual({ green: ['10.2.1.0/24', '10.2.2.0/24'] });
    expect(source.status().listings).toBe(1);
  });
});
