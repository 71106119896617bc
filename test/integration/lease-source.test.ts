import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import { createEtcdClient } from '../../src/leases/etcd-client.js';
import { EtcdLeaseSource, type LeaseSourceChange, type LeaseSourceLogger } from '../../src/leases/lease-view.js';
import { buildLeaseSnapshot, subnetsPrefix, type RawKeyValue } from '../../src/leases/flannel.js';
import type { LeaseSnapshot } from '../../src/leases/types.js';
import {
  deleteLease,
  leaseValue,
  putLease,
  putNetworkConfig,
  retryEtcd,
  revokeLease,
  startEtcd,
  waitFor,
  type EtcdServer,
} from '../helpers/etcd.js';

interface LogLine {
  readonly level: 'debug' | 'info' | 'warn' | 'error';
  readonly obj: Record<string, unknown>;
  readonly msg: string;
}

function captureLogger(): { logger: LeaseSourceLogger; lines: LogLine[] } {
  const lines: LogLine[] = [];
  const at =
    (level: LogLine['level']) =>
    (obj: Record<string, unknown>, msg?: string): void => {
      lines.push({ level, obj, msg: msg ?? '' });
    };
  return { lines, logger: { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') } };
}

const CONFIG = { Network: '10.1.0.0/16', Backend: { Type: 'alloc' } };
const FAST_RETRY = { initialDelayMs: 20, maxDelayMs: 300 };

let prefixCounter = 0;
/** Every test gets its own flannel prefix in the shared etcd. */
const newPrefix = (): string => `/test-${process.pid}-${++prefixCounter}/network`;

const sources: EtcdLeaseSource[] = [];
function track(source: EtcdLeaseSource): EtcdLeaseSource {
  sources.push(source);
  return source;
}
afterEach(async () => {
  await Promise.all(sources.splice(0).map(s => s.stop()));
});

const subnetsOf = (snap: LeaseSnapshot | null): string[] => (snap?.leases ?? []).map(l => l.subnet).sort();
const fresh = (ms = 10_000): AbortSignal => AbortSignal.timeout(ms);

describe('EtcdLeaseSource against a real etcd', () => {
  let etcd: EtcdServer;
  beforeAll(async () => {
    etcd = await startEtcd();
  });
  afterAll(async () => {
    await etcd?.stop();
  });

  it('lists config and leases at one revision, reporting bad keys and values while keeping the rest', async () => {
    const prefix = newPrefix();
    // Lower-case keys: flannel (Go encoding/json) accepts them.
    await putNetworkConfig(etcd.client, prefix, '{"network":"10.1.0.0/16","subnetlen":24,"backend":{"type":"alloc"}}');
    const withTtl = await putLease(etcd.client, prefix, '10.1.1.0/24', '172.31.0.1', { ttlSeconds: 300 });
    await putLease(etcd.client, prefix, '10.1.2.0/24', '172.31.0.2'); // reservation
    await putLease(etcd.client, prefix, '10.1.3.0/24', '172.31.0.3', {
      ipv6Subnet: 'fc00::/64',
      ttlSeconds: 300,
      extra: { BackendType: 'vxlan', BackendData: { VNI: 1, VtepMAC: '0a:0b:0c:0d:0e:0f' } },
    });
    await putLease(etcd.client, prefix, '', '172.31.0.9', { rawName: '10.1.300.0-24' });
    await putLease(etcd.client, prefix, '', '172.31.0.9', { rawName: '10.1.19.5-24' });
    await putLease(etcd.client, prefix, '10.1.4.0/24', '', { rawValue: '{"PublicIP":"nope"}' });
    await putLease(etcd.client, prefix, '10.2.0.0/24', '172.31.0.9');
    await putLease(etcd.client, prefix, '', '172.31.0.9', { rawName: 'lock/owner' });
    await etcd.client.put(`${prefix}/other`).value('ignored');

    const { logger, lines } = captureLogger();
    const source = track(new EtcdLeaseSource({ client: etcd.client, prefix, logger, retry: FAST_RETRY }));
    expect(source.snapshot()).toBeNull();
    source.start();
    const snap = await source.waitUntilFresh(fresh());

    expect(source.isFresh()).toBe(true);
    expect(snap.config).toEqual({ network: '10.1.0.0/16', subnetLen: 24, enableIPv4: true, enableIPv6: false, backendType: 'alloc' });
    expect(snap.leases.map(l => [l.subnet, l.nodeIp, l.reservation])).toEqual([
      ['10.1.1.0/24', '172.31.0.1', false],
      ['10.1.2.0/24', '172.31.0.2', true],
      ['10.1.3.0/24', '172.31.0.3', false],
    ]);
    expect(snap.leases[0]?.key).toBe(withTtl.key);
    expect(snap.leases[0]?.createRevision).toBe(withTtl.revision);
    expect(snap.leases[2]?.key).toBe(`${prefix}/subnets/10.1.3.0-24&fc00::-64`);
    expect(snap.revision).toBeGreaterThanOrEqual(withTtl.revision);
    expect(snap.invalid.map(i => [i.key.slice(prefix.length), i.subnet ?? null])).toEqual([
      ['/subnets/10.1.19.5-24', null],
      // The config has no EnableIPv6: the dual-stack key's IPv6 half is reported, its IPv4 half used.
      ['/subnets/10.1.3.0-24&fc00::-64', 'fc00::/64'],
      ['/subnets/10.1.300.0-24', null],
      ['/subnets/10.1.4.0-24', '10.1.4.0/24'],
      ['/subnets/10.2.0.0-24', '10.2.0.0/24'],
    ]);
    const warned = lines.filter(l => l.level === 'warn' && l.msg === 'skipping invalid flannel lease').map(l => l.obj['key']);
    expect(warned.sort()).toEqual(snap.invalid.map(i => i.key));
  });

  it('follows puts and deletes, logging a bad lease once per change', async () => {
    const prefix = newPrefix();
    await putNetworkConfig(etcd.client, prefix, CONFIG);
    await putLease(etcd.client, prefix, '10.1.1.0/24', '172.31.0.1', { ttlSeconds: 300 });
    const { logger, lines } = captureLogger();
    const source = track(new EtcdLeaseSource({ client: etcd.client, prefix, logger, retry: FAST_RETRY }));
    const changes: LeaseSourceChange[] = [];
    const unsubscribe = source.onChange(change => changes.push(change));
    source.start();
    await source.waitUntilFresh(fresh());
    expect(changes[0]).toMatchObject({ type: 'listed' });

    const added = await putLease(etcd.client, prefix, '10.1.2.0/24', '172.31.0.2', { ttlSeconds: 300 });
    await waitFor(() => subnetsOf(source.snapshot()).includes('10.1.2.0/24'), { message: 'the new lease' });
    expect(changes).toContainEqual({ type: 'put', kind: 'lease', key: added.key, revision: added.revision });
    expect(source.snapshot()?.revision).toBeGreaterThanOrEqual(added.revision);

    // flannel renews by re-putting with a new etcd lease: same create_revision, new node IP here.
    const renewed = await putLease(etcd.client, prefix, '10.1.2.0/24', '172.31.0.22', { ttlSeconds: 300 });
    await waitFor(() => source.snapshot()?.leases.find(l => l.subnet === '10.1.2.0/24')?.nodeIp === '172.31.0.22', { message: 'the renewed lease' });
    const lease = source.snapshot()?.leases.find(l => l.subnet === '10.1.2.0/24');
    expect(lease).toMatchObject({ createRevision: added.revision, modRevision: renewed.revision, reservation: false });

    const deletedAt = await deleteLease(etcd.client, prefix, '10.1.1.0/24');
    await waitFor(() => !subnetsOf(source.snapshot()).includes('10.1.1.0/24'), { message: 'the deleted lease to go' });
    expect(changes).toContainEqual({ type: 'delete', kind: 'lease', key: `${prefix}/subnets/10.1.1.0-24`, revision: deletedAt });

    const badLogs = (): number => lines.filter(l => l.msg === 'skipping invalid flannel lease' && l.obj['subnet'] === '10.1.9.0/24').length;
    await putLease(etcd.client, prefix, '10.1.9.0/24', '', { rawValue: '{"PublicIP":"x"}' });
    await waitFor(() => source.snapshot()?.invalid.some(i => i.subnet === '10.1.9.0/24'), { message: 'the bad lease' });
    expect(badLogs()).toBe(1);
    // Unrelated changes rebuild the snapshot but do not log the same bad lease again.
    await putLease(etcd.client, prefix, '10.1.3.0/24', '172.31.0.3');
    await waitFor(() => subnetsOf(source.snapshot()).includes('10.1.3.0/24'), { message: 'another lease' });
    expect(badLogs()).toBe(1);
    // A new bad value is a change: logged again.
    await putLease(etcd.client, prefix, '10.1.9.0/24', '', { rawValue: '{"PublicIP":"y"}' });
    await waitFor(() => badLogs() === 2, { message: 'the second bad value to be logged' });

    unsubscribe();
    const before = changes.length;
    await putLease(etcd.client, prefix, '10.1.5.0/24', '172.31.0.5');
    await waitFor(() => subnetsOf(source.snapshot()).includes('10.1.5.0/24'), { message: 'a lease after unsubscribing' });
    expect(changes.length).toBe(before);
  });

  it('sees an expired etcd lease as a delete', async () => {
    const prefix = newPrefix();
    await putNetworkConfig(etcd.client, prefix, CONFIG);
    await putLease(etcd.client, prefix, '10.1.1.0/24', '172.31.0.1');
    const source = track(new EtcdLeaseSource({ client: etcd.client, prefix, retry: FAST_RETRY }));
    const deletes: string[] = [];
    source.onChange(change => {
      if (change.type === 'delete') deletes.push(change.key);
    });
    source.start();
    await source.waitUntilFresh(fresh());

    const short = await putLease(etcd.client, prefix, '10.1.2.0/24', '172.31.0.2', { ttlSeconds: 1 });
    await waitFor(() => subnetsOf(source.snapshot()).includes('10.1.2.0/24'), { message: 'the short lease' });
    await waitFor(() => deletes.includes(short.key), { timeoutMs: 15_000, message: 'the etcd lease to expire' });
    expect(subnetsOf(source.snapshot())).toEqual(['10.1.1.0/24']);

    // Revoking an etcd lease deletes its keys at once, too.
    const revoked = await putLease(etcd.client, prefix, '10.1.3.0/24', '172.31.0.3', { ttlSeconds: 300 });
    await waitFor(() => subnetsOf(source.snapshot()).includes('10.1.3.0/24'), { message: 'the lease to revoke' });
    await revokeLease(etcd.client, revoked.leaseId ?? '');
    await waitFor(() => deletes.includes(revoked.key), { message: 'the revoked lease to go' });
  });

  it('revalidates every lease when the config changes', async () => {
    const prefix = newPrefix();
    await putNetworkConfig(etcd.client, prefix, CONFIG);
    await putLease(etcd.client, prefix, '10.1.1.0/24', '172.31.0.1');
    await putLease(etcd.client, prefix, '10.2.1.0/24', '172.31.0.2');
    const { logger, lines } = captureLogger();
    const source = track(new EtcdLeaseSource({ client: etcd.client, prefix, logger, retry: FAST_RETRY }));
    const configChanges: LeaseSourceChange[] = [];
    source.onChange(change => {
      if ('kind' in change && change.kind === 'config') configChanges.push(change);
    });
    source.start();
    let snap = await source.waitUntilFresh(fresh());
    expect(subnetsOf(snap)).toEqual(['10.1.1.0/24']);
    expect(snap.invalid.map(i => i.subnet)).toEqual(['10.2.1.0/24']);

    await putNetworkConfig(etcd.client, prefix, { Network: '10.0.0.0/8', Backend: { Type: 'alloc' } });
    await waitFor(() => source.snapshot()?.config?.network === '10.0.0.0/8', { message: 'the new config' });
    snap = source.snapshot() as LeaseSnapshot;
    expect(subnetsOf(snap)).toEqual(['10.1.1.0/24', '10.2.1.0/24']);
    expect(snap.invalid).toEqual([]);
    expect(configChanges).toHaveLength(1);

    await putNetworkConfig(etcd.client, prefix, { Network: '10.0.0.0/8', SubnetLen: 25 });
    await waitFor(() => source.snapshot()?.config?.subnetLen === 25, { message: 'SubnetLen 25' });
    expect(source.snapshot()?.leases).toEqual([]);
    expect(source.snapshot()?.invalid.map(i => i.reason)).toEqual([expect.stringMatching(/SubnetLen is 25/), expect.stringMatching(/SubnetLen is 25/)]);

    await putNetworkConfig(etcd.client, prefix, { Network: '10.0.0.0/8', Backend: { Type: 'aws-vpc' } });
    await waitFor(() => source.snapshot()?.config?.backendType === 'aws-vpc', { message: 'the aws-vpc backend' });
    expect(lines.some(l => l.level === 'warn' && /fight routesync/.test(l.msg))).toBe(true);

    await putNetworkConfig(etcd.client, prefix, '{"Network":');
    await waitFor(() => source.snapshot()?.config === null, { message: 'the broken config' });
    expect(source.snapshot()?.configError).toMatch(/not valid JSON/);
    expect(source.snapshot()?.leases).toEqual([]);

    await etcd.client.delete().key(`${prefix}/config`).exec();
    await waitFor(() => /no flannel network config/.test(source.snapshot()?.configError ?? ''), { message: 'the missing config' });
    expect(lines.filter(l => l.level === 'error' && /config is unusable/.test(l.msg))).toHaveLength(2);
    expect(source.isFresh()).toBe(true);
  });

  it('re-lists when its watch revision has been compacted', async () => {
    const prefix = newPrefix();
    await putNetworkConfig(etcd.client, prefix, CONFIG);
    await putLease(etcd.client, prefix, '10.1.1.0/24', '172.31.0.1');
    await putLease(etcd.client, prefix, '10.1.2.0/24', '172.31.0.2');
    const { logger, lines } = captureLogger();
    const listedRevisions: number[] = [];
    let compactedTo = 0;
    const source = track(
      new EtcdLeaseSource({
        client: etcd.client,
        prefix,
        logger,
        retry: FAST_RETRY,
        // Between the first listing and its watch: change leases, then compact past the listing.
        beforeWatch: async revision => {
          listedRevisions.push(revision);
          if (listedRevisions.length > 1) return;
          await putLease(etcd.client, prefix, '10.1.3.0/24', '172.31.0.3');
          await deleteLease(etcd.client, prefix, '10.1.1.0/24');
          compactedTo = await etcd.compact();
        },
      }),
    );
    const changes: LeaseSourceChange[] = [];
    source.onChange(change => changes.push(change));
    source.start();

    await waitFor(() => source.status().listings >= 2 && source.isFresh(), { message: 'a second listing' });
    expect(listedRevisions[1]).toBeGreaterThanOrEqual(compactedTo);
    expect(subnetsOf(source.snapshot())).toEqual(['10.1.2.0/24', '10.1.3.0/24']);
    // etcd acknowledges the doomed watch before cancelling it: fresh, stale, then fresh again.
    expect(changes.map(c => c.type).slice(0, 2)).toEqual(['listed', 'stale']);
    expect(changes.at(-1)?.type).toBe('listed');
    expect(lines.some(l => l.level === 'warn' && /compacted/.test(l.msg))).toBe(true);

    // And it keeps watching after the re-list.
    await putLease(etcd.client, prefix, '10.1.4.0/24', '172.31.0.4');
    await waitFor(() => subnetsOf(source.snapshot()).includes('10.1.4.0/24'), { message: 'a lease after the re-list' });
  });

  it('pages through large listings at one revision', async () => {
    const prefix = newPrefix();
    await putNetworkConfig(etcd.client, prefix, CONFIG);
    for (let i = 0; i < 25; i++) await putLease(etcd.client, prefix, `10.1.${i}.0/24`, `172.31.1.${i}`);
    // A pino logger fits the source's logger interface as is.
    const logger: LeaseSourceLogger = pino({ level: 'silent' });
    const source = track(new EtcdLeaseSource({ client: etcd.client, prefix, pageSize: 4, logger, retry: FAST_RETRY }));
    source.start();
    const snap = await source.waitUntilFresh(fresh());
    expect(snap.leases).toHaveLength(25);
    expect(snap.leases.map(l => l.nodeIp)).toEqual(Array.from({ length: 25 }, (_, i) => `172.31.1.${i}`));
  });

  it('writes etcd refuses as too large neither open the circuit breaker nor end the watch', async () => {
    const prefix = newPrefix();
    await putNetworkConfig(etcd.client, prefix, CONFIG);
    const client = createEtcdClient({ endpoints: etcd.endpoint });
    try {
      const source = track(new EtcdLeaseSource({ client, prefix, retry: FAST_RETRY }));
      source.start(new AbortController().signal);
      await source.waitUntilFresh(fresh());
      const tooLarge = 'x'.repeat(2 * 1024 * 1024); // over etcd's default --max-request-bytes
      for (let i = 0; i < 8; i += 1) {
        await expect(client.put(`${prefix}-status`).value(tooLarge).exec()).rejects.toThrow(/RESOURCE_EXHAUSTED|larger than max/);
      }
      expect(await client.get(`${prefix}/config`).string()).toBe(JSON.stringify(CONFIG)); // the breaker is closed
      await putLease(etcd.client, prefix, '10.1.7.0/24', '172.31.0.7');
      await waitFor(() => subnetsOf(source.snapshot()).includes('10.1.7.0/24'), { timeoutMs: 10_000 });
      expect(source.snapshot()).not.toBeNull();
    } finally {
      client.close();
    }
  });

  it('applies a mass join one event at a time: lease parses grow with the events, not events × leases', async () => {
    const prefix = newPrefix();
    const leases = 2_000;
    const events = 300;
    const subnet = (i: number): string => `10.${Math.floor(i / 256)}.${i % 256}.0/24`;
    await putNetworkConfig(etcd.client, prefix, { Network: '10.0.0.0/8', Backend: { Type: 'alloc' } });
    for (let first = 0; first < leases; first += 100) {
      await Promise.all(
        Array.from({ length: 100 }, (_, j) => etcd.client.put(`${prefix}/subnets/${subnet(first + j).replace('/', '-')}`).value(leaseValue(`172.16.0.${j}`)).exec()),
      );
    }
    const source = track(new EtcdLeaseSource({ client: etcd.client, prefix, retry: FAST_RETRY }));
    const seen = new Map<string, () => void>();
    source.onChange(change => {
      if (change.type !== 'listed' && change.type !== 'stale') seen.get(change.key)?.();
    });
    source.start();
    expect((await source.waitUntilFresh(fresh())).leases).toHaveLength(leases);
    const afterListing = source.status().keysParsed;
    expect(afterListing).toBeGreaterThanOrEqual(leases);

    // Each write is awaited as its own watch event: joins, renewals, leaves, a bad lease and a duplicate.
    const write = async (key: string, op: () => Promise<unknown>): Promise<void> => {
      const arrived = new Promise<void>(resolve => seen.set(key, resolve));
      await op();
      await arrived;
    };
    const keyOf = (name: string): string => `${prefix}/subnets/${name}`;
    for (let i = 0; i < events; i += 1) {
      const name = i % 10 === 7 ? subnet(i).replace('/', '-') : subnet(leases + i).replace('/', '-');
      if (i % 10 === 3) await write(keyOf(subnet(i).replace('/', '-')), () => etcd.client.delete().key(keyOf(subnet(i).replace('/', '-'))).exec());
      else if (i === 11) await write(keyOf(`${name}`), () => etcd.client.put(keyOf(name)).value('{"PublicIP":"nope"}').exec());
      else if (i === 12) await write(keyOf(`${subnet(20).replace('/', '-')}&fc00::-64`), () => etcd.client.put(keyOf(`${subnet(20).replace('/', '-')}&fc00::-64`)).value(leaseValue('172.17.0.1')).exec());
      else await write(keyOf(name), () => etcd.client.put(keyOf(name)).value(leaseValue(`172.17.${i % 256}.1`)).exec());
    }
    const snap = source.snapshot();
    expect(snap).not.toBeNull();
    const parsedForEvents = source.status().keysParsed - afterListing;
    expect(parsedForEvents).toBeLessThanOrEqual(4 * events);

    // The same view as a fresh listing at that revision.
    const listing = await etcd.client.getAll().prefix(subnetsPrefix(prefix)).revision(snap?.revision ?? 0).exec();
    const config = await etcd.client.get(`${prefix}/config`).revision(snap?.revision ?? 0).string();
    const kvs: RawKeyValue[] = listing.kvs.map(kv => ({
      key: kv.key.toString(),
      value: kv.value,
      createRevision: kv.create_revision,
      modRevision: kv.mod_revision,
      lease: kv.lease,
    }));
    expect(snap).toEqual(buildLeaseSnapshot({ prefix, revision: snap?.revision ?? 0, configText: config, kvs }));
    expect(snap?.invalid.map(i => i.reason)).toEqual([
      expect.stringMatching(/duplicate lease/),
      expect.stringMatching(/^IPv6 half fc00::\/64: EnableIPv6 is false/),
      expect.stringMatching(/not an IPv4/),
    ]);
  });

  it('stop() leaves a passed-in client open, and an aborted signal stops it', async () => {
    const prefix = newPrefix();
    await putNetworkConfig(etcd.client, prefix, CONFIG);
    const controller = new AbortController();
    const source = new EtcdLeaseSource({ client: etcd.client, prefix, retry: FAST_RETRY });
    source.start(controller.signal);
    await source.waitUntilFresh(fresh());
    controller.abort();
    await source.stop();
    expect(source.snapshot()).toBeNull();
    await expect(source.waitUntilFresh(fresh())).rejects.toThrow(/gave up/);
    expect(await etcd.client.get(`${prefix}/config`).string()).toBe(JSON.stringify(CONFIG));
  });
});

describe('EtcdLeaseSource when etcd goes away', () => {
  let etcd: EtcdServer;
  beforeAll(async () => {
    etcd = await startEtcd();
  });
  afterAll(async () => {
    await etcd?.stop();
  });

  it('goes stale while etcd is down and fresh again with the right content after a restart', async () => {
    const prefix = newPrefix();
    await putNetworkConfig(etcd.client, prefix, CONFIG);
    await putLease(etcd.client, prefix, '10.1.1.0/24', '172.31.0.1');
    await putLease(etcd.client, prefix, '10.1.2.0/24', '172.31.0.2');
    const { logger, lines } = captureLogger();
    // The source owns its client, built from endpoints.
    const source = track(new EtcdLeaseSource({ endpoints: [etcd.endpoint], prefix, logger, retry: FAST_RETRY }));
    const changes: LeaseSourceChange[] = [];
    source.onChange(change => changes.push(change));
    source.start();
    await source.waitUntilFresh(fresh());

    await etcd.halt();
    await waitFor(() => source.snapshot() === null, { message: 'the view to go stale' });
    expect(source.isFresh()).toBe(false);
    expect(changes.at(-1)).toMatchObject({ type: 'stale' });
    await waitFor(() => source.status().lastError !== null, { message: 'a failed listing' });
    expect(source.snapshot()).toBeNull();

    await etcd.restart();
    // Changes made while routesync was blind are in the re-listing.
    await retryEtcd(() => putLease(etcd.client, prefix, '10.1.3.0/24', '172.31.0.3'));
    await retryEtcd(() => deleteLease(etcd.client, prefix, '10.1.1.0/24'));
    await waitFor(() => subnetsOf(source.snapshot()).join() === '10.1.2.0/24,10.1.3.0/24', { timeoutMs: 20_000, message: 'fresh content after the restart' });
    expect(source.status()).toMatchObject({ fresh: true, lastError: null });
    expect(source.status().listings).toBeGreaterThanOrEqual(2);
    expect(lines.some(l => l.level === 'warn' && /disconnected/.test(l.msg))).toBe(true);

    await retryEtcd(() => putLease(etcd.client, prefix, '10.1.4.0/24', '172.31.0.4'));
    await waitFor(() => subnetsOf(source.snapshot()).includes('10.1.4.0/24'), { message: 'a watched lease after the restart' });
  });

  it('while etcd is down, warns with the endpoints, how long the view has been stale, the cause and what is (not) done', async () => {
    const prefix = newPrefix();
    await putNetworkConfig(etcd.client, prefix, CONFIG);
    const { logger, lines } = captureLogger();
    const source = track(new EtcdLeaseSource({ endpoints: etcd.endpoint, prefix, logger, retry: FAST_RETRY }));
    source.start();
    await source.waitUntilFresh(fresh());
    await etcd.halt();
    try {
      // Enough failed listings for the client's circuit breaker to open.
      const breakerLine = await waitFor(() => lines.find(l => /cannot list/.test(l.msg) && /circuit breaker/i.test(String(l.obj['err']))), {
        timeoutMs: 20_000,
        message: 'a listing refused by the open circuit breaker',
      });
      expect(String(breakerLine.obj['err'])).toContain(etcd.endpoint);
      expect(String(breakerLine.obj['cause'])).toMatch(/UNAVAILABLE|ECONNREFUSED|No connection/);
      expect(breakerLine.obj['staleForMs']).toBeGreaterThan(0);

      const warnings = lines.filter(l => l.level === 'warn' && /cannot list|disconnected/.test(l.msg));
      expect(warnings.length).toBeGreaterThanOrEqual(2);
      for (const line of warnings) {
        expect(line.obj['endpoints']).toEqual([etcd.endpoint]);
        expect(line.obj['staleForMs']).toEqual(expect.any(Number));
        expect(line.msg).toMatch(/routesync changes no route while etcd is unreachable/);
      }
      const staleFor = warnings.map(l => Number(l.obj['staleForMs']));
      expect(staleFor).toEqual([...staleFor].sort((a, b) => a - b));
    } finally {
      await etcd.restart();
    }
    await source.waitUntilFresh(fresh(20_000));
  });

  it('keeps retrying when etcd is down at start, and after a crash', async () => {
    const prefix = newPrefix();
    await putNetworkConfig(etcd.client, prefix, CONFIG);
    await putLease(etcd.client, prefix, '10.1.7.0/24', '172.31.0.7');
    await etcd.halt();

    const { logger, lines } = captureLogger();
    const source = track(new EtcdLeaseSource({ endpoints: etcd.endpoint, prefix, logger, retry: FAST_RETRY }));
    source.start();
    await waitFor(() => source.status().lastError !== null, { message: 'a failed listing' });
    await waitFor(() => lines.filter(l => /cannot list/.test(l.msg)).length >= 3, { message: 'several attempts' });
    expect(source.snapshot()).toBeNull();
    expect(lines.some(l => l.level === 'warn' && /cannot list/.test(l.msg))).toBe(true);

    await etcd.restart();
    const snap = await source.waitUntilFresh(fresh(20_000));
    expect(subnetsOf(snap)).toEqual(['10.1.7.0/24']);

    await etcd.halt({ signal: 'SIGKILL' });
    await waitFor(() => !source.isFresh(), { message: 'stale after a crash' });
    await etcd.restart();
    await source.waitUntilFresh(fresh(20_000));
    await retryEtcd(() => putLease(etcd.client, prefix, '10.1.8.0/24', '172.31.0.8'));
    await waitFor(() => subnetsOf(source.snapshot()).includes('10.1.8.0/24'), { message: 'a watched lease after the crash' });
  });
});

describe('leaseValue helper', () => {
  it('writes what flannel writes', () => {
    expect(leaseValue('172.31.14.97')).toBe('{"PublicIP":"172.31.14.97","PublicIPv6":null}');
  });
});
