/** A short run of the chaos soak (`npm run soak` runs it for minutes): about 30 s in all. */
import { describe, expect, it } from 'vitest';
import { CHECKS, formatSoakReport, runSoak } from '../soak/chaos.js';

describe('chaos soak (short)', () => {
  it('keeps every invariant through churn, a read outage, cloud faults, etcd restarts and leader kills', async () => {
    const report = await runSoak({ durationMs: 16_000, seed: 3 });
    const text = formatSoakReport(report);
    expect(report.violations, text).toEqual([]);
    for (const check of CHECKS) expect(report.violationCounts[check], `${check}\n${text}`).toBe(0);
    expect(Number.isNaN(report.convergenceAfterLastFaultMs)).toBe(false);
    // The scenarios were built: churn and faults, the outage blocked reads, a long-waiting standby won, a quiet phase ran.
    expect(Object.values(report.faults).reduce((a, b) => a + b, 0)).toBeGreaterThan(5);
    expect(report.mutatingCalls).toBeGreaterThan(20);
    expect(report.readOutage.failedReads).toBeGreaterThan(0);
    expect(report.longWaitElections).toBeGreaterThan(0);
    expect(report.quietPhases.length).toBeGreaterThan(0);
  }, 240_000); // a broken build still gets its report: each wait in the soak is bounded
});
