/** The human summary that `--once` prints on stdout. */
import { describeChange, type PassReport } from './reconciler.js';

export function formatSummary(report: PassReport, provider: string): string {
  const lines: string[] = [];
  const count = (state: string): number => report.leases.filter((l) => l.state === state).length;
  lines.push(`routesync ${provider}: pass ${report.outcome}${report.reason !== undefined ? ` (${report.reason})` : ''} in ${report.durationMs} ms`);
  for (const table of report.tables) {
    lines.push(
      `  table ${table.id}: ${table.ownedAfter}/${table.capacity} routesync routes ` +
        `(limit ${table.limit}${table.quotaLimit !== table.limit ? ` of ${table.quotaLimit}` : ''} from ${table.limitSource}, ${table.foreignCounted} foreign counted); ` +
        `${table.creates} created, ${table.replaces} replaced, ${table.deletes} deleted` +
        (table.deferredDeletes > 0 ? `, ${table.deferredDeletes} deletes deferred` : ''),
    );
    if (table.ipv6 !== undefined) {
      const v6 = table.ipv6;
      lines.push(`    IPv6 routes (a quota of their own): ${v6.ownedAfter}/${v6.capacity} routesync routes (limit ${v6.limit}${v6.quotaLimit !== v6.limit ? ` of ${v6.quotaLimit}` : ''}, ${v6.foreignCounted} foreign counted); ${v6.creates} created`);
    }
    if (table.usageDisagreement !== undefined) {
      lines.push(`    quota usage ${table.usageDisagreement.reported} reported by the cloud, ${table.usageDisagreement.counted} counted in the listing`);
    }
  }
  const verb = report.outcome === 'dry-run' ? 'to be routed' : 'routed';
  const routed = report.outcome === 'dry-run' ? count('routed') + count('pending') : count('routed');
  if ((report.outcome === 'failed' || report.outcome === 'skipped') && report.validLeases !== undefined) {
    // No plan was made: say what etcd holds rather than "0 valid".
    const why = report.outcome === 'failed' ? 'the cloud read failed' : 'the pass was skipped';
    lines.push(`  leases: ${report.validLeases} valid in etcd, nothing done: ${why}; ${report.invalid.length} invalid`);
  } else {
    const v6 = report.leases.filter((l) => l.family === 'ipv6').length;
    const halves = v6 > 0 ? ` (${report.leases.length - v6} IPv4 and ${v6} IPv6 halves)` : '';
    lines.push(
      `  leases: ${report.leases.length} valid${halves}, ${routed} ${verb}, ${count('unrouted')} unrouted, ${count('partial')} partial, ` +
        `${count('conflict')} in conflict, ${count('error')} with errors, ${report.invalid.length} invalid`,
    );
    // flannel's multi-network mode: the same counts per network.
    const networks = [...new Set([...report.leases, ...report.invalid].flatMap((l) => (l.network === undefined ? [] : [l.network])))].sort();
    for (const network of networks) {
      const own = report.leases.filter((l) => l.network === network);
      const n = (state: string): number => own.filter((l) => l.state === state).length;
      const ownRouted = report.outcome === 'dry-run' ? n('routed') + n('pending') : n('routed');
      lines.push(
        `    network ${network}: ${own.length} valid, ${ownRouted} ${verb}, ${n('unrouted')} unrouted, ${n('partial')} partial, ` +
          `${n('conflict')} in conflict, ${n('error')} with errors, ${report.invalid.filter((i) => i.network === network).length} invalid`,
      );
    }
  }
  // A half that is not routed names how its lease's other half fares.
  const byKey = new Map<string, typeof report.leases[number][]>();
  for (const lease of report.leases) byKey.set(lease.key, [...(byKey.get(lease.key) ?? []), lease]);
  for (const lease of report.leases) {
    if (lease.state === 'routed' || lease.state === 'pending') continue;
    const other = byKey.get(lease.key)?.find((l) => l !== lease);
    const sibling = other === undefined ? '' : `; its ${other.family === 'ipv6' ? 'IPv6' : 'IPv4'} half ${other.subnet} is ${other.state}`;
    const net = lease.network === undefined ? '' : `[${lease.network}] `;
    lines.push(`    ${lease.state.padEnd(8)} ${net}${lease.subnet} → ${lease.nodeIp}: ${lease.reason ?? ''}${lease.detail !== undefined ? ` (${lease.detail})` : ''}${sibling}`);
  }
  for (const invalid of report.invalid) lines.push(`    invalid  ${invalid.network === undefined ? '' : `[${invalid.network}] `}${invalid.key}: ${invalid.reason}`);
  if (report.outcome === 'dry-run') {
    lines.push(`  plan: ${report.plan?.changes.length ?? 0} change(s), none applied (--dry-run)`);
    for (const change of report.plan?.changes ?? []) lines.push(`    would ${describeChange(change)}`);
  }
  const failed = report.results.filter((r) => !r.ok && r.heldBack !== true);
  const held = report.results.filter((r) => !r.ok && r.heldBack === true);
  if (held.length > 0) {
    lines.push(`  held back: ${held.length} create(s), to stay within the route limit`);
    for (const result of held) if (!result.ok) lines.push(`    ${describeChange(result.change)}: ${result.error.message}`);
  }
  if (failed.length > 0 || report.error !== undefined) {
    lines.push(`  errors: ${failed.length + (report.error !== undefined ? 1 : 0)}`);
    if (report.error !== undefined) lines.push(`    ${report.error.code}: ${report.error.message}`);
    for (const result of failed) {
      if (!result.ok) lines.push(`    ${describeChange(result.change)}: ${result.error.code}: ${result.error.message} (after ${result.attempts} attempt(s))`);
    }
  }
  for (const warning of report.warnings) lines.push(`  warning: ${warning}`);
  return `${lines.join('\n')}\n`;
}
