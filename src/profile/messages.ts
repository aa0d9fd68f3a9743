/** perf_analyzer's exact texts for the outcomes of a level, so scripts that grep for them keep working. */
import { isConnectionFailure } from '../load/connect-backoff.ts';
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

/**
 * Why a level had no valid request. perf_analyzer's text ("use a larger time window") only when that is the
 * likely cure: not when the server refused every connection, and not when requests were sent but never answered.
 */
export function noValidRequestsMessage(
  windows: readonly { sentCount: number; errorCount: number; errorsByKind: Record<string, number> }[],
  url: string,
): string {
  let sent = 0;
  let failed = 0;
  const kinds: Record<string, number> = {};
  for (const w of windows) {
    sent += w.sentCount;
    failed += w.errorCount;
    for (const [k, n] of Object.entries(w.errorsByKind)) kinds[k] = (kinds[k] ?? 0) + n;
  }
  const where = url === '' ? 'the server' : `the server at ${url}`;
  const list = Object.entries(kinds)
    .sort(([, a], [, b]) => b - a)
    .map(([k, n]) => `${k} ${n}`)
    .join(', ');
  if (failed > 0 && Object.keys(kinds).every(isConnectionFailure)) {
    return `No valid requests: ${where} cannot be reached (${list}). Is it running, and is -u right?`;
  }
  if (failed > 0) return `No valid requests: every request failed (${list}).`;
  if (sent > 0) {
    return `No valid requests: ${sent} requests were sent and none was answered within the window: ${where} may be stopped or overloaded (--request-timeout bounds each request).`;
  }
  return NO_VALID_REQUESTS;
}
