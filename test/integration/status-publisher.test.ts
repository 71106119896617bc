/**
 * The status document in a real etcd: written whole while it is small, and within etcd's request
 * limit at 10,000 leases (the whole document would be refused, and the refusals would open the
 * client's circuit breaker, taking the lease watch down with it). Written only when its content
 * changes, and at a bounded rate: etcd keeps every revision until compaction.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/log.js';
import { MAX_STATUS_BYTES, StatusPublisher } from '../../src/status-publisher.js';
import type { StatusDocument } from '../../src/telemetry/status.js';
import { startEtcd, waitFor, type EtcdServer } from '../helpers/etcd.js';

let etcd: EtcdServer;
beforeAll(async () => {
  etcd = await startEtcd();
});
afterAll(async () => {
  await etcd.stop();
});

function documentWith(leases: number, unrouted: number, invalid = 0): StatusDocument {
  return {
    version: '0.1.0',
    identity: 'replica-1',
    provider: 'aws-vpc',
    clusterName: 'c1',
    leader: true,
    leaseViewFresh: true,
    lastPass: { startedAt: '2026-11-22T00:00:00.000Z', durationMs: 1200, outcome: 'applied' },
    lastSuccessAt: '2026-11-22T00:00:01.200Z',
    leases: Array.from({ length: leases }, (_, i) => ({
      subnet: `10.${Math.floor(i / 256)}.${i % 256}.0/24`,
      nodeIp: `172.16.${Math.floor(i / 256)}.${i % 256}`,
      target: `eni-${i.toString(16).padStart(17, '0')}`,
      ...(i < leases - unrouted
        ? { state: 'routed' }
        : { state: 'unrouted', reason: 'route-limit', detail: 'route limit reached in rtb-0123456789abcdef0' }),
    })),
    invalidLeases: Array.from({ length: invalid }, (_, i) => ({ key: `/coreos.com/network/subnets/bad-${i}`, reason: 'not a subnet key' })),
    tables: [{ id: 'rtb-0123456789abcdef0', limit: 1000, quotaLimit: 1000, limitSource: 'quota-api', capacity: 999, owned: 999, foreignCounted: 1 }],
  };
}

/** What a pass publishes when nothing changed: the same content, new pass times. */
function idlePass(document: StatusDocument, pass: number): StatusDocument {
  const startedAt = new Date(Date.parse('2026-11-22T00:00:00.000Z') + pass * 60_000);
  return {
    ...document,
    lastPass: { startedAt: startedAt.toISOString(), durationMs: 1000 + pass, outcome: 'applied' },
    lastSuccessAt: new Date(startedAt.getTime() + 1000 + pass).toISOString(),
  };
}

async function modRevision(key: string): Promise<number> {
  const response = await etcd.client.get(key).exec();
  return Number(response.kvs[0]?.mod_revision ?? 0);
}

async function publishAndRead(key: string, document: StatusDocument): Promise<{ raw: string; parsed: Record<string, unknown> }> {
  const publisher = new StatusPublisher(etcd.client, key, createLogger('silent'));
  publisher.publish(document);
  await publisher.flush();
  const raw = (await etcd.client.get(key).string()) ?? '';
  return { raw, parsed: JSON.parse(raw) as Record<string, unknown> };
}

describe('status document in etcd', () => {
  it('is written whole while it is small', async () => {
    const document = documentWith(50, 5, 2);
    const { parsed } = await publishAndRead('/routesync/small/status', document);
    expect(parsed['leases']).toEqual(document.leases);
    expect(parsed['invalidLeases']).toEqual(document.invalidLeases);
    expect(parsed).not.toHaveProperty('leaseCounts');
    expect(typeof parsed['updatedAt']).toBe('string');
  });

  it('at 10,000 leases: written within the limit, with counts, every unrouted lease and the tables', async () => {
    const document = documentWith(10_000, 9_001);
    expect(Buffer.byteLength(JSON.stringify(document))).toBeGreaterThan(MAX_STATUS_BYTES);
    const { raw, parsed } = await publishAndRead('/routesync/big/status', document);
    expect(Buffer.byteLength(raw)).toBeLessThanOrEqual(MAX_STATUS_BYTES);
    expect(parsed['leaseCounts']).toEqual({ routed: 999, unrouted: 9_001 });
    const leases = parsed['leases'] as Array<{ state: string }>;
    expect(leases.every((l) => l.state === 'unrouted')).toBe(true);
    expect(leases.length + Number(parsed['leasesOmitted'])).toBe(10_000);
    expect(parsed['tables']).toEqual(document.tables);
  });

  it('at 40,000 leases, most of them unrouted, keeps as many unrouted leases as fit and says how many are left out', async () => {
    const document = documentWith(40_000, 39_000, 20_000);
    const { raw, parsed } = await publishAndRead('/routesync/huge/status', document);
    expect(Buffer.byteLength(raw)).toBeLessThanOrEqual(MAX_STATUS_BYTES);
    const leases = parsed['leases'] as Array<{ subnet: string }>;
    expect(leases.length).toBeGreaterThan(1_000);
    expect(leases[0]?.subnet).toBe(document.leases[1_000]?.subnet); // the first unrouted one
    expect(leases.length + Number(parsed['leasesOmitted'])).toBe(40_000);
    expect((parsed['invalidLeases'] as unknown[]).length + Number(parsed['invalidLeasesOmitted'])).toBe(20_000);
  });
});

describe('status document writes', () => {
  it('10 idle passes add no etcd revision', async () => {
    const key = '/routesync/idle/status';
    const publisher = new StatusPublisher(etcd.client, key, createLogger('silent'));
    const document = documentWith(20, 2, 1);
    publisher.publish(idlePass(document, 0));
    await publisher.flush();
    const written = await modRevision(key);
    expect(written).toBeGreaterThan(0);
    const before = await etcd.currentRevision();
    for (let pass = 1; pass <= 10; pass += 1) {
      publisher.publish(idlePass(document, pass));
      await publisher.flush();
    }
    expect(await etcd.currentRevision()).toBe(before);
    expect(await modRevision(key)).toBe(written);

    // A change of content is written, and its updatedAt moves with it.
    const firstUpdatedAt = (JSON.parse((await etcd.client.get(key).string()) ?? '{}') as { updatedAt: string }).updatedAt;
    publisher.publish(idlePass(documentWith(21, 2, 1), 11));
    await publisher.flush();
    expect(await modRevision(key)).toBeGreaterThan(written);
    const stored = JSON.parse((await etcd.client.get(key).string()) ?? '{}') as { leases: unknown[]; updatedAt: string };
    expect(stored.leases).toHaveLength(21);
    expect(Date.parse(stored.updatedAt)).toBeGreaterThanOrEqual(Date.parse(firstUpdatedAt));
  });

  it('writes at most once per interval, the newest document winning, and flush() writes the pending one', async () => {
    const key = '/routesync/bounded/status';
    const publisher = new StatusPublisher(etcd.client, key, createLogger('silent'), undefined, { minIntervalMs: 3_600_000 });
    publisher.publish(documentWith(1, 0));
    await waitFor(async () => (await modRevision(key)) > 0, { message: 'the first document' });
    const first = await modRevision(key);
    for (let leases = 2; leases <= 6; leases += 1) publisher.publish(documentWith(leases, 0));
    // Nothing more is written within the interval (a write would be visible as soon as it resolves).
    await etcd.client.put('/routesync/bounded/barrier').value('x').exec();
    expect(await modRevision(key)).toBe(first);
    await publisher.flush();
    const stored = JSON.parse((await etcd.client.get(key).string()) ?? '{}') as { leases: unknown[] };
    expect(stored.leases).toHaveLength(6);
    expect(await modRevision(key)).toBe((await etcd.currentRevision()));
  });

  it('writes the last change on its own once the interval has passed', async () => {
    const key = '/routesync/eventually/status';
    const publisher = new StatusPublisher(etcd.client, key, createLogger('silent'), undefined, { minIntervalMs: 200 });
    publisher.publish(documentWith(1, 0));
    publisher.publish(documentWith(2, 0));
    publisher.publish(documentWith(3, 0));
    await waitFor(async () => ((JSON.parse((await etcd.client.get(key).string()) ?? '{"leases":[]}') as { leases: unknown[] }).leases.length === 3), {
      message: 'the newest document',
    });
    await publisher.flush();
  });
});
