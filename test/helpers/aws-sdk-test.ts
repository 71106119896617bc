/**
 * For a test file that runs the real AWS SDK against the EC2 simulator: fake credentials for each
 * test (the SDK's default chain reads them from the environment), and the things the test started,
 * closed after it, the last started first.
 *
 * ```ts
 * const cleanup = useAwsSdkTest();
 * const sim = await startEc2Simulator();
 * cleanup.push(() => sim.close());
 * ```
 */
import { afterEach, beforeEach, vi } from 'vitest';

export function useAwsSdkTest(): Array<() => Promise<void>> {
  const cleanup: Array<() => Promise<void>> = [];
  beforeEach(() => {
    cleanup.length = 0;
    vi.stubEnv('AWS_ACCESS_KEY_ID', 'test');
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'test');
  });
  afterEach(async () => {
    for (const fn of cleanup.splice(0).reverse()) await fn();
    vi.unstubAllEnvs();
  });
  return cleanup;
}
