/**
 * The confidence interval on the change between baseline and current, in one place. For figures that scale
 * (latency, throughput) the change is the ratio current/baseline, whose log is approximately normal:
 *   log r̂ ± t(df) · √(v_b + v_c),
 * with v the variance of each side's log statistic (from the bootstrap, or from within-window sampling when
 * a side has one window) and df Welch–Satterthwaite's. Rates (error_rate) use the difference instead. The
 * interval is reported as a relative change (r − 1), or in absolute points for a difference.
 */
import { studentTQuantile } from './distributions.ts';

export interface SideNoise {
  /** Variance of the side's (log) statistic. */
  variance: number;
  /** Degrees of freedom of that variance: units − 1, or Infinity for a model-based (within-window) one. */
  df: number;
}

export interface EffectInterval {
  /** Point estimate of the change: r − 1 (relative) or c − b (absolute). */
  estimate: number;
  lower: number;
  upper: number;
  /** Welch–Satterthwaite degrees of freedom (Infinity = normal quantile). */
  df: number;
}

/** Welch–Satterthwaite degrees of freedom of v_b + v_c. */
export function welchDf(base: SideNoise, current: SideNoise): number {
  const num = (base.variance + current.variance) ** 2;
  const den =
    (Number.isFinite(base.df) ? base.variance ** 2 / base.df : 0) +
    (Number.isFinite(current.df) ? current.variance ** 2 / current.df : 0);
  if (den === 0) return Number.POSITIVE_INFINITY;
  return Math.max(1, num / den);
}

function halfWidth(base: SideNoise, current: SideNoise, confidence: number): { half: number; df: number } {
  const df = welchDf(base, current);
  const se = Math.sqrt(base.variance + current.variance);
  return { half: se === 0 ? 0 : studentTQuantile((1 + confidence) / 2, df) * se, df };
}

/** Interval on current/baseline − 1, from positive point estimates and the noise of each side's log. */
export function ratioInterval(
  baseline: number,
  current: number,
  noise: { base: SideNoise; current: SideNoise },
  confidence: number,
): EffectInterval {
  if (!(baseline > 0 && current > 0)) throw new RangeError('ratioInterval needs positive estimates');
  const logRatio = Math.log(current / baseline);
  const { half, df } = halfWidth(noise.base, noise.current, confidence);
  return {
    estimate: current / baseline - 1,
    lower: Math.exp(logRatio - half) - 1,
    upper: Math.exp(logRatio + half) - 1,
    df,
  };
}

/** Interval on current − baseline, from the noise of each side's statistic. */
export function differenceInterval(
  baseline: number,
  current: number,
  noise: { base: SideNoise; current: SideNoise },
  confidence: number,
): EffectInterval {
  const { half, df } = halfWidth(noise.base, noise.current, confidence);
  const d = current - baseline;
  return { estimate: d, lower: d - half, upper: d + half, df };
}
