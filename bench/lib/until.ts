import { performance } from 'node:perf_hooks';

/** Polls `condition` every `intervalMs` until true, or until `timeoutMs` have passed (false then). */
export async function until(condition: () => boolean, timeoutMs: number, intervalMs = 10): Promise<boolean> {
  const deadline = performance.now() + timeoutMs;
  while (!condition()) {
    if (performance.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
  return true;
}
