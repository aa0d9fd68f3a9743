/**
 * The `*** Measurement Settings ***` block perf_analyzer prints before measuring (§3.5), line for line, so
 * wrappers that scrape it keep working. Our own facts are added only as whole extra lines or as text after
 * perf_analyzer's tokens on an existing line, never by changing the tokens a parser reads.
 */
import type { LoadSettings, ProfileSettings } from '../profile/settings.ts';
import type { RunResult } from './model.ts';
import { formatCppDouble } from './number-format.ts';
import { settingsOf } from './run-settings.ts';

const plural = (n: number, word: string): string => `${n} ${word}${n > 1 ? 's' : ''}`;

/** The settings block, ending with perf_analyzer's empty line. */
export function renderSettingsBlock(result: RunResult): string {
  return renderSettingsLines(settingsOf(result)).join('\n') + '\n\n';
}

/** The block's lines for a settings object (also used before a run starts, when no RunResult exists yet). */
export function renderSettingsLines(settings: ProfileSettings): string[] {
  const m = settings.measurement;
  const lines = [
    '*** Measurement Settings ***',
    `  Batch size: ${settings.batchSize}`,
    '  Service Kind: TRITON',
  ];
  if (m.warmupRequestCount > 0) lines.push(`  Sending ${plural(m.warmupRequestCount, 'warmup request')}`);
  if (m.requestCount > 0) {
    lines.push(`  Sending ${plural(m.requestCount, 'benchmark request')}`);
  } else {
    lines.push(`  Using "${m.mode}" mode for stabilization`);
    // perf_analyzer prints "p95latency" (no space, a source bug) for the percentile form; we print the space.
    // Parsers of perf_analyzer logs must accept both forms anyway (older versions printed "p95 latency").
    const metric = settings.async ? 'throughput' : 'latency and throughput';
    const by = m.percentile === undefined ? 'average' : `p${m.percentile}`;
    lines.push(`  Stabilizing using ${by} ${metric}`);
    if (m.mode === 'time_windows') {
      lines.push(`  Measurement window: ${m.windowMs} msec (real length; perf_analyzer used 1.2x this)`);
    } else {
      lines.push(`  Minimum number of samples in each window: ${m.windowRequestCount}`);
    }
    if (m.singleMeasurement) {
      lines.push('  Single measurement per level: one window, no stability check');
    } else {
      const pct = formatCppDouble(m.stabilityThreshold * 100);
      lines.push(
        `  Stability rule: last ${m.stabilityWindows} windows within ${pct}% (max/min), at most ${m.maxTrials} windows`,
      );
    }
  }
  lines.push(...limitLines(settings.load, m.latencyThresholdMs));
  if (settings.load.mode === 'request_rate') {
    lines.push(
      settings.load.distribution === 'poisson'
        ? `  Using poisson distribution on request generation (seed ${settings.load.seed})`
        : '  Using uniform distribution on request generation',
    );
  }
  if (settings.load.mode !== 'concurrency' && settings.load.maxInFlight > 0) {
    lines.push(
      settings.load.overflow === 'queue'
        ? `  Max in-flight requests: ${settings.load.maxInFlight} (synchronous workers: a request due while all are busy is sent late)`
        : `  Max in-flight requests: ${settings.load.maxInFlight}`,
    );
  }
  if (settings.search === 'binary') lines.push('  Using Binary Search algorithm');
  lines.push(`  Using ${settings.async ? 'asynchronous' : 'synchronous'} calls for inference`);
  // perf_analyzer's line, word for word; its latency (and ours) runs to the last response, the first-response
  // latency is printed and recorded beside it.
  if (settings.decoupled)
    lines.push('  Detected decoupled model, using the first response for measuring latency');
  if (settings.requestTimeoutMs > 0) lines.push(`  Request timeout: ${settings.requestTimeoutMs} msec`);
  if (settings.workerThreads > 1) lines.push(`  Load generator worker threads: ${settings.workerThreads}`);
  return lines;
}

function limitLines(load: LoadSettings, latencyThresholdMs: number): string[] {
  if (load.mode === 'concurrency' && load.range.end !== 1) {
    const lines = [`  Latency limit: ${latencyThresholdMs} msec`];
    if (load.range.end !== 0) {
      lines.push(`  Concurrency limit: ${Math.max(load.range.start, load.range.end)} concurrent requests`);
    }
    return lines;
  }
  if (load.mode === 'request_rate' && load.range.end !== 1) {
    const lines = [`  Latency limit: ${latencyThresholdMs} msec`];
    if (load.range.end !== 0) {
      const limit = formatCppDouble(Math.max(load.range.start, load.range.end));
      lines.push(`  Request Rate limit: ${limit} requests per seconds`);
    }
    return lines;
  }
  return [];
}
