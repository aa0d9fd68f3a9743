/**
 * Noisy measurements on the known surface: one lucky window (a throughput spike on a config's first
 * measurement) must not win the search. Brute force's best of many noisy windows is biased upwards (the
 * maximum of noise), and a spike on the climb path leaves quick search on a false summit; re-measuring the
 * leaders (confirmTop) fixes both.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type Constraint, parseConstraint } from '../../../src/analyze/constraints.ts';
import { type Objective, parseObjective } from '../../../src/analyze/objectives.ts';
import { runSearch, type SearchOptions } from '../../../src/analyze/search.ts';
import {
  type BaseSettings,
  type Candidate,
  candidateKey,
  enumerateSpace,
  resolveSearchSpace,
  type SearchSpaceSpec,
} from '../../../src/analyze/search-space.ts';
import type { LevelSample, LoadPoint } from '../../../src/analyze/trial.ts';
import { CONCURRENCY, figuresAt, type SurfaceMeasurer, surfaceMeasurer } from './surface.ts';

const BASE: BaseSettings = {
  maxBatchSize: 8,
  dynamicBatching: false,
  maxQueueDelayUs: 0,
  preferredBatchSize: [],
  instanceCount: 1,
  instanceKind: 'KIND_CPU',
};
const SPEC: SearchSpaceSpec = {
  maxBatchSize: [1, 2, 4, 8, 16],
  dynamicBatching: [false, true],
  maxQueueDelayUs: [0, 500, 2000],
  instanceCount: [1, 2, 3, 4],
};
const SPACE = resolveSearchSpace(SPEC, BASE);

function ok<T>(r: { value: T } | { error: string }): T {
  if ('error' in r) throw new Error(r.error);
  return r.value;
}
const throughput: Objective[] = [ok(parseObjective('throughput'))];
const LIMIT: Constraint[] = [ok(parseConstraint('p95_latency<=20ms'))];

/** The surface, except that the first measurement of each level of `lucky` reports `factor` × throughput. */
function spiked(lucky: string, factor: number): SurfaceMeasurer {
  const inner = surfaceMeasurer();
  const seen = new Set<string>();
  return {
    ...inner,
    async measure(c: Candidate, load: LoadPoint): Promise<LevelSample> {
      const sample = await inner.measure(c, load);
      const key = candidateKey(c);
      const id = `${key}@${load.value}`;
      if (key !== lucky || seen.has(id)) return sample;
      seen.add(id);
      return {
        ...sample,
        figures: { ...sample.figures, throughput: (sample.figures.throughput as number) * factor },
      };
    },
  };
}

function options(mode: 'brute' | 'quick', measurer: SurfaceMeasurer, confirmTop: number): SearchOptions {
  let t = 0;
  return {
    space: SPACE,
    mode,
    loads: CONCURRENCY,
    objectives: throughput,
    constraints: LIMIT,
    saturationGain: 0.05,
    clientBatchSize: 1,
    confirmTop,
    measurer,
    nowMs: () => (t += 10),
  };
}

/** The true best throughput within 20 ms p95, and each config's true best, from the closed form. */
function truth(): { best: number; of: (key: string) => number } {
  const byKey = new Map<string, number>();
  for (const c of enumerateSpace(SPACE).candidates) {
    let best = 0;
    for (const load of CONCURRENCY) {
      const f = figuresAt(c, load.value);
      if ((f.p95_latency as number) <= 20_000) best = Math.max(best, f.throughput as number);
    }
    byKey.set(candidateKey(c), best);
  }
  return { best: Math.max(...byKey.values()), of: (key) => byKey.get(key) ?? 0 };
}

const LUCKY_START = 'max_batch_size=1 dynamic_batching=on max_queue_delay_us=0 instances=1xCPU';
const LUCKY_MIDDLE = 'max_batch_size=8 dynamic_batching=on max_queue_delay_us=0 instances=3xCPU';

describe('re-measuring the leaders (confirmTop)', () => {
  it('brute force: a config with one lucky window wins without re-measuring and loses with it', async () => {
    const t = truth();
    assert.ok(t.of(LUCKY_MIDDLE) < 0.5 * t.best);
    const fooled = await runSearch(options('brute', spiked(LUCKY_MIDDLE, 2.5), 0));
    assert.equal(fooled.ranked[0]!.trial.key, LUCKY_MIDDLE);
    const confirmed = await runSearch(options('brute', spiked(LUCKY_MIDDLE, 2.5), 2));
    const top = confirmed.ranked[0]!;
    assert.equal(t.of(top.trial.key), t.best);
    // The winner's figure is the mean of two measurements of its best level, and says so.
    assert.equal(top.level!.samples, 2);
    assert.equal(top.trial.confirmations!.length, 1);
    const lucky = confirmed.trials.find((x) => x.key === LUCKY_MIDDLE)!;
    assert.equal(lucky.confirmations!.length, 1);
    // Only re-measures were added: as many as configs were confirmed.
    const confirmedConfigs = confirmed.trials.filter((x) => x.confirmations).length;
    assert.equal(confirmed.measurements, fooled.measurements + confirmedConfigs);
    assert.ok(confirmedConfigs <= 2 * 3);
  });

  it('quick search: a lucky window at the start no longer ends the climb there', async () => {
    const t = truth();
    const brute = await runSearch(options('brute', surfaceMeasurer(), 2));
    const fooled = await runSearch(options('quick', spiked(LUCKY_START, 2), 0));
    assert.equal(fooled.ranked[0]!.trial.key, LUCKY_START);
    const measurer = spiked(LUCKY_START, 2);
    const confirmed = await runSearch(options('quick', measurer, 2));
    const q = t.of(confirmed.ranked[0]!.trial.key);
    assert.ok(q >= 0.95 * t.best, `quick found ${q}, best ${t.best}`);
    assert.ok(
      confirmed.measurements <= 0.4 * brute.measurements,
      `${confirmed.measurements} vs brute's ${brute.measurements}`,
    );
    // The start was re-measured (it led after the first climb) and the climb went on from its neighbours.
    assert.ok(confirmed.trials.find((x) => x.key === LUCKY_START)!.confirmations);
  });

  it('without noise the winner is the same, and the leader is re-measured once', async () => {
    for (const mode of ['brute', 'quick'] as const) {
      const plain = await runSearch(options(mode, surfaceMeasurer(), 0));
      const confirmed = await runSearch(options(mode, surfaceMeasurer(), 2));
      assert.equal(confirmed.ranked[0]!.trial.key, plain.ranked[0]!.trial.key, mode);
      assert.equal(confirmed.ranked[0]!.trial.confirmations?.length, 1, mode);
      assert.ok(confirmed.measurements - plain.measurements <= 2, mode);
    }
  });

  it('when every re-measured leader loses, the next leader is re-measured alone before the search settles', async () => {
    const t = truth();
    // Five weak configs whose first window at each level reads 1.6× the true best (a little less each): two rounds of
    // the top 2 re-measure four of them; the fifth then leads on one window, and only a leader-alone round
    // takes it down.
    const weak = enumerateSpace(SPACE)
      .candidates.map((c) => candidateKey(c))
      .filter((key) => t.of(key) > 0 && t.of(key) < 0.45 * t.best)
      .slice(0, 5);
    assert.equal(weak.length, 5);
    const inner = surfaceMeasurer();
    const seen = new Set<string>();
    const measurer: SurfaceMeasurer = {
      ...inner,
      async measure(c: Candidate, load: LoadPoint): Promise<LevelSample> {
        const sample = await inner.measure(c, load);
        const rank = weak.indexOf(candidateKey(c));
        const id = `${candidateKey(c)}@${load.value}`;
        if (rank < 0 || seen.has(id)) return sample;
        seen.add(id);
        const factor = (1.6 - rank * 0.05) * (t.best / (sample.figures.throughput as number));
        return {
          ...sample,
          figures: { ...sample.figures, throughput: (sample.figures.throughput as number) * factor },
        };
      },
    };
    const result = await runSearch(options('brute', measurer, 2));
    const top = result.ranked[0]!;
    assert.ok(top.trial.confirmations?.length, 'the winner was re-measured');
    assert.equal(t.of(top.trial.key), t.best);
    assert.ok(
      result.trials.find((x) => x.key === weak[4])!.confirmations,
      'the fifth lucky config was re-measured in a leader-alone round',
    );
  });

  it('a resumed search keeps the re-measures it had and does not repeat them', async () => {
    const first = await runSearch(options('brute', surfaceMeasurer(), 2));
    const again = surfaceMeasurer();
    const resumed = await runSearch({ ...options('brute', again, 2), previous: first.trials });
    assert.equal(again.measured.length, 0);
    assert.equal(resumed.ranked[0]!.trial.key, first.ranked[0]!.trial.key);
    assert.equal(resumed.ranked[0]!.level!.samples, 2);
  });

  it('a re-measure that fails keeps the first figure and the search ends', async () => {
    let calls = 0;
    const inner = surfaceMeasurer();
    const total = (await runSearch(options('brute', surfaceMeasurer(), 0))).measurements;
    const failing: SurfaceMeasurer = {
      ...inner,
      async measure(c, load) {
        calls++;
        if (calls > total) throw new Error('server gone');
        return inner.measure(c, load);
      },
    };
    const result = await runSearch(options('brute', failing, 2));
    const top = result.ranked[0]!;
    assert.ok(top.feasible);
    assert.match(top.trial.confirmations![0]!.status, /confirmation failed: server gone/);
    assert.equal(top.level!.samples, undefined);
  });
});
