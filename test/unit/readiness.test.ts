import { describe, expect, it } from 'vitest';
import { readiness, type ReadinessInput } from '../../src/service/readiness.js';

const MINUTE = 60_000;
const leader: ReadinessInput = { leaseViewFresh: true, leading: true, leaderElect: true, sinceCloudReadMs: 1000, resyncIntervalMs: MINUTE };

describe('readiness', () => {
  const cases: ReadonlyArray<{ readonly name: string; readonly input: ReadinessInput; readonly ready: boolean; readonly reason: RegExp }> = [
    { name: 'a leader whose last pass read the cloud', input: leader, ready: true, reason: /^leader/ },
    { name: 'a leader just under 3 resync intervals after its last read', input: { ...leader, sinceCloudReadMs: 3 * MINUTE }, ready: true, reason: /^leader/ },
    { name: 'a leader whose reads stopped 3 resync intervals ago', input: { ...leader, sinceCloudReadMs: 3 * MINUTE + 1 }, ready: false, reason: /180s ago/ },
    { name: 'a leader before its first pass that read the cloud', input: { ...leader, sinceCloudReadMs: undefined }, ready: false, reason: /no pass/ },
    { name: 'a stale lease view, even as leader', input: { ...leader, leaseViewFresh: false }, ready: false, reason: /not fresh/ },
    { name: 'a fresh standby', input: { ...leader, leading: false, sinceCloudReadMs: undefined }, ready: true, reason: /^standby/ },
    { name: 'a standby with a stale lease view', input: { ...leader, leading: false, leaseViewFresh: false }, ready: false, reason: /not fresh/ },
    {
      name: 'without leader election, before the first pass',
      input: { ...leader, leading: false, leaderElect: false, sinceCloudReadMs: undefined },
      ready: false,
      reason: /no pass/,
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const state = readiness(c.input);
      expect(state.ready).toBe(c.ready);
      expect(state.reason).toMatch(c.reason);
    });
  }
});
