/**
 * `--repeat N` pooling: summarised measurements pool exactly like raw windows (histograms added, moments
 * combined), and N outcomes become one level list with each run's windows tagged and how each run ended.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { mergeWindows } from '../../../src/measure/merge.ts';
import { mergeMeasurements } from '../../../src/measure/merge-measurements.ts';
import { summarizeWindow } from '../../../src/measure/summarize.ts';
import { emptyWindowData, type WindowData } from '../../../src/measure/window-data.ts';
import { combineRepeats } from '../../../src/profile/repeat.ts';
import { accountLevel } from '../../../src/report/accounting.ts';
import type { LevelResult } from '../../../src/report/model.ts';
import { level, measurement } from '../gate/run-fixture.ts';

function windowWith(latenciesUs: number[], durationNs: number): WindowData {
  const w = emptyWindowData(0, 1_700_000_000_000, false);
  for (const us of latenciesUs) w.latency.recordNs(us * 1000);
  w.okCount = latenciesUs.length;
  w.sentCount = latenciesUs.length;
  w.durationNs = durationNs;
  w.endNs = durationNs;
  return w;
}

describe('mergeMeasurements', () => {
  it('pools summaries exactly as merging the raw windows does', () => {
    const a = windowWith([100, 200, 300, 400, 5000], 1e9);
    const b = windowWith([150, 250, 350, 450, 550, 650, 750], 2e9);
    const opts = { batchSize: 1 };
    const pooled = mergeMeasurements([summarizeWindow(a, opts), summarizeWindow(b, opts)]);
    const direct = summarizeWindow(
      mergeWindows([
        windowWith([100, 200, 300, 400, 5000], 1e9),
        windowWith([150, 250, 350, 450, 550, 650, 750], 2e9),
      ]),
      opts,
    );
    assert.deepEqual(pooled.latency.percentilesUs, direct.latency.percentilesUs);
    assert.equal(pooled.latency.count, 12);
    assert.ok(Math.abs(pooled.latency.meanUs - direct.latency.meanUs) < 1e-9);
    assert.ok(Math.abs(pooled.latency.stdUs - direct.latency.stdUs) < 1e-6);
    assert.equal(pooled.latency.minUs, 100);
    assert.equal(pooled.latency.maxUs, 5000);
    assert.ok(Math.abs(pooled.throughputPerSec - 12 / 3) < 1e-9, 'Σrequests / Σtime');
    assert.equal(pooled.durationNs, 3e9);
    assert.throws(() => mergeMeasurements([]), /at least one/);
  });
});

describe('combineRepeats', () => {
  const outcome = (levels: LevelResult[], exitCode = 0) => ({ levels, warnings: ['w'], exitCode });
  it('tags each run’s windows, pools the figure and records how each run ended', () => {
    const m = measurement({ throughput: 100, p95Us: 1000 });
    const a = level(1, [m, m, m], m);
    const b = { ...level(1, [m, m], m), stopReason: 'max_trials' };
    const c2 = level(2, [m], m);
    const combined = combineRepeats([outcome([a, c2]), outcome([b], 2)]);
    assert.equal(combined.exitCode, 2);
    assert.deepEqual(combined.warnings, ['w']);
    const l1 = combined.levels[0]!;
    assert.deepEqual(
      l1.windows.map((w) => w.repeat),
      [1, 1, 1, 2, 2],
    );
    assert.equal(l1.merged?.requestCount, 2000);
    assert.equal(l1.stopReason, 'stable/max_trials');
    assert.equal(l1.reported, true);
    // Level 2 exists only in run 1: not reported, and run 2 says it never got there.
    const l2 = combined.levels[1]!;
    assert.equal(l2.reported, false);
    assert.deepEqual(l2.repeats?.[1], {
      repeat: 2,
      status: 'no_data',
      stopReason: 'not_reached',
      windowCount: 0,
    });
    assert.equal(combineRepeats([outcome([a])]).levels[0], a, 'one run is returned as is');
  });
});

describe('accountLevel', () => {
  const w = (requests: number, server: number) => ({
    requestCount: requests,
    server: { success: { count: server } },
  });
  it('allows what was in flight at the edges and flags more', () => {
    const edge = { inFlightBound: 4, throughputPerSec: 1000, statsFetchNs: 2e6 };
    // Allowed: 2 × 4 in flight + 1000/s × 2 ms = 10.
    const ok = accountLevel([w(500, 505), w(500, 505)], edge)!;
    assert.deepEqual(ok, {
      clientCompleted: 1000,
      serverSuccess: 1010,
      allowedDifference: 10,
      flagged: false,
    });
    assert.equal(accountLevel([w(500, 506), w(500, 505)], edge)?.flagged, true);
    assert.equal(accountLevel([{ requestCount: 5 }], edge), undefined, 'no server statistics, no line');
  });
});
