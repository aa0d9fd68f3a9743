import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { csvRows, hasClampedNetworkTime, renderComposingCsvs, renderCsv } from '../../../src/report/csv.ts';
import {
  baseSettings,
  concurrencySweep,
  level,
  measurement,
  noServerStatsRun,
  requestRateRun,
  runResult,
  serverStats,
} from './fixtures.ts';
import { assertGolden } from './golden.ts';

const plain = { verboseCsv: false, extraCsvColumns: false };

function withMetrics() {
  const sweep = concurrencySweep();
  sweep.config = { ...baseSettings({ metrics: { url: 'localhost:8002/metrics', intervalMs: 1000 } }) };
  for (const l of sweep.levels) {
    l.merged!.metrics = {
      gpuUtilization: { 'GPU-b': 0.5, 'GPU-a': 0.25 },
      gpuPowerUsageW: { 'GPU-a': 70.5, 'GPU-b': 80 },
      gpuMemoryUsedBytes: { 'GPU-a': 1_000_000, 'GPU-b': 2_000_000 },
      gpuMemoryTotalBytes: { 'GPU-a': 16_000_000_000, 'GPU-b': 16_000_000_000 },
    };
  }
  return sweep;
}

describe('CSV goldens', () => {
  it('normal (server stats)', () => {
    assertGolden('csv-normal.csv', renderCsv(concurrencySweep(), plain)!);
  });
  it('verbose, with GPU metric cells', () => {
    assertGolden('csv-verbose.csv', renderCsv(withMetrics(), { verboseCsv: true, extraCsvColumns: false })!);
  });
  it('without server stats', () => {
    assertGolden('csv-no-server-stats.csv', renderCsv(noServerStatsRun(), plain)!);
  });
  it('extra columns (request-rate run with errors)', () => {
    assertGolden(
      'csv-extra-columns.csv',
      renderCsv(requestRateRun(), { verboseCsv: false, extraCsvColumns: true })!,
    );
  });
});

describe('CSV rules', () => {
  it("uses perf_analyzer's header, in order", () => {
    const header = renderCsv(concurrencySweep(), plain)!.split('\n')[0];
    assert.equal(
      header,
      'Concurrency,Inferences/Second,Client Send,Network+Server Send/Recv,Server Queue,Server Compute Input,Server Compute Infer,Server Compute Output,Client Recv,p50 latency,p90 latency,p95 latency,p99 latency',
    );
    assert.equal(
      renderCsv(noServerStatsRun(), plain)!.split('\n')[0],
      'Concurrency,Inferences/Second,Client Send,Client Recv,p50 latency,p90 latency,p95 latency,p99 latency',
    );
    assert.match(renderCsv(requestRateRun(), plain)!, /^Request Rate,Inferences\/Second,/);
  });

  it('sorts rows by ascending throughput, not by level', () => {
    assert.deepEqual(
      csvRows(concurrencySweep()).map((l) => l.value),
      [1, 3, 2],
    );
    const lines = renderCsv(concurrencySweep(), plain)!.trimEnd().split('\n');
    assert.deepEqual(
      lines.slice(1).map((l) => l.split(',')[0]),
      ['1', '3', '2'],
    );
  });

  it('computes Network+Server as latency − send − recv − server time, in truncated µs', () => {
    // Concurrency 2: 2946 − 33 − 13 − (700 + 26 + 1760 + 16) = 398.
    const row = renderCsv(concurrencySweep(), plain)!.split('\n')[3]!;
    assert.equal(row, '2,678.775,33,398,700,26,1760,16,13,2800,4900,5959,7400');
    assert.equal(hasClampedNetworkTime(concurrencySweep()), false);
  });

  it('clamps Network+Server at 0 and reports it', () => {
    const m = measurement(100, 1_000_000_000, {
      server: serverStats(100, { request: 2000, queue: 500, input: 10, infer: 1500, output: 10 }),
    });
    const run = runResult(baseSettings(), [level('concurrency', 1, m, m.latency.meanUs, 0)]);
    assert.equal(renderCsv(run, plain)!.split('\n')[1]!.split(',')[3], '0');
    assert.equal(hasClampedNetworkTime(run), true);
  });

  it('inserts the --percentile column in sorted position and drops Avg latency from verbose', () => {
    const sweep = concurrencySweep(97);
    for (const l of sweep.levels) l.merged!.latency.percentilesUs['97'] = 1;
    const header = renderCsv(sweep, { verboseCsv: true, extraCsvColumns: false })!.split('\n')[0]!;
    assert.match(header, /p95 latency,p97 latency,p99 latency,request\/response,response wait$/);
  });

  it('writes the header alone when no level was reported (the file a script expects is always there)', () => {
    const sweep = concurrencySweep();
    for (const l of sweep.levels) l.reported = false;
    const csv = renderCsv(sweep, plain);
    assert.equal(csv.split('\n').length, 2, 'header and the final newline only');
    assert.match(csv, /^Concurrency,Inferences\/Second,/);
  });

  it('keeps the level that ended the run early, marked, and marks levels over the error-rate threshold', () => {
    const sweep = concurrencySweep();
    const last = sweep.levels.at(-1)!;
    last.reported = false;
    last.status = 'errors_over_limit';
    last.errorRate = 0.5;
    last.errorRateExceeded = true;
    const csv = renderCsv(sweep, plain);
    const [header, ...rows] = csv.trimEnd().split('\n');
    // perf_analyzer's columns first and in order, ours at the end.
    assert.match(
      header!,
      /^Concurrency,Inferences\/Second,.*,p99 latency,Error Rate %,Error Rate Exceeded,Level Status$/,
    );
    assert.equal(rows.length, sweep.levels.length);
    assert.ok(rows.some((r) => r.startsWith(`${last.value},`) && r.endsWith(',50.00,yes,errors_over_limit')));
    // An unstable level in the middle of a sweep stays out, as in perf_analyzer.
    const unstable = concurrencySweep();
    unstable.levels[0]!.reported = false;
    unstable.levels[0]!.status = 'unstable';
    assert.equal(renderCsv(unstable, plain).trimEnd().split('\n').length, unstable.levels.length);
  });

  it('writes one CSV per composing model, named like perf_analyzer', () => {
    const top = serverStats(100, { request: 3000, queue: 0, input: 0, infer: 0, output: 0 }, 'pipeline');
    const det = serverStats(
      50,
      { request: 1000, queue: 100, input: 10, infer: 800, output: 10 },
      'text_direction',
    );
    top.composing = [det];
    const m = measurement(1000, 10_000_000_000, { server: top });
    const run = runResult(baseSettings(), [level('concurrency', 1, m, m.latency.meanUs, 0)]);
    const [csv, ...rest] = renderComposingCsvs(run, 'out/r.csv');
    assert.equal(rest.length, 0);
    assert.equal(csv!.path, 'out/text_direction_v1.r.csv');
    // 50 of 100 ensemble requests → half of 100 infer/sec; overhead 1000 − 100 − 820 = 80.
    assert.equal(
      csv!.content,
      'Concurrency,Inferences/Second,Client Send,Network+Server Send/Recv,Server Queue,Server Compute Input,Server Compute Infer,Server Compute Output,Client Recv\n1,50,0,80,100,10,800,10,0\n',
    );
    assert.deepEqual(renderComposingCsvs(concurrencySweep(), 'r.csv'), []);
  });

  it('defuses formulas in free-text extra cells only', () => {
    const run = requestRateRun();
    run.levels[1]!.merged!.generator.bottleneckWarnings = ['=HYPERLINK("x")'];
    const csv = renderCsv(run, { verboseCsv: false, extraCsvColumns: true })!;
    assert.match(csv, /"'=HYPERLINK\(""x""\)",[^\n]*\n$/);
  });
});
