/**
 * The incremental lease view must give exactly what a full rebuild gives, after any sequence of
 * puts, deletes and config changes, while parsing only the keys that changed.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { buildLeaseSnapshot, configFromText, type RawKeyValue } from '../../src/leases/flannel.js';
import { LeaseIndex } from '../../src/leases/lease-index.js';
import type { InvalidLease } from '../../src/leases/types.js';

const PREFIX = '/coreos.com/network';
const KEY = (name: string): string => `${PREFIX}/subnets/${name}`;

// Few names, so that puts hit existing keys and dual-stack keys collide with plain ones.
const NAMES = ['10.1.1.0-24', '10.1.1.0-24&fc00::-64', '10.1.2.0-24', '10.1.2.0-24&fc00:1::-64', '10.2.0.0-24', '10.1.3.5-24', '10.1.4.0-25', 'lock/owner'];
const VALUES = ['{"PublicIP":"172.31.0.1"}', '{"PublicIP":"172.31.0.2"}', '{"PublicIP":"nope"}', '{"publicip":"172.31.0.3"}', 'not json'];
const CONFIGS = ['{"Network":"10.1.0.0/16","Backend":{"Type":"alloc"}}', '{"Network":"10.0.0.0/8"}', '{"Network":"10.0.0.0/8","SubnetLen":25}', '{"Network":', null];

type Op =
  | { readonly op: 'put'; readonly name: number; readonly value: number; readonly created: number }
  | { readonly op: 'delete'; readonly name: number }
  | { readonly op: 'config'; readonly config: number };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ op: fc.constant('put' as const), name: fc.nat(NAMES.length - 1), value: fc.nat(VALUES.length - 1), created: fc.nat(3) }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('delete' as const), name: fc.nat(NAMES.length - 1) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('config' as const), config: fc.nat(CONFIGS.length - 1) }) },
);

describe('LeaseIndex', () => {
  it('equals a full rebuild after any sequence of puts, deletes and config changes', () => {
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 40 }), ops => {
        const reports: InvalidLease[] = [];
        const index = new LeaseIndex(PREFIX, bad => reports.push(bad));
        const kvs = new Map<string, RawKeyValue>();
        let config: string | null = CONFIGS[0] ?? null;
        index.reset([], configFromText(config, PREFIX));
        let revision = 1;
        for (const step of ops) {
          revision += 1;
          index.revision = revision;
          const before = reports.length;
          if (step.op === 'config') {
            config = CONFIGS[step.config] ?? null;
            index.setConfig(configFromText(config, PREFIX));
          } else if (step.op === 'delete') {
            kvs.delete(KEY(NAMES[step.name] ?? ''));
            index.delete(KEY(NAMES[step.name] ?? ''));
          } else {
            const key = KEY(NAMES[step.name] ?? '');
            const kv: RawKeyValue = {
              key,
              value: VALUES[step.value] ?? '',
              createRevision: kvs.get(key)?.createRevision ?? revision - step.created,
              modRevision: revision,
              lease: step.created === 0 ? '0' : '7',
            };
            kvs.set(key, kv);
            index.put(kv);
          }
          const expected = buildLeaseSnapshot({ prefix: PREFIX, revision, configText: config, kvs: kvs.values() });
          expect(index.snapshot()).toEqual(expected);
          if (expected.config === null) {
            expect(reports.length).toBe(before);
          } else {
            // Every invalid key has been reported with its current reason.
            for (const bad of expected.invalid) {
              expect(reports.findLast(r => r.key === bad.key && r.family === bad.family)).toEqual(bad);
            }
          }
        }
      }),
      { numRuns: 300, seed: 20261122 },
    );
  });

  it('parses one key per event, reports a bad lease once per change, and reuses the snapshot until a change', () => {
    const reports: InvalidLease[] = [];
    const index = new LeaseIndex(PREFIX, bad => reports.push(bad));
    const kvs = Array.from({ length: 1_000 }, (_, i): RawKeyValue => ({
      key: KEY(`10.${Math.floor(i / 256)}.${i % 256}.0-24`),
      value: '{"PublicIP":"172.31.0.1"}',
      createRevision: i + 1,
      modRevision: i + 1,
      lease: '7',
    }));
    index.reset(kvs, configFromText('{"Network":"10.0.0.0/8"}', PREFIX));
    expect(index.keysParsed).toBe(1_000);
    const first = index.snapshot();
    expect(index.snapshot()).toBe(first);

    const bad: RawKeyValue = { key: KEY('10.9.0.0-24'), value: '{"PublicIP":"x"}', createRevision: 2_000, modRevision: 2_000, lease: '7' };
    for (let i = 0; i < 100; i += 1) index.put({ ...kvs[i]!, value: '{"PublicIP":"172.31.0.2"}', modRevision: 1_001 + i });
    index.put(bad);
    index.put(bad); // the same revision again (e.g. a re-delivered event): not a change
    expect(index.keysParsed).toBe(1_000 + 102);
    expect(reports.map(r => r.key)).toEqual([bad.key]);
    index.put({ ...bad, value: '{"PublicIP":"y"}', modRevision: 2_001 });
    expect(reports.map(r => r.key)).toEqual([bad.key, bad.key]);
    expect(index.snapshot()).not.toBe(first);
    expect(index.snapshot().leases).toHaveLength(1_000);
  });
});
