// CI's audit of what ships: `npm audit --omit=dev` (the production dependencies in node_modules)
// and the advisories of the packages bundled into dist/, which are devDependencies and so only a
// full `npm audit` sees; they are picked out by the lockfile paths in the SBOM the build wrote.
//
// Policy: high or critical fails CI; moderate and low are printed but do not fail, because a new
// advisory on an unchanged lockfile would otherwise turn CI red at a random time. When the audit
// endpoint cannot be reached nothing is known, so CI warns and goes on, unless
// ROUTESYNC_CI_AUDIT=required.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

const FAIL_AT = new Set(['high', 'critical']);
const sbom = JSON.parse(readFileSync('dist/bundled-sbom.cdx.json', 'utf8'));
const bundledPaths = new Set(sbom.components.flatMap((c) => c.properties.filter((p) => p.name === 'routesync:lockfile-path').map((p) => p.value)));

/** `npm audit --json` exits 1 when it finds anything, so its output is read either way. */
function audit(args) {
  let out;
  try {
    out = execFileSync('npm', ['audit', '--json', ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 120_000 });
  } catch (err) {
    out = err.stdout ?? '';
  }
  try {
    const report = JSON.parse(out);
    if (report.vulnerabilities !== undefined) return { vulnerabilities: Object.values(report.vulnerabilities) };
    return { unavailable: report.message ?? report.error?.summary ?? 'no report' };
  } catch {
    return { unavailable: 'npm audit printed no JSON' };
  }
}

const production = audit(['--omit=dev']);
const everything = audit([]);
const unavailable = [production, everything].map((r) => r.unavailable).filter((u) => u !== undefined);
if (unavailable.length > 0) {
  console.error(`ci: npm audit could not run: ${unavailable[0]}`);
  if (process.env.ROUTESYNC_CI_AUDIT === 'required') process.exit(1);
  console.error('ci: WARNING: shipped dependencies were not audited (ROUTESYNC_CI_AUDIT=required makes this fatal)');
  process.exit(0);
}

const findings = [
  ...production.vulnerabilities.map((v) => ({ ...v, where: 'node_modules (production)' })),
  ...everything.vulnerabilities.filter((v) => v.nodes.some((n) => bundledPaths.has(n))).map((v) => ({ ...v, where: 'bundled into dist/' })),
];
for (const v of findings) console.error(`ci: audit: ${v.severity} ${v.name} ${v.range} (${v.where})`);
const fatal = findings.filter((v) => FAIL_AT.has(v.severity));
console.error(`ci: audit: ${findings.length} advisories on shipped packages, ${fatal.length} high or critical`);
process.exit(fatal.length > 0 ? 1 : 0);
