/**
 * perf_analyzer's stability rule, exactly (§3.2): over the last K windows (K = 3 in perf_analyzer), none with
 * zero throughput, and max/min ≤ 1 + s for throughput AND for the stabilising latency. Also returns the
 * spread actually achieved, which perf_analyzer never shows (users tune -s blind, issues #7, #9–#11).
 */

/** One window's figures; a window without valid requests is {throughput 0, latency +∞} (perf_analyzer: 0, UINT64_MAX). */
export interface StabilityPoint {
  throughputPerSec: number;
  latencyUs: number;
}

export interface StabilityOptions {
  /** Allowed max/min spread as a fraction (0.10 = 10 %). */
  thresholdFraction: number;
  /** Windows considered (perf_analyzer: 3). */
  windows: number;
}

export interface StabilityVerdict {
  /** At least `windows` windows exist. */
  enoughWindows: boolean;
  throughputStable: boolean;
  latencyStable: boolean;
  /** Both stable (the full rule). */
  stable: boolean;
  /** max/min over the last ≤ K windows (1 = identical; +∞ when a minimum is 0 or a latency is missing). */
  spread: { throughput: number; latency: number };
}

/** perf_analyzer's text when async mode accepts a level on throughput alone. */
export const LATENCY_NOT_STABILIZING_WARNING =
  'Request latency is not stabilizing. Please try lowering the request rate.';

export function assessStability(
  history: readonly StabilityPoint[],
  options: StabilityOptions,
): StabilityVerdict {
  const last = history.slice(-options.windows);
  const enoughWindows = history.length >= options.windows && last.length > 0;
  const throughputSpread = spreadOf(last.map((p) => p.throughputPerSec));
  const latencySpread = spreadOf(last.map((p) => p.latencyUs));
  const limit = 1 + options.thresholdFraction;
  const noZeroThroughput = last.every((p) => p.throughputPerSec > 0);
  const throughputStable = enoughWindows && noZeroThroughput && throughputSpread <= limit;
  const latencyStable = enoughWindows && noZeroThroughput && latencySpread <= limit;
  return {
    enoughWindows,
    throughputStable,
    latencyStable,
    stable: throughputStable && latencyStable,
    spread: { throughput: throughputSpread, latency: latencySpread },
  };
}

/**
 * perf_analyzer's async relaxation, applied when a level ended without stabilising: in async mode a level whose
 * throughput alone is stable is accepted, with LATENCY_NOT_STABILIZING_WARNING.
 */
export function relaxForAsync(
  verdict: StabilityVerdict,
  asyncMode: boolean,
): { stable: boolean; warning?: string } {
  if (verdict.stable) return { stable: true };
  if (asyncMode && verdict.throughputStable)
    return { stable: true, warning: LATENCY_NOT_STABILIZING_WARNING };
  return { stable: false };
}

function spreadOf(values: readonly number[]): number {
  if (values.length === 0) return Number.POSITIVE_INFINITY;
  const max = Math.max(...values);
  const min = Math.min(...values);
  if (!Number.isFinite(max)) return Number.POSITIVE_INFINITY;
  if (min <= 0) return max === min ? 1 : Number.POSITIVE_INFINITY;
  return max / min;
}
