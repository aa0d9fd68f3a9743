import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  assessStability,
  LATENCY_NOT_STABILIZING_WARNING,
  relaxForAsync,
  type StabilityPoint,
} from '../../../src/measure/stability.ts';

const opts = { thresholdFraction: 0.1, windows: 3 };
const points = (tputs: number[], lats: number[]): StabilityPoint[] =>
  tputs.map((t, i) => ({ throughputPerSec: t, latencyUs: lats[i]! }));

describe('stability (perf_analyzer §3.2 numeric cases)', () => {
  it('throughputs {500, 520, 510} are stable at 10% (ratio 1.04)', () => {
    const v = assessStability(points([500, 520, 510], [100, 100, 100]), opts);
    assert.equal(v.throughputStable, true);
    assert.equal(v.stable, true);
    assert.equal(v.spread.throughput, 520 / 500);
  });
  it('latencies {100, 106, 112} are not stable (ratio 1.12)', () => {
    const v = assessStability(points([500, 500, 500], [100, 106, 112]), opts);
    assert.equal(v.latencyStable, false);
    assert.equal(v.stable, false);
    assert.ok(Math.abs(v.spread.latency - 1.12) < 1e-12);
  });
  it('latencies {100, 104, 108} are stable', () => {
    assert.equal(assessStability(points([500, 500, 500], [100, 104, 108]), opts).stable, true);
  });
  it('a zero-throughput window is never stable, even with identical values', () => {
    const v = assessStability(points([0, 0, 0], [100, 100, 100]), opts);
    assert.equal(v.stable, false);
    assert.equal(v.throughputStable, false);
    assert.equal(assessStability(points([500, 0, 500], [100, 100, 100]), opts).stable, false);
  });
  it('fewer than K windows is not stable; only the last K count', () => {
    assert.equal(assessStability(points([500, 500], [100, 100]), opts).stable, false);
    assert.equal(assessStability(points([10, 500, 505, 510], [1, 100, 101, 102]), opts).stable, true);
  });
  it('a window without valid requests (latency +∞) makes the latency spread infinite', () => {
    const v = assessStability(points([500, 500, 500], [100, Number.POSITIVE_INFINITY, 100]), opts);
    assert.equal(v.spread.latency, Number.POSITIVE_INFINITY);
    assert.equal(v.stable, false);
  });
  it('async mode accepts throughput-only stability with perf_analyzer’s warning; sync does not', () => {
    const v = assessStability(points([500, 510, 505], [100, 130, 160]), opts);
    assert.deepEqual(relaxForAsync(v, true), { stable: true, warning: LATENCY_NOT_STABILIZING_WARNING });
    assert.deepEqual(relaxForAsync(v, false), { stable: false });
    assert.equal(
      LATENCY_NOT_STABILIZING_WARNING,
      'Request latency is not stabilizing. Please try lowering the request rate.',
    );
  });
});
