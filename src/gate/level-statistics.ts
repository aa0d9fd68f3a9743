/**
 * One side of a comparison at one load level: its windows (grouped by run) and, for each metric, the pooled
 * statistic over a weighting of those windows — the same pooling as the level's merge (Σrequests/Σtime for
 * throughput, count-weighted mean latency, percentiles of the ADDED histograms). Weights all 1 give the point
 * estimate; bootstrap weights give a resample.
 */
import { type MetricDef, metricByName } from './metrics.ts';
import { orderStatisticRanks, quantileInterval, type ValueCounts } from './percentile-interval.ts';

export interface WindowSample {
  durationNs: number;
  requestCount: number;
  errorCount: number;
  throughputPerSec: number;
  /** Latencies summarised in the window. */
  latencyCount: number;
  meanUs: number;
  stdUs: number;
  /** Every figure of the window by metric name (gate/metrics.ts). */
  values: Record<string, number>;
  /** The window's latency histogram (µs), when the record has one. */
  histogram?: ValueCounts;
}

/** pNN_latency → NN/100; undefined for other metrics. */
export function percentileOf(metric: string): number | undefined {
  const m = /^p(\d+(?:\.\d+)?)_latency$/.exec(metric);
  return m ? Number(m[1]) / 100 : undefined;
}

export class LevelStatistics {
  readonly windows: WindowSample[];
  readonly groupSizes: number[];
  /** Sorted union of the histograms' values, and each window's counts on that grid (sparse). */
  private readonly grid: Float64Array | undefined;
  private readonly gridCounts: { index: Int32Array; count: Float64Array }[] = [];
  private readonly pooled: Float64Array | undefined;

  constructor(runs: readonly (readonly WindowSample[])[]) {
    this.windows = runs.flat();
    this.groupSizes = runs.map((r) => r.length).filter((n) => n > 0);
    if (this.windows.length > 0 && this.windows.every((w) => w.histogram && w.histogram.values.length > 0)) {
      const values = new Set<number>();
      for (const w of this.windows)
        for (let i = 0; i < w.histogram!.values.length; i++) values.add(w.histogram!.values[i] as number);
      this.grid = Float64Array.from([...values].sort((a, b) => a - b));
      const position = new Map<number, number>();
      this.grid.forEach((v, i) => {
        position.set(v, i);
      });
      for (const w of this.windows) {
        const h = w.histogram!;
        this.gridCounts.push({
          index: Int32Array.from(Array.from(h.values, (v) => position.get(v) as number)),
          count: Float64Array.from(h.counts),
        });
      }
      this.pooled = new Float64Array(this.grid.length);
    }
  }

  get hasHistograms(): boolean {
    return this.grid !== undefined;
  }

  /** Top-level units: runs when there are several, else the windows of the one run. */
  get units(): number {
    return this.groupSizes.length === 1 ? (this.groupSizes[0] as number) : this.groupSizes.length;
  }

  /** All weights 1: the point estimate. */
  estimate(metric: MetricDef): number {
    return this.statistic(metric, new Float64Array(this.windows.length).fill(1));
  }

  /** The pooled statistic of `metric` over the windows weighted by `weights`. */
  statistic(metric: MetricDef, weights: Float64Array): number {
    const q = percentileOf(metric.name);
    if (q !== undefined && this.grid) return this.pooledQuantile(q, weights);
    const ws = this.windows;
    let num = 0;
    let den = 0;
    for (let i = 0; i < ws.length; i++) {
      const w = weights[i] as number;
      if (w === 0) continue;
      const s = ws[i] as WindowSample;
      switch (metric.name) {
        case 'throughput':
          num += w * s.throughputPerSec * s.durationNs;
          den += w * s.durationNs;
          break;
        case 'avg_latency':
          num += w * s.meanUs * s.latencyCount;
          den += w * s.latencyCount;
          break;
        case 'error_rate':
          num += w * s.errorCount;
          den += w * (s.errorCount + s.requestCount);
          break;
        case 'errors':
          num += w * s.errorCount;
          den += w;
          break;
        default: {
          // Other figures (percentiles without histograms, server averages): the count-weighted mean.
          const v = s.values[metric.name];
          if (v === undefined) continue;
          const n = Math.max(1, s.latencyCount);
          num += w * v * n;
          den += w * n;
        }
      }
    }
    if (den === 0) return metric.name === 'error_rate' ? 0 : Number.NaN;
    return num / den;
  }

  private pooledQuantile(q: number, weights: Float64Array): number {
    const pooled = this.pooled as Float64Array;
    pooled.fill(0);
    let total = 0;
    for (let i = 0; i < this.gridCounts.length; i++) {
      const w = weights[i] as number;
      if (w === 0) continue;
      const { index, count } = this.gridCounts[i]!;
      for (let j = 0; j < index.length; j++) {
        pooled[index[j] as number]! += w * (count[j] as number);
        total += w * (count[j] as number);
      }
    }
    if (total === 0) return Number.NaN;
    const rank = Math.max(1, Math.ceil(q * total));
    let seen = 0;
    for (let j = 0; j < pooled.length; j++) {
      seen += pooled[j] as number;
      if (seen >= rank) return (this.grid as Float64Array)[j] as number;
    }
    return (this.grid as Float64Array)[pooled.length - 1] as number;
  }

  /**
   * The variance of log(statistic) from sampling within the windows alone (independent requests): order
   * statistics for percentiles (when histograms are there), σ²/n for the mean. A floor under the bootstrap's figure, and the only figure a single window has.
   */
  /**
   * Requests pooled for a percentile, when they are too few for its order-statistic interval at `confidence`
   * (e.g. p99 needs ≥ 367 at 95 %: with fewer, the upper rank falls beyond the data). The bootstrap cannot
   * stand in there — it is inconsistent for extreme order statistics — so the metric has no noise estimate.
   * undefined when there are enough, or no histograms.
   */
  tooFewForPercentile(metric: MetricDef, confidence: number): number | undefined {
    const q = percentileOf(metric.name);
    if (q === undefined || !this.grid) return undefined;
    let n = 0;
    for (const { count } of this.gridCounts) for (let j = 0; j < count.length; j++) n += count[j] as number;
    if (n < 1) return undefined;
    return orderStatisticRanks(n, q, confidence).coverage < confidence ? n : undefined;
  }

  withinWindowLogVariance(metric: MetricDef, confidence: number, z: number): number | undefined {
    const q = percentileOf(metric.name);
    if (q !== undefined) {
      if (!this.grid) return undefined;
      const pooled = new Float64Array(this.grid.length);
      this.gridCounts.forEach(({ index, count }) => {
        for (let j = 0; j < index.length; j++) pooled[index[j] as number]! += count[j] as number;
      });
      const ci = quantileInterval({ values: this.grid, counts: pooled }, q, confidence);
      if (!(ci.lower > 0 && ci.upper > 0)) return undefined;
      return ((Math.log(ci.upper) - Math.log(ci.lower)) / (2 * z)) ** 2;
    }
    if (metric.name === 'avg_latency') {
      const n = this.windows.reduce((s, w) => s + w.latencyCount, 0);
      const mean = this.estimate(metric);
      if (n < 2 || !(mean > 0)) return undefined;
      // Pooled variance from the windows' means and standard deviations.
      let ss = 0;
      for (const w of this.windows)
        ss += (w.latencyCount - 1) * w.stdUs ** 2 + w.latencyCount * (w.meanUs - mean) ** 2;
      return ss / (n - 1) / n / mean ** 2;
    }
    // Throughput has no within-window model: a closed loop completes requests far more regularly than a
    // Poisson count would, so only windows or runs can tell its noise.
    return undefined;
  }

  /** Variance (absolute) of a rate from binomial sampling within the windows. */
  withinWindowRateVariance(metric: MetricDef): number | undefined {
    if (metric.name !== 'error_rate') return undefined;
    const n = this.windows.reduce((s, w) => s + w.requestCount + w.errorCount, 0);
    if (n === 0) return undefined;
    const p = this.estimate(metric);
    return (p * (1 - p)) / n;
  }
}

export function metricDef(name: string): MetricDef {
  const def = metricByName(name);
  if (!def) throw new Error(`unknown metric '${name}'`);
  return def;
}
