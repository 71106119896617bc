/**
 * applyChanges keeps each table within its limit given what actually succeeded: a create is sent
 * only while the counted routes before the pass, minus the deletes that succeeded, plus the
 * creates sent stay within the table's limit.
 */
import { describe, expect, it } from 'vitest';
import { applyChanges, DEFAULT_APPLY_OPTIONS } from '../../src/reconcile/apply.js';
import type { TableBudget } from '../../src/planner/plan.js';
import type { Change, NodeResolution, RouteProvider, RouteTable } from '../../providers/provider.js';

/** Counts routes per table as a cloud with a generous real limit would: it never refuses a create. */
class CountingProvider implements RouteProvider {
  readonly name = 'counting';
  readonly sent: Change[] = [];
  readonly counted = new Map<string, number>();
  constructor(
    counted: Record<string, number>,
    private readonly refuse: (change: Change) => boolean,
  ) {
    for (const [table, n] of Object.entries(counted)) this.counted.set(table, n);
  }
  listTables(): Promise<RouteTable[]> {
    return Promise.resolve([]);
  }
  resolveNodes(): Promise<Map<string, NodeResolution>> {
    return Promise.resolve(new Map());
  }
  apply(change: Change): Promise<void> {
    this.sent.push(change);
    if (this.refuse(change)) {
      return Promise.reject(Object.assign(new Error('You are not authorized to perform this operation.'), { name: 'UnauthorizedOperation' }));
    }
    if (change.kind === 'create') this.counted.set(change.table, (this.counted.get(change.table) ?? 0) + 1);
    if (change.kind === 'delete') this.counted.set(change.table, (this.counted.get(change.table) ?? 0) - 1);
    return Promise.resolve();
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
}

const del = (table: string, n: number): Change => ({ kind: 'delete', table, destination: `10.1.${n}.0/24`, previousTarget: `eni-${n}`, reason: 'no-lease' });
const create = (table: string, n: number): Change => ({ kind: 'create', table, destination: `10.1.${n}.0/24`, target: `eni-${n}`, nodeIp: `172.31.0.${n}` });
const options = { ...DEFAULT_APPLY_OPTIONS, baseDelayMs: 1, maxDelayMs: 2 };
const signal = new AbortController().signal;

describe('applyChanges within the route limit', () => {
  // --route-limit 3: the local route and two owned routes whose leases are gone; two new leases.
  const budgets: TableBudget[] = [{ table: 'rtb-a', limit: 3, countedBefore: 3, uncountedDeletes: [] }];
  const changes = [del('rtb-a', 8), del('rtb-a', 9), create('rtb-a', 1), create('rtb-a', 2)];

  it('a refused delete holds back the create that needed its room, and says why', async () => {
    const provider = new CountingProvider({ 'rtb-a': 3 }, (c) => c.kind === 'delete' && c.destination === '10.1.9.0/24');
    const results = await applyChanges(provider, changes, signal, options, budgets);
    expect(provider.counted.get('rtb-a')).toBe(3);
    expect(provider.sent.filter((c) => c.kind === 'create').map((c) => c.destination)).toEqual(['10.1.1.0/24']);
    const held = results.find((r) => r.change.kind === 'create' && r.change.destination === '10.1.2.0/24');
    expect(held).toMatchObject({ ok: false, attempts: 0, heldBack: true, error: { class: 'lease' } });
    expect(held !== undefined && !held.ok ? held.error.message : '').toContain('delete 10.1.9.0/24 (no-lease) from rtb-a');
  });

  it('every create goes out when the deletes succeed', async () => {
    const provider = new CountingProvider({ 'rtb-a': 3 }, () => false);
    const results = await applyChanges(provider, changes, signal, options, budgets);
    expect(results.every((r) => r.ok)).toBe(true);
    expect(provider.counted.get('rtb-a')).toBe(3);
  });

  it('a refused delete in one table holds back nothing in another', async () => {
    const provider = new CountingProvider({ 'rtb-a': 3, 'rtb-b': 2 }, (c) => c.kind === 'delete' && c.table === 'rtb-a');
    const results = await applyChanges(
      provider,
      [del('rtb-a', 9), create('rtb-a', 1), create('rtb-b', 1)],
      signal,
      options,
      [
        { table: 'rtb-a', limit: 3, countedBefore: 3, uncountedDeletes: [] },
        { table: 'rtb-b', limit: 3, countedBefore: 2, uncountedDeletes: [] },
      ],
    );
    expect(provider.sent.filter((c) => c.kind === 'create').map((c) => (c.kind === 'create' ? c.table : ''))).toEqual(['rtb-b']);
    expect(results.filter((r) => !r.ok).map((r) => r.change.kind)).toEqual(['delete', 'create']);
    expect(provider.counted.get('rtb-a')).toBe(3);
  });

  it('a deleted route that does not count frees no room', async () => {
    const provider = new CountingProvider({ 'rtb-a': 3 }, () => false);
    const results = await applyChanges(provider, [del('rtb-a', 9), create('rtb-a', 1)], signal, options, [
      { table: 'rtb-a', limit: 3, countedBefore: 3, uncountedDeletes: ['10.1.9.0/24'] },
    ]);
    expect(provider.sent.map((c) => c.kind)).toEqual(['delete']);
    expect(results.find((r) => r.change.kind === 'create')).toMatchObject({ ok: false, heldBack: true });
  });
});
