/**
 * How a level is judged, perf_analyzer's way (§3.2–3.3), in one place (pure): after each window, whether the
 * level stops there (--max-error-rate, a single measurement, stable, the latency limit); at the end, the
 * level's status from its windows and the merge of the last K. The profiler applies these rules as windows
 * close; `inferbench merge` replays them on the shards' merged windows (distributed/judge-merged-level.ts).
 */
import {
  DEFAULT_ERROR_RATE_THRESHOLD,
  errorRateExceededMessage,
  levelErrorHealth,
} from '../measure/error-health.ts';
import {
  assessStability,
  relaxForAsync,
  type StabilityPoint,
  type StabilityVerdict,
} from '../measure/stability.ts';
import { stabilizingLatencyUs } from '../measure/summarize.ts';
import { msToUs, usToMs } from '../protocol/units.ts';
import type { LevelResult, LevelStatus, LoadMode, Measurement, WindowResult } from '../report/model.ts';
import {
  errorRateMessage,
  latencyLimitMessage,
  noValidRequestsMessage,
  unstableMessage,
} from './messages.ts';
import type { ProfileSettings } from './settings.ts';

/** Why a level's window loop ended. */
export type StopReason = 'stable' | 'single' | 'max_trials' | 'latency_limit' | 'sigint' | 'error_rate';

/** The level being judged, and where its warnings go (the same stderr texts for the profiler and the merge). */
export interface LevelContext {
  mode: LoadMode;
  value: number;
  settings: ProfileSettings;
  warn: (text: string) => void;
}

/** One window per level, no stability rule (--single-measurement, --request-count). */
export function singleMeasurement(settings: ProfileSettings): boolean {
  return settings.measurement.singleMeasurement || settings.measurement.requestCount > 0;
}

/**
 * Adds a window to the level's stability history and judges it: its throughput and stabilising latency (an
 * infinite latency for a window with no valid request, so it can never look stable).
 */
export function addStabilityPoint(
  history: StabilityPoint[],
  window: WindowResult,
  settings: ProfileSettings,
): StabilityVerdict {
  const m = settings.measurement;
  const valid = window.requestCount > 0;
  history.push({
    throughputPerSec: valid ? window.throughputPerSec : 0,
    latencyUs: valid ? stabilizingLatencyUs(window.latency, m.percentile) : Number.POSITIVE_INFINITY,
  });
  return assessStability(history, { thresholdFraction: m.stabilityThreshold, windows: m.stabilityWindows });
}

/**
 * After window `index` (1-based) of the level: why the level stops there, or undefined to measure another
 * (SIGINT and --max-trials are the caller's). Warns when --max-error-rate stops it.
 */
export function windowStopReason(
  ctx: LevelContext,
  window: WindowResult,
  index: number,
  history: readonly StabilityPoint[],
  verdict: StabilityVerdict,
): StopReason | undefined {
  const { settings } = ctx;
  const m = settings.measurement;
  const total = window.errorCount + window.requestCount;
  const errorRate = total > 0 ? window.errorCount / total : 0;
  if (settings.maxErrorRate < 1 && errorRate > settings.maxErrorRate) {
    ctx.warn(
      errorRateMessage(ctx.mode, ctx.value, index, errorRate, settings.maxErrorRate, window.errorsByKind),
    );
    return 'error_rate';
  }
  if (singleMeasurement(settings)) return 'single';
  if (verdict.stable) return 'stable';
  const limitUs = msToUs(m.latencyThresholdMs);
  if (limitUs > 0 && history.slice(-m.stabilityWindows).some((p) => p.latencyUs >= limitUs)) {
    return 'latency_limit';
  }
  return undefined;
}

/**
 * The level's result from the windows it measured: its status, its figure (`mergeLastWindows(k)`: the merge of
 * the last k windows, k = the stability window count), the spread, and the error health. Warns as
 * perf_analyzer does (unstable, over the latency limit, no valid request) and when the error rate is too high.
 */
export function judgeLevel(
  ctx: LevelContext,
  windows: WindowResult[],
  stopReason: StopReason,
  verdict: StabilityVerdict | undefined,
  mergeLastWindows: (count: number) => Measurement,
): LevelResult {
  const { mode, value, settings, warn } = ctx;
  const level: LevelResult = { mode, value, status: 'no_data', reported: false, windows, stopReason };
  level.status =
    windows.length === 0
      ? emptyLevelStatus(stopReason)
      : judgeMeasured(ctx, level, verdict, mergeLastWindows);
  level.reported = level.status === 'stable' || level.status === 'single';
  const threshold = settings.errorRateThreshold ?? DEFAULT_ERROR_RATE_THRESHOLD;
  const health = levelErrorHealth(windows, threshold);
  level.errorRate = health.errorRate;
  level.errorRateExceeded = health.errorRateExceeded;
  if (health.errorRateExceeded) warn(errorRateExceededMessage(mode, value, health, threshold));
  return level;
}

/** A level with no window: interrupted during its warm-up, or it never measured anything. */
function emptyLevelStatus(stopReason: StopReason): LevelStatus {
  return stopReason === 'sigint' ? 'interrupted' : 'no_data';
}

/** Sets the figure and the spread of a level with windows, and returns its status. */
function judgeMeasured(
  ctx: LevelContext,
  level: LevelResult,
  verdict: StabilityVerdict | undefined,
  mergeLastWindows: (count: number) => Measurement,
): LevelStatus {
  const { mode, value, settings, warn } = ctx;
  const m = settings.measurement;
  const windows = level.windows;
  const lastK = windows.slice(-Math.max(1, m.stabilityWindows));
  const merged = mergeLastWindows(lastK.length);
  level.merged = merged;
  // A spread over a window with no valid request is infinite: JSON cannot carry it, so it is left out.
  if (verdict && Number.isFinite(verdict.spread.throughput) && Number.isFinite(verdict.spread.latency)) {
    level.spread = verdict.spread;
  }
  const stopReason = level.stopReason;
  let status: LevelStatus;
  let stabilized = false;
  if (stopReason === 'error_rate') {
    status = 'errors_over_limit';
  } else if (stopReason === 'single') {
    stabilized = windows[0]!.requestCount > 0;
    status = stabilized ? 'single' : 'no_data';
  } else if (stopReason === 'stable') {
    stabilized = true;
    status = 'stable';
  } else if (stopReason === 'sigint') {
    status = 'interrupted';
  } else if (lastK.some((w) => w.requestCount === 0)) {
    status = 'no_data';
  } else {
    const asyncMode = settings.async || settings.streaming;
    const relaxed =
      stopReason === 'max_trials' && verdict ? relaxForAsync(verdict, asyncMode) : { stable: false };
    if (relaxed.warning) warn(relaxed.warning);
    stabilized = relaxed.stable;
    status = stabilized ? 'stable' : 'unstable';
  }

  if (stabilized) {
    const latencyUs = stabilizingLatencyUs(merged.latency, m.percentile);
    level.stabilizingLatencyUs = latencyUs;
    if (m.latencyThresholdMs > 0 && Math.trunc(usToMs(latencyUs)) >= m.latencyThresholdMs) {
      status = 'over_latency_limit';
      warn(latencyLimitMessage(m.latencyThresholdMs));
    }
  } else if (status === 'unstable') {
    warn(unstableMessage(mode, value, m.maxTrials, m.mode));
  } else if (status === 'no_data') {
    warn(noValidRequestsMessage(windows, settings.url));
  }
  return status;
}
