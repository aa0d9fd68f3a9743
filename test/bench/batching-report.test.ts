import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  buildRows,
  ceilingBatchSizes,
  checkTargets,
  resultsTable,
  roundedBatch,
  roundsRows,
  roundsTable,
} from './batching-report.ts';
import { parseBenchOptions } from './bench-options.ts';
import { currentResultBase } from './bench-results.ts';
import { batchStatsDelta, type LevelFigures } from './config-run.ts';
import type { CeilingPoint } from './ort-ceiling.ts';
import { median } from './ort-ceiling.ts';

function level(config: LevelFigures['config'], concurrency: number, inferPerSec: number, meanBatch?: number) {
  const l: LevelFigures = {
    config,
    protocol: 'http',
    concurrency,
    status: 'stable',
    windows: 3,
    requestCount: 100,
    errorCount: 0,
    errorsByKind: {},
    inferPerSec,
    latencyMs: { mean: 1, p50: 1, p90: 2, p95: 3, p99: 4 },
    generator: { eventLoopUtilization: 0.5, eventLoopDelayP99Us: 100, cpuCores: 1, warnings: [] },
    loadAverage: 0,
  };
  if (meanBatch !== undefined) {
    l.server = {
      inferenceCount: 100,
      executionCount: 100 / meanBatch,
      meanBatch,
      avgRequestUs: 0,
      queueUs: 0,
      computeInputUs: 0,
      computeInferUs: 0,
      computeOutputUs: 0,
      inferPerExecutionUs: 0,
      batchHistogram: {},
    };
  }
  return l;
}

const point = (batchSize: number, inferPerSec: number): CeilingPoint => ({
  batchSize,
  sessions: 1,
  medianRunNs: [(batchSize * 1e9) / inferPerSec],
  inferPerSec,
  runs: 10,
});

describe('batching report', () => {
  it('rounds the mean batch formed into [1, max]', () => {
    assert.equal(roundedBatch(7.49, 64), 7);
    assert.equal(roundedBatch(7.5, 64), 8);
    assert.equal(roundedBatch(0.2, 64), 1);
    assert.equal(roundedBatch(80, 64), 64);
  });

  it('times 1, the powers of two, the max and every rounded mean batch', () => {
    const sizes = ceilingBatchSizes([level('batched', 16, 900, 7.6), level('plain', 16, 500, 1)], 64);
    assert.deepEqual(sizes, [1, 2, 4, 8, 16, 32, 64]);
    assert.deepEqual(ceilingBatchSizes([level('batched', 16, 900, 5.2)], 12), [1, 2, 4, 5, 8, 12]);
  });

  it('puts each level next to the ceiling at its batch and next to plain at the same concurrency', () => {
    const rows = buildRows(
      [level('plain', 16, 500, 1), level('batched', 16, 900, 8.2), level('batched', 4, 700, 3)],
      () => [point(1, 1000), point(8, 1000)],
      64,
    );
    const batched16 = rows.find((r) => r.config === 'batched' && r.concurrency === 16)!;
    assert.equal(batched16.ceilingBatch, 8);
    assert.equal(batched16.ceilingFraction, 0.9);
    assert.equal(batched16.speedupVsPlain, 1.8);
    const batched4 = rows.find((r) => r.concurrency === 4)!;
    assert.equal(batched4.ceilingFraction, undefined, 'no ceiling measured at batch 3');
    assert.equal(batched4.speedupVsPlain, undefined, 'no plain level at concurrency 4');
    const table = resultsTable(rows);
    assert.match(
      table,
      /\| batched \| http \| 16 \| 900\.0 \| 3\.00 \| 8\.20 \| 1000\.0 \(8\) \| 90% \| – \| 1\.80× \| stable \|/,
    );
  });

  it('reads every level against the ceiling at max_batch_size too, and checks the GPU data-plane targets', () => {
    const levels = [level('batched', 256, 18_000, 40), level('batched', 256, 12_000, 40)];
    (levels[1] as LevelFigures).protocol = 'grpc';
    const rows = buildRows(levels, () => [point(1, 1000), point(40, 25_000), point(64, 30_000)], 64);
    assert.equal(rows[0]?.ceilingFraction, 18_000 / 25_000, 'at the formed batch');
    assert.equal(rows[0]?.maxBatchCeilingFraction, 0.6, 'at max_batch_size');
    assert.match(resultsTable(rows), /\| 72% \| 60% \|/);
    const checks = checkTargets('gpu', rows, ['http', 'grpc']);
    const maxBatch = checks.filter((c) => /at max_batch_size/.test(c.description));
    assert.deepEqual(
      maxBatch.map((c) => [c.protocol, c.met]),
      [
        ['http', true],
        ['grpc', false],
      ],
      'http 60% ≥ 60%; grpc 40% < 45%',
    );
    assert.equal(
      checkTargets('cpu', rows, ['http']).some((c) => /max_batch_size/.test(c.description)),
      false,
    );
  });

  it('judges every batched variant measured at the max-batch level, not only `batched`', () => {
    const rows = buildRows(
      [level('batched_nogather', 256, 14_000, 64), level('batched_gather', 256, 16_000, 64)],
      () => [point(64, 25_000)],
      64,
    );
    const maxBatch = checkTargets('gpu', rows, ['http']).filter((c) =>
      /at max_batch_size/.test(c.description),
    );
    assert.deepEqual(
      maxBatch.map((c) => [c.description.split('@')[0], c.met]),
      [
        ['batched_gather', true],
        ['batched_nogather', false],
      ],
      '16,000 / 25,000 = 64% ≥ 60%; 14,000 / 25,000 = 56%',
    );
  });

  it('evaluates the CPU targets on batched@16 and says when they cannot be', () => {
    const rows = buildRows(
      [level('plain', 16, 500, 1), level('batched', 16, 840, 8)],
      () => [point(1, 1000), point(8, 1000)],
      64,
    );
    const [ceiling, speedup] = checkTargets('cpu', rows, ['http']);
    assert.equal(ceiling?.met, false, '84% < 85%');
    assert.equal(speedup?.met, true, '1.68× ≥ 1.5×');
    const grpc = checkTargets('cpu', rows, ['grpc']);
    assert.deepEqual(
      grpc.map((c) => c.met),
      [undefined, undefined],
    );
    const gpu = checkTargets('gpu', rows, ['http']);
    assert.match(gpu[0]!.description, /batched@64 ≥ 60%/);
    assert.equal(gpu[0]!.met, undefined);
  });

  it('diffs cumulative batch_stats into executions per batch size and ORT time', () => {
    const stat = (count: number, ns: number) => ({ count, ns });
    const entry = (batch: number, count: number, ns: number) => ({
      batch_size: batch,
      compute_input: stat(count, 0),
      compute_infer: stat(count, ns),
      compute_output: stat(count, 0),
    });
    const d = batchStatsDelta(
      [entry(1, 5, 5000), entry(8, 2, 16000)],
      [entry(1, 5, 5000), entry(8, 6, 48000), entry(16, 1, 15000)],
    );
    assert.deepEqual(d.histogram, { '8': 4, '16': 1 });
    assert.equal(d.executions, 5);
    assert.equal(d.inferNs, 47000);
  });

  it('takes the median of an even and an odd count', () => {
    assert.equal(median([3, 1, 2]), 2);
    assert.equal(median([4, 1, 3, 2]), 2.5);
  });

  it('parses the command line with per-device defaults and refuses bad values', () => {
    const cpu = parseBenchOptions([]);
    assert.ok(cpu !== 'help');
    assert.deepEqual(cpu.concurrency, [1, 4, 16, 32]);
    assert.deepEqual(cpu.protocols, ['http']);
    assert.equal(cpu.maxBatchSize, 64);
    const gpu = parseBenchOptions(['--device', 'gpu', '--model', 'text_recognition', '--protocol', 'both']);
    assert.ok(gpu !== 'help');
    assert.deepEqual(gpu.concurrency, [1, 2, 4, 8, 16, 32, 64, 128]);
    assert.deepEqual(gpu.protocols, ['http', 'grpc']);
    assert.equal(gpu.maxBatchSize, 16);
    assert.equal(gpu.out, currentResultBase('batching-text_recognition-gpu-both'));
    assert.throws(() => parseBenchOptions(['--concurrency', '4,0']), /--concurrency/);
    assert.throws(() => parseBenchOptions(['--device', 'tpu']), /--device/);
    assert.equal(parseBenchOptions(['--help']), 'help');
    assert.equal(cpu.intraOpSpinning, undefined, "ORT's default unless asked");
    assert.equal(cpu.serverCpus, undefined);
    assert.equal(cpu.warmupPerConcurrency, 4, 'the warm-up the committed results were measured with');
  });

  it('takes a longer warm-up per level and refuses a hostile one with the flag named', () => {
    const o = parseBenchOptions(['--warmup-per-concurrency', '64']);
    assert.ok(o !== 'help');
    assert.equal(o.warmupPerConcurrency, 64);
    for (const bad of ['0', '-1', '1.5', 'x', '10001', '']) {
      assert.throws(
        () => parseBenchOptions([`--warmup-per-concurrency=${bad}`]),
        /--warmup-per-concurrency/,
        bad,
      );
    }
    // Bounded in total too: the warm-up runs until that many requests complete.
    assert.throws(
      () => parseBenchOptions(['--warmup-per-concurrency', '10000', '--concurrency', '1,256']),
      /2560000 warm-up requests, more than 1000000/,
    );
    const atLimit = parseBenchOptions(['--warmup-per-concurrency', '3906', '--concurrency', '256']);
    assert.ok(atLimit !== 'help' && atLimit.warmupPerConcurrency === 3906);
  });

  it('parses spinning and the CPU lists the server and the client are pinned to', () => {
    const o = parseBenchOptions([
      '--intra-op-spinning',
      'off',
      '--server-cpus',
      '0-1',
      '--client-cpus',
      '2,4-6',
    ]);
    assert.ok(o !== 'help');
    assert.equal(o.intraOpSpinning, false);
    assert.deepEqual(o.serverCpus, [0, 1]);
    assert.deepEqual(o.clientCpus, [2, 4, 5, 6]);
    assert.throws(() => parseBenchOptions(['--intra-op-spinning', 'yes']), /--intra-op-spinning/);
    assert.throws(() => parseBenchOptions(['--server-cpus', '3-1']), /--server-cpus: expected a CPU list/);
    assert.throws(() => parseBenchOptions(['--client-cpus', 'a']), /--client-cpus: expected a CPU list/);
  });

  it('parses --server-threads from 0 (event loop only) to 256 and refuses anything else', () => {
    const o = parseBenchOptions(['--server-threads', '0']);
    assert.ok(o !== 'help');
    assert.equal(o.serverThreads, 0);
    const d = parseBenchOptions([]);
    assert.ok(d !== 'help');
    assert.equal(d.serverThreads, undefined, "serve's default unless asked");
    for (const bad of ['-1', '257', '1.5', '', 'x', '99999999999'])
      assert.throws(() => parseBenchOptions(['--server-threads', bad]), /--server-threads/, bad);
  });
});

describe('batching bench rounds (--rounds)', () => {
  it('takes the median per config and level over the rounds, against the first config measured', () => {
    const levels = [
      { ...level('batched_nogather', 16, 200), round: 1 },
      { ...level('batched_gather', 16, 400), round: 1 },
      { ...level('batched_gather', 16, 300), round: 2 },
      { ...level('batched_nogather', 16, 260), round: 2 },
      { ...level('batched_nogather', 16, 240), round: 3 },
      { ...level('batched_gather', 16, 360), round: 3 },
    ];
    const rows = roundsRows(buildRows(levels, () => undefined, 64));
    assert.deepEqual(
      rows.map((r) => [r.config, r.perRound, r.medianInferPerSec, r.ratioToFirst]),
      [
        ['batched_nogather', [200, 260, 240], 240, 1],
        ['batched_gather', [400, 300, 360], 360, 1.5],
      ],
    );
    const table = roundsTable(rows);
    assert.match(table, /\| batched_gather \| http \| 16 \| 400\.0, 300\.0, 360\.0 \| 360\.0 \| 1\.50× \|/);
    assert.match(
      resultsTable(buildRows(levels, () => undefined, 64)),
      /\| batched_gather #2 \| http \| 16 \| 300\.0 \|/,
    );
  });

  it('parses --rounds and refuses a config named twice, zero and absurd round counts', () => {
    const parsed = parseBenchOptions(['--configs', 'batched_nogather,batched_gather', '--rounds', '3']);
    assert.ok(parsed !== 'help');
    assert.equal(parsed.rounds, 3);
    assert.deepEqual(parsed.configs, ['batched_nogather', 'batched_gather']);
    assert.throws(() => parseBenchOptions(['--configs', 'batched,batched']), /named twice/);
    for (const bad of ['0', '-1', '1.5', '21', 'x']) {
      assert.throws(() => parseBenchOptions(['--rounds', bad]), /--rounds/, bad);
    }
    assert.throws(
      () => parseBenchOptions(['--configs', 'batched_turbo']),
      /expected one of .*batched_gather/,
    );
  });
});
