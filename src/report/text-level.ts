/**
 * One load level on stdout, as perf_analyzer prints it (§3.5): the level header, `-v` pass lines, and for a
 * reported level the `  Client: ` and `  Server: ` blocks (both with perf_analyzer's trailing space). What
 * perf_analyzer cannot tell (errors, coordinated-omission-free latency, a saturated generator) is added as
 * whole extra lines whose first tokens no perf_analyzer parser looks for.
 */
import { DEFAULT_ERROR_RATE_THRESHOLD, pct } from '../measure/error-health.ts';
import type { ProfileSettings } from '../profile/settings.ts';
import { accountingLine } from './accounting.ts';
import type {
  LatencySummary,
  LevelResult,
  Measurement,
  MetricsSummary,
  RunResult,
  ServerStatsDelta,
} from './model.ts';
import { formatCppDouble, formatFixed2, truncUs } from './number-format.ts';
import { settingsOf, type TextRenderOptions } from './run-settings.ts';
import { ensembleFigures, serverFigures } from './server-figures.ts';

/** perf_analyzer's DELAY_PCT_THRESHOLD: more than 1 % delayed sends triggers the warning. */
const DELAY_PCT_THRESHOLD = 1.0;
/** perf_analyzer's overhead_pct_threshold (50 %), applied to our event-loop utilisation. */
const OVERHEAD_PCT_THRESHOLD = 50.0;
/** perf_analyzer prints per-GPU metrics for at most this many GPUs. */
const MAX_GPUS_PRINTED = 16;
const STANDARD_PERCENTILES = [50, 90, 95, 99];

/** Every level of the run, in measured order. */
export function renderLevels(result: RunResult, options: TextRenderOptions): string {
  return result.levels.map((level) => renderLevel(result, level, options)).join('');
}

/** One level: header, pass lines (-v), and the client/server blocks when the level is reported. */
export function renderLevel(result: RunResult, level: LevelResult, options: TextRenderOptions): string {
  return renderLevelOf(
    { settings: settingsOf(result), responseCache: result.model.responseCache },
    level,
    options,
  );
}

/** What a level's block needs from its run: known before the first level ends, so a level prints as it ends. */
export interface LevelRunContext {
  settings: ProfileSettings;
  /** The model has the response cache on (the server block then shows cache hits and misses). */
  responseCache: boolean;
}

/** One level, from the run's settings (renderLevel reads them from a finished RunResult). */
export function renderLevelOf(run: LevelRunContext, level: LevelResult, options: TextRenderOptions): string {
  const { settings } = run;
  const lines: string[] = [];
  if (level.mode === 'concurrency') lines.push(`Request concurrency: ${level.value}`);
  if (level.mode === 'request_rate') {
    lines.push(`Request Rate: ${formatCppDouble(level.value)} inference requests per second`);
  }
  if (options.verbose) lines.push(...passLines(level, settings));
  if (level.errorRateExceeded) lines.push(errorRateLine(level, settings));
  if (level.status === 'over_latency_limit') {
    lines.push(
      `Measured latency went over the set limit of ${settings.measurement.latencyThresholdMs} msec. `,
    );
  }
  if (level.reported && level.merged) {
    lines.push(...clientBlock(level.merged, settings, options));
    if (level.merged.server) lines.push(...serverBlock(level.merged.server, run.responseCache));
    if (level.accounting) lines.push(accountingLine(level.accounting));
    if (level.merged.metrics) lines.push(...metricsBlock(level.merged.metrics));
    lines.push(...generatorWarnings(level.merged));
    lines.push('');
  }
  return lines.length > 0 ? lines.join('\n') + '\n' : '';
}

/** The mark of an unhealthy level (an extra line no perf_analyzer parser looks for). */
function errorRateLine(level: LevelResult, settings: ProfileSettings): string {
  const threshold = settings.errorRateThreshold ?? DEFAULT_ERROR_RATE_THRESHOLD;
  const failed = level.windows.reduce((n, w) => n + w.errorCount, 0);
  const total = failed + level.windows.reduce((n, w) => n + w.requestCount, 0);
  return `  [ERROR RATE EXCEEDED] ${failed} of ${total} requests failed (${pct(level.errorRate ?? 0)}, threshold ${pct(threshold)}): the figures below describe only the requests that succeeded.`;
}

function passLines(level: LevelResult, settings: ProfileSettings): string[] {
  const p = settings.measurement.percentile;
  return level.windows.map((w) => {
    if (w.requestCount === 0) {
      return `  Pass [${w.index}] cb::Error: No valid requests recorded within time interval. Please use a larger time window.`;
    }
    const tput = `  Pass [${w.index}] throughput: ${formatCppDouble(w.throughputPerSec)} infer/sec.`;
    if (p !== undefined) return `${tput} p${p} latency: ${truncUs(percentileUs(w.latency, p))} usec`;
    return `${tput} Avg latency: ${truncUs(w.latency.meanUs)} usec (std ${truncUs(w.latency.stdUs)} usec). `;
  });
}

function percentileUs(latency: LatencySummary, p: number): number {
  return latency.percentilesUs[String(p)] ?? 0;
}

function clientBlock(m: Measurement, settings: ProfileSettings, options: TextRenderOptions): string[] {
  const lines = ['  Client: ', `    Request count: ${m.requestCount}`];
  const delayedPct = m.requestCount > 0 ? (m.delayedCount / m.requestCount) * 100 : 0;
  if (delayedPct > DELAY_PCT_THRESHOLD) {
    lines.push(`    Avg send request rate: ${formatFixed2(m.sendRatePerSec)} infer/sec`);
    lines.push(
      `    [WARNING] Perf Analyzer was not able to keep up with the desired request rate. ${formatFixed2(delayedPct)}% of the requests were delayed. `,
    );
  }
  if (m.sequenceCount !== undefined) {
    lines.push(`    Sequence count: ${m.sequenceCount} (${formatCppDouble(m.sequencesPerSec ?? 0)} seq/sec)`);
  }
  // perf_analyzer leaves std::fixed on after the delayed warning, so its later doubles print with 2 decimals;
  // we keep the default format throughout (both parse as the same number).
  lines.push(`    Throughput: ${formatCppDouble(m.throughputPerSec)} infer/sec`);
  if (m.responsesPerSec !== undefined) {
    lines.push(`    Response Throughput: ${formatCppDouble(m.responsesPerSec)} infer/sec`);
  }
  // perf_analyzer's "client overhead" is the busy share of its worker threads; ours is the event-loop
  // utilisation of the main thread, the same question for a Node generator.
  if (options.verbose) {
    lines.push(`    Avg client overhead: ${formatFixed2(m.generator.eventLoopUtilization * 100)}%`);
  }
  const p = settings.measurement.percentile;
  if (p === undefined) {
    lines.push(
      `    Avg latency: ${truncUs(m.latency.meanUs)} usec (standard deviation ${truncUs(m.latency.stdUs)} usec)`,
    );
  }
  const percentiles = [...new Set([...STANDARD_PERCENTILES, ...(p === undefined ? [] : [p])])].sort(
    (a, b) => a - b,
  );
  for (const q of percentiles) {
    const value = m.latency.percentilesUs[String(q)];
    if (value !== undefined) lines.push(`    p${q} latency: ${truncUs(value)} usec`);
  }
  if (m.firstResponseLatency) lines.push(firstResponseLine(m.firstResponseLatency));
  // perf_analyzer shows no client-library times for a decoupled model: a line of 4 spaces instead.
  lines.push(
    m.responsesPerSec !== undefined ? '    ' : clientLibraryLine(m, settings.protocol, options.verbose),
  );
  if (m.uncorrectedLatency) {
    const u = m.uncorrectedLatency;
    const parts = STANDARD_PERCENTILES.filter((q) => u.percentilesUs[String(q)] !== undefined).map(
      (q) => `p${q} ${truncUs(percentileUs(u, q))} usec`,
    );
    lines.push(
      `    Uncorrected latency (from actual send): avg ${truncUs(u.meanUs)} usec, ${parts.join(', ')}`,
    );
  }
  if (m.errorCount > 0) {
    const kinds = Object.keys(m.errorsByKind)
      .sort()
      .map((k) => `${k}: ${m.errorsByKind[k]}`);
    lines.push(`    Errors: ${m.errorCount} (${kinds.join(', ')})`);
  }
  return lines;
}

/** Ours (perf_analyzer has no such line): latency to the first response of a decoupled model's requests. */
function firstResponseLine(l: LatencySummary): string {
  const ps = STANDARD_PERCENTILES.filter((q) => l.percentilesUs[String(q)] !== undefined)
    .map((q) => `p${q} ${truncUs(percentileUs(l, q))} usec`)
    .join(', ');
  return `    First response latency: avg ${truncUs(l.meanUs)} usec (${ps})`;
}

function clientLibraryLine(m: Measurement, protocol: 'http' | 'grpc', verbose: boolean): string {
  const send = truncUs(m.clientSendUs);
  const recv = truncUs(m.clientRecvUs);
  const wait = truncUs(m.responseWaitUs);
  const total = send + recv + wait;
  if (protocol === 'http') {
    return verbose
      ? `    Avg HTTP time: ${total} usec (send ${send} usec + response wait ${wait} usec + receive ${recv} usec)`
      : `    Avg HTTP time: ${total} usec (send/recv ${send + recv} usec + response wait ${wait} usec)`;
  }
  return verbose
    ? `    Avg gRPC time: ${total} usec (marshal ${send} usec + response wait ${wait} usec + unmarshal ${recv} usec)`
    : `    Avg gRPC time: ${total} usec ((un)marshal request/response ${send + recv} usec + response wait ${wait} usec)`;
}

function serverBlock(server: ServerStatsDelta, cacheEnabled: boolean): string[] {
  return ['  Server: ', ...modelStatsLines(server, cacheEnabled, '    ')];
}

/** One model's server lines at `indent`; composing models follow, 2 spaces deeper (perf_analyzer's recursion). */
function modelStatsLines(stats: ServerStatsDelta, cacheEnabled: boolean, indent: string): string[] {
  const failed = stats.fail.count > 0 ? [`${indent}Failed request count: ${stats.fail.count}`] : [];
  if (stats.success.count === 0) return [`${indent}Request count: 0`, ...failed];
  const lines = [
    `${indent}Inference count: ${stats.inferenceCount}`,
    `${indent}Execution count: ${stats.executionCount}`,
  ];
  if (cacheEnabled) {
    lines.push(
      `${indent}Cache hit count: ${stats.cacheHit.count}`,
      `${indent}Cache miss count: ${stats.cacheMiss.count}`,
    );
  }
  lines.push(`${indent}Successful request count: ${stats.success.count}`);
  // perf_analyzer never reads inference_stats.fail; we show it when the server reported failures.
  lines.push(...failed);
  if (stats.composing.length > 0) {
    const e = ensembleFigures(stats);
    lines.push(
      `${indent}Avg request latency: ${e.requestUs} usec (overhead ${e.overheadUs} usec + queue ${e.queueUs} usec + compute ${e.computeUs} usec)`,
      '',
    );
    const outer = indent.slice(2);
    lines.push(`${outer}Composing models: `);
    for (const child of stats.composing) {
      lines.push(`${outer}${child.model}, version: ${child.version}`);
      lines.push(...modelStatsLines(child, false, `${indent}  `));
    }
    return lines;
  }
  const f = serverFigures(stats, cacheEnabled);
  if (cacheEnabled) {
    lines.push(
      `${indent}Avg request latency: ${f.requestUs} usec (overhead ${f.overheadUs} usec + queue ${f.queueUs} usec + cache hit/miss ${f.cacheCombinedUs} usec)`,
      `${indent}  Average Cache Hit Latency: ${f.cacheHitUs} usec`,
      `${indent}  Average Cache Miss Latency: ${f.cacheMissUs + f.computeUs} usec (cache lookup/insertion ${f.cacheMissUs} usec + compute input ${f.computeInputUs} usec + compute infer ${f.computeInferUs} usec + compute output ${f.computeOutputUs} usec)`,
    );
  } else {
    lines.push(
      `${indent}Avg request latency: ${f.requestUs} usec (overhead ${f.overheadUs} usec + queue ${f.queueUs} usec + compute input ${f.computeInputUs} usec + compute infer ${f.computeInferUs} usec + compute output ${f.computeOutputUs} usec)`,
    );
  }
  return lines;
}

function metricsBlock(metrics: MetricsSummary): string[] {
  const lines = ['  Server Prometheus Metrics: '];
  if (Object.keys(metrics.gpuUtilization).length > MAX_GPUS_PRINTED) {
    lines.push(
      '    Too many GPUs on system to print out individual Prometheus metrics, use the CSV output feature to see metrics.',
    );
    return lines;
  }
  const section = (title: string, values: Record<string, number>, render: (v: number) => string): void => {
    lines.push(`    ${title}:`);
    for (const uuid of Object.keys(values).sort()) lines.push(`      ${uuid} : ${render(values[uuid]!)}`);
  };
  section('Avg GPU Utilization', metrics.gpuUtilization, (v) => `${formatCppDouble(v * 100)}%`);
  section('Avg GPU Power Usage', metrics.gpuPowerUsageW, (v) => `${formatCppDouble(v)} watts`);
  section('Max GPU Memory Usage', metrics.gpuMemoryUsedBytes, (v) => `${Math.trunc(v)} bytes`);
  section('Total GPU Memory', metrics.gpuMemoryTotalBytes, (v) => `${Math.trunc(v)} bytes`);
  return lines;
}

function generatorWarnings(m: Measurement): string[] {
  const lines: string[] = [];
  if (m.generator.eventLoopUtilization * 100 > OVERHEAD_PCT_THRESHOLD) {
    lines.push(
      '[WARNING] Perf Analyzer is not able to keep up with the desired load. The results may not be accurate.',
    );
  }
  return lines;
}

/**
 * Our load-generator warnings (event-loop delay, achieved rate…), one stderr line per level that has any: they
 * are diagnostics, not part of perf_analyzer's stdout, which scripts parse.
 */
export function generatorWarningLines(result: RunResult): string[] {
  return result.levels.flatMap((level) => {
    const warnings = level.merged?.generator.bottleneckWarnings ?? [];
    if (warnings.length === 0) return [];
    const name = level.mode === 'concurrency' ? `concurrency ${level.value}` : `request rate ${level.value}`;
    return [`WARNING: load generator at ${name}: ${warnings.join('; ')}`];
  });
}
