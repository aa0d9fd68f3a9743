/**
 * `inferbench print-config`'s defaults: what resolving filled in, read back from the resolved run in config-file
 * keys (config/effective-config.ts puts the explicit values over them).
 */
import type { BenchConfig } from '../config/bench-config-schema.ts';
import { DEFAULT_ERROR_RATE_THRESHOLD } from '../measure/error-health.ts';
import type { ResolvedRun } from './run-types.ts';

/** Rounds away float noise from unit conversions (0.1 × 100 = 10.000000000000002). */
const tidy = (n: number): number => Number(n.toPrecision(12));

/** The defaults a resolved run implies, in config-file keys. */
export function resolvedDefaults(run: ResolvedRun): BenchConfig {
  const s = run.settings;
  const m = s.measurement;
  const load = s.load;
  const out: Record<string, unknown> = {
    model: s.modelName,
    ...(run.target.kind === 'remote' ? { url: s.url } : {}),
    protocol: s.protocol,
    batchSize: s.batchSize,
    async: s.async,
    measurementMode: m.mode,
    stabilityPercentage: tidy(m.stabilityThreshold * 100),
    stabilityWindows: m.stabilityWindows,
    maxTrials: m.maxTrials,
    latencyThreshold: m.latencyThresholdMs,
    maxErrorRate: tidy(s.maxErrorRate * 100),
    errorRateThreshold: tidy((s.errorRateThreshold ?? DEFAULT_ERROR_RATE_THRESHOLD) * 100),
    requestTimeout: s.requestTimeoutMs,
    workerThreads: s.workerThreads,
    inputData: run.input.source,
    seed: run.input.seed,
  };
  if (m.mode === 'time_windows') out.measurementInterval = m.windowMs;
  else out.measurementRequestCount = m.windowRequestCount;
  if (m.percentile !== undefined) out.percentile = m.percentile;
  if (load.mode === 'concurrency') {
    out.concurrencyRange = `${load.range.start}:${load.range.end}:${load.range.step}`;
  } else if (load.mode === 'request_rate') {
    out.requestRateRange = `${load.range.start}:${load.range.end}:${load.range.step}`;
    out.requestDistribution = load.distribution;
    out.maxInFlight = load.maxInFlight;
  }
  if (Object.keys(run.input.shapes).length > 0) out.shape = run.input.shapes;
  if (run.output.csvFile !== undefined) out.csv = run.output.csvFile;
  if (run.output.jsonFile !== undefined) out.json = run.output.jsonFile;
  if (run.output.htmlFile !== undefined) out.html = run.output.htmlFile;
  return out as BenchConfig;
}
