/**
 * The (hierarchical) bootstrap the gate uses to measure noise: resample the top-level units with
 * replacement — runs when there are several (then windows within each chosen run), otherwise windows — and
 * recompute the statistic each time. Kalibera & Jones ("Quantifying performance changes with effect size
 * confidence intervals") resample each level of repetition this way. Seeded, so a verdict is reproducible.
 *
 * The statistic sees the resample as a weight per window (how many times it was drawn), so pooled figures
 * (Σrequests/Σtime, merged histograms) are computed exactly as for the real merge.
 */
import { mulberry32 } from '../data/seeded-random.ts';

/** Windows per run, e.g. [3, 3, 4] = three runs. One entry = one run: its windows are the units. */
export type GroupSizes = readonly number[];

export type WeightedStatistic = (weights: Float64Array) => number;

/** Statistic values over `resamples` hierarchical resamples (non-finite values dropped). */
export function bootstrapStatistic(
  groups: GroupSizes,
  statistic: WeightedStatistic,
  resamples: number,
  seed: number,
): number[] {
  const total = groups.reduce((s, n) => s + n, 0);
  if (total === 0) return [];
  const offsets: number[] = [];
  let at = 0;
  for (const n of groups) {
    offsets.push(at);
    at += n;
  }
  const rng = mulberry32(seed);
  const pick = (n: number): number => Math.min(n - 1, Math.floor(rng() * n));
  const weights = new Float64Array(total);
  const out: number[] = [];
  for (let r = 0; r < resamples; r++) {
    weights.fill(0);
    if (groups.length === 1) {
      for (let i = 0; i < total; i++) weights[pick(total)]! += 1;
    } else {
      for (let g = 0; g < groups.length; g++) {
        const chosen = pick(groups.length);
        const size = groups[chosen] as number;
        const offset = offsets[chosen] as number;
        for (let i = 0; i < size; i++) weights[offset + pick(size)]! += 1;
      }
    }
    const value = statistic(weights);
    if (Number.isFinite(value)) out.push(value);
  }
  return out;
}

/** Sample variance (n − 1). */
export function sampleVariance(values: readonly number[]): number {
  if (values.length < 2) return 0;
  const mean = values.reduce((s, v) => s + v, 0) / values.length;
  return values.reduce((s, v) => s + (v - mean) ** 2, 0) / (values.length - 1);
}

export interface BootstrapNoise {
  /** Variance of the transformed statistic, corrected for the bootstrap's small-sample bias by n/(n−1). */
  variance: number;
  /** Top-level units (runs, or windows of a single run): the degrees of freedom are units − 1. */
  units: number;
}

/**
 * Noise of `transform(statistic)` (log for ratios, identity for differences) from the bootstrap. The plain
 * bootstrap variance of a mean is (n−1)/n of the unbiased one; the factor n/(n−1) undoes that, so the t
 * interval built on it has its nominal coverage for small n. Undefined with fewer than 2 units.
 */
export function bootstrapNoise(
  groups: GroupSizes,
  statistic: WeightedStatistic,
  transform: (x: number) => number,
  options: { resamples: number; seed: number },
): BootstrapNoise | undefined {
  const units = groups.length === 1 ? (groups[0] as number) : groups.length;
  if (units < 2) return undefined;
  const values = bootstrapStatistic(groups, statistic, options.resamples, options.seed)
    .map(transform)
    .filter(Number.isFinite);
  if (values.length < 2) return undefined;
  return { variance: (sampleVariance(values) * units) / (units - 1), units };
}
