/**
 * From an interval on the change to a verdict, in one place (the rule the README's CI-gate section states):
 *   regressed    — the whole interval lies beyond --min-effect on the bad side;
 *   improved     — the whole interval lies beyond --min-effect on the good side;
 *   unchanged    — the whole interval lies within ±min-effect;
 *   inconclusive — anything else (the interval straddles a ±min-effect boundary).
 * With no noise estimate (both sides a single window, or a CSV) the interval only reflects sampling within
 * the window, which two identical runs on a busy machine exceed by far; then a change is called only when
 * it is huge — the whole interval beyond a doubling (latency ×2, throughput ÷2) — and is otherwise
 * inconclusive. The same holds for a percentile from too few requests for its order-statistic interval
 * (p99 needs ≥ 367 at 95 %, p95 ≥ 72): the bootstrap is unreliable for such extreme order statistics.
 */
import type { EffectInterval } from './effect-interval.ts';

export type Verdict = 'improved' | 'regressed' | 'inconclusive' | 'unchanged';

/** The factor a change must exceed (whole interval) to be called without a noise estimate. */
export const NO_NOISE_FACTOR = 2;

export interface VerdictRule {
  /** True when a larger value is better (throughput). */
  higherIsBetter: boolean;
  /** Relative (0.05) or, for `absolute`, in the metric's unit (0.001 = 0.1 pp). */
  minEffect: number;
  absolute: boolean;
  /** False when neither side has a noise estimate. */
  noiseKnown: boolean;
}

export function decideVerdict(interval: EffectInterval, rule: VerdictRule): Verdict {
  // Express the interval as "worse by": positive = a regression.
  const sign = rule.higherIsBetter ? -1 : 1;
  const worseLow = Math.min(sign * interval.lower, sign * interval.upper);
  const worseHigh = Math.max(sign * interval.lower, sign * interval.upper);
  let worseBeyond = rule.minEffect;
  let betterBeyond = -rule.minEffect;
  if (!rule.noiseKnown && !rule.absolute) {
    // A doubling of latency is +100 %; halving throughput is −50 % of it, i.e. "worse by" 0.5 in ratio terms.
    worseBeyond = rule.higherIsBetter ? 1 - 1 / NO_NOISE_FACTOR : NO_NOISE_FACTOR - 1;
    betterBeyond = rule.higherIsBetter ? -(NO_NOISE_FACTOR - 1) : -(1 - 1 / NO_NOISE_FACTOR);
  }
  if (worseLow > worseBeyond) return 'regressed';
  if (worseHigh < betterBeyond) return 'improved';
  if (worseLow >= -rule.minEffect && worseHigh <= rule.minEffect) return 'unchanged';
  return 'inconclusive';
}
