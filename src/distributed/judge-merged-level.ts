/**
 * The profiler's level rules, replayed on merged windows (pure): a sharded run measures every window of
 * every level, and the merge decides, window by window, where one generator would have stopped (stable,
 * --max-error-rate, the latency limit, --max-trials), then classifies the level exactly as the profiler does
 * (perf_analyzer §3.2–3.3): the figure is the merge of the last K windows up to that point, async runs accept
 * a throughput-stable level with perf_analyzer's warning, and the same stderr texts are produced.
 */
import {
  DEFAULT_ERROR_RATE_THRESHOLD,
  errorRateExceededMessage,
  levelErrorHealth,
} from '../measure/error-health.ts';
import { mergeMeasurements } from '../measure/merge-measurements.ts';
import {
  assessStability,
  relaxForAsync,
  type StabilityPoint,
  type StabilityVerdict,
} from '../measure/stability.ts';
import { stabilizingLatencyUs } from '../measure/summarize.ts';
import {
  errorRateMessage,
  latencyLimitMessage,
  noValidRequestsMessage,
  unstableMessage,
} from '../profile/messages.ts';
import type { ProfileSettings } from '../profile/settings.ts';
import type { LevelResult, LevelStatus, LoadMode, WindowResult } from '../report/model.ts';

type StopReason = 'stable' | 'single' | 'max_trials' | 'latency_limit' | 'error_rate' | 'sigint';

/** `interrupted`: a shard's level ended early on SIGINT (the merge then has fewer windows than the timetable). */
export function judgeMergedLevel(
  mode: LoadMode,
  value: number,
  windows: readonly WindowResult[],
  settings: ProfileSettings,
  interrupted: boolean,
  warn: (text: string) => void,
): LevelResult {
  const m = settings.measurement;
  const single = m.singleMeasurement || m.requestCount > 0;
  const history: StabilityPoint[] = [];
  let verdict: StabilityVerdict | undefined;
  let stopReason: StopReason = interrupted ? 'sigint' : 'max_trials';
  let kept = windows.length;
  for (let i = 0; i < windows.length; i++) {
    const w = windows[i]!;
    const latencyUs =
      w.requestCount > 0 ? stabilizingLatencyUs(w.latency, m.percentile) : Number.POSITIVE_INFINITY;
    history.push({ throughputPerSec: w.requestCount > 0 ? w.throughputPerSec : 0, latencyUs });
    verdict = assessStability(history, {
      thresholdFraction: m.stabilityThreshold,
      windows: m.stabilityWindows,
    });
    const total = w.errorCount + w.requestCount;
    const errorRate = total > 0 ? w.errorCount / total : 0;
    let stop: StopReason | undefined;
    if (settings.maxErrorRate < 1 && errorRate > settings.maxErrorRate) {
      warn(errorRateMessage(mode, value, i + 1, errorRate, settings.maxErrorRate, w.errorsByKind));
      stop = 'error_rate';
    } else if (single) stop = 'single';
    else if (verdict.stable) stop = 'stable';
    else if (
      m.latencyThresholdMs > 0 &&
      history.slice(-m.stabilityWindows).some((p) => p.latencyUs >= m.latencyThresholdMs * 1000)
    )
      stop = 'latency_limit';
    if (stop) {
      stopReason = stop;
      kept = i + 1;
      break;
    }
  }
  const results = windows.slice(0, kept).map((w) => ({ ...w }));
  const level: LevelResult = {
    mode,
    value,
    status: 'no_data',
    reported: false,
    windows: results,
    stopReason,
  };
  const asyncMode = settings.async || settings.streaming;
  let status: LevelStatus;
  if (results.length === 0) {
    status = interrupted ? 'interrupted' : 'no_data';
  } else {
    const lastK = results.slice(-Math.max(1, m.stabilityWindows));
    const merged = mergeMeasurements(lastK);
    level.merged = merged;
    if (verdict && Number.isFinite(verdict.spread.throughput) && Number.isFinite(verdict.spread.latency))
      level.spread = verdict.spread;
    let stabilized = false;
    if (stopReason === 'error_rate') status = 'errors_over_limit';
    else if (stopReason === 'single') {
      stabilized = results[0]!.requestCount > 0;
      status = stabilized ? 'single' : 'no_data';
    } else if (stopReason === 'stable') {
      stabilized = true;
      status = 'stable';
    } else if (stopReason === 'sigint') status = 'interrupted';
    else if (lastK.some((w) => w.requestCount === 0)) status = 'no_data';
    else {
      const relaxed =
        stopReason === 'max_trials' && verdict ? relaxForAsync(verdict, asyncMode) : { stable: false };
      if (relaxed.warning) warn(relaxed.warning);
      stabilized = relaxed.stable;
      status = stabilized ? 'stable' : 'unstable';
    }
    if (stabilized) {
      const latencyUs = stabilizingLatencyUs(merged.latency, m.percentile);
      level.stabilizingLatencyUs = latencyUs;
      if (m.latencyThresholdMs > 0 && Math.trunc(latencyUs / 1000) >= m.latencyThresholdMs) {
        status = 'over_latency_limit';
        warn(latencyLimitMessage(m.latencyThresholdMs));
      }
    } else if (status === 'unstable') warn(unstableMessage(mode, value, m.maxTrials, m.mode));
    else if (status === 'no_data') warn(noValidRequestsMessage(results, settings.url));
  }
  level.status = status;
  level.reported = status === 'stable' || status === 'single';
  const threshold = settings.errorRateThreshold ?? DEFAULT_ERROR_RATE_THRESHOLD;
  const health = levelErrorHealth(results, threshold);
  level.errorRate = health.errorRate;
  level.errorRateExceeded = health.errorRateExceeded;
  if (health.errorRateExceeded) warn(errorRateExceededMessage(mode, value, health, threshold));
  return level;
}
