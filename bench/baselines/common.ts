/**
 * What the baselines share: the configuration the benchmark hands them, an EC2 client with one
 * attempt per call (each baseline implements its own retry policy), and small helpers. A baseline
 * runs as its own process, like routesync, so it does not share an event loop with the simulator.
 */
import { Agent } from 'node:http';
import { EC2Client } from '@aws-sdk/client-ec2';

export interface BaselineNode {
  readonly ip: string;
  readonly subnet: string;
}

export interface BaselineConfig {
  readonly endpoint: string;
  /** The simulator's time scale: every wait of the algorithm is divided by it. */
  readonly timeScale: number;
  readonly tables: readonly string[];
  readonly nodes: readonly BaselineNode[];
  /** Give up (exit) after this much real time. */
  readonly deadlineMs: number;
  readonly seed: number;
}

export interface BaselineOutcome {
  readonly converged: boolean;
  readonly detail: Record<string, number>;
}

export function ec2Client(endpoint: string, maxSockets: number): EC2Client {
  return new EC2Client({
    endpoint,
    region: 'us-east-1',
    maxAttempts: 1,
    credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' },
    requestHandler: { httpAgent: new Agent({ keepAlive: true, maxSockets }), requestTimeout: 60_000 },
  });
}

export function errorCode(err: unknown): string {
  const e = err as { name?: unknown; Code?: unknown; code?: unknown };
  return String(e.Code ?? e.name ?? e.code ?? 'Error');
}

export function httpStatus(err: unknown): number | undefined {
  return (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
}

export function isThrottle(err: unknown): boolean {
  return ['RequestLimitExceeded', 'Throttling', 'ThrottlingException'].includes(errorCode(err));
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));

export { seededRandom } from '../../test/sim/ec2/throttle.js';

/**
 * Runs `work` over `items` with at most `limit` in flight, stopping early once `stopping` aborts;
 * returns how many items failed (the peers count failures and try again next period).
 */
async function forEachConcurrently<T>(
  items: readonly T[],
  limit: number,
  stopping: AbortSignal,
  work: (item: T) => Promise<void>,
): Promise<number> {
  let next = 0;
  let failed = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length && !stopping.aborted) {
      const item = items[next] as T;
      next += 1;
      try {
        await work(item);
      } catch {
        failed += 1;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return failed;
}

/**
 * The Kubernetes route controller's loop (pkg/controller/route), whatever the cloud: every period,
 * start to start (at once if a pass took longer), list what is missing — a failed listing skips
 * the pass — and create it with at most `concurrency` in flight; a failed create waits for the
 * next pass. Ends once nothing is missing, or when `stopping` aborts.
 */
export async function routeControllerLoop<T>(options: {
  readonly periodMs: number;
  readonly concurrency: number;
  readonly stopping: AbortSignal;
  readonly missing: () => Promise<readonly T[]>;
  readonly create: (item: T) => Promise<void>;
}): Promise<BaselineOutcome> {
  const { periodMs, concurrency, stopping } = options;
  let passes = 0;
  let failedCreates = 0;
  let converged = false;
  while (!stopping.aborted) {
    const started = Date.now();
    passes += 1;
    let missing: readonly T[] | undefined;
    try {
      missing = await options.missing();
    } catch {
      missing = undefined; // the pass fails; try again next period
    }
    if (missing !== undefined) {
      if (missing.length === 0) {
        converged = true;
        break;
      }
      failedCreates += await forEachConcurrently(missing, concurrency, stopping, options.create);
    }
    const wait = periodMs - (Date.now() - started);
    if (wait > 0 && !stopping.aborted) await sleep(wait);
  }
  return { converged, detail: { passes, failedCreates } };
}

/** Reads the configuration (JSON in argv[2]), runs the baseline, prints its outcome as one JSON line. */
export function runMain(run: (config: BaselineConfig, stopping: AbortSignal) => Promise<BaselineOutcome>): void {
  const config = JSON.parse(process.argv[2] ?? '{}') as BaselineConfig;
  const stop = new AbortController();
  process.on('SIGTERM', () => stop.abort());
  const deadline = setTimeout(() => stop.abort(), config.deadlineMs);
  run(config, stop.signal).then(
    (outcome) => {
      clearTimeout(deadline);
      process.stdout.write(`${JSON.stringify(outcome)}\n`, () => process.exit(0));
    },
    (err: unknown) => {
      process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      process.exit(1);
    },
  );
}
