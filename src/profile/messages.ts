/** perf_analyzer's exact texts for the outcomes of a level, so scripts that grep for them keep working. */
import type { LoadMode } from '../report/model.ts';

export const STABLE_FAILED = 'Failed to obtain stable measurement.';

export const NO_VALID_REQUESTS =
  'No valid requests recorded within time interval. Please use a larger time window.';

/** The stderr line of a level that did not stabilise within --max-trials windows. */
export function unstableMessage(
  mode: LoadMode,
  value: number,
  maxTrials: number,
  measurement: 'time_windows' | 'count_windows',
): string {
  if (mode !== 'concurrency') return STABLE_FAILED;
  const flag = measurement === 'time_windows' ? '--measurement-interval' : '--measurement-request-count';
  return `Failed to obtain stable measurement within ${maxTrials} measurement windows for concurrency ${value}. Please try to increase the ${flag}.`;
}

/** Note the trailing space: perf_analyzer prints it. */
export function latencyLimitMessage(limitMs: number): string {
  return `Measured latency went over the set limit of ${limitMs} msec. `;
}

/** Ours (perf_analyzer aborts on the first failed request instead). */
export function errorRateMessage(
  mode: LoadMode,
  value: number,
  windowIndex: number,
  errorRate: number,
  maxErrorRate: number,
  errorsByKind: Record<string, number>,
): string {
  const kinds = Object.entries(errorsByKind)
    .map(([k, n]) => `${k}: ${n}`)
    .join(', ');
  const level = mode === 'concurrency' ? `concurrency ${value}` : `request rate ${value}`;
  return `Request error rate ${(errorRate * 100).toFixed(2)}% in window ${windowIndex} at ${level} exceeded the allowed --max-error-rate of ${(maxErrorRate * 100).toFixed(2)}% (${kinds}).`;
}
