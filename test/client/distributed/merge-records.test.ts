/**
 * `inferbench merge`, pure part: the parallel merge of shard windows is exact (property test: percentiles,
 * count, mean of the merge = those of all samples in one histogram; throughput = the sum), the levels are
 * judged again on the merged windows as one generator would, and records that do not belong together are
 * refused with exit 3 and a reason.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { mergeParallelWindows } from '../../../src/distributed/merge-parallel.ts';
import { mergeShardRecords, type ShardInput } from '../../../src/distributed/merge-records.ts';
import { ExitCode, OptionError } from '../../../src/errors.ts';
import { LatencyAccumulator } from '../../../src/measure/latency-accumulator.ts';
import { summarizeLatency } from '../../../src/measure/summarize.ts';
import { parseRunResult, serializeRunResult } from '../../../src/report/json-record.ts';
import type { RunResult } from '../../../src/report/model.ts';
import { START_AT_MS, shardRecord, windowOf } from './shard-fixtures.ts';

const inputs = (records: RunResult[]): ShardInput[] =>
  records.map((record, i) => ({ source: `shard${i}.json`, record }));

function refused(records: RunResult[], pattern: RegExp): void {
  assert.throws(
    () => mergeShardRecords(inputs(records)),
    (e: unknown) => e instanceof OptionError && e.exitCode === ExitCode.BadOptions && pattern.test(e.message),
  );
}

/** Latencies around `centreUs` (±5 %), deterministic. */
function steady(n: number, centreUs: number, salt = 0): number[] {
  return Array.from(
    { length: n },
    (_, k) => centreUs * (0.95 + (((k * 7919 + salt * 104729) % 101) / 100) * 0.1),
  );
}

describe('merging shard windows is exact', () => {
  it('percentiles, count, min, max and mean of the merge = those of all samples together; throughput = sum', () => {
    const latencies = fc.array(fc.integer({ min: 1, max: 2_000_000 }), { minLength: 0, maxLength: 300 });
    fc.assert(
      fc.property(
        fc.array(latencies, { minLength: 1, maxLength: 6 }),
        fc.array(fc.integer({ min: 200, max: 2000 }), { minLength: 6, maxLength: 6 }),
        (shards, durations) => {
          const windows = shards.map((l, i) => windowOf(l, 1, durations[i]!));
          const merged = mergeParallelWindows(
            windows.map((window, i) => ({ shardIndex: i, clockOffsetMs: 0, window })),
          );
          const all = new LatencyAccumulator();
          for (const l of shards) for (const us of l) all.recordNs(us * 1000);
          const expected = summarizeLatency(all);
          assert.equal(merged.requestCount, all.count);
          assert.equal(merged.latency.count, all.count);
          if (all.count > 0) {
            assert.deepEqual(merged.latency.percentilesUs, expected.percentilesUs);
            assert.equal(merged.latency.minUs, expected.minUs);
            assert.equal(merged.latency.maxUs, expected.maxUs);
            assert.ok(Math.abs(merged.latency.meanUs - expected.meanUs) <= 1e-6 * expected.meanUs);
            assert.ok(Math.abs(merged.latency.stdUs - expected.stdUs) <= 1e-6 * Math.max(1, expected.stdUs));
          }
          const sumThroughput = windows.reduce((s, w) => s + w.throughputPerSec, 0);
          assert.ok(Math.abs(merged.throughputPerSec - sumThroughput) <= 1e-9 * Math.max(1, sumThroughput));
        },
      ),
      { numRuns: 150 },
    );
  });
  it('errors are summed by kind; window starts are read on the reference clock', () => {
    const a = windowOf(steady(10, 1000), 1, 1000, { errors: 2, startWallMs: START_AT_MS + 30 });
    const b = windowOf(steady(10, 1000), 1, 1000, { errors: 3, startWallMs: START_AT_MS + 100 });
    const merged = mergeParallelWindows([
      { shardIndex: 0, clockOffsetMs: 0, window: a },
      { shardIndex: 1, clockOffsetMs: -80, window: b },
    ]);
    assert.deepEqual(merged.errorsByKind, { 'http:503': 5 });
    assert.equal(merged.errorCount, 5);
    assert.equal(merged.startWallMs, START_AT_MS + 20);
  });
});

describe('merged records', () => {
  /** Two levels; shard windows steady from window `stableFrom` (1-based) on. */
  function run(count: number, options: { stableFrom?: number; value2?: number } = {}): RunResult[] {
    const stableFrom = options.stableFrom ?? 1;
    return Array.from({ length: count }, (_, s) =>
      shardRecord(s, count, [
        {
          value: 4,
          windows: [1, 2, 3, 4, 5].map((w) =>
            windowOf(steady(w < stableFrom ? 20 + 40 * w : 100, w < stableFrom ? 500 * w : 2000, s), w),
          ),
        },
        {
          value: options.value2 ?? 8,
          windows: [1, 2, 3, 4, 5].map((w) => windowOf(steady(180, 4000, s + w), w)),
        },
      ]),
    );
  }

  it('is one record as one generator would have written it: stops at the first stable window, sums throughput', () => {
    const records = run(3, { stableFrom: 2 });
    const merged = mergeShardRecords(inputs(records));
    assert.equal(merged.exitCode, 0);
    assert.equal(merged.levels.length, 2);
    const [l1] = merged.levels;
    // Windows 2..4 are the first three stable ones: one generator would have stopped after window 4.
    assert.equal(l1!.status, 'stable');
    assert.equal(l1!.windows.length, 4);
    assert.equal(l1!.merged!.requestCount, 3 * 100 * 3);
    const shardSum = records.reduce((s, r) => s + r.levels[0]!.windows[1]!.throughputPerSec, 0);
    assert.ok(Math.abs(l1!.windows[1]!.throughputPerSec - shardSum) < 1e-9);
    // The shards' own provisional verdicts are not carried over; the merged record says where it came from.
    assert.ok(!merged.warnings.some((w) => /Failed to obtain/.test(w)));
    assert.equal(merged.distributed?.merged, true);
    assert.deepEqual(
      merged.distributed?.shards.map((s) => s.hostname),
      ['host-0', 'host-1', 'host-2'],
    );
    assert.equal((merged.config as { shard?: unknown }).shard, undefined);
    // It is a valid record (compare, report and thresholds read it back).
    parseRunResult(serializeRunResult(merged));
  });

  it('a level that never stabilises ends the sweep with exit 2, as one generator would', () => {
    const records = run(2, { stableFrom: 9 });
    const merged = mergeShardRecords(inputs(records));
    assert.equal(merged.levels.length, 1);
    assert.equal(merged.levels[0]!.status, 'unstable');
    assert.equal(merged.exitCode, ExitCode.Unstable);
    assert.match(merged.warnings.join('\n'), /Failed to obtain stable measurement/);
  });

  it('shard order in the arguments does not matter', () => {
    const records = run(3);
    const a = mergeShardRecords(inputs(records));
    const b = mergeShardRecords(inputs([records[2]!, records[0]!, records[1]!]));
    assert.deepEqual(a.levels, b.levels);
  });

  it('refuses records that do not belong together', () => {
    const records = run(3);
    refused([records[0]!, records[1]!], /shard 2 of 3 missing/);
    refused([records[0]!, records[1]!, records[1]!], /shard 1 is given twice/);
    refused([...records, run(4)[3]!], /not the same run/);
    const other = run(3)[2]!;
    other.distributed!.startAtMs += 1000;
    refused([records[0]!, records[1]!, other], /--start-at differs/);
    const model = structuredClone(records[2]!);
    model.model.name = 'other';
    refused([records[0]!, records[1]!, model], /measured model other/);
    const setting = structuredClone(records[2]!);
    (setting.config as { batchSize: number }).batchSize = 4;
    refused([records[0]!, records[1]!, setting], /different settings \(batchSize\)/);
    const window = structuredClone(records[2]!);
    (window.config as { measurement: { windowMs: number } }).measurement.windowMs = 2000;
    refused([records[0]!, records[1]!, window], /different settings \(measurement.windowMs\)/);
    const plain = structuredClone(records[2]!);
    delete plain.distributed;
    refused([records[0]!, records[1]!, plain], /not a shard record/);
    const merged = mergeShardRecords(inputs(records));
    refused([merged], /already a merged record/);
    refused([], /none given/);
  });
});
