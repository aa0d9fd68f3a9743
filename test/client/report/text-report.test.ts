import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { RunResult, ServerStatsDelta } from '../../../src/report/model.ts';
import { renderLevel } from '../../../src/report/text-level.ts';
import { renderTextReport } from '../../../src/report/text-report.ts';
import { renderSettingsBlock, renderSettingsLines } from '../../../src/report/text-settings.ts';
import { renderSummary } from '../../../src/report/text-summary.ts';
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

describe('stdout report goldens', () => {
  it('3-level concurrency sweep with server stats', () => {
    assertGolden('stdout-concurrency-sweep.txt', renderTextReport(concurrencySweep(), { verbose: false }));
  });
  it('the same sweep with --percentile=95', () => {
    assertGolden(
      'stdout-concurrency-sweep-p95.txt',
      renderTextReport(concurrencySweep(95), { verbose: false }),
    );
  });
  it('request-rate run with the delayed warning, errors and -v', () => {
    assertGolden('stdout-request-rate-delayed.txt', renderTextReport(requestRateRun(), { verbose: true }));
  });
  it('run without server stats', () => {
    assertGolden('stdout-no-server-stats.txt', renderTextReport(noServerStatsRun(), { verbose: false }));
  });
});

describe('stdout details perf_analyzer parsers rely on', () => {
  it('prints the summary line of the seeds table', () => {
    assert.match(
      renderSummary(concurrencySweep(95)),
      /^Concurrency: 2, throughput: 678\.775 infer\/sec, latency 5959 usec$/m,
    );
    assert.match(renderSummary(concurrencySweep(95)), /^Inferences\/Second vs\. Client p95 Batch Latency$/m);
    assert.match(
      renderSummary(concurrencySweep()),
      /^Inferences\/Second vs\. Client Average Batch Latency$/m,
    );
  });

  it('keeps the trailing spaces of "  Client: " and "  Server: "', () => {
    const text = renderTextReport(concurrencySweep(), { verbose: false });
    assert.ok(text.includes('\n  Client: \n'));
    assert.ok(text.includes('\n  Server: \n'));
  });

  it('with --percentile drops "Avg latency" and keeps the percentile lines in ascending order', () => {
    const sweep = concurrencySweep(97);
    const l = sweep.levels[1]!;
    l.merged!.latency.percentilesUs['97'] = 6100;
    const text = renderLevel(sweep, l, { verbose: false });
    assert.doesNotMatch(text, /Avg latency/);
    assert.match(text, /p95 latency: 5959 usec\n {4}p97 latency: 6100 usec\n {4}p99 latency: 7400 usec/);
  });

  it('uses the gRPC client-library line for -i grpc, in both verbosities', () => {
    const sweep = concurrencySweep();
    sweep.config = { ...baseSettings({ protocol: 'grpc' }) };
    const l = sweep.levels[0]!;
    assert.match(
      renderLevel(sweep, l, { verbose: false }),
      /Avg gRPC time: 2203 usec \(\(un\)marshal request\/response 43 usec \+ response wait 2160 usec\)/,
    );
    assert.match(
      renderLevel(sweep, l, { verbose: true }),
      /Avg gRPC time: 2203 usec \(marshal 31 usec \+ response wait 2160 usec \+ unmarshal 12 usec\)/,
    );
  });

  it('prints nothing but the header for a level that is not reported, and the latency-limit line when over', () => {
    const sweep = concurrencySweep();
    sweep.config = {
      ...baseSettings({ measurement: { ...baseSettings().measurement, latencyThresholdMs: 4 } }),
    };
    const l3 = { ...sweep.levels[2]!, status: 'over_latency_limit' as const, reported: false };
    assert.equal(
      renderLevel(sweep, l3, { verbose: false }),
      'Request concurrency: 3\nMeasured latency went over the set limit of 4 msec. \n',
    );
    const summary = renderSummary({ ...sweep, levels: [sweep.levels[0]!, l3] });
    assert.doesNotMatch(summary, /Concurrency: 3/);
    assert.equal(renderSummary({ ...sweep, levels: [l3] }), '');
  });

  it('prints a failed window as a cb::Error pass line', () => {
    const sweep = concurrencySweep();
    const l = sweep.levels[0]!;
    l.windows[0] = { ...l.windows[0]!, requestCount: 0 };
    assert.match(
      renderLevel(sweep, l, { verbose: true }),
      /^ {2}Pass \[1\] cb::Error: No valid requests recorded within time interval\. Please use a larger time window\.$/m,
    );
  });
});

describe('server block variants', () => {
  it('response cache: combined latency plus hit and miss lines', () => {
    const stats = serverStats(100, { request: 500, queue: 50, input: 10, infer: 300, output: 10 });
    stats.cacheHit = { count: 40, ns: 40 * 20_000 };
    stats.cacheMiss = { count: 60, ns: 60 * 5_000 };
    stats.computeInput = { count: 60, ns: 60 * 10_000 };
    stats.computeInfer = { count: 60, ns: 60 * 300_000 };
    stats.computeOutput = { count: 60, ns: 60 * 10_000 };
    const run = cacheRun(stats);
    const text = renderLevel(run, run.levels[0]!, { verbose: false });
    // combined = (hit 800000 + miss 300000 + compute 19200000 ns) / ((60 + 40) × 1000) = 203 µs.
    assert.match(text, /Cache hit count: 40\n {4}Cache miss count: 60\n/);
    assert.match(
      text,
      /Avg request latency: 500 usec \(overhead 247 usec \+ queue 50 usec \+ cache hit\/miss 203 usec\)/,
    );
    assert.match(text, /\n {6}Average Cache Hit Latency: 20 usec\n/);
    assert.match(
      text,
      /Average Cache Miss Latency: 325 usec \(cache lookup\/insertion 5 usec \+ compute input 10 usec \+ compute infer 300 usec \+ compute output 10 usec\)/,
    );
  });

  it('ensemble: summed leaf queue/compute and the composing-model blocks', () => {
    const top = serverStats(100, { request: 3000, queue: 0, input: 0, infer: 0, output: 0 }, 'pipeline');
    const det = serverStats(
      100,
      { request: 1000, queue: 100, input: 10, infer: 800, output: 10 },
      'text_direction',
    );
    const rec = serverStats(
      100,
      { request: 1500, queue: 200, input: 20, infer: 1100, output: 20 },
      'text_recognition',
    );
    top.composing = [det, rec];
    const run = cacheRun(top, false);
    const text = renderLevel(run, run.levels[0]!, { verbose: false });
    // queue 100 + 200; compute 820 + 1140; overhead 3000 − 300 − 1960 = 740.
    assert.match(
      text,
      /Avg request latency: 3000 usec \(overhead 740 usec \+ queue 300 usec \+ compute 1960 usec\)\n\n/,
    );
    assert.match(
      text,
      /\n {2}Composing models: \n {2}text_direction, version: 1\n {6}Inference count: 100\n/,
    );
    assert.match(text, /\n {2}text_recognition, version: 1\n {6}Inference count: 100\n/);
  });

  it('a window without successful server requests prints only "Request count: 0"', () => {
    const run = cacheRun(serverStats(0, { request: 0, queue: 0, input: 0, infer: 0, output: 0 }), false);
    assert.match(
      renderLevel(run, run.levels[0]!, { verbose: false }),
      / {2}Server: \n {4}Request count: 0\n/,
    );
  });
});

function cacheRun(server: ServerStatsDelta, cache = true): RunResult {
  const m = measurement(1000, 10_000_000_000, { server });
  const run = runResult(
    baseSettings({ load: { mode: 'concurrency', range: { start: 1, end: 1, step: 1 } } }),
    [level('concurrency', 1, m, m.latency.meanUs, 1_700_000_000_000)],
  );
  return { ...run, model: { ...run.model, responseCache: cache } };
}

describe('settings block', () => {
  it('prints count_windows, request-count, warmup, binary search and the percentile form', () => {
    const m = baseSettings().measurement;
    const counted = renderSettingsLines(
      baseSettings({ measurement: { ...m, mode: 'count_windows', percentile: 95, warmupRequestCount: 1 } }),
    );
    assert.ok(counted.includes('  Sending 1 warmup request'));
    assert.ok(counted.includes('  Using "count_windows" mode for stabilization'));
    assert.ok(counted.includes('  Stabilizing using p95 latency and throughput'));
    assert.ok(counted.includes('  Minimum number of samples in each window: 50'));
    const fixed = renderSettingsLines(
      baseSettings({ search: 'binary', measurement: { ...m, requestCount: 200, warmupRequestCount: 10 } }),
    );
    assert.ok(fixed.includes('  Sending 10 warmup requests'));
    assert.ok(fixed.includes('  Sending 200 benchmark requests'));
    assert.ok(!fixed.some((l) => l.startsWith('  Stabilizing')));
    assert.ok(fixed.includes('  Using Binary Search algorithm'));
  });

  it('omits the limits for a single level and shows the open-ended limit without a maximum', () => {
    const single = renderSettingsLines(
      baseSettings({ load: { mode: 'concurrency', range: { start: 1, end: 1, step: 1 } } }),
    );
    assert.ok(!single.some((l) => l.includes('limit')));
    const open = renderSettingsLines(
      baseSettings({
        load: { mode: 'concurrency', range: { start: 1, end: 0, step: 1 } },
        measurement: { ...baseSettings().measurement, latencyThresholdMs: 10 },
      }),
    );
    assert.ok(open.includes('  Latency limit: 10 msec'));
    assert.ok(!open.some((l) => l.startsWith('  Concurrency limit')));
  });

  it('ends with the empty line and reads settings from the record', () => {
    assert.match(renderSettingsBlock(concurrencySweep()), /Using synchronous calls for inference\n\n$/);
    assert.throws(() => renderSettingsBlock({ ...concurrencySweep(), config: { modelName: 'x' } }), {
      name: 'OptionError',
    });
  });
});
