/** A short run of the chaos soak (`npm run soak` runs it for minutes). */
import { describe, expect, it } from 'vitest';
import { formatSoakReport, runSoak } from '../soak/chaos.js';

describe('chaos soak (short)', () => {
  it('keeps every invariant through churn, cloud faults, etcd restarts and leader kills', async () => {
    const report = await runSoak({ durationMs: 20_000, seed: 3 });
    expect(report.violations, formatSoakReport(report)).toEqual([]);
    expect(Number.isNaN(report.convergenceAfterLastFaultMs)).toBe(false);
    expect(Object.values(report.faults).reduce((a, b) => a + b, 0)).toBeGreaterThan(5);
    expect(report.mutatingCalls).toBeGreaterThan(20);
  }, 120_000);
});
