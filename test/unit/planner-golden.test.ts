/**
 * The planner's output, pinned: a digest of each whole plan (changes, lease and table outcomes,
 * budgets and warnings, in order, with their fields in order) for 300 random worlds and the three
 * shapes of `npm run bench`'s planner scenario. The snapshot was recorded with the planner as it
 * was before it was made faster at 10,000 leases, so that work changed no plan. When a change of
 * behaviour is meant, update it (`npx vitest run test/unit/planner-golden.test.ts -u`) and say why.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { plan, type PlanInput } from '../../src/planner/plan.js';
import { fleet, randomWorld } from '../helpers/plan-worlds.js';

function digest(input: PlanInput): string {
  const result = plan(input);
  const hash = createHash('sha256').update(JSON.stringify(result)).digest('hex').slice(0, 16);
  return `${result.changes.length} changes, ${result.leases.length} leases, ${hash}`;
}

describe('plan: pinned output', () => {
  it('random worlds', () => {
    const digests = Array.from({ length: 300 }, (_, i) => `world ${i + 1}: ${digest(randomWorld(i + 1))}`);
    expect(digests).toMatchSnapshot();
  });

  it('the bench shapes: steady, cold, every table at its limit', () => {
    expect([digest(fleet(2000, 4, 2000, 2001)), digest(fleet(2000, 4, 0, 2001)), digest(fleet(2000, 4, 199, 200))]).toMatchSnapshot();
  });
});
