/**
 * The interval methods against known distributions: over many simulated pairs drawn from one distribution
 * (true change 0), a 95 % interval must contain 0 about 95 % of the time — narrower intervals would make the
 * gate cry wolf, wider ones would hide regressions. Seeded, so every run draws the same pairs.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { mulberry32 } from '../../../src/data/seeded-random.ts';
import { bootstrapNoise, bootstrapStatistic } from '../../../src/gate/bootstrap.ts';
import type { ComparableRun } from '../../../src/gate/comparable.ts';
import { compareRuns } from '../../../src/gate/compare.ts';
import { binomialCdf, normalQuantile, studentTQuantile } from '../../../src/gate/distributions.ts';
import { ratioInterval } from '../../../src/gate/effect-interval.ts';
import type { WindowSample } from '../../../src/gate/level-statistics.ts';
import { orderStatisticRanks, quantileInterval } from '../../../src/gate/percentile-interval.ts';
import { decideVerdict } from '../../../src/gate/verdict.ts';

function normalSource(seed: number): { uniform: () => number; normal: () => number } {
  const uniform = mulberry32(seed);
  return {
    uniform,
    normal: () => Math.sqrt(-2 * Math.log(1 - uniform())) * Math.cos(2 * Math.PI * uniform()),
  };
}

function window(throughput: number, latenciesUs?: number[]): WindowSample {
  let histogram: WindowSample['histogram'];
  if (latenciesUs) {
    const counts = new Map<number, number>();
    for (const l of latenciesUs) {
      const v = Math.max(1, Math.round(l));
      counts.set(v, (counts.get(v) ?? 0) + 1);
    }
    const values = [...counts.keys()].sort((a, b) => a - b);
    histogram = { values, counts: values.map((v) => counts.get(v) as number) };
  }
  const n = latenciesUs?.length ?? 1_000_000;
  return {
    durationNs: 1e9,
    requestCount: n,
    errorCount: 0,
    throughputPerSec: throughput,
    latencyCount: n,
    meanUs: latenciesUs ? latenciesUs.reduce((s, x) => s + x, 0) / n : 1e6 / throughput,
    stdUs: 0,
    values: {},
    ...(histogram ? { histogram } : {}),
  };
}

/** One side: `runs` runs of `windows` windows, log-normal run and window effects, optional latencies. */
function side(
  rng: ReturnType<typeof normalSource>,
  shape: { runs: number; windows: number; runSigma: number; windowSigma: number; latencies?: number },
): ComparableRun {
  const runs: WindowSample[][] = [];
  for (let r = 0; r < shape.runs; r++) {
    const runEffect = shape.runSigma * rng.normal();
    const ws: WindowSample[] = [];
    for (let w = 0; w < shape.windows; w++) {
      const f = Math.exp(runEffect + shape.windowSigma * rng.normal());
      const latencies = shape.latencies
        ? Array.from({ length: shape.latencies }, () => -Math.log(1 - rng.uniform()) * 1000 * f)
        : undefined;
      ws.push(window(1000 / f, latencies));
    }
    runs.push(ws);
  }
  return {
    source: 'sim',
    levels: [{ key: 'concurrency 1', metrics: { throughput: 1, p95_latency: 1, p99_latency: 1 }, runs }],
  };
}

/** Fraction of A/A pairs whose interval contains 0, and fraction called regressed at min-effect 5 %. */
function aaRates(
  seed: number,
  pairs: number,
  metric: string,
  shape: Parameters<typeof side>[1],
): { coverage: number; regressed: number } {
  const rng = normalSource(seed);
  let covered = 0;
  let regressed = 0;
  for (let i = 0; i < pairs; i++) {
    const r = compareRuns([side(rng, shape)], [side(rng, shape)], {
      confidence: 0.95,
      minEffect: 0.05,
      metrics: [metric],
      errorRateTolerance: 0.001,
      resamples: 200,
      seed: i,
    });
    const c = r.changes[0]!;
    if (c.interval && c.interval.lower <= 0 && c.interval.upper >= 0) covered++;
    if (c.verdict === 'regressed') regressed++;
  }
  return { coverage: covered / pairs, regressed: regressed / pairs };
}

describe('distributions', () => {
  it('match tabulated quantiles and the binomial CDF', () => {
    assert.ok(Math.abs(normalQuantile(0.975) - 1.959964) < 1e-6);
    // Student t: df 1, 2, 4, 30 at 97.5 % (tables), and Welch's fractional df stays monotone.
    for (const [df, t] of [
      [1, 12.7062],
      [2, 4.3027],
      [4, 2.7764],
      [30, 2.0423],
    ] as const) {
      assert.ok(Math.abs(studentTQuantile(0.975, df) - t) < 1e-3, `df ${df}`);
    }
    assert.ok(studentTQuantile(0.975, 2.5) < studentTQuantile(0.975, 2));
    assert.ok(Math.abs(binomialCdf(5, 10, 0.5) - 638 / 1024) < 1e-12);
    assert.equal(binomialCdf(-1, 10, 0.5), 0);
    assert.equal(binomialCdf(10, 10, 0.5), 1);
  });
});

describe('order-statistic percentile intervals', () => {
  it('cover the true p95 of an exponential about 95 % of the time (n = 200, 1000 samples)', () => {
    const rng = normalSource(7);
    const q = 0.95;
    const truth = -Math.log(1 - q);
    let covered = 0;
    const trials = 1000;
    for (let t = 0; t < trials; t++) {
      const xs = Array.from({ length: 200 }, () => -Math.log(1 - rng.uniform())).sort((a, b) => a - b);
      const ci = quantileInterval({ values: xs, counts: xs.map(() => 1) }, q, 0.95);
      if (ci.lower <= truth && truth <= ci.upper) covered++;
    }
    // Exact binomial ranks are conservative by the discreteness of the ranks (≥ 95 %).
    assert.ok(covered / trials >= 0.93 && covered / trials <= 0.985, `coverage ${covered / trials}`);
  });

  it('ranks give at least the asked coverage, and clamp when n is too small', () => {
    const r = orderStatisticRanks(1000, 0.5, 0.95);
    assert.ok(r.coverage >= 0.95 && r.lowerRank < 500 && r.upperRank > 501);
    assert.ok(r.lowerRank >= 465 && r.upperRank <= 535);
    const tiny = orderStatisticRanks(5, 0.99, 0.95);
    assert.equal(tiny.upperRank, 5);
    assert.ok(tiny.coverage < 0.95);
    assert.throws(() => orderStatisticRanks(0, 0.5, 0.95), /n ≥ 1/);
    assert.throws(() => orderStatisticRanks(10, 1, 0.95), /0 < q < 1/);
  });
});

describe('bootstrap', () => {
  it('is deterministic for a seed and estimates the standard error of a mean', () => {
    const xs = [10, 12, 9, 11, 13, 8, 10, 12];
    const mean = (w: Float64Array) => {
      let s = 0;
      let n = 0;
      w.forEach((k, i) => {
        s += k * (xs[i] as number);
        n += k;
      });
      return s / n;
    };
    assert.deepEqual(
      bootstrapStatistic([xs.length], mean, 50, 3),
      bootstrapStatistic([xs.length], mean, 50, 3),
    );
    const noise = bootstrapNoise([xs.length], mean, (x) => x, { resamples: 4000, seed: 1 })!;
    const m = xs.reduce((s, x) => s + x, 0) / xs.length;
    const s2 = xs.reduce((s, x) => s + (x - m) ** 2, 0) / (xs.length - 1);
    // Corrected bootstrap variance ≈ s²/n (within bootstrap noise).
    assert.ok(
      Math.abs(noise.variance / (s2 / xs.length) - 1) < 0.1,
      `${noise.variance} vs ${s2 / xs.length}`,
    );
    assert.equal(noise.units, 8);
    assert.equal(
      bootstrapNoise([1], mean, (x) => x, { resamples: 10, seed: 1 }),
      undefined,
    );
  });
});

describe('ratio intervals over simulated A/A pairs', () => {
  it('windows of one run (5 + 5, 10 % window noise): ~95 % coverage, almost never regressed', () => {
    const r = aaRates(11, 400, 'throughput', { runs: 1, windows: 5, runSigma: 0, windowSigma: 0.1 });
    assert.ok(r.coverage >= 0.92 && r.coverage <= 0.98, `coverage ${r.coverage}`);
    assert.ok(r.regressed <= 0.02, `regressed ${r.regressed}`);
  });

  it('repeated runs (3 runs × 3 windows, 10 % run noise): ~95 % coverage', () => {
    const r = aaRates(12, 400, 'throughput', { runs: 3, windows: 3, runSigma: 0.1, windowSigma: 0.03 });
    assert.ok(r.coverage >= 0.92 && r.coverage <= 0.98, `coverage ${r.coverage}`);
  });

  it('p95 from window histograms (5 windows × 300 exponential latencies): at least 95 % coverage', () => {
    const r = aaRates(13, 150, 'p95_latency', {
      runs: 1,
      windows: 5,
      runSigma: 0,
      windowSigma: 0,
      latencies: 300,
    });
    assert.ok(r.coverage >= 0.93 && r.coverage <= 1, `coverage ${r.coverage}`);
  });

  it('p99 from too few requests has no noise estimate: only a doubling is called', () => {
    const rng = normalSource(21);
    const shape = { runs: 3, windows: 3, runSigma: 0, windowSigma: 0, latencies: 30 };
    const opts = {
      confidence: 0.95,
      minEffect: 0.05,
      metrics: ['p99_latency', 'p95_latency'],
      errorRateTolerance: 0.001,
    };
    const r = compareRuns([side(rng, shape)], [side(rng, shape)], opts);
    const p99 = r.changes.find((c) => c.metric === 'p99_latency')!;
    // 270 requests a side: below the 367 a 95 % interval of p99 needs; p95 (≥ 72) is fine.
    assert.equal(p99.basis, 'too few requests for p99 (270)');
    assert.notEqual(p99.verdict, 'regressed');
    assert.equal(r.changes.find((c) => c.metric === 'p95_latency')!.basis, 'runs 3+3');
  });

  it('a real 20 % slowdown with 3 % noise is regressed; a 2 % one is not', () => {
    const rng = normalSource(5);
    const shape = { runs: 1, windows: 5, runSigma: 0, windowSigma: 0.03 };
    const slowed = (factor: number): ComparableRun => {
      const s = side(rng, shape);
      for (const w of s.levels[0]!.runs.flat()) w.throughputPerSec /= factor;
      return s;
    };
    const opts = { confidence: 0.95, minEffect: 0.05, metrics: ['throughput'], errorRateTolerance: 0.001 };
    for (let i = 0; i < 20; i++) {
      assert.equal(compareRuns([side(rng, shape)], [slowed(1.2)], opts).changes[0]!.verdict, 'regressed');
      assert.notEqual(compareRuns([side(rng, shape)], [slowed(1.02)], opts).changes[0]!.verdict, 'regressed');
    }
  });
});

describe('verdict rule', () => {
  const rule = { higherIsBetter: false, minEffect: 0.05, absolute: false, noiseKnown: true };
  const at = (lower: number, upper: number) => ({ estimate: (lower + upper) / 2, lower, upper, df: 10 });
  it('calls a regression only when the whole interval lies beyond the min effect', () => {
    assert.equal(decideVerdict(at(0.06, 0.3), rule), 'regressed');
    assert.equal(decideVerdict(at(0.04, 0.3), rule), 'inconclusive');
    assert.equal(decideVerdict(at(-0.04, 0.04), rule), 'unchanged');
    assert.equal(decideVerdict(at(-0.3, -0.06), rule), 'improved');
    // Throughput: lower is worse.
    assert.equal(decideVerdict(at(-0.3, -0.06), { ...rule, higherIsBetter: true }), 'regressed');
  });
  it('without a noise estimate only a doubling is a regression', () => {
    const blind = { ...rule, noiseKnown: false };
    assert.equal(decideVerdict(at(0.5, 0.9), blind), 'inconclusive');
    assert.equal(decideVerdict(at(1.05, 1.2), blind), 'regressed');
    assert.equal(decideVerdict(at(-0.6, -0.55), { ...blind, higherIsBetter: true }), 'regressed');
    assert.equal(decideVerdict(at(-0.45, -0.4), { ...blind, higherIsBetter: true }), 'inconclusive');
  });
  it('ratio intervals are symmetric in log space', () => {
    const i = ratioInterval(
      100,
      120,
      { base: { variance: 0.001, df: 4 }, current: { variance: 0.001, df: 4 } },
      0.95,
    );
    assert.ok(Math.abs((1 + i.lower) * (1 + i.upper) - 1.2 ** 2) < 1e-9);
    assert.throws(() =>
      ratioInterval(0, 1, { base: { variance: 0, df: 1 }, current: { variance: 0, df: 1 } }, 0.95),
    );
  });
});
