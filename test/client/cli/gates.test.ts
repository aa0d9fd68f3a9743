import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseRunResult } from '../../../src/report/json-record.ts';
import { concurrencySweep } from '../report/fixtures.ts';
import { runMain } from './harness.ts';

const RUN = ['-m', 'simple', '-u', 'h:8000', '--no-progress', '--quiet'];

describe('thresholds on a run', () => {
  it('a failing threshold exits 1, lists PASS/FAIL with details on stderr and records the verdicts', async () => {
    const r = await runMain([
      ...RUN,
      '--threshold',
      'error_rate==0',
      '--threshold',
      'any:throughput>=100000',
      '--json',
      'run.json',
      '--html',
      'run.html',
    ]);
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      /^Thresholds:\n {2}PASS {2}error_rate==0\n {10}concurrency 1: error_rate 0\.000% ok == 0\.000%\n/,
    );
    assert.match(
      r.stderr,
      /\n {2}FAIL {2}any:throughput>=100000\n {10}concurrency 1: throughput \d+\.\d infer\/s FAILS >= 100000\.0 infer\/s\n/,
    );
    assert.match(r.stderr, /\nThresholds: 1 of 2 failed: any:throughput>=100000\n$/);
    const record = parseRunResult(r.files.get('run.json')!);
    assert.deepEqual(
      record.gates?.map((g) => [g.threshold, g.passed]),
      [
        ['error_rate==0', true],
        ['any:throughput>=100000', false],
      ],
    );
    assert.equal(record.exitCode, 0, "the record keeps the run's own exit code");
    const html = r.files.get('run.html')!;
    assert.match(html, /^<!DOCTYPE html>/);
    assert.match(html, /<h2>Thresholds<\/h2>.*FAIL<\/b> <code>any:throughput&gt;=100000<\/code>/s);
  });

  it('all passing exits 0', async () => {
    const r = await runMain([
      ...RUN,
      '--threshold',
      'p99_latency<=1s',
      '--threshold',
      'level=2:throughput>0',
    ]);
    assert.equal(r.code, 0);
    assert.match(r.stderr, /Thresholds: all 2 passed\.\n$/);
  });

  it("the run's own failure wins over a gate failure", async () => {
    const r = await runMain([...RUN, '--threshold', 'throughput>=100000'], {
      result: () => ({ ...concurrencySweep(), exitCode: 2 }),
    });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /FAIL {2}throughput>=100000/);
  });

  it('a bad threshold is an option error before anything runs', async () => {
    const r = await runMain([...RUN, '--threshold', 'p95_latency<=20 furlongs']);
    assert.equal(r.code, 3);
    assert.equal(r.resolved, undefined);
    assert.match(r.stderr, /^error: Failed to parse --threshold\. invalid threshold/);
  });

  it('no thresholds: no section, no gates field', async () => {
    const r = await runMain([...RUN, '--json', 'r.json']);
    assert.equal(r.stderr, '');
    assert.equal(parseRunResult(r.files.get('r.json')!).gates, undefined);
  });
});
