/**
 * Distribution-free confidence intervals for a percentile from order statistics: with n independent
 * latencies, the number below the true q-quantile ξ is Binomial(n, q), so P(X₍l₎ ≤ ξ ≤ X₍u₎) =
 * F(u−1) − F(l−1) with F the binomial CDF. Used where per-request histograms are available; it assumes
 * independent requests, so it measures sampling noise within a window only (not drift between windows or
 * runs, which the bootstrap sees).
 */
import { binomialCdf } from './distributions.ts';

export interface RankInterval {
  /** 1-based ranks of the order statistics bounding the interval. */
  lowerRank: number;
  upperRank: number;
  /** The coverage these ranks actually give (≥ the confidence asked for unless n is too small). */
  coverage: number;
}

/** Smallest k in [lo, hi] with pred(k) true (pred monotone false→true); hi + 1 when none. */
function firstTrue(lo: number, hi: number, pred: (k: number) => boolean): number {
  let a = lo;
  let b = hi + 1;
  while (a < b) {
    const mid = Math.floor((a + b) / 2);
    if (pred(mid)) b = mid;
    else a = mid + 1;
  }
  return a;
}

/**
 * Order-statistic ranks for the q-quantile (0 < q < 1) of n samples at `confidence`, each tail ≤ α/2. When n
 * is too small for a tail, the rank is clamped to 1 or n and `coverage` says what is left.
 */
export function orderStatisticRanks(n: number, q: number, confidence: number): RankInterval {
  if (!(n >= 1) || !Number.isInteger(n)) throw new RangeError(`orderStatisticRanks needs n ≥ 1 (got ${n})`);
  if (!(q > 0 && q < 1)) throw new RangeError(`orderStatisticRanks needs 0 < q < 1 (got ${q})`);
  const tail = (1 - confidence) / 2;
  // Lower: the largest l with P(B ≤ l−1) ≤ α/2, i.e. one below the first l with F(l−1) > α/2.
  const lowerRank = Math.max(1, firstTrue(1, n, (l) => binomialCdf(l - 1, n, q) > tail) - 1);
  // Upper: the smallest u with P(B ≤ u−1) ≥ 1 − α/2.
  const upperRank = Math.min(
    n,
    firstTrue(1, n, (u) => binomialCdf(u - 1, n, q) >= 1 - tail),
  );
  const coverage = binomialCdf(upperRank - 1, n, q) - binomialCdf(lowerRank - 1, n, q);
  return { lowerRank, upperRank, coverage };
}

/** Sorted distinct values with their counts: a decoded histogram, or raw samples. */
export interface ValueCounts {
  values: ArrayLike<number>;
  counts: ArrayLike<number>;
}

/** The value at 1-based rank k of a value/count list (ascending). */
export function valueAtRank(dist: ValueCounts, rank: number): number {
  let seen = 0;
  for (let i = 0; i < dist.values.length; i++) {
    seen += dist.counts[i] as number;
    if (seen >= rank) return dist.values[i] as number;
  }
  return dist.values[dist.values.length - 1] as number;
}

export interface QuantileInterval {
  /** The sample quantile (HDR convention: the value at rank ⌈q·n⌉). */
  estimate: number;
  lower: number;
  upper: number;
  coverage: number;
  n: number;
}

/** Percentile (q in 0..1) with its order-statistic interval, from a histogram's values and counts. */
export function quantileInterval(dist: ValueCounts, q: number, confidence: number): QuantileInterval {
  let n = 0;
  for (let i = 0; i < dist.counts.length; i++) n += dist.counts[i] as number;
  if (n === 0) throw new RangeError('quantileInterval needs at least one value');
  const ranks = orderStatisticRanks(n, q, confidence);
  return {
    estimate: valueAtRank(dist, Math.max(1, Math.ceil(q * n))),
    lower: valueAtRank(dist, ranks.lowerRank),
    upper: valueAtRank(dist, ranks.upperRank),
    coverage: ranks.coverage,
    n,
  };
}
