import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { mulberry32 } from '../../../src/data/seeded-random.ts';
import {
  constantPacer,
  customIntervalsRatePerSec,
  customPacer,
  type Pacer,
  poissonPacer,
} from '../../../src/load/schedule.ts';

function take(pacer: Pacer, n: number): number[] {
  return Array.from({ length: n }, () => pacer.next());
}

describe('schedules', () => {
  const constantCases: [string, number, number[]][] = [
    ['1 req/s: first due one period after start, not at 0', 1, [1e9, 2e9, 3e9]],
    ['1000 req/s: 1 ms apart', 1000, [1e6, 2e6, 3e6]],
    ['3 req/s: k/rate computed from k, no drift', 3, [1e9 / 3, 2e9 / 3, 1e9]],
  ];
  for (const [why, rate, expected] of constantCases) {
    it(`constant: ${why}`, () => assert.deepEqual(take(constantPacer(rate), expected.length), expected));
  }

  it('constant: the millionth request is due at exactly 1e6/rate s', () => {
    const p = constantPacer(7);
    let last = 0;
    for (let i = 0; i < 1_000_000; i++) last = p.next();
    assert.equal(last, 1e6 * (1e9 / 7));
  });

  const customCases: [string, number[], number, number[]][] = [
    ['cumulative: 100 µs then 200 µs', [100, 200], 2, [100_000, 300_000]],
    ['loops back to the first interval', [100, 200], 4, [100_000, 300_000, 400_000, 600_000]],
    ['single interval = constant', [50], 3, [50_000, 100_000, 150_000]],
  ];
  for (const [why, intervals, n, expected] of customCases) {
    it(`custom: ${why}`, () => assert.deepEqual(take(customPacer(intervals), n), expected));
  }

  it('custom: rejects an empty or all-zero list', () => {
    assert.throws(() => customPacer([]), RangeError);
    assert.throws(() => customPacer([0, 0]), RangeError);
  });

  it('custom rate is count × 1e9 / Σns, truncated as perf_analyzer prints it', () => {
    assert.equal(customIntervalsRatePerSec([1000, 2000]), 666); // 2 / 3 ms = 666.67
    assert.equal(customIntervalsRatePerSec([1000]), 1000);
  });

  it('poisson: the same seed gives the same schedule, another seed a different one', () => {
    assert.deepEqual(take(poissonPacer(100, 42), 50), take(poissonPacer(100, 42), 50));
    assert.notDeepEqual(take(poissonPacer(100, 42), 50), take(poissonPacer(100, 43), 50));
  });

  for (const rate of [10, 1000, 10000]) {
    it(`poisson at ${rate}/s: gap mean ≈ 1/λ and variance ≈ mean² (within 5%)`, () => {
      const p = poissonPacer(rate, 7);
      const n = 200_000;
      let prev = 0;
      let sum = 0;
      let sumSq = 0;
      for (let i = 0; i < n; i++) {
        const t = p.next();
        const gap = t - prev;
        assert.ok(gap >= 0);
        prev = t;
        sum += gap;
        sumSq += gap * gap;
      }
      const mean = sum / n;
      const variance = sumSq / n - mean * mean;
      const expectedMean = 1e9 / rate;
      assert.ok(Math.abs(mean / expectedMean - 1) < 0.01, `mean ${mean} vs ${expectedMean}`);
      assert.ok(Math.abs(variance / (mean * mean) - 1) < 0.05, `variance/mean² ${variance / (mean * mean)}`);
    });
  }

  it('mulberry32 is uniform in [0, 1)', () => {
    const r = mulberry32(1);
    const buckets = new Array<number>(10).fill(0);
    for (let i = 0; i < 100_000; i++) {
      const u = r();
      assert.ok(u >= 0 && u < 1);
      buckets[Math.floor(u * 10)]!++;
    }
    for (const b of buckets) assert.ok(Math.abs(b - 10_000) < 500, `bucket ${b}`);
  });
});
