import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { renderCsv } from '../../src/report/csv.ts';
import { serializeRunResult } from '../../src/report/json-record.ts';
import type { RunResult } from '../../src/report/model.ts';
import { concurrencySweep } from '../report/fixtures.ts';
import { runMain } from './harness.ts';

/** The fixture sweep with every throughput scaled by `factor`. */
function scaled(factor: number): RunResult {
  const run = concurrencySweep();
  return {
    ...run,
    levels: run.levels.map((l) => ({
      ...l,
      merged: l.merged && { ...l.merged, throughputPerSec: l.merged.throughputPerSec * factor },
      windows: l.windows.map((w) => ({ ...w, throughputPerSec: w.throughputPerSec * factor })),
    })),
  };
}

const FILES = {
  'base.json': serializeRunResult(concurrencySweep()),
  'same.json': serializeRunResult(scaled(0.97)),
  'slow.json': serializeRunResult(scaled(0.7)),
  'pa.csv': renderCsv(concurrencySweep(), { verboseCsv: false, extraCsvColumns: false })!,
  'junk.csv': 'a,b\n1,2\n',
};

describe('inferbench compare', () => {
  it('no regression: exit 0 and a text table on stdout', async () => {
    const r = await runMain(['compare', 'base.json', 'same.json'], { files: FILES });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^level +metric +baseline +current +change +verdict\n/);
    assert.match(r.stdout, /concurrency 2 +throughput +678\.8 infer\/s +658\.4 infer\/s +-3\.0% +ok/);
    assert.match(r.stdout, /\nNo regression\.\n$/);
  });

  it('a regression: exit 1, Markdown and JUnit files for the CI', async () => {
    const r = await runMain(
      ['compare', 'base.json', 'slow.json', '--markdown', 'c.md', '--junit', 'c.xml', '--format', 'markdown'],
      { files: FILES },
    );
    assert.equal(r.code, 1);
    assert.match(r.stdout, /^### inferbench compare: 3 regression\(s\)/);
    assert.equal(r.files.get('c.md'), r.stdout);
    assert.match(r.files.get('c.xml')!, /<testsuites name="inferbench compare" tests="15" failures="3">/);
    assert.equal(r.stderr, 'compare: 3 regression(s).\n');
  });

  it('--tolerance widens the allowance; --metrics narrows what is compared', async () => {
    const loose = await runMain(['compare', 'base.json', 'slow.json', '--tolerance', '35%'], {
      files: FILES,
    });
    assert.equal(loose.code, 0, loose.stdout);
    const latencyOnly = await runMain(['compare', 'base.json', 'slow.json', '--metrics', 'p95_latency'], {
      files: FILES,
    });
    assert.equal(latencyOnly.code, 0);
    assert.doesNotMatch(latencyOnly.stdout, /throughput/);
  });

  it('reads perf_analyzer CSVs and several baselines; --output writes the chosen format to a file', async () => {
    const r = await runMain(
      ['compare', 'pa.csv', 'base.json', 'same.json', '--format', 'junit', '--output', 'o.xml'],
      {
        files: FILES,
      },
    );
    assert.equal(r.code, 0);
    assert.equal(r.stdout, '');
    assert.match(r.files.get('o.xml')!, /^<\?xml version="1\.0"/);
  });

  it('bad input exits 3 with a message naming the problem', async () => {
    const cases: [string[], RegExp][] = [
      [['compare', 'base.json'], /at least one baseline and the current run/],
      [['compare', 'base.json', 'missing.json'], /cannot read 'missing\.json': the file does not exist/],
      [['compare', 'base.json', 'junk.csv'], /junk\.csv: not a perf_analyzer CSV/],
      [['compare', 'base.json', 'same.json', '--metrics', 'speed'], /Unknown metric\(s\): speed/],
      [['compare', 'base.json', 'same.json', '--format', 'html'], /Expected text, markdown or junit/],
      [['compare', 'base.json', 'same.json', '--tolerance', 'lots'], /Failed to parse --tolerance/],
    ];
    for (const [argv, message] of cases) {
      const r = await runMain(argv, { files: FILES });
      assert.equal(r.code, 3, argv.join(' '));
      assert.match(r.stderr, message);
    }
  });
});

describe('inferbench report', () => {
  it('prints the perf_analyzer text of a record by default', async () => {
    const r = await runMain(['report', 'base.json'], { files: FILES });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^\*\*\* Measurement Settings \*\*\*\n/);
    assert.match(r.stdout, /Concurrency: 2, throughput: 678\.775 infer\/sec, latency 2946 usec/);
  });

  it('writes the HTML report (compare mode with --baseline) and the CSV without re-running', async () => {
    const r = await runMain(
      ['report', 'slow.json', '--html', 'r.html', '--baseline', 'base.json', '--csv', 'r.csv'],
      {
        files: FILES,
      },
    );
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.resolved, undefined, 'nothing ran');
    assert.equal(r.stdout, '');
    const html = r.files.get('r.html')!;
    assert.match(html, /^<!DOCTYPE html>/);
    assert.match(html, /p95 \(baseline\)/);
    assert.match(html, /<h3>Baseline<\/h3>/);
    assert.doesNotMatch(html, /<script|<link|src="http/);
    assert.match(r.files.get('r.csv')!, /^Concurrency,Inferences\/Second,/);
  });

  it('gates a stored record with --threshold', async () => {
    const r = await runMain(['report', 'base.json', '--threshold', 'throughput>=1000'], { files: FILES });
    assert.equal(r.code, 1);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /FAIL {2}throughput>=1000/);
  });

  it('a missing or invalid record exits 3', async () => {
    const missing = await runMain(['report', 'nope.json'], { files: FILES });
    assert.equal(missing.code, 3);
    const invalid = await runMain(['report', 'junk.csv'], { files: FILES });
    assert.equal(invalid.code, 3);
    assert.match(invalid.stderr, /junk\.csv is not valid JSON/);
  });
});
