/**
 * src/reconcile/learned-limits.ts: a create refused for the quota lowers a read limit to the count
 * the table held then; a --route-limit number is never changed; a new quota read drops what was learned.
 */
import { describe, expect, it } from 'vitest';
import type { Change, LimitSource, RouteTable } from '../../providers/provider.js';
import type { TableBudget } from '../../src/planner/plan.js';
import type { ChangeResult } from '../../src/reconcile/apply.js';
import { LearnedLimits } from '../../src/reconcile/learned-limits.js';

const T = 'rtb-1';

function table(limit: number, limitSource: LimitSource, limitReadAt?: string): RouteTable {
  return { id: T, limit, limitSource, ...(limitReadAt !== undefined ? { limitReadAt } : {}), quota: 'aws-vpc-routes-per-table', routes: [] };
}

function budget(limit: number, countedBefore: number, uncountedDeletes: string[] = []): TableBudget {
  return { table: T, limit, countedBefore, uncountedDeletes };
}

const create = (n: number): Change => ({ kind: 'create', table: T, destination: `10.1.${n}.0/24`, target: `eni-${n}`, nodeIp: `10.0.0.${n}` });
const remove = (n: number): Change => ({ kind: 'delete', table: T, destination: `10.1.${n}.0/24`, previousTarget: null, reason: 'no-lease' });
const ok = (change: Change): ChangeResult => ({ change, ok: true, attempts: 1 });
const refused = (change: Change, code = 'RouteLimitExceeded'): ChangeResult => ({
  change,
  ok: false,
  attempts: 1,
  error: { class: 'fatal', code, httpStatus: 400, message: 'The maximum number of routes has been reached.' },
});

describe('LearnedLimits', () => {
  it('a refusal at N counted routes lowers a read limit to N until the next read, and says so once', () => {
    const limits = new LearnedLimits();
    const read = table(500, 'quota-api', '2026-01-01T00:00:00.000Z');
    // 28 counted before; 2 creates succeed, the third is refused: the table held 30.
    const learned = limits.learn([read], [budget(500, 28)], [ok(create(1)), ok(create(2)), refused(create(3))]);
    expect(learned).toEqual([{ table: T, limit: 30, previous: 500 }]);
    expect(limits.apply([read])[0]).toMatchObject({ limit: 30, limitSource: 'learned-from-refusal' });
    // The same refusal in the next pass learns nothing new.
    expect(limits.learn([read], [budget(500, 30)], [refused(create(3))])).toEqual([]);
    expect(limits.apply([read])[0]?.limit).toBe(30);
  });

  it('counts the deletes that freed room, but not those of routes that never counted', () => {
    const limits = new LearnedLimits();
    const read = table(100, 'default-api', 't1');
    const results = [ok(remove(7)), ok(remove(8)), ok(create(1)), refused(create(2), 'QUOTA_EXCEEDED')];
    // 10.1.8.0/24 was a blackhole that did not count: only one delete freed room. 40 - 1 + 1 = 40.
    expect(limits.learn([read], [budget(100, 40, ['10.1.8.0/24'])], results)).toEqual([{ table: T, limit: 40, previous: 100 }]);
  });

  it('never raises a limit, and never touches a --route-limit number', () => {
    const limits = new LearnedLimits();
    const flag = table(50, 'flag');
    expect(limits.learn([flag], [budget(50, 20)], [refused(create(1))])).toEqual([]);
    expect(limits.apply([flag])).toEqual([flag]);
    // A refusal at more routes than the read limit (another writer raced) does not raise it.
    const read = table(30, 'quota-api', 't1');
    expect(limits.learn([read], [budget(30, 35)], [refused(create(1))])).toEqual([]);
    expect(limits.apply([read])[0]).toEqual(read);
    // A later refusal at a higher count than already learned keeps the lower limit.
    const big = table(500, 'quota-api', 't2');
    limits.learn([big], [budget(500, 20)], [refused(create(1))]);
    expect(limits.learn([big], [budget(500, 25)], [refused(create(1))])).toEqual([]);
    expect(limits.apply([big])[0]?.limit).toBe(20);
  });

  it('other failures teach nothing: only a refusal for the limit does', () => {
    const limits = new LearnedLimits();
    const read = table(500, 'quota-api', 't1');
    expect(limits.learn([read], [budget(500, 10)], [refused(create(1), 'RequestLimitExceeded'), refused(create(2), 'InvalidNetworkInterfaceID.NotFound')])).toEqual([]);
    expect(limits.apply([read])[0]).toEqual(read);
  });

  it('a new quota read (a new limitReadAt) drops the learned limit', () => {
    const limits = new LearnedLimits();
    limits.learn([table(500, 'quota-api', 't1')], [budget(500, 30)], [refused(create(1))]);
    expect(limits.apply([table(500, 'quota-api', 't1')])[0]?.limit).toBe(30);
    const reread = table(500, 'quota-api', 't2');
    expect(limits.apply([reread])[0]).toEqual(reread);
    // Dropped for good: the old read's value does not come back.
    expect(limits.apply([table(500, 'quota-api', 't1')])[0]?.limit).toBe(500);
  });

  it('a table that turns to a --route-limit number drops what was learned', () => {
    const limits = new LearnedLimits();
    limits.learn([table(500, 'quota-api', 't1')], [budget(500, 30)], [refused(create(1))]);
    expect(limits.apply([table(60, 'flag')])[0]).toMatchObject({ limit: 60, limitSource: 'flag' });
    expect(limits.apply([table(500, 'quota-api', 't1')])[0]?.limit).toBe(500);
  });

  it('keeps what counted routes outside the managed space use (GCE: other networks) in the learned limit', () => {
    const limits = new LearnedLimits();
    // The project's limit is 250; 10 counted routes of other networks leave the managed space 240.
    const read = { ...table(250, 'quota-api', 't1'), quota: 'gce-routes-per-project' as const };
    expect(limits.learn([read], [budget(240, 90)], [refused(create(1), 'QUOTA_EXCEEDED')])).toEqual([{ table: T, limit: 100, previous: 250 }]);
  });
});
