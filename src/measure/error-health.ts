/**
 * Whether a measured level can be trusted, judged by its failed requests (pure). perf_analyzer stops at the
 * first failed request; inferbench counts failures and goes on, so a level where most requests failed must not
 * look like a healthy point with a low latency (the few successes are often the fastest). A level whose error
 * rate is above `--error-rate-threshold` (default 5 %) is marked in every output and ends the run with exit 4.
 */
import type { LevelResult, LoadMode, Measurement } from '../report/model.ts';

/** Default `--error-rate-threshold`, as a fraction: a level with more than 5 % failed requests is unhealthy. */
export const DEFAULT_ERROR_RATE_THRESHOLD = 0.05;

export interface LevelErrorHealth {
  /** failed / (failed + successful) over every measured window of the level (warm-up excluded); 0 when none. */
  errorRate: number;
  errorRateExceeded: boolean;
  failed: number;
  succeeded: number;
  /** Failures by kind ("timeout", "http:503", "unreachable", …), summed over the level's windows. */
  errorsByKind: Record<string, number>;
}

/** The error health of a level from its windows (all of them, not only the merged last ones). */
export function levelErrorHealth(
  windows: readonly Pick<Measurement, 'requestCount' | 'errorCount' | 'errorsByKind'>[],
  threshold: number,
): LevelErrorHealth {
  let failed = 0;
  let succeeded = 0;
  const errorsByKind: Record<string, number> = {};
  for (const w of windows) {
    failed += w.errorCount;
    succeeded += w.requestCount;
    for (const [kind, n] of Object.entries(w.errorsByKind))
      errorsByKind[kind] = (errorsByKind[kind] ?? 0) + n;
  }
  const total = failed + succeeded;
  const errorRate = total > 0 ? failed / total : 0;
  return { errorRate, errorRateExceeded: errorRate > threshold, failed, succeeded, errorsByKind };
}

/** "timeout 536, http:503 2": kinds by count, largest first. */
export function errorKindSummary(errorsByKind: Record<string, number>): string {
  return Object.entries(errorsByKind)
    .sort(([ka, a], [kb, b]) => b - a || (ka < kb ? -1 : ka > kb ? 1 : 0))
    .map(([kind, n]) => `${kind} ${n}`)
    .join(', ');
}

function levelName(mode: LoadMode, value: number): string {
  return mode === 'concurrency' ? `concurrency ${value}` : `request rate ${value}`;
}

/** The stderr line for an unhealthy level. */
export function errorRateExceededMessage(
  mode: LoadMode,
  value: number,
  health: LevelErrorHealth,
  threshold: number,
): string {
  const total = health.failed + health.succeeded;
  return `WARNING: ${levelName(mode, value)}: ${health.failed} of ${total} requests failed (${pct(health.errorRate)}, above the --error-rate-threshold of ${pct(threshold)}): ${errorKindSummary(health.errorsByKind)}. Its latency and throughput describe the few requests that succeeded: do not trust them.`;
}

/** Levels marked unhealthy (records written before the field existed count as healthy). */
export function unhealthyLevels(levels: readonly LevelResult[]): LevelResult[] {
  return levels.filter((l) => l.errorRateExceeded === true);
}

export function pct(fraction: number): string {
  return `${(fraction * 100).toFixed(fraction > 0 && fraction < 0.001 ? 3 : 1)} %`;
}
