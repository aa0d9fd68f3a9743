/**
 * A run reduced to what `compare` needs: per load level, the merged figures by metric name and every window
 * that went into them, grouped by run (a `--repeat N` record holds N runs). Built from our JSON record, or
 * from a perf_analyzer CSV (merged figures only: one pseudo-window, so no noise estimate).
 */
import { parse } from 'csv-parse/sync';
import { decodeFromCompressedBase64, type Histogram } from 'hdr-histogram-js';
import type { RunManifest } from '../report/manifest.ts';
import type { LevelResult, Measurement, RunResult, WindowResult } from '../report/model.ts';
import type { WindowSample } from './level-statistics.ts';
import { METRICS } from './metrics.ts';
import type { ValueCounts } from './percentile-interval.ts';

export interface ComparableLevel {
  /** `concurrency 8` or `request_rate 100`. */
  key: string;
  /** The level's merged figures, as the summary shows them. */
  metrics: Record<string, number>;
  /** [run][window]: the windows each run merged into its figure. */
  runs: WindowSample[][];
}

export interface ComparableRun {
  source: string;
  levels: ComparableLevel[];
  /** The record's reproducibility manifest (absent for CSVs and older records). */
  manifest?: RunManifest;
}

function levelKey(mode: string, value: number): string {
  return `${mode} ${value}`;
}

/** A compressed HDR histogram → its recorded values (bucket tops, µs) and counts; undefined when absent/bad. */
export function decodeHistogram(encoded: string): ValueCounts | undefined {
  if (encoded === '') return undefined;
  let histogram: Histogram;
  try {
    histogram = decodeFromCompressedBase64(encoded, 32, false);
  } catch {
    return undefined;
  }
  const values: number[] = [];
  const counts: number[] = [];
  const it = (histogram as unknown as { recordedValuesIterator: RecordedIterator }).recordedValuesIterator;
  it.reset();
  while (it.hasNext()) {
    const v = it.next();
    if (v.countAtValueIteratedTo > 0) {
      values.push(v.valueIteratedTo);
      counts.push(v.countAtValueIteratedTo);
    }
  }
  return values.length > 0 ? { values, counts } : undefined;
}

interface RecordedIterator {
  reset(): void;
  hasNext(): boolean;
  next(): { valueIteratedTo: number; countAtValueIteratedTo: number };
}

function figures(m: Measurement): Record<string, number> {
  const out: Record<string, number> = {};
  for (const def of METRICS) {
    const v = def.read(m);
    if (v !== undefined) out[def.name] = v;
  }
  return out;
}

export function windowSample(w: Measurement): WindowSample {
  const histogram = decodeHistogram(w.latencyHistogram);
  return {
    durationNs: w.durationNs,
    requestCount: w.requestCount,
    errorCount: w.errorCount,
    throughputPerSec: w.throughputPerSec,
    latencyCount: w.latency.count,
    meanUs: w.latency.meanUs,
    stdUs: w.latency.stdUs,
    values: figures(w),
    ...(histogram ? { histogram } : {}),
  };
}

/** The windows each run merged: per `repeat`, the last `stabilityWindows` windows (what the merge used). */
export function runsOfLevel(level: LevelResult, stabilityWindows: number): WindowResult[][] {
  const byRepeat = new Map<number, WindowResult[]>();
  for (const w of level.windows) {
    const r = w.repeat ?? 1;
    const list = byRepeat.get(r) ?? [];
    list.push(w);
    byRepeat.set(r, list);
  }
  return [...byRepeat.entries()]
    .sort(([a], [b]) => a - b)
    .map(([, ws]) => ws.filter((w) => w.requestCount > 0).slice(-Math.max(1, stabilityWindows)))
    .filter((ws) => ws.length > 0);
}

function stabilityWindowsOf(run: RunResult): number {
  const measurement = (run.config as { measurement?: { stabilityWindows?: unknown } }).measurement;
  const k = Number(measurement?.stabilityWindows ?? 3);
  return Number.isInteger(k) && k > 0 ? k : 3;
}

/** Our JSON record → comparable levels (reported levels only, as the summary table shows them). */
export function comparableFromRecord(run: RunResult, source: string): ComparableRun {
  const k = stabilityWindowsOf(run);
  const levels = run.levels
    .filter((l) => l.reported && l.merged)
    .map((l) => {
      const runs = runsOfLevel(l, k).map((ws) => ws.map(windowSample));
      return {
        key: levelKey(l.mode, l.value),
        metrics: figures(l.merged as Measurement),
        // A level without windows (hand-made records) still compares, as one pseudo-window.
        runs: runs.length > 0 ? runs : [[windowSample(l.merged as Measurement)]],
      };
    });
  return { source, levels, ...(run.manifest ? { manifest: run.manifest } : {}) };
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
    // One pseudo-window holding the merged figures: no counts, no histogram, so no noise estimate.
    const sample: WindowSample = {
      durationNs: 1,
      requestCount: 0,
      errorCount: 0,
      throughputPerSec: metrics.throughput ?? 0,
      latencyCount: 1,
      meanUs: metrics.avg_latency ?? 0,
      stdUs: 0,
      values: metrics,
    };
    return { key: levelKey(mode, value), metrics, runs: [[sample]] };
  });
  return { source, levels };
}
