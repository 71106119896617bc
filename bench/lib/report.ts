/** Benchmark results: the rows of bench/results.json and the table printed at the end. */
import { writeFileSync } from 'node:fs';

export interface Result {
  readonly scenario: string;
  readonly metric: string;
  readonly value: number | null;
  readonly unit: string;
  /** The physical or target bound this value is compared with, when there is one. */
  readonly bound: number | null;
  /** value / bound. */
  readonly ratio: number | null;
}

export class Results {
  readonly rows: Result[] = [];
  /** Scenario → why it was skipped or partial. */
  readonly notes: Array<{ scenario: string; note: string }> = [];

  add(scenario: string, metric: string, value: number | null, unit: string, bound: number | null = null): Result {
    const row: Result = {
      scenario,
      metric,
      value: value === null ? null : round(value),
      unit,
      bound: bound === null ? null : round(bound),
      ratio: value === null || bound === null || bound === 0 ? null : round(value / bound, 3),
    };
    this.rows.push(row);
    return row;
  }

  note(scenario: string, note: string): void {
    this.notes.push({ scenario, note });
  }

  table(): string {
    const header = ['scenario', 'metric', 'value', 'unit', 'bound', 'ratio'];
    const lines = this.rows.map((r) => [r.scenario, r.metric, fmt(r.value), r.unit, fmt(r.bound), fmt(r.ratio)]);
    const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => (l[i] ?? '').length)));
    const row = (cells: string[]): string => cells.map((c, i) => (i >= 2 && i !== 3 ? c.padStart(widths[i] ?? 0) : c.padEnd(widths[i] ?? 0))).join('  ');
    const out = [row(header), widths.map((w) => '-'.repeat(w)).join('  '), ...lines.map(row)];
    if (this.notes.length > 0) out.push('', ...this.notes.map((n) => `note ${n.scenario}: ${n.note}`));
    return out.join('\n');
  }

  write(path: string): void {
    writeFileSync(path, `${JSON.stringify(this.rows, null, 2)}\n`);
  }
}

function round(value: number, digits = 2): number {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}

function fmt(value: number | null): string {
  return value === null ? '-' : String(value);
}

export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index] ?? Number.NaN;
}
