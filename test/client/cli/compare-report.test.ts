import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { renderCsv } from '../../../src/report/csv.ts';
import { serializeRunResult } from '../../../src/report/json-record.ts';
import type { RunResult } from '../../../src/report/model.ts';
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
  it('no regression: exit 0 and a text table with intervals on stdout', async () => {
    const r = await runMain(['compare', 'base.json', 'same.json'], { files: FILES });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /\nlevel +metric +baseline +current +change +95% interval +verdict +noise from\n/);
    assert.match(
      r.stdout,
      /concurrency 2 +throughput +678\.8 infer\/s +658\.4 infer\/s +−3\.0% +\[−3\.0%, −3\.0%\] +unchanged +windows 3\+3/,
    );
    assert.match(r.stdout, /\nNo regression \(confidence 95%, min effect 5%\)\.\n$/);
  });

  it('a regression: exit 1, Markdown and JUnit files for the CI', async () => {
    const r = await runMain(
      ['compare', 'base.json', 'slow.json', '--markdown', 'c.md', '--junit', 'c.xml', '--format', 'markdown'],
      { files: FILES },
    );
    assert.equal(r.code, 1);
    assert.match(r.stdout, /^### inferbench compare: 3 regression\(s\)/);
    assert.equal(r.files.get('c.md'), r.stdout);
    assert.match(
      r.files.get('c.xml')!,
      /<testsuites name="inferbench compare" tests="18" failures="3" skipped="0">/,
    );
    assert.match(r.stderr, /compare: 3 regression\(s\)\.\n$/);
  });

  it('--min-effect and --confidence change the verdicts; --metrics narrows what is compared', async () => {
    const loose = await runMain(['compare', 'base.json', 'slow.json', '--min-effect', '35%'], {
      files: FILES,
    });
    assert.equal(loose.code, 0, loose.stdout);
    const old = await runMain(['compare', 'base.json', 'slow.json', '--tolerance', '35%'], { files: FILES });
    assert.equal(old.code, 0);
    assert.match(old.stderr, /--tolerance is now --min-effect/);
    const latencyOnly = await runMain(['compare', 'base.json', 'slow.json', '--metrics', 'p95_latency'], {
      files: FILES,
    });
    assert.equal(latencyOnly.code, 0);
    assert.doesNotMatch(latencyOnly.stdout, /throughput/);
    const ci = await runMain(['compare', 'base.json', 'same.json', '--confidence', '99.9%'], {
      files: FILES,
    });
    assert.match(ci.stdout, /99\.9% interval/);
  });

  it('--baseline/--current take several runs per side; --fail-on-inconclusive fails on doubt', async () => {
    const r = await runMain(
      [
        'compare',
        '--baseline',
        'base.json',
        '--baseline',
        'same.json',
        '--current',
        'slow.json',
        '--current',
        'base.json',
      ],
      { files: FILES },
    );
    assert.match(r.stdout, /runs 2\+2/);
    const current = await runMain(['compare', '--baseline', 'base.json', 'same.json', 'slow.json'], {
      files: FILES,
    });
    assert.match(current.stdout, /runs 1\+2/);
    // Baselines 30 % apart: the run-to-run noise leaves a 3 % change undecided.
    const doubt = ['compare', 'base.json', 'slow.json', 'same.json'];
    const lenient = await runMain(doubt, { files: FILES });
    assert.match(lenient.stdout, /throughput .* inconclusive +runs 2\+1/);
    assert.equal(lenient.code, 0);
    const strict = await runMain([...doubt, '--fail-on-inconclusive'], { files: FILES });
    assert.equal(strict.code, 1);
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
    assert.match(r.stderr, /No reproducibility manifest in pa\.csv/);
  });

  it('bad input exits 3 with a message naming the problem', async () => {
    const cases: [string[], RegExp][] = [
      [['compare', 'base.json'], /at least one baseline and the current run/],
      [['compare'], /at least one baseline and the current run/],
      [['compare', '--baseline', 'base.json'], /needs the current run\(s\) too/],
      [['compare', '--current', 'base.json'], /needs the baseline run\(s\) too/],
      [['compare', '--baseline', 'base.json', '--current', 'same.json', 'slow.json'], /give no other files/],
      [['compare', 'base.json', 'missing.json'], /cannot read 'missing\.json': the file does not exist/],
      [['compare', 'base.json', '../../etc/passwd'], /cannot read|not valid JSON|not a perf_analyzer CSV/],
      [['compare', 'base.json', 'junk.csv'], /junk\.csv: not a perf_analyzer CSV/],
      [['compare', 'base.json', 'same.json', '--metrics', 'speed'], /Unknown metric\(s\): speed/],
      [['compare', 'base.json', 'same.json', '--metrics', ''], /Unknown metric\(s\): \(none given\)/],
      [['compare', 'base.json', 'same.json', '--format', 'html'], /Expected text, markdown or junit/],
      [['compare', 'base.json', 'same.json', '--min-effect', 'lots'], /Failed to parse --min-effect/],
      [['compare', 'base.json', 'same.json', '--min-effect', '-5%'], /Failed to parse --min-effect/],
      [['compare', 'base.json', 'same.json', '--min-effect', '100%'], /Expected a percentage below 100%/],
      [['compare', 'base.json', 'same.json', '--confidence', '100'], /from 50% to below 100%/],
      [['compare', 'base.json', 'same.json', '--confidence', '40%'], /from 50% to below 100%/],
      [['compare', 'base.json', 'same.json', '--confidence', '1e400'], /Failed to parse --confidence/],
      [
        ['compare', 'base.json', 'same.json', '--tolerance', '5%', '--min-effect', '5%'],
        /give only --min-effect/,
      ],
    ];
    for (const [argv, message] of cases) {
      const r = await runMain(argv, { files: FILES });
      assert.equal(r.code, 3, argv.join(' '));
      assert.match(r.stderr, message, argv.join(' '));
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
    // The overlay shows compare's intervals, regressions first.
    assert.match(html, /<h3>Change vs baseline \(95% intervals, min effect 5%\)<\/h3>/);
    assert.match(
      html,
      /<tbody><tr><td>concurrency 1<\/td><td>throughput<\/td><td>−30\.0%<\/td><td>\[−30\.0%, −30\.0%\]<\/td><td><svg [\s\S]*?<\/svg><\/td><td style="color:#c62828"><b>regressed<\/b>/,
    );
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
