import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { comparableFromCsv, comparableFromRecord } from '../../src/gate/comparable.ts';
import {
  compareRuns,
  DEFAULT_COMPARE_METRICS,
  renderCompareJUnit,
  renderCompareMarkdown,
} from '../../src/gate/compare.ts';
import { level, measurement, run } from './run-fixture.ts';

const options = { tolerance: 0.1, metrics: DEFAULT_COMPARE_METRICS, errorRateTolerance: 0.001 };

function steady(throughput: number, p95Us: number) {
  const m = measurement({ throughput, p95Us });
  return level(4, [m, m, m], m);
}

describe('compare', () => {
  it('flags a throughput drop beyond the tolerance and passes one within it', () => {
    const base = comparableFromRecord(run([steady(1000, 10_000)]), 'base.json');
    const slightlyWorse = comparableFromRecord(run([steady(950, 10_500)]), 'cur.json');
    assert.equal(compareRuns([base], slightlyWorse, options).regressions, 0);
    const muchWorse = comparableFromRecord(run([steady(800, 10_000)]), 'cur.json');
    const result = compareRuns([base], muchWorse, options);
    assert.equal(result.regressions, 1);
    const t = result.changes.find((c) => c.metric === 'throughput');
    assert.equal(t?.verdict, 'regressed');
    assert.ok(Math.abs((t?.relativeChange ?? 0) + 0.2) < 1e-9);
  });
  it('widens the allowance by the window-to-window noise measured within the run', () => {
    // Windows spread 800..1100 around a median of 1000: noise 30 %, so a 20 % drop is not called a regression.
    const noisy = level(
      4,
      [
        measurement({ throughput: 800, p95Us: 10_000 }),
        measurement({ throughput: 1000, p95Us: 10_000 }),
        measurement({ throughput: 1100, p95Us: 10_000 }),
      ],
      measurement({ throughput: 1000, p95Us: 10_000 }),
    );
    const base = comparableFromRecord(run([noisy]), 'base.json');
    const cur = comparableFromRecord(run([steady(800, 10_000)]), 'cur.json');
    const t = compareRuns([base], cur, options).changes.find((c) => c.metric === 'throughput');
    assert.equal(t?.verdict, 'ok');
    assert.ok((t?.allowed ?? 0) > 0.39);
  });
  it('uses the median of repeated baselines and their spread', () => {
    const b = [900, 1000, 1100].map((x) => comparableFromRecord(run([steady(x, 10_000)]), `b${x}.json`));
    const cur = comparableFromRecord(run([steady(790, 10_000)]), 'cur.json');
    const t = compareRuns(b, cur, options).changes.find((c) => c.metric === 'throughput');
    assert.equal(t?.baseline, 1000);
    // allowed = 10 % + (1100−900)/1000 = 30 %; −21 % is inside.
    assert.equal(t?.verdict, 'ok');
  });
  it('latency going up is a regression, going down an improvement', () => {
    const base = comparableFromRecord(run([steady(1000, 10_000)]), 'base.json');
    const slower = compareRuns([base], comparableFromRecord(run([steady(1000, 13_000)]), 'c'), options);
    assert.equal(slower.changes.find((c) => c.metric === 'p95_latency')?.verdict, 'regressed');
    const faster = compareRuns([base], comparableFromRecord(run([steady(1000, 7_000)]), 'c'), options);
    assert.equal(faster.changes.find((c) => c.metric === 'p95_latency')?.verdict, 'improved');
  });
  it('a level missing from the current run counts as a regression', () => {
    const base = comparableFromRecord(
      run([steady(1000, 10_000), { ...steady(2000, 10_000), value: 8 }]),
      'b',
    );
    const cur = comparableFromRecord(run([steady(1000, 10_000)]), 'c');
    const r = compareRuns([base], cur, options);
    assert.ok(r.changes.some((c) => c.level === 'concurrency 8' && c.verdict === 'missing'));
    assert.ok(r.regressions > 0);
  });
  it('reads perf_analyzer CSVs and refuses files that are not', () => {
    const csv =
      'Concurrency,Inferences/Second,Client Send,Client Recv,p50 latency,p90 latency,p95 latency,p99 latency\n' +
      '2,678.775,10,20,5000,5800,5959,6100\n4,679.345,10,20,11000,11700,11859,12000\n';
    const c = comparableFromCsv(csv, 'pa.csv');
    assert.equal(c.levels.length, 2);
    assert.equal(c.levels[0]?.metrics.throughput, 678.775);
    assert.equal(c.levels[1]?.metrics.p95_latency, 11859);
    assert.throws(() => comparableFromCsv('a,b\n1,2\n', 'x.csv'), /x\.csv: not a perf_analyzer CSV/);
  });
  it('renders Markdown and well-formed JUnit with one failure per regression', () => {
    const base = comparableFromRecord(run([steady(1000, 10_000)]), 'base.json');
    const cur = comparableFromRecord(run([steady(700, 10_000)]), 'cur.json');
    const r = compareRuns([base], cur, options);
    assert.match(
      renderCompareMarkdown(r),
      /\| concurrency 4 \| throughput \| 1000\.0 infer\/s \| 700\.0 infer\/s \| -30\.0% \| ±10\.0% \| \*\*REGRESSED\*\* \|/,
    );
    const junit = renderCompareJUnit(r);
    assert.match(junit, /failures="1"/);
    assert.equal((junit.match(/<failure /g) ?? []).length, 1);
  });
});
