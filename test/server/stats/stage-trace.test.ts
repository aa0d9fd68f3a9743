import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  medianOf,
  STAGES,
  StageStamps,
  StageTraceRecorder,
  stageDurationsUs,
} from '../../../embedded-server/src/stats/stage-trace.ts';

/** Stamps 1 µs apart from `startNs`, with `skip` stages left unset. */
function stamps(startNs: number, stepNs: number, skip: readonly string[] = []): StageStamps {
  const s = new StageStamps();
  let t = startNs;
  for (const stage of STAGES) {
    if (skip.includes(stage)) continue;
    s.mark(stage, t);
    t += stepNs;
  }
  return s;
}

describe('stage trace', () => {
  it('medianOf: odd, even and empty inputs, input untouched', () => {
    const xs = [5, 1, 3];
    assert.equal(medianOf(xs), 3);
    assert.deepEqual(xs, [5, 1, 3]);
    assert.equal(medianOf([4, 1, 3, 2]), 2.5);
    assert.ok(Number.isNaN(medianOf([])));
  });

  it('stageDurationsUs: time since the closest earlier set stamp; unset stages count 0', () => {
    const row = [1000, Number.NaN, 4000, 4500];
    assert.deepEqual(stageDurationsUs(row), { stagesUs: [0, 0, 3, 0.5], totalUs: 3.5 });
    assert.deepEqual(stageDurationsUs([Number.NaN, Number.NaN]), { stagesUs: [0, 0], totalUs: 0 });
  });

  it('summarises per-stage medians, the statistics span and the per-request non-compute time', () => {
    const rec = new StageTraceRecorder(8);
    rec.record(stamps(0, 1000));
    rec.record(stamps(0, 3000));
    rec.record(stamps(0, 2000, ['bodyRead']));
    const s = rec.summary();
    assert.equal(s.count, 3);
    assert.deepEqual(
      s.stages.map((x) => x.stage),
      [...STAGES],
    );
    assert.equal(s.stages[0]?.medianUs, 0);
    // decoded: 1 µs after bodyRead, 3 µs, and 2 µs after received where bodyRead is unset.
    assert.equal(s.stages.find((x) => x.stage === 'decoded')?.medianUs, 2);
    assert.equal(s.stages.find((x) => x.stage === 'bodyRead')?.medianUs, 1);
    // Totals: 14 × 1 µs, 14 × 3 µs, and 13 × 2 µs (one stage unset): the median is the last.
    assert.equal(STAGES.length, 15);
    assert.equal(s.totalMedianUs, 26);
    const span = STAGES.indexOf('completed') - STAGES.indexOf('decoded');
    assert.equal(s.statisticsSpanMedianUs, span * 2);
    // Non-compute = the statistics span minus the one runStart → runEnd step.
    assert.equal(s.nonComputeMedianUs, (span - 1) * 2);
  });

  it('keeps the last `capacity` requests, forgets them on reset, and stamps nothing while paused', () => {
    const rec = new StageTraceRecorder(2);
    for (const step of [1000, 2000, 3000]) rec.record(stamps(0, step));
    assert.equal(rec.count(), 2);
    assert.equal(rec.summary().stages[1]?.medianUs, 2.5);
    rec.reset();
    assert.equal(rec.count(), 0);
    assert.equal(rec.summary().count, 0);
    rec.enabled = false;
    assert.equal(rec.begin(5), undefined);
    rec.enabled = true;
    const s = rec.begin(5);
    assert.ok(s);
    assert.equal(s.get('received'), 5);
    assert.ok(Number.isNaN(s.get('written')));
  });
});
