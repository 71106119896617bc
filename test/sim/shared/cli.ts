/** What the simulators' standalone entry points (`main.ts`) share. */

/** A non-negative number flag; exits 2 with a message otherwise. */
export function numberFlag(name: string, text: string): number {
  const value = Number(text);
  if (!Number.isFinite(value) || value < 0) {
    process.stderr.write(`--${name}: not a number: ${text}\n`);
    process.exit(2);
  }
  return value;
}

/** Exits 2 unless `host` is a loopback address. */
export function requireLoopbackHost(host: string): void {
  if (!/^127\.\d+\.\d+\.\d+$/.test(host)) {
    process.stderr.write(`--host must be a loopback address (127.0.0.0/8), got ${host}\n`);
    process.exit(2);
  }
}

/** Prints the simulator's URL (first line of stdout), then the demo world as JSON when there is one. */
export function announce(simulator: { readonly url: string }, demo: (() => unknown) | undefined): void {
  process.stdout.write(`${simulator.url}\n`);
  if (demo !== undefined) process.stdout.write(`${JSON.stringify(demo(), null, 2)}\n`);
}

/** SIGINT and SIGTERM close the simulator, then exit 0. */
export function closeOnSignals(simulator: { close(): Promise<void> }): void {
  const stop = (): void => {
    void simulator.close().then(() => process.exit(0));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}
