/**
 * `inferbench compare`: per level and metric, a confidence interval on the change from baseline to current
 * and a verdict — improved / regressed / inconclusive / unchanged (gate/verdict.ts). The noise behind the
 * interval comes from repetition: a hierarchical bootstrap over runs (several records per side, or a
 * `--repeat N` record) and the windows within them, or over the windows of a single run; order statistics
 * of the latency histograms (and σ²/n for the mean) bound it from below by the sampling within windows.
 * Method: Kalibera & Jones, "Quantifying performance changes with effect size confidence intervals".
 */
import { bootstrapNoise } from './bootstrap.ts';
import type { ComparableLevel, ComparableRun } from './comparable.ts';
import { normalQuantile } from './distributions.ts';
import { differenceInterval, type EffectInterval, ratioInterval, type SideNoise } from './effect-interval.ts';
import { LevelStatistics } from './level-statistics.ts';
import { diffManifests } from './manifest-diff.ts';
import { metricByName } from './metrics.ts';
import { decideVerdict, type Verdict } from './verdict.ts';

export interface CompareOptions {
  /** Confidence of the intervals, e.g. 0.95. */
  confidence: number;
  /** Smallest relative change worth failing on, e.g. 0.05. */
  minEffect: number;
  /** Metrics to compare (names from gate/metrics.ts). */
  metrics: string[];
  /** error_rate is compared in absolute points (baselines are usually 0): the smallest increase that counts. */
  errorRateTolerance: number;
  /** Bootstrap resamples per side, metric and level (default 2000). */
  resamples?: number;
  /** Seed of the bootstrap (default 1): the same inputs always give the same verdicts. */
  seed?: number;
}

export const DEFAULT_COMPARE_METRICS = [
  'throughput',
  'avg_latency',
  'p50_latency',
  'p95_latency',
  'p99_latency',
  'error_rate',
];

/** What `inferbench compare` and the library's `compare()` use where nothing else is asked for. */
export const DEFAULT_COMPARE_OPTIONS: Readonly<Omit<CompareOptions, 'metrics'>> = {
  confidence: 0.95,
  minEffect: 0.05,
  errorRateTolerance: 0.001,
};

export type ChangeVerdict = Verdict | 'missing';

export interface MetricChange {
  level: string;
  metric: string;
  baseline: number | undefined;
  current: number | undefined;
  /** current/baseline − 1, or (absolute) current − baseline; undefined when a side is missing. */
  change: number | undefined;
  /** The confidence interval on `change`. */
  interval?: { lower: number; upper: number };
  /** True for a difference in the metric's unit (error_rate), false for a relative change. */
  absolute: boolean;
  /** What the noise estimate rests on, e.g. `runs 3+3`, `windows 3+4`, `no noise estimate`. */
  basis: string;
  verdict: ChangeVerdict;
}

export interface CompareResult {
  baselineSources: string[];
  currentSources: string[];
  confidence: number;
  minEffect: number;
  /** Regressions first, then missing levels, inconclusive, improved, unchanged. */
  changes: MetricChange[];
  /** Regressed metrics + baseline levels missing from the current run: what fails the gate. */
  regressions: number;
  inconclusive: number;
  /** Differences between the runs' manifests, single-window notes, levels only one side has. */
  warnings: string[];
}

const ORDER: Record<ChangeVerdict, number> = {
  regressed: 0,
  missing: 1,
  inconclusive: 2,
  improved: 3,
  unchanged: 4,
};

/** The levels of several runs of one side, joined by key: their runs side by side. */
function joinLevels(runs: readonly ComparableRun[]): Map<string, ComparableLevel> {
  const byKey = new Map<string, ComparableLevel>();
  for (const run of runs) {
    for (const level of run.levels) {
      const have = byKey.get(level.key);
      if (have) byKey.set(level.key, { ...have, runs: [...have.runs, ...level.runs] });
      else byKey.set(level.key, level);
    }
  }
  return byKey;
}

/** A small deterministic hash so each (level, metric, side) draws its own bootstrap stream from one seed. */
function streamSeed(seed: number, text: string): number {
  let h = (2166136261 ^ seed) >>> 0;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 16777619) >>> 0;
  return h;
}

interface SideEstimate {
  estimate: number;
  noise: SideNoise | undefined;
  units: number;
  runs: number;
}

function sideEstimate(
  stats: LevelStatistics,
  metricName: string,
  absolute: boolean,
  options: Required<Pick<CompareOptions, 'confidence' | 'resamples' | 'seed'>>,
  stream: string,
  runLevel: boolean,
): SideEstimate {
  const def = metricByName(metricName)!;
  const estimate = stats.estimate(def);
  const z = normalQuantile((1 + options.confidence) / 2);
  const transform = absolute ? (x: number) => x : (x: number) => (x > 0 ? Math.log(x) : Number.NaN);
  // When the other side has several runs, noise is measured between runs: one run's windows would
  // understate it, so a single run then counts as one unit (and borrows the other side's noise).
  const boot =
    runLevel && stats.groupSizes.length < 2
      ? undefined
      : bootstrapNoise(stats.groupSizes, (w) => stats.statistic(def, w), transform, {
          resamples: options.resamples,
          seed: streamSeed(options.seed, stream),
        });
  const within = absolute
    ? stats.withinWindowRateVariance(def)
    : stats.withinWindowLogVariance(def, options.confidence, z);
  const noise: SideNoise | undefined = boot
    ? { variance: Math.max(boot.variance, within ?? 0), df: boot.units - 1 }
    : undefined;
  return {
    estimate,
    noise: noise ?? (within !== undefined ? { variance: within, df: Number.POSITIVE_INFINITY } : undefined),
    units: boot ? boot.units : 1,
    runs: stats.groupSizes.length,
  };
}

function basisOf(b: SideEstimate, c: SideEstimate): string {
  if (b.units < 2 && c.units < 2)
    return b.runs > 1 || c.runs > 1 ? 'no noise estimate (1 run each)' : 'no noise estimate';
  if (b.runs > 1 || c.runs > 1) return `runs ${b.runs}+${c.runs}`;
  return `windows ${b.units}+${c.units}`;
}

function compareMetric(
  key: string,
  metric: string,
  base: LevelStatistics,
  cur: LevelStatistics,
  options: CompareOptions,
): MetricChange {
  const def = metricByName(metric)!;
  const absolute = def.unit === 'ratio' || def.unit === 'count';
  const opts = {
    confidence: options.confidence,
    resamples: options.resamples ?? 2000,
    seed: options.seed ?? 1,
  };
  const runLevel = base.groupSizes.length > 1 || cur.groupSizes.length > 1;
  const b = sideEstimate(base, metric, absolute, opts, `${key}|${metric}|baseline`, runLevel);
  const c = sideEstimate(cur, metric, absolute, opts, `${key}|${metric}|current`, runLevel);
  const fewB = base.tooFewForPercentile(def, options.confidence);
  const fewC = cur.tooFewForPercentile(def, options.confidence);
  const sparse = fewB !== undefined || fewC !== undefined;
  const basis = sparse
    ? `too few requests for ${metric.replace('_latency', '')} (${Math.min(fewB ?? Infinity, fewC ?? Infinity)})`
    : basisOf(b, c);
  const noiseKnown = !sparse && (b.units >= 2 || c.units >= 2);
  const row = { level: key, metric, baseline: b.estimate, current: c.estimate, absolute, basis };
  if (!Number.isFinite(b.estimate) || !Number.isFinite(c.estimate)) {
    return { ...row, change: undefined, verdict: 'inconclusive' };
  }
  // A side with one window borrows the other side's noise (same setup, same noise assumed).
  let bn = b.noise ?? { variance: 0, df: Number.POSITIVE_INFINITY };
  let cn = c.noise ?? { variance: 0, df: Number.POSITIVE_INFINITY };
  if (b.units < 2 && c.units >= 2) bn = { variance: Math.max(bn.variance, cn.variance), df: cn.df };
  if (c.units < 2 && b.units >= 2) cn = { variance: Math.max(cn.variance, bn.variance), df: bn.df };
  const noise = { base: bn, current: cn };
  let interval: EffectInterval;
  if (absolute) {
    interval = differenceInterval(b.estimate, c.estimate, noise, options.confidence);
  } else if (b.estimate > 0 && c.estimate > 0) {
    interval = ratioInterval(b.estimate, c.estimate, noise, options.confidence);
  } else {
    const same = b.estimate === c.estimate;
    return { ...row, change: same ? 0 : undefined, verdict: same ? 'unchanged' : 'inconclusive' };
  }
  const verdict = decideVerdict(interval, {
    higherIsBetter: def.higherIsBetter,
    minEffect: absolute ? (def.unit === 'ratio' ? options.errorRateTolerance : 0) : options.minEffect,
    absolute,
    noiseKnown,
  });
  return {
    ...row,
    change: interval.estimate,
    interval: { lower: interval.lower, upper: interval.upper },
    verdict,
  };
}

export function compareRuns(
  baselines: readonly ComparableRun[],
  currents: readonly ComparableRun[],
  options: CompareOptions,
): CompareResult {
  const base = joinLevels(baselines);
  const cur = joinLevels(currents);
  const warnings = diffManifests(baselines, currents);
  const changes: MetricChange[] = [];
  let singleWindow = 0;
  for (const [key, b] of base) {
    const c = cur.get(key);
    if (!c) {
      changes.push({
        level: key,
        metric: '(level)',
        baseline: undefined,
        current: undefined,
        change: undefined,
        absolute: false,
        basis: 'missing from the current run',
        verdict: 'missing',
      });
      continue;
    }
    const bs = new LevelStatistics(b.runs);
    const cs = new LevelStatistics(c.runs);
    if (bs.units < 2 && cs.units < 2) singleWindow += 1;
    for (const metric of options.metrics) {
      if (!metricByName(metric)) throw new Error(`unknown metric '${metric}'`);
      if (b.metrics[metric] === undefined && c.metrics[metric] === undefined) continue;
      changes.push(compareMetric(key, metric, bs, cs, options));
    }
  }
  for (const key of cur.keys()) {
    if (!base.has(key)) warnings.push(`Level ${key} is in the current run only: not compared.`);
  }
  if (singleWindow > 0) {
    warnings.unshift(
      `NO NOISE ESTIMATE at ${singleWindow} level(s): each side has a single window (or a CSV), so nothing says how much two identical runs differ. ` +
        `A regression is called there only when the whole interval lies beyond a ${NO_NOISE_TEXT}; measure several windows, or use profile --repeat N.`,
    );
  }
  const indexOf = new Map(changes.map((c, i) => [c, i]));
  changes.sort((x, y) => ORDER[x.verdict] - ORDER[y.verdict] || indexOf.get(x)! - indexOf.get(y)!);
  return {
    baselineSources: baselines.map((b) => b.source),
    currentSources: currents.map((c) => c.source),
    confidence: options.confidence,
    minEffect: options.minEffect,
    changes,
    regressions: changes.filter((c) => c.verdict === 'regressed' || c.verdict === 'missing').length,
    inconclusive: changes.filter((c) => c.verdict === 'inconclusive').length,
    warnings,
  };
}

const NO_NOISE_TEXT = 'doubling (latency ×2, throughput ÷2)';
