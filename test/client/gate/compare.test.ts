import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { comparableFromCsv, comparableFromRecord } from '../../../src/gate/comparable.ts';
import { compareRuns, DEFAULT_COMPARE_METRICS } from '../../../src/gate/compare.ts';
import {
  renderCompareJUnit,
  renderCompareMarkdown,
  renderCompareText,
} from '../../../src/gate/compare-render.ts';
import type { RunManifest } from '../../../src/report/manifest.ts';
import { level, measurement, run } from './run-fixture.ts';

const options = {
  confidence: 0.95,
  minEffect: 0.05,
  metrics: DEFAULT_COMPARE_METRICS,
  errorRateTolerance: 0.001,
};

/** A level whose windows vary by ±`spread` around `throughput` (p95 the same way, inverted). */
function noisy(throughput: number, p95Us: number, spread: number, windows = 5) {
  const ms = Array.from({ length: windows }, (_, i) => {
    const f = 1 + spread * Math.sin(i * 2.1 + 0.5);
    return measurement({ throughput: throughput * f, p95Us: p95Us / f });
  });
  return level(4, ms, measurement({ throughput, p95Us }));
}

const cmp = (b: ReturnType<typeof noisy>, c: ReturnType<typeof noisy>) =>
  compareRuns(
    [comparableFromRecord(run([b]), 'base.json')],
    [comparableFromRecord(run([c]), 'cur.json')],
    options,
  );

describe('compare', () => {
  it('a clear throughput drop is regressed, its interval entirely below −5 %', () => {
    const r = cmp(noisy(1000, 10_000, 0.02), noisy(800, 10_000, 0.02));
    const t = r.changes.find((c) => c.metric === 'throughput')!;
    assert.equal(t.verdict, 'regressed');
    assert.ok(t.interval!.upper < -0.05 && t.interval!.lower < t.change! && t.change! < t.interval!.upper);
    assert.equal(t.basis, 'windows 3+3', 'the last --stability-windows (3) windows, as merged');
    assert.equal(r.changes[0], t, 'regressions first');
    assert.equal(r.regressions, 1, 'only throughput moved');
  });

  it('the same drop inside heavy window noise is inconclusive, not regressed', () => {
    const r = cmp(noisy(1000, 10_000, 0.3, 3), noisy(900, 10_000, 0.3, 3));
    const t = r.changes.find((c) => c.metric === 'throughput')!;
    assert.equal(t.verdict, 'inconclusive');
    assert.ok(t.interval!.lower < -0.05 && t.interval!.upper > -0.05);
    assert.equal(r.regressions, 0);
    assert.ok(r.inconclusive > 0);
  });

  it('identical runs are unchanged; latency going down is improved', () => {
    const same = cmp(noisy(1000, 10_000, 0.01), noisy(1000, 10_000, 0.01));
    assert.ok(
      same.changes.every((c) => c.verdict === 'unchanged'),
      renderCompareText(same),
    );
    const faster = cmp(noisy(1000, 10_000, 0.01), noisy(1000, 7_000, 0.01));
    assert.equal(faster.changes.find((c) => c.metric === 'p95_latency')?.verdict, 'improved');
  });

  it('several runs per side: the noise comes from the runs', () => {
    const base = [1000, 980, 1010].map((x, i) =>
      comparableFromRecord(run([noisy(x, 10_000, 0.01)]), `b${i}`),
    );
    const cur = [700, 690, 710].map((x, i) => comparableFromRecord(run([noisy(x, 10_000, 0.01)]), `c${i}`));
    const r = compareRuns(base, cur, options);
    const t = r.changes.find((c) => c.metric === 'throughput')!;
    assert.equal(t.basis, 'runs 3+3');
    assert.equal(t.verdict, 'regressed');
    assert.deepEqual(r.currentSources, ['c0', 'c1', 'c2']);
  });

  it('windows tagged with repeat are separate runs of one record', () => {
    const l = noisy(1000, 10_000, 0.02, 6);
    l.windows.forEach((w, i) => {
      w.repeat = i < 3 ? 1 : 2;
    });
    const c = comparableFromRecord(run([l]), 'rep.json');
    assert.deepEqual(
      c.levels[0]!.runs.map((r) => r.length),
      [3, 3],
    );
  });

  it('single windows: NO NOISE ESTIMATE, and only a doubling is a regression', () => {
    const one = (throughput: number, p95Us: number) => {
      const m = measurement({ throughput, p95Us });
      return level(4, [m], m);
    };
    const r = cmp(one(1000, 10_000), one(600, 10_000));
    assert.match(r.warnings[0]!, /^NO NOISE ESTIMATE at 1 level/);
    const t = r.changes.find((c) => c.metric === 'throughput')!;
    assert.equal(t.basis, 'no noise estimate');
    assert.equal(t.verdict, 'inconclusive');
    assert.equal(cmp(one(1000, 10_000), one(400, 10_000)).changes[0]!.verdict, 'regressed');
  });

  it('error_rate is compared in points against --error-rate-tolerance', () => {
    const withErrors = (errors: number) => {
      const ms = Array.from({ length: 5 }, () => measurement({ throughput: 1000, p95Us: 10_000, errors }));
      return level(4, ms, ms[0]);
    };
    const r = cmp(withErrors(0), withErrors(100));
    const e = r.changes.find((c) => c.metric === 'error_rate')!;
    assert.equal(e.verdict, 'regressed');
    assert.ok(e.absolute && e.interval!.lower > 0.001);
    assert.equal(
      cmp(withErrors(0), withErrors(0)).changes.find((c) => c.metric === 'error_rate')?.verdict,
      'unchanged',
    );
  });

  it('a baseline level missing from the current run fails; a new level is only noted', () => {
    const base = comparableFromRecord(
      run([noisy(1000, 10_000, 0.01), { ...noisy(2000, 10_000, 0.01), value: 8 }]),
      'b',
    );
    const cur = comparableFromRecord(
      run([noisy(1000, 10_000, 0.01), { ...noisy(2000, 10_000, 0.01), value: 16 }]),
      'c',
    );
    const r = compareRuns([base], [cur], options);
    assert.equal(r.changes[0]?.verdict, 'missing');
    assert.equal(r.changes[0]?.level, 'concurrency 8');
    assert.equal(r.regressions, 1);
    assert.ok(r.warnings.some((w) => /concurrency 16 is in the current run only/.test(w)));
  });

  it('is deterministic: the same inputs give the same intervals', () => {
    const a = cmp(noisy(1000, 10_000, 0.1), noisy(950, 10_000, 0.1));
    const b = cmp(noisy(1000, 10_000, 0.1), noisy(950, 10_000, 0.1));
    assert.deepEqual(a, b);
  });

  it('warns about manifest differences (settings, server, host) but not the embedded port', () => {
    const manifest = (over: Partial<RunManifest> & { windowMs?: number; port?: number }): RunManifest => ({
      tool: { name: 'inferbench', version: '0.1.0', commit: 'abc' },
      settings: {
        target: { kind: 'embedded' },
        profile: { url: `127.0.0.1:${over.port ?? 1}`, measurement: { windowMs: over.windowMs ?? 1000 } },
      },
      seed: 5489,
      server: { metadata: { name: 'inferbench', version: '1', extensions: [] }, executionProviders: ['cpu'] },
      host: {
        cpuModel: 'x',
        cores: 2,
        loadAverage: [1, 1, 1],
        totalMemoryBytes: 1,
        platform: 'linux',
        arch: 'x64',
        hostname: 'h',
      },
      node: 'v20',
      ...over,
    });
    const rec = (m: RunManifest, source: string) => ({
      ...comparableFromRecord(run([noisy(1000, 10_000, 0.01)]), source),
      manifest: m,
    });
    const quiet = compareRuns([rec(manifest({ port: 1 }), 'b')], [rec(manifest({ port: 2 }), 'c')], options);
    assert.deepEqual(quiet.warnings, []);
    const loud = compareRuns(
      [rec(manifest({}), 'b')],
      [
        rec(
          manifest({ windowMs: 500, node: 'v22', host: { ...manifest({}).host, loadAverage: [3, 1, 1] } }),
          'c',
        ),
      ],
      options,
    );
    assert.equal(loud.warnings.length, 1);
    assert.match(
      loud.warnings[0]!,
      /^b and c differ in: node: "v20" vs "v22"; settings\.profile\.measurement\.windowMs: 1000 vs 500; host\.loadAverage \(1 min\): 1\.00 vs 3\.00$/,
    );
    const csvOnly = compareRuns(
      [rec(manifest({}), 'b')],
      [comparableFromRecord(run([noisy(1000, 10_000, 0.01)]), 'c')],
      options,
    );
    assert.match(csvOnly.warnings[0]!, /No reproducibility manifest in c/);
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

  it('renders the interval and verdict in Markdown and JUnit, regressions first', () => {
    const r = cmp(noisy(1000, 10_000, 0.02), noisy(700, 10_000, 0.02));
    const md = renderCompareMarkdown(r);
    assert.match(md, /^### inferbench compare: 1 regression\(s\)/);
    assert.match(
      md,
      /\| level \| metric \| baseline \| current \| change \| 95% interval \| verdict \| noise from \|\n\| --- \| --- \| ---: \| ---: \| ---: \| ---: \| --- \| --- \|\n\| concurrency 4 \| throughput \| 1000\.\d infer\/s \| 700\.\d infer\/s \| −30\.0% \| \[−\d+\.\d%, −\d+\.\d%\] \| \*\*REGRESSED\*\* \| windows 3\+3 \|/,
    );
    const junit = renderCompareJUnit(r);
    assert.match(junit, /failures="1"/);
    assert.equal((junit.match(/<failure /g) ?? []).length, 1);
    const noisyR = cmp(noisy(1000, 10_000, 0.3, 3), noisy(900, 10_000, 0.3, 3));
    assert.match(renderCompareJUnit(noisyR), /<skipped message="inconclusive/);
    assert.match(renderCompareJUnit(noisyR, true), /<failure message="inconclusive/);
  });
});
