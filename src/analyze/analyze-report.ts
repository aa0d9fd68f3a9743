/**
 * The ranked table on stdout and the CSV (pure renderers over the record's ranking). One row per config
 * tried, best first: the level it is judged by, its throughput and latencies, and why it misses the
 * constraints when it does.
 */
import { analyzeMetricByName, formatAnalyzeValue } from './analyze-metrics.ts';
import type { AnalyzeRecord, RankedEntry } from './analyze-record.ts';
import { loadLabel } from './trial.ts';

const BASE_COLUMNS = ['throughput', 'p95_latency', 'p99_latency'];

/** Figures shown: throughput and p95/p99, plus any other objective or constrained metric. */
export function shownMetrics(record: Pick<AnalyzeRecord, 'objectives' | 'constraints'>): string[] {
  const names = [...BASE_COLUMNS];
  for (const text of [...record.objectives, ...record.constraints]) {
    const name = /^\s*([a-z0-9_]+)/i.exec(text)?.[1];
    const metric = name ? analyzeMetricByName(name) : undefined;
    if (metric && !names.includes(metric.name)) names.push(metric.name);
  }
  return names;
}

function cell(entry: RankedEntry, name: string): string {
  const metric = analyzeMetricByName(name);
  const value = entry.figures?.[name];
  return metric && value !== undefined ? formatAnalyzeValue(metric, value) : '-';
}

function statusOf(entry: RankedEntry, record: AnalyzeRecord): string {
  if (entry.feasible) return record.constraints.length ? 'meets constraints' : 'ok';
  return entry.reason ?? 'no result';
}

export function renderAnalyzeTable(record: AnalyzeRecord): string {
  const metrics = shownMetrics(record);
  const header = ['#', 'Config', 'Load', ...metrics, 'Status'];
  const rows = record.ranking.map((e) => [
    String(e.rank),
    e.key,
    e.level ? loadLabel(e.level) : '-',
    ...metrics.map((m) => cell(e, m)),
    statusOf(e, record),
  ]);
  const widths = header.map((h, i) =>
    Math.max(h.length, ...rows.map((r) => (i === header.length - 1 ? 0 : (r[i] as string).length))),
  );
  const line = (r: string[]) =>
    r
      .map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i] as number)))
      .join('  ')
      .trimEnd();
  const lines = [line(header), ...rows.map(line)];
  const best = record.best;
  const summary = [
    '',
    `Model ${record.model}: ${record.trials.length} of ${record.spaceConfigs} configs tried (${record.mode}), ${record.measurements} load levels measured${record.reused ? `, ${record.reused} configs taken from --resume` : ''}.`,
    `Objective: ${record.objectives.join(', ')}${record.constraints.length ? `; constraints: ${record.constraints.join(', ')}` : ''}.`,
    best ? `Best config: ${best.key}` : 'No config met the constraints.',
  ];
  if (record.stoppedBy) summary.push(`The search stopped early: ${record.stoppedBy}.`);
  return `${lines.join('\n')}\n${summary.join('\n')}\n`;
}

function csvField(v: string): string {
  return /[",\n\r]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v;
}

/** One row per config tried; figures in base units (µs, infer/s, fraction, MB, %), empty when absent. */
export function renderAnalyzeCsv(record: AnalyzeRecord): string {
  const metrics = shownMetrics(record);
  const byKey = new Map(record.trials.map((t) => [t.key, t]));
  const header = [
    'Rank',
    'Config',
    'Max Batch Size',
    'Dynamic Batching',
    'Max Queue Delay us',
    'Preferred Batch Size',
    'Instance Count',
    'Instance Kind',
    'Batch Buckets',
    'Outcome',
    'Meets Constraints',
    'Load Mode',
    'Load',
    ...metrics,
    'Levels Measured',
    'Reason',
  ];
  const rows = record.ranking.map((e) => {
    const t = byKey.get(e.key);
    const c = t?.candidate;
    return [
      String(e.rank),
      e.key,
      String(c?.maxBatchSize ?? ''),
      c ? (c.dynamicBatching ? 'on' : 'off') : '',
      String(c?.maxQueueDelayUs ?? ''),
      c?.preferredBatchSize.join(' ') ?? '',
      String(c?.instanceCount ?? ''),
      c?.instanceKind ?? '',
      c?.batchBuckets ?? '',
      t?.outcome ?? '',
      e.feasible ? 'yes' : 'no',
      e.level?.mode ?? '',
      e.level ? String(e.level.value) : '',
      ...metrics.map((m) => (e.figures?.[m] === undefined ? '' : String(e.figures[m]))),
      String(t?.levels.length ?? 0),
      e.reason ?? '',
    ];
  });
  return [header, ...rows].map((r) => r.map(csvField).join(',')).join('\n') + '\n';
}
