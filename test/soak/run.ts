/**
 * `npm run soak [-- --seconds N --seed S]`: the chaos soak with N seconds of chaos (default 150; setup,
 * quiet phases and convergence come on top); prints the report and exits 1 on any violation.
 */
import { parseArgs } from 'node:util';
import { formatSoakReport, runSoak } from './chaos.js';

const { values } = parseArgs({ options: { seconds: { type: 'string', default: '150' }, seed: { type: 'string', default: '1' } } });
const seconds = Number(values.seconds);
if (!Number.isFinite(seconds) || seconds < 5 || seconds > 600) {
  process.stderr.write(`soak: invalid value for --seconds: ${JSON.stringify(values.seconds)} (5 to 600)\n`);
  process.exit(2);
}
process.stdout.write(`chaos soak for ${seconds} s (seed ${values.seed})…\n`);
const report = await runSoak({ durationMs: seconds * 1000, seed: Number(values.seed) });
process.stdout.write(formatSoakReport(report));
process.exit(report.violations.length === 0 ? 0 : 1);
