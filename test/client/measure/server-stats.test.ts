import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  multipleVersionsWarning,
  selectStatsVersion,
  serverStatsDelta,
  VERSION_NOT_FOUND,
  windowServerDelta,
} from '../../../src/measure/server-stats.ts';
import type { ServerStatsDelta } from '../../../src/report/model.ts';
import { ensembleFigures, serverFigures } from '../../../src/report/server-figures.ts';
import type { ModelStatsSnapshot } from '../../../src/transport/server-api.ts';

const d = (count: number, ns: number) => ({ count, ns });

function snap(version: string, n: number, over: Partial<ModelStatsSnapshot> = {}): ModelStatsSnapshot {
  return {
    name: 'm',
    version,
    inferenceCount: n * 2,
    executionCount: n,
    success: d(n, n * 1_000_000),
    fail: d(0, 0),
    queue: d(n, n * 100_000),
    computeInput: d(n, n * 50_000),
    computeInfer: d(n, n * 500_000),
    computeOutput: d(n, n * 50_000),
    cacheHit: d(0, 0),
    cacheMiss: d(0, 0),
    ...over,
  };
}

function deltaOf(over: Partial<ServerStatsDelta>): ServerStatsDelta {
  return { ...serverStatsDelta(undefined, snap('1', 0)), ...over };
}

describe('server stats', () => {
  it('delta = end − start; a missing start counts as zero', () => {
    const dlt = serverStatsDelta(snap('1', 10), snap('1', 25));
    assert.equal(dlt.executionCount, 15);
    assert.equal(dlt.inferenceCount, 30);
    assert.deepEqual(dlt.success, d(15, 15_000_000));
    assert.deepEqual(dlt.queue, d(15, 1_500_000));
    assert.deepEqual(serverStatsDelta(undefined, snap('1', 3)).success, d(3, 3_000_000));
  });

  // The averages are computed in one place (src/report/server-figures.ts); these pin perf_analyzer's formulas.
  it('averages: integer µs per request; overhead = request − queue − compute', () => {
    const f = serverFigures(serverStatsDelta(snap('1', 10), snap('1', 20)), false);
    assert.equal(f.requestUs, 1000);
    assert.equal(f.queueUs, 100);
    assert.equal(f.computeInputUs, 50);
    assert.equal(f.computeInferUs, 500);
    assert.equal(f.computeOutputUs, 50);
    assert.equal(f.computeUs, 600);
    assert.equal(f.overheadUs, 300);
    assert.equal(f.cacheHitUs, 0);
    assert.equal(f.cacheMissUs, 0);
  });

  it('overhead is clamped at 0 when queue + compute exceed the request average', () => {
    const f = serverFigures(
      deltaOf({
        success: d(1, 500_000),
        queue: d(1, 400_000),
        computeInfer: d(1, 400_000),
        computeInput: d(1, 0),
      }),
      false,
    );
    assert.equal(f.overheadUs, 0);
  });

  it('truncates like perf_analyzer (1999 ns / 1 request = 1 µs) and yields 0 for empty counts', () => {
    assert.equal(serverFigures(deltaOf({ success: d(1, 1999) }), false).requestUs, 1);
    assert.equal(serverFigures(deltaOf({}), false).requestUs, 0);
  });

  it('response cache (enabled in the config): hits count towards compute; the miss figure is the lookup alone', () => {
    const delta = deltaOf({
      success: d(4, 4_000_000),
      queue: d(4, 400_000),
      computeInput: d(2, 0),
      computeInfer: d(2, 1_000_000),
      computeOutput: d(2, 0),
      cacheHit: d(2, 20_000),
      cacheMiss: d(2, 60_000),
    });
    const f = serverFigures(delta, true);
    assert.equal(f.cacheHitUs, 10);
    // CSV "Server Cache Miss" = miss average; stdout "Average Cache Miss Latency" = that + compute (500).
    assert.equal(f.cacheMissUs, 30);
    assert.equal(f.computeUs, 500);
    // combined = (20000 + 60000 + 1000000) / ((2 + 2) × 1000) = 270; overhead = 1000 − 100 − 270
    assert.equal(f.cacheCombinedUs, 270);
    assert.equal(f.overheadUs, 630);
    // The cache branch follows the config (perf_analyzer's ResponseCacheEnabled), not the counts.
    assert.equal(serverFigures(delta, false).overheadUs, 1000 - 100 - 500);
  });

  it('ensembles: queue and compute are the sums over the leaf composing models', () => {
    const leaf = (queueNs: number, computeNs: number) =>
      deltaOf({
        queue: d(1, queueNs),
        computeInput: d(1, 0),
        computeInfer: d(1, computeNs),
        computeOutput: d(1, 0),
      });
    const ensemble = deltaOf({
      success: d(1, 5_000_000),
      composing: [leaf(100_000, 1_000_000), deltaOf({ composing: [leaf(200_000, 2_000_000)] })],
    });
    const e = ensembleFigures(ensemble);
    assert.equal(e.queueUs, 300);
    assert.equal(e.computeUs, 3000);
    assert.equal(e.overheadUs, 5000 - 300 - 3000);
  });

  describe('version selection', () => {
    it('uses the requested version when given', () => {
      assert.deepEqual(selectStatsVersion([], [snap('1', 5), snap('2', 5)], 'm', '2'), { version: '2' });
      assert.deepEqual(selectStatsVersion([], [snap('1', 5)], 'm', '3'), { error: VERSION_NOT_FOUND });
    });
    it('otherwise picks the version whose queue count grew', () => {
      const before = [snap('1', 5), snap('2', 5)];
      const after = [snap('1', 5), snap('2', 9)];
      assert.deepEqual(selectStatsVersion(before, after, 'm', ''), { version: '2' });
    });
    it('picks the highest (numerically) with perf_analyzer’s warning when several grew', () => {
      const before = [snap('2', 1), snap('10', 1)];
      const after = [snap('2', 4), snap('10', 4)];
      assert.deepEqual(selectStatsVersion(before, after, 'm', ''), {
        version: '10',
        warning: multipleVersionsWarning('m'),
      });
      assert.equal(
        multipleVersionsWarning('m'),
        'Multiple versions of model m are loaded in the triton server, and the version to use was unspecified. The stats for that model may be inaccurate.',
      );
    });
    it('reports an error when no version grew', () => {
      assert.deepEqual(windowServerDelta([snap('1', 5)], [snap('1', 5)], 'm', ''), {
        error: VERSION_NOT_FOUND,
      });
    });
    it('windowServerDelta returns the selected version’s delta', () => {
      const r = windowServerDelta([snap('1', 5), snap('2', 1)], [snap('1', 5), snap('2', 3)], 'm', '');
      assert.ok('delta' in r);
      assert.equal(r.delta.version, '2');
      assert.equal(r.delta.executionCount, 2);
    });
  });
});
