import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type Constraint, parseConstraint } from '../../../src/analyze/constraints.ts';
import {
  nextSweepStep,
  type SweptLevel,
  walkDownAfterRemeasure,
  warmStartIndex,
} from '../../../src/analyze/level-sweep.ts';
import { type Objective, parseObjective } from '../../../src/analyze/objectives.ts';
import { type ConfigScore, rankTrials, scoreTrial } from '../../../src/analyze/ranking.ts';
import { runSearch } from '../../../src/analyze/search.ts';
import { candidateKey, resolveSearchSpace } from '../../../src/analyze/search-space.ts';
import type { ConfigTrial, LevelSample, LoadPoint } from '../../../src/analyze/trial.ts';
import { CONCURRENCY, surfaceMeasurer } from './surface.ts';

function ok<T>(r: { value: T } | { error: string }): T {
  if ('error' in r) throw new Error(r.error);
  return r.value;
}
const throughput: Objective[] = [ok(parseObjective('throughput'))];
const p95Under10ms: Constraint[] = [ok(parseConstraint('p95_latency<=10ms'))];

/** A level at CONCURRENCY[index] with this throughput and p95 (ms). */
function at(index: number, inferPerS: number, p95Ms: number, status = 'stable'): SweptLevel {
  const load = CONCURRENCY[index] as { mode: 'concurrency'; value: number };
  const sample: LevelSample = {
    ...load,
    status,
    figures: { throughput: inferPerS, p95_latency: p95Ms * 1000 },
  };
  return { index, sample };
}

/** Runs the sweep against a table of levels (index → [infer/s, p95 ms]) and returns the indices measured. */
function sweep(start: number, table: Record<number, [number, number]>): { measured: number[]; stop: string } {
  const swept: SweptLevel[] = [];
  for (;;) {
    const step = nextSweepStep(swept, start, CONCURRENCY.length, p95Under10ms, 0.05);
    if ('stop' in step) return { measured: swept.map((s) => s.index), stop: step.stop };
    const [t, p95] = table[step.measure] ?? [0, 0];
    swept.push(at(step.measure, t, p95));
  }
}

const TABLE: Record<number, [number, number]> = {
  0: [100, 1],
  1: [200, 2],
  2: [400, 4],
  3: [600, 8],
  4: [650, 12],
  5: [660, 25],
};

describe('level sweep', () => {
  it('from the lightest load climbs until the stop-early rule (brute force, as before the warm start)', () => {
    assert.deepEqual(sweep(0, TABLE), {
      measured: [0, 1, 2, 3, 4],
      stop: 'constraint: p95_latency 12.00 ms breaks <= 10.00 ms',
    });
  });

  it('a warm start measures from the leader level up and skips the light levels', () => {
    const r = sweep(2, TABLE);
    assert.deepEqual(r.measured, [2, 3, 4]);
  });

  it('a warm start that breaks the constraint walks down to the first level that meets it, then stops', () => {
    const r = sweep(5, TABLE);
    assert.deepEqual(r.measured, [5, 4, 3]);
    assert.equal(r.stop, 'below the start: first level meeting the constraints');
  });

  it('walking down stops at the lightest level when none meets the constraint', () => {
    const r = sweep(2, { 0: [10, 20], 1: [20, 30], 2: [30, 40] });
    assert.deepEqual(r.measured, [2, 1, 0]);
    assert.match(r.stop, /^constraint: p95_latency 20\.00 ms/);
  });

  it('a failed level on the way down ends the sweep', () => {
    const swept = [at(3, 600, 50), at(2, 0, 0, 'error: server gone')];
    assert.deepEqual(nextSweepStep(swept, 3, CONCURRENCY.length, p95Under10ms, 0.05), {
      stop: 'level failed: error: server gone',
    });
  });

  it('stops after the last level', () => {
    assert.deepEqual(sweep(4, { 4: [650, 5], 5: [900, 6] }), { measured: [4, 5], stop: 'all levels' });
  });

  it('starts at the leader best feasible level only for higher-is-better objectives', () => {
    const trial: ConfigTrial = {
      index: 1,
      key: 'k',
      candidate: {} as ConfigTrial['candidate'],
      outcome: 'measured',
      levels: [at(0, 100, 1).sample, at(1, 200, 2).sample, at(2, 400, 40).sample],
      elapsedMs: 0,
    };
    const leader: ConfigScore = scoreTrial(trial, throughput, p95Under10ms);
    assert.equal(warmStartIndex(CONCURRENCY, leader, throughput), 1);
    assert.equal(warmStartIndex(CONCURRENCY, leader, [ok(parseObjective('p95_latency'))]), 0);
    assert.equal(warmStartIndex(CONCURRENCY, undefined, throughput), 0);
    const infeasible = scoreTrial({ ...trial, levels: [at(0, 100, 50).sample] }, throughput, p95Under10ms);
    assert.equal(warmStartIndex(CONCURRENCY, infeasible, throughput), 0);
  });

  it('quick search warm-starts every config after the first at the leader level; brute never does', async () => {
    const constraints = [ok(parseConstraint('p95_latency<=100ms'))];
    const run = async (mode: 'brute' | 'quick') => {
      const measurer = surfaceMeasurer();
      let t = 0;
      const result = await runSearch({
        space: resolveSearchSpace(
          {
            maxBatchSize: [1, 4, 16],
            dynamicBatching: [true],
            maxQueueDelayUs: [0, 2000],
            instanceCount: [1, 2],
          },
          {
            maxBatchSize: 8,
            dynamicBatching: false,
            maxQueueDelayUs: 0,
            preferredBatchSize: [],
            instanceCount: 1,
            instanceKind: 'KIND_CPU',
          },
        ),
        mode,
        loads: CONCURRENCY,
        objectives: throughput,
        constraints,
        saturationGain: 0.05,
        clientBatchSize: 1,
        measurer,
        nowMs: () => (t += 10),
      });
      return { result, measurer };
    };
    const quick = await run('quick');
    const brute = await run('brute');
    const firstLoadOf = (measured: { key: string; load: { value: number } }[]) => {
      const first = new Map<string, number>();
      for (const m of measured) if (!first.has(m.key)) first.set(m.key, m.load.value);
      return [...first.values()];
    };
    const quickStarts = firstLoadOf(quick.measurer.measured);
    // Each config starts where the leader among the configs before it had its best feasible level.
    const expected = quick.result.trials.map((_, i) => {
      const leader = rankTrials(quick.result.trials.slice(0, i), throughput, constraints)[0];
      return leader?.feasible ? (leader.level?.value ?? 1) : 1;
    });
    assert.deepEqual(quickStarts, expected);
    assert.ok(
      quickStarts.some((c) => c > 1),
      `the leader moves off the lightest load in this space: ${quickStarts}`,
    );
    assert.ok(firstLoadOf(brute.measurer.measured).every((c) => c === 1));
    // Levels are recorded in load order whatever order they were measured in.
    for (const trial of quick.result.trials) {
      const values = trial.levels.map((l) => l.value);
      assert.deepEqual(
        values,
        [...values].sort((a, b) => a - b),
      );
    }
    assert.equal(quick.result.ranked[0]?.trial.key, brute.result.ranked[0]?.trial.key);
  });
});

describe('a re-measure that breaks the limit at a warm start', () => {
  const levels = (...rows: [number, number, number][]) => rows.map(([i, t, p]) => at(i, t, p).sample);

  it('walks down to the lighter levels the sweep skipped, and only then', () => {
    // Started at c=8 (index 3): the mean of two windows now breaks the limit there.
    assert.equal(walkDownAfterRemeasure(levels([3, 600, 14], [4, 620, 30]), CONCURRENCY, p95Under10ms), 2);
    // Walking on while the lightest measured level still breaks it.
    assert.equal(walkDownAfterRemeasure(levels([2, 500, 11], [3, 600, 14]), CONCURRENCY, p95Under10ms), 1);
    // A level meeting the limit exists: the config has its figure.
    assert.equal(
      walkDownAfterRemeasure(levels([2, 450, 6], [3, 600, 14]), CONCURRENCY, p95Under10ms),
      undefined,
    );
    // Swept from the lightest load (brute force, or a walk that reached it): nothing lighter to measure.
    assert.equal(walkDownAfterRemeasure(levels([0, 100, 12]), CONCURRENCY, p95Under10ms), undefined);
    // Failing only a limit that less load cannot fix (a throughput floor): lighter levels do not help.
    const floor = [ok(parseConstraint('throughput>=1000'))];
    assert.equal(walkDownAfterRemeasure(levels([3, 600, 4]), CONCURRENCY, floor), undefined);
  });

  it('quick search: a config whose lucky first window is taken back keeps its lighter level, and wins there', async () => {
    const loads: LoadPoint[] = CONCURRENCY.slice(0, 4);
    // A: max_batch_size 1, best within 10 ms at c=4 (300 infer/s). B: max_batch_size 4, truly 450 at c=2 within
    // the limit and 14 ms at c=4 — but its first window at c=4 (where the warm start puts it) reads 9.9 ms.
    const table: Record<string, Record<number, [number, number]>> = {
      a: { 1: [100, 2], 2: [180, 4], 4: [300, 8], 8: [320, 20] },
      b: { 1: [120, 3], 2: [450, 6], 4: [600, 14], 8: [620, 30] },
    };
    const seen = new Set<string>();
    const measured: string[] = [];
    const measurer = {
      async apply() {},
      async measure(c: ConfigTrial['candidate'], load: LoadPoint): Promise<LevelSample> {
        const name = c.maxBatchSize === 1 ? 'a' : 'b';
        const id = `${name}@${load.value}`;
        measured.push(id);
        const [t, p95Ms] = table[name]?.[load.value] ?? [0, 0];
        const lucky = id === 'b@4' && !seen.has(id);
        seen.add(id);
        return {
          ...load,
          status: 'stable',
          figures: { throughput: t, p95_latency: (lucky ? 9.9 : p95Ms) * 1000 },
        };
      },
    };
    const result = await runSearch({
      space: resolveSearchSpace(
        { maxBatchSize: [1, 4], dynamicBatching: [true], maxQueueDelayUs: [0] },
        {
          maxBatchSize: 1,
          dynamicBatching: true,
          maxQueueDelayUs: 0,
          preferredBatchSize: [],
          instanceCount: 1,
          instanceKind: 'KIND_CPU',
        },
      ),
      mode: 'quick',
      loads,
      objectives: throughput,
      constraints: p95Under10ms,
      saturationGain: 0.05,
      clientBatchSize: 1,
      confirmTop: 2,
      measurer,
      nowMs: () => 0,
    });
    const top = result.ranked[0]!;
    assert.equal(top.trial.candidate.maxBatchSize, 4);
    assert.equal(top.level?.value, 2);
    // B: warm start at c=4, then c=8; the re-measure at c=4 breaks the limit, so c=2 is measured (and later
    // re-measured as the new leader's level); c=1 never is.
    assert.deepEqual(
      measured.filter((m) => m.startsWith('b')),
      ['b@4', 'b@8', 'b@4', 'b@2', 'b@2'],
    );
    const b = result.trials.find((t) => t.key === candidateKey(top.trial.candidate))!;
    assert.deepEqual(
      b.levels.map((l) => l.value),
      [2, 4, 8],
    );
    assert.equal(result.measurements, measured.length);
  });
});
