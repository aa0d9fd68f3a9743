/**
 * perf_analyzer's `-f` CSV (§4.1): same columns, order, units (µs integers, truncated) and row order (ascending
 * throughput), so spreadsheets and Model Analyzer read ours unchanged. Our extra columns exist only behind
 * `--extra-csv-columns` and only at the end of a row.
 */
import { basename, dirname, join } from 'node:path';
import { stringify } from 'csv-stringify/sync';
import { wholeMeanUs as avgUs } from '../protocol/units.ts';
import type { LevelResult, Measurement, RunResult, ServerStatsDelta } from './model.ts';
import { formatCppDouble, formatFixed2, truncUs } from './number-format.ts';
import { settingsOf } from './run-settings.ts';
import { flattenComposing, serverFigures } from './server-figures.ts';

export interface CsvOptions {
  /** perf_analyzer's --verbose-csv. */
  verboseCsv: boolean;
  /** Our --extra-csv-columns: errors, delayed %, send rate and generator health, appended at the end. */
  extraCsvColumns: boolean;
}

const STANDARD_PERCENTILES = [50, 90, 95, 99];

/** perf_analyzer's text when the Network+Server column had to be clamped at 0 (printed to stderr by callers). */
export const CLAMPED_NETWORK_TIME_WARNING =
  'Server average accounted time was larger than client average wait time due to small sample size. Increase the measurement interval with `--measurement-interval`.';

interface Column {
  header: string;
  cell: (level: LevelResult, m: Measurement) => string;
}

/** How a run ends early: its last level is written to the CSV too (marked in "Level Status"), not lost. */
const RUN_ENDING: readonly string[] = ['errors_over_limit', 'no_data', 'interrupted'];

/**
 * The rows: reported levels (perf_analyzer's rule), plus the level that ended the run early (--max-error-rate
 * abort, no valid request, SIGINT) when it measured something; sorted as perf_analyzer writes them: ascending
 * throughput (stable for ties).
 */
export function csvRows(result: RunResult): LevelResult[] {
  const last = result.levels.at(-1);
  return result.levels
    .filter(
      (l) =>
        l.merged && (l.reported || (l === last && RUN_ENDING.includes(l.status) && l.windows.length > 0)),
    )
    .map((level, order) => ({ level, order }))
    .sort((a, b) => a.level.merged!.throughputPerSec - b.level.merged!.throughputPerSec || a.order - b.order)
    .map((x) => x.level);
}

/**
 * The main CSV: header + one row per level of `csvRows`. Unlike perf_analyzer, written even when no level was
 * reported (header only), so a script always finds the file the run was asked for.
 */
export function renderCsv(result: RunResult, options: CsvOptions): string {
  const rows = csvRows(result);
  const columns = mainColumns(result, options);
  if (options.extraCsvColumns || rows.some((l) => !l.reported || l.errorRateExceeded)) {
    columns.push(...healthColumns());
  }
  return toCsv(
    columns.map((c) => c.header),
    rows.map((level) => columns.map((c) => c.cell(level, level.merged!))),
  );
}

/** Whether some written row has its Network+Server time clamped at 0 (perf_analyzer warns on stderr then). */
export function hasClampedNetworkTime(result: RunResult): boolean {
  if (!result.serverStats.available) return false;
  return csvRows(result).some((level) => networkServerUs(level.merged!, result.model.responseCache).clamped);
}

function mainColumns(result: RunResult, options: CsvOptions): Column[] {
  const settings = settingsOf(result);
  const cache = result.model.responseCache;
  const server = (m: Measurement): ServerStatsDelta | undefined => m.server;
  const fig = (m: Measurement) => (m.server ? serverFigures(m.server, cache) : undefined);
  const columns: Column[] = [
    levelColumn(settings.load.mode),
    { header: 'Inferences/Second', cell: (_l, m) => formatCppDouble(m.throughputPerSec) },
  ];
  // perf_analyzer's column for decoupled models, right after Inferences/Second.
  if (settings.decoupled) {
    columns.push({ header: 'Response Throughput', cell: (_l, m) => formatCppDouble(m.responsesPerSec ?? 0) });
  }
  columns.push({ header: 'Client Send', cell: (_l, m) => String(truncUs(m.clientSendUs)) });
  if (result.serverStats.available) {
    columns.push(
      { header: 'Network+Server Send/Recv', cell: (_l, m) => String(networkServerUs(m, cache).us) },
      { header: 'Server Queue', cell: (_l, m) => String(fig(m)?.queueUs ?? 0) },
      { header: 'Server Compute Input', cell: (_l, m) => String(fig(m)?.computeInputUs ?? 0) },
      { header: 'Server Compute Infer', cell: (_l, m) => String(fig(m)?.computeInferUs ?? 0) },
      { header: 'Server Compute Output', cell: (_l, m) => String(fig(m)?.computeOutputUs ?? 0) },
    );
    if (cache) {
      columns.push(
        { header: 'Server Cache Hit', cell: (_l, m) => String(server(m) ? avgUs(server(m)!.cacheHit) : 0) },
        { header: 'Server Cache Miss', cell: (_l, m) => String(server(m) ? avgUs(server(m)!.cacheMiss) : 0) },
      );
    }
  }
  columns.push({ header: 'Client Recv', cell: (_l, m) => String(truncUs(m.clientRecvUs)) });
  const p = settings.measurement.percentile;
  const percentiles = [...new Set([...STANDARD_PERCENTILES, ...(p === undefined ? [] : [p])])].sort(
    (a, b) => a - b,
  );
  for (const q of percentiles) {
    columns.push({
      header: `p${q} latency`,
      cell: (_l, m) => String(truncUs(m.latency.percentilesUs[String(q)] ?? 0)),
    });
  }
  if (options.verboseCsv) {
    if (p === undefined)
      columns.push({ header: 'Avg latency', cell: (_l, m) => String(truncUs(m.latency.meanUs)) });
    columns.push(
      {
        header: 'request/response',
        cell: (_l, m) => String(truncUs(m.clientSendUs) + truncUs(m.clientRecvUs)),
      },
      { header: 'response wait', cell: (_l, m) => String(truncUs(m.responseWaitUs)) },
    );
    if (settings.metrics) {
      columns.push(
        {
          header: 'Avg GPU Utilization',
          cell: (_l, m) => gpuCell(m.metrics?.gpuUtilization, formatCppDouble),
        },
        {
          header: 'Avg GPU Power Usage',
          cell: (_l, m) => gpuCell(m.metrics?.gpuPowerUsageW, formatCppDouble),
        },
        {
          header: 'Max GPU Memory Usage',
          cell: (_l, m) => gpuCell(m.metrics?.gpuMemoryUsedBytes, intString),
        },
        { header: 'Total GPU Memory', cell: (_l, m) => gpuCell(m.metrics?.gpuMemoryTotalBytes, intString) },
      );
    }
  }
  // Ours, at the end of the row (perf_analyzer has none): the latency to a decoupled request's first response.
  if (settings.decoupled) {
    columns.push(
      {
        header: 'Avg First Response Latency',
        cell: (_l, m) => String(truncUs(m.firstResponseLatency?.meanUs ?? 0)),
      },
      ...percentiles.map((q) => ({
        header: `p${q} First Response Latency`,
        cell: (_l: LevelResult, m: Measurement) =>
          String(truncUs(m.firstResponseLatency?.percentilesUs[String(q)] ?? 0)),
      })),
    );
  }
  if (options.extraCsvColumns) columns.push(...extraColumns());
  return columns;
}

function levelColumn(mode: string): Column {
  return mode === 'concurrency'
    ? { header: 'Concurrency', cell: (l) => String(l.value) }
    : { header: 'Request Rate', cell: (l) => formatCppDouble(l.value) };
}

/**
 * perf_analyzer's `Network+Server Send/Recv`: max(0, avg latency − send − recv − (queue + compute input/infer/
 * output + cache hit + cache miss)); the server overhead ends up here.
 */
function networkServerUs(m: Measurement, cache: boolean): { us: number; clamped: boolean } {
  if (!m.server) return { us: 0, clamped: false };
  const f = serverFigures(m.server, cache);
  const accounted =
    f.queueUs +
    f.computeInputUs +
    f.computeInferUs +
    f.computeOutputUs +
    (cache ? f.cacheHitUs + f.cacheMissUs : 0);
  const raw = truncUs(m.latency.meanUs) - truncUs(m.clientSendUs) - truncUs(m.clientRecvUs) - accounted;
  return { us: Math.max(0, raw), clamped: raw <= 0 };
}

const intString = (v: number): string => String(Math.trunc(v));

/** `uuid:value;` per GPU in key order, trailing `;`, empty when there are none (perf_analyzer's cell format). */
function gpuCell(values: Record<string, number> | undefined, render: (v: number) => string): string {
  if (!values) return '';
  return Object.keys(values)
    .sort()
    .map((uuid) => `${uuid}:${render(values[uuid]!)};`)
    .join('');
}

/**
 * Appended (last) whenever a row is not a plain reported level, or with --extra-csv-columns: a reader that takes
 * perf_analyzer's columns by name or position is unaffected, and a level that mostly failed cannot pass for a
 * healthy one.
 */
function healthColumns(): Column[] {
  return [
    { header: 'Error Rate %', cell: (l) => formatFixed2((l.errorRate ?? 0) * 100) },
    { header: 'Error Rate Exceeded', cell: (l) => (l.errorRateExceeded ? 'yes' : 'no') },
    { header: 'Level Status', cell: (l) => l.status },
  ];
}

function extraColumns(): Column[] {
  return [
    { header: 'Errors', cell: (_l, m) => String(m.errorCount) },
    {
      header: 'Errors By Kind',
      cell: (_l, m) =>
        textCell(
          Object.keys(m.errorsByKind)
            .sort()
            .map((k) => `${k}=${m.errorsByKind[k]}`)
            .join(';'),
        ),
    },
    {
      header: 'Delayed Requests %',
      cell: (_l, m) => formatFixed2(m.requestCount > 0 ? (m.delayedCount / m.requestCount) * 100 : 0),
    },
    { header: 'Avg Send Request Rate', cell: (_l, m) => formatCppDouble(m.sendRatePerSec) },
    {
      header: 'Generator Event Loop Utilization',
      cell: (_l, m) => formatFixed2(m.generator.eventLoopUtilization),
    },
    { header: 'Generator CPU Cores', cell: (_l, m) => formatFixed2(m.generator.cpuCores) },
    {
      header: 'Generator Event Loop Delay p99 usec',
      cell: (_l, m) => String(truncUs(m.generator.eventLoopDelayP99Us)),
    },
    { header: 'Generator Warnings', cell: (_l, m) => textCell(m.generator.bottleneckWarnings.join('; ')) },
  ];
}

/**
 * Defuses spreadsheet formulas in free-text cells only (csv-stringify's `escape_formulas` would apply to every
 * cell, numeric ones included).
 */
function textCell(text: string): string {
  return /^[=+\-@\t\r]/.test(text) ? `'${text}` : text;
}

function toCsv(header: string[], rows: string[][]): string {
  return stringify([header, ...rows], { record_delimiter: 'unix' });
}

export interface ComposingCsv {
  model: string;
  version: string;
  path: string;
  content: string;
}

/**
 * One CSV per composing model of an ensemble, perf_analyzer's layout: `Inferences/Second` scaled by the model's
 * share of successful requests, `Client Send`/`Client Recv` the literal 0, and the model's server overhead in
 * `Network+Server Send/Recv`. Rows in the main CSV's order. File name `<model>_v<version>.<csv file name>` in the
 * CSV's directory (perf_analyzer prefixes the whole -f string, so `-f out/r.csv` gave `m_v1.out/r.csv`; for a
 * bare file name both agree).
 */
export function renderComposingCsvs(result: RunResult, csvPath: string): ComposingCsv[] {
  const rows = csvRows(result);
  const first = rows[0]?.merged?.server;
  if (!first || first.composing.length === 0) return [];
  const mode = settingsOf(result).load.mode;
  const cache = result.model.responseCache;
  const models = flattenComposing(first).map((d) => ({ model: d.model, version: d.version }));
  return models.map(({ model, version }) => {
    const header = [
      levelColumn(mode).header,
      'Inferences/Second',
      'Client Send',
      'Network+Server Send/Recv',
      'Server Queue',
      'Server Compute Input',
      'Server Compute Infer',
      'Server Compute Output',
      ...(cache ? ['Server Cache Hit', 'Server Cache Miss'] : []),
      'Client Recv',
    ];
    const body = rows.map((level) => {
      const m = level.merged!;
      const top = m.server!;
      const stats = flattenComposing(top).find((d) => d.model === model && d.version === version);
      const f = stats ? serverFigures(stats, cache) : undefined;
      const share = stats && top.success.count > 0 ? stats.success.count / top.success.count : 0;
      return [
        levelColumn(mode).cell(level, m),
        formatCppDouble(share * m.throughputPerSec),
        '0',
        String(f?.overheadUs ?? 0),
        String(f?.queueUs ?? 0),
        String(f?.computeInputUs ?? 0),
        String(f?.computeInferUs ?? 0),
        String(f?.computeOutputUs ?? 0),
        ...(cache ? [String(f?.cacheHitUs ?? 0), String(f?.cacheMissUs ?? 0)] : []),
        '0',
      ];
    });
    const path = join(dirname(csvPath), `${model}_v${version}.${basename(csvPath)}`);
    return { model, version, path, content: toCsv(header, body) };
  });
}
