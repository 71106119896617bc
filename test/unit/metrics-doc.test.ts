/** The README's metric table is the metrics routesync registers: every name, with its labels. */
import { describe, expect, it } from 'vitest';
import { Telemetry } from '../../src/telemetry/index.js';
import { readText } from '../deploy/support.js';

/** `name` → labels, from the README table that follows "Metrics (". */
function documented(): Map<string, string[]> {
  const readme = readText('README.md');
  const start = readme.indexOf('\nMetrics (');
  expect(start, 'README has the metrics table').toBeGreaterThan(0);
  const rows = readme.slice(start).split('\n\n')[1]?.split('\n').filter((l) => l.startsWith('| `')) ?? [];
  const out = new Map<string, string[]>();
  for (const row of rows) {
    const [names = '', labels = ''] = row.split('|').slice(1, 3);
    const labelList = [...labels.matchAll(/`([a-z_]+)`/g)].map((m) => m[1] ?? '').sort();
    for (const m of names.matchAll(/`(routesync_[a-z_]+)`/g)) out.set(m[1] ?? '', labelList);
  }
  return out;
}

describe('README metric table', () => {
  it('lists exactly the routesync_* metrics, each with the labels it has', () => {
    const telemetry = new Telemetry('replica', 'aws-vpc', 'prod', () => true);
    const registered = new Map<string, string[]>();
    for (const metric of telemetry.registry.getMetricsAsArray()) {
      const { name, labelNames } = metric as unknown as { name: string; labelNames: string[] };
      if (name.startsWith('routesync_')) registered.set(name, [...labelNames].sort());
    }
    expect(registered.size).toBeGreaterThan(10);
    expect(Object.fromEntries(documented())).toEqual(Object.fromEntries(registered));
  });

  it('the defaults keep their standard names, without the gauges that end in _total', () => {
    const names = new Telemetry('replica', 'aws-vpc', 'prod', () => true).registry.getMetricsAsArray().map((m) => (m as unknown as { name: string }).name);
    expect(names).toContain('process_cpu_seconds_total');
    expect(names).toContain('nodejs_eventloop_lag_seconds');
    expect(names.filter((n) => n.startsWith('routesync_process_'))).toEqual([]);
    expect(names.filter((n) => n.endsWith('_total') && !['process_cpu_user_seconds_total', 'process_cpu_system_seconds_total', 'process_cpu_seconds_total'].includes(n) && !n.startsWith('routesync_'))).toEqual([]);
  });
});
