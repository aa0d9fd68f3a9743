/**
 * A run reduced to what `compare` needs: per load level, figures by metric name and the noise measured
 * within the run. Built from our JSON record (which has every window) or from a perf_analyzer CSV (which has
 * only the merged figures, so no within-run noise is known).
 */
import { parse } from 'csv-parse/sync';
import type { LevelResult, RunResult } from '../report/model.ts';
import { METRICS } from './metrics.ts';

export interface ComparableLevel {
  /** `concurrency 8` or `request_rate 100`. */
  key: string;
  metrics: Record<string, number>;
  /** Relative spread (max−min)/median of the metric over the windows merged into the level; 0 when unknown. */
  noise: Record<string, number>;
}

export interface ComparableRun {
  source: string;
  levels: ComparableLevel[];
}

function levelKey(mode: string, value: number): string {
  return `${mode} ${value}`;
}

function relativeSpread(values: number[]): number {
  if (values.length < 2) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  const median = sorted[Math.floor(sorted.length / 2)] as number;
  if (median === 0) return 0;
  return ((sorted[sorted.length - 1] as number) - (sorted[0] as number)) / median;
}

function fromLevel(level: LevelResult, stabilityWindows: number): ComparableLevel | undefined {
  if (!level.merged) return undefined;
  const merged = level.merged;
  const windows = level.windows.slice(-Math.max(1, stabilityWindows));
  const metrics: Record<string, number> = {};
  const noise: Record<string, number> = {};
  for (const def of METRICS) {
    const v = def.read(merged);
    if (v === undefined) continue;
    metrics[def.name] = v;
    const perWindow = windows.map((w) => def.read(w)).filter((x): x is number => x !== undefined);
    noise[def.name] = relativeSpread(perWindow);
  }
  return { key: levelKey(level.mode, level.value), metrics, noise };
}

/** Our JSON record → comparable levels (reported levels only, as the summary table shows them). */
export function comparableFromRecord(run: RunResult, source: string): ComparableRun {
  const windows = Number((run.config as { stabilityWindows?: number }).stabilityWindows ?? 3);
  const levels = run.levels
    .filter((l) => l.reported)
    .map((l) => fromLevel(l, windows))
    .filter((l): l is ComparableLevel => l !== undefined);
  return { source, levels };
}

const CSV_COLUMNS: Record<string, string> = {
  'Inferences/Second': 'throughput',
  'p50 latency': 'p50_latency',
  'p90 latency': 'p90_latency',
  'p95 latency': 'p95_latency',
  'p99 latency': 'p99_latency',
  'Avg latency': 'avg_latency',
};

/** A perf_analyzer (or our) CSV → comparable levels. Throws with a message naming the file on bad input. */
export function comparableFromCsv(text: string, source: string): ComparableRun {
  const rows = parse(text, { columns: true, skip_empty_lines: true, bom: true }) as Record<string, string>[];
  if (rows.length === 0) throw new Error(`${source}: the CSV has no rows`);
  const first = rows[0] as Record<string, string>;
  const modeColumn =
    'Concurrency' in first ? 'Concurrency' : 'Request Rate' in first ? 'Request Rate' : undefined;
  if (!modeColumn || !('Inferences/Second' in first)) {
    throw new Error(
      `${source}: not a perf_analyzer CSV (needs 'Concurrency' or 'Request Rate' and 'Inferences/Second')`,
    );
  }
  const mode = modeColumn === 'Concurrency' ? 'concurrency' : 'request_rate';
  const levels = rows.map((row, i) => {
    const value = Number(row[modeColumn]);
    if (!Number.isFinite(value))
      throw new Error(`${source}: row ${i + 2}: '${row[modeColumn]}' is not a number`);
    const metrics: Record<string, number> = {};
    for (const [column, name] of Object.entries(CSV_COLUMNS)) {
      const raw = row[column];
      if (raw === undefined || raw === '') continue;
      const v = Number(raw);
      if (!Number.isFinite(v))
        throw new Error(`${source}: row ${i + 2}: column '${column}' is not a number: '${raw}'`);
      metrics[name] = v;
    }
    return { key: levelKey(mode, value), metrics, noise: {} };
  });
  return { source, levels };
}
