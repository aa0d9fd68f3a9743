import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeFromCompressedBase64 } from 'hdr-histogram-js';
import { mergeWindows } from '../../../src/measure/merge.ts';
import { stabilizingLatencyUs, summarizeWindow } from '../../../src/measure/summarize.ts';
import { emptyWindowData, type WindowData } from '../../../src/measure/window-data.ts';
import type { ServerStatsDelta } from '../../../src/report/model.ts';

function windowWith(latenciesUs: number[], durationNs: number, extra: Partial<WindowData> = {}): WindowData {
  const w = emptyWindowData(0, 1_700_000_000_000, false);
  for (const us of latenciesUs) w.latency.recordNs(us * 1000);
  w.okCount = latenciesUs.length;
  w.sentCount = latenciesUs.length;
  w.durationNs = durationNs;
  w.endNs = durationNs;
  return Object.assign(w, extra);
}

const dur = (count: number, ns: number) => ({ count, ns });
function delta(success: number): ServerStatsDelta {
  return {
    model: 'm',
    version: '1',
    inferenceCount: success,
    executionCount: success,
    success: dur(success, success * 1000),
    fail: dur(0, 0),
    queue: dur(success, 10),
    computeInput: dur(success, 0),
    computeInfer: dur(success, 0),
    computeOutput: dur(success, 0),
    cacheHit: dur(0, 0),
    cacheMiss: dur(0, 0),
    composing: [],
  };
}

describe('summarize', () => {
  it('computes throughput, exact moments and HDR percentiles on known data', () => {
    const latencies = Array.from({ length: 100 }, (_, i) => i + 1); // 1..100 µs
    const m = summarizeWindow(windowWith(latencies, 2e9), { batchSize: 4, percentile: 75 });
    assert.equal(m.throughputPerSec, 200); // 100 requests × 4 / 2 s
    assert.equal(m.sendRatePerSec, 50);
    assert.equal(m.latency.count, 100);
    assert.equal(m.latency.minUs, 1);
    assert.equal(m.latency.maxUs, 100);
    assert.ok(Math.abs(m.latency.meanUs - 50.5) < 1e-9);
    // Sample std of 1..100 = sqrt(100·101/12) = 29.011…
    assert.ok(Math.abs(m.latency.stdUs - Math.sqrt((100 * 101) / 12)) < 1e-9);
    // Values < 2048 are exact in a 3-digit HDR histogram; p = the ⌈p·n⌉-th smallest.
    assert.deepEqual(m.latency.percentilesUs, { '50': 50, '90': 90, '95': 95, '99': 99, '75': 75 });
    assert.equal(stabilizingLatencyUs(m.latency, 75), 75);
    assert.equal(stabilizingLatencyUs(m.latency, undefined), 50.5);
  });

  it('large values stay within HDR precision (0.1%)', () => {
    const m = summarizeWindow(windowWith([123_456, 123_456, 987_654], 1e9), { batchSize: 1 });
    assert.ok(Math.abs(m.latency.percentilesUs['50']! / 123_456 - 1) <= 0.001);
    assert.ok(Math.abs(m.latency.percentilesUs['99']! / 987_654 - 1) <= 0.001);
    assert.equal(m.latency.maxUs, 987_654); // exact
  });

  it('averages client timings over successful requests and reports errors by kind', () => {
    const w = windowWith([100, 300], 1e9, {
      clientSendNsSum: 20_000,
      clientRecvNsSum: 40_000,
      responseWaitNsSum: 100_000,
      errorsByKind: { 'http:503': 2, timeout: 1 },
    });
    const m = summarizeWindow(w, { batchSize: 1 });
    assert.equal(m.clientSendUs, 10);
    assert.equal(m.clientRecvUs, 20);
    assert.equal(m.responseWaitUs, 50);
    assert.equal(m.errorCount, 3);
    assert.deepEqual(m.errorsByKind, { 'http:503': 2, timeout: 1 });
    assert.equal(m.requestCount, 2);
  });

  it('an empty window summarises to zeros, not NaN', () => {
    const m = summarizeWindow(windowWith([], 0), { batchSize: 1 });
    assert.equal(m.throughputPerSec, 0);
    assert.equal(m.latency.minUs, 0);
    assert.equal(m.latency.percentilesUs['99'], 0);
    assert.equal(m.latency.stdUs, 0);
  });
});

describe('merge', () => {
  it('adds histograms: the merge equals recording the pooled latencies in one window', () => {
    const a = [5, 17, 1200, 3_000_000];
    const b = [8, 9, 250_000];
    const c = [42];
    const merged = mergeWindows([windowWith(a, 1e9), windowWith(b, 2e9), windowWith(c, 3e9)]);
    const pooled = windowWith([...a, ...b, ...c], 6e9);
    const mm = summarizeWindow(merged, { batchSize: 1 });
    const pm = summarizeWindow(pooled, { batchSize: 1 });
    assert.deepEqual(mm.latency.percentilesUs, pm.latency.percentilesUs);
    assert.equal(mm.latency.count, 8);
    assert.ok(Math.abs(mm.latency.meanUs - pm.latency.meanUs) < 1e-6);
    assert.ok(Math.abs(mm.latency.stdUs - pm.latency.stdUs) < 1e-6 * pm.latency.stdUs);
    assert.equal(mm.latency.minUs, 5);
    assert.equal(mm.latency.maxUs, 3_000_000);
    const decoded = decodeFromCompressedBase64(mm.latencyHistogram);
    assert.equal(decoded.totalCount, 8);
    assert.equal(decoded.getValueAtPercentile(50), pm.latency.percentilesUs['50']);
  });

  it('sums counts and durations, recomputes throughput, sums server deltas', () => {
    const w1 = windowWith([10, 10], 1e9, { errorsByKind: { timeout: 1 }, delayedCount: 1, server: delta(2) });
    const w2 = windowWith([10, 10, 10, 10], 3e9, {
      errorsByKind: { timeout: 2, 'http:500': 1 },
      server: delta(4),
    });
    const m = summarizeWindow(mergeWindows([w1, w2]), { batchSize: 2 });
    assert.equal(m.durationNs, 4e9);
    assert.equal(m.requestCount, 6);
    assert.equal(m.throughputPerSec, 3); // 6 × 2 / 4 s, not the mean of the windows' 4 and 2.67
    assert.deepEqual(m.errorsByKind, { timeout: 3, 'http:500': 1 });
    assert.equal(m.delayedCount, 1);
    assert.equal(m.server?.success.count, 6);
    assert.equal(m.server?.success.ns, 6000);
    assert.equal(m.server?.inferenceCount, 6);
  });
});
