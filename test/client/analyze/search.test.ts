import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { type Constraint, parseConstraint } from '../../../src/analyze/constraints.ts';
import { type Objective, parseObjective } from '../../../src/analyze/objectives.ts';
import { paretoFrontier } from '../../../src/analyze/ranking.ts';
import { etaMs, runSearch, type SearchOptions } from '../../../src/analyze/search.ts';
import {
  type BaseSettings,
  candidateKey,
  enumerateSpace,
  resolveSearchSpace,
  type SearchSpaceSpec,
} from '../../../src/analyze/search-space.ts';
import { levelStopReason } from '../../../src/analyze/stop-early.ts';
import { CONCURRENCY, capacityOf, figuresAt, surfaceMeasurer } from './surface.ts';

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

function ok<T>(r: { value: T } | { error: string }): T {
  if ('error' in r) throw new Error(r.error);
  return r.value;
}
const throughput: Objective[] = [ok(parseObjective('throughput'))];
const latency = (text: string): Constraint[] => [ok(parseConstraint(text))];

function options(
  mode: 'brute' | 'quick',
  constraints: Constraint[],
  extra: Partial<SearchOptions> = {},
): SearchOptions {
  let t = 0;
  return {
    space: resolveSearchSpace(SPEC, BASE),
    mode,
    loads: CONCURRENCY,
    objectives: throughput,
    constraints,
    saturationGain: 0.05,
    clientBatchSize: 1,
    measurer: surfaceMeasurer(),
    nowMs: () => (t += 10),
    ...extra,
  };
}

/** The best throughput any config reaches within the latency limit, from the surface's closed form. */
function bestPossible(limitUs: number): number {
  const { candidates } = enumerateSpace(resolveSearchSpace(SPEC, BASE));
  let best = 0;
  for (const c of candidates) {
    for (const load of CONCURRENCY) {
      const f = figuresAt(c, load.value);
      if ((f.p95_latency as number) <= limitUs) best = Math.max(best, f.throughput as number);
    }
  }
  return best;
}

describe('runSearch on a known surface', () => {
  it('brute force finds the best config and honours the latency constraint', async () => {
    const result = await runSearch(options('brute', latency('p95_latency<=20ms')));
    const top = result.ranked[0]!;
    assert.ok(top.feasible);
    assert.equal(top.level!.figures.throughput, bestPossible(20_000));
    assert.ok((top.level!.figures.p95_latency as number) <= 20_000);
    assert.equal(result.trials.length, result.spaceConfigs);
    // Unconstrained, the top config is the one with the largest capacity.
    const free = await runSearch(options('brute', []));
    const maxCapacity = Math.max(
      ...enumerateSpace(resolveSearchSpace(SPEC, BASE)).candidates.map(capacityOf),
    );
    assert.equal(free.ranked[0]!.level!.figures.throughput, maxCapacity);
  });
  it('a tight constraint flips the winner to a config with less queue delay', async () => {
    const loose = await runSearch(options('brute', latency('p95_latency<=50ms')));
    const tight = await runSearch(options('brute', latency('p95_latency<=3ms')));
    assert.ok(loose.ranked[0]!.trial.candidate.maxQueueDelayUs > 0);
    assert.equal(tight.ranked[0]!.trial.candidate.maxQueueDelayUs, 0);
    assert.ok((tight.ranked[0]!.level!.figures.p95_latency as number) <= 3000);
    assert.equal(tight.ranked[0]!.level!.figures.throughput, bestPossible(3000));
  });
  it('quick search reaches brute force best within 5 % in at most 40 % of its measurements', async () => {
    for (const limit of ['p95_latency<=20ms', 'p95_latency<=50ms', 'p95_latency<=5ms']) {
      const brute = await runSearch(options('brute', latency(limit)));
      const quick = await runSearch(options('quick', latency(limit)));
      const b = brute.ranked[0]!.level!.figures.throughput as number;
      const q = quick.ranked[0]!.level!.figures.throughput as number;
      assert.ok(q >= 0.95 * b, `${limit}: quick ${q} vs brute ${b}`);
      assert.ok(
        quick.measurements <= 0.4 * brute.measurements,
        `${limit}: ${quick.measurements} vs ${brute.measurements}`,
      );
    }
  });
  it('stops a config early at the first level breaking a latency bound, and never measures it again', async () => {
    const measurer = surfaceMeasurer();
    await runSearch(options('brute', latency('p95_latency<=2ms'), { measurer }));
    const perConfig = new Map<string, number[]>();
    for (const m of measurer.measured) perConfig.set(m.key, [...(perConfig.get(m.key) ?? []), m.load.value]);
    for (const [key, values] of perConfig) {
      const c = enumerateSpace(resolveSearchSpace(SPEC, BASE)).candidates.find(
        (x) => candidateKey(x) === key,
      )!;
      const firstBreak = values.findIndex((v) => (figuresAt(c, v).p95_latency as number) > 2000);
      if (firstBreak >= 0)
        assert.equal(firstBreak, values.length - 1, `${key} went on after breaking: ${values}`);
    }
  });
  it('a config the server refuses is recorded with its message, and the search moves on', async () => {
    const measurer = surfaceMeasurer((c) => c.instanceCount === 4);
    const result = await runSearch(options('brute', [], { measurer }));
    const refused = result.trials.filter((t) => t.outcome === 'load_failed');
    assert.ok(refused.length > 0);
    assert.ok(refused.every((t) => /refused/.test(t.error ?? '') && t.levels.length === 0));
    assert.ok(result.ranked[0]!.feasible && result.ranked[0]!.trial.candidate.instanceCount === 3);
    assert.ok(result.ranked.slice(-refused.length).every((s) => s.trial.outcome === 'load_failed'));
  });
  it('quick search climbs past a refused start', async () => {
    const measurer = surfaceMeasurer((c) => c.maxBatchSize === 1 && c.instanceCount === 1);
    const result = await runSearch(options('quick', latency('p95_latency<=20ms'), { measurer }));
    assert.equal(result.trials[0]!.outcome, 'load_failed');
    assert.ok(result.ranked[0]!.feasible);
  });
  it('no config meeting the constraints: none is feasible and the closest ranks first', async () => {
    const result = await runSearch(options('brute', latency('p95_latency<=100us')));
    assert.ok(result.ranked.every((s) => !s.feasible));
    assert.ok(result.ranked[0]!.violation <= result.ranked[1]!.violation);
    assert.match(result.ranked[0]!.reason ?? '', /p95_latency .* breaks <= 100 us/);
  });
  it('an interrupted search returns what it measured, and a resume measures only the rest', async () => {
    const controller = new AbortController();
    const first = surfaceMeasurer();
    let levels = 0;
    const stopping = {
      ...first,
      measure: async (...a: Parameters<typeof first.measure>) => {
        if (++levels === 12) controller.abort();
        return first.measure(...a);
      },
    };
    const partial = await runSearch(options('brute', [], { measurer: stopping, signal: controller.signal }));
    assert.ok(partial.interrupted);
    assert.equal(partial.stoppedBy, 'interrupted');
    assert.equal(partial.trials.at(-1)!.outcome, 'interrupted');
    const done = partial.trials.filter((t) => t.outcome === 'measured').length;
    const second = surfaceMeasurer();
    const resumed = await runSearch(options('brute', [], { measurer: second, previous: partial.trials }));
    assert.equal(resumed.reused, done);
    assert.equal(resumed.trials.length, resumed.spaceConfigs);
    assert.equal(new Set(second.applied).size, resumed.spaceConfigs - done);
    const full = await runSearch(options('brute', []));
    assert.equal(
      candidateKey(resumed.ranked[0]!.trial.candidate),
      candidateKey(full.ranked[0]!.trial.candidate),
    );
  });
  it('--max-configs caps the configs tried', async () => {
    const result = await runSearch(options('brute', [], { maxConfigs: 3 }));
    assert.equal(result.trials.length, 3);
    assert.match(result.stoppedBy ?? '', /--max-configs 3/);
  });
  it('gives up after three configs in a row fail to measure', async () => {
    const measurer = {
      ...surfaceMeasurer(),
      measure: async () => {
        throw new Error('connect ECONNREFUSED');
      },
    };
    const result = await runSearch(options('brute', [], { measurer }));
    assert.equal(result.trials.length, 3);
    assert.match(result.stoppedBy ?? '', /3 configs in a row failed/);
    assert.ok(result.trials.every((t) => t.outcome === 'error' && /ECONNREFUSED/.test(t.error ?? '')));
  });
});

describe('levelStopReason', () => {
  const level = (value: number, throughput: number, p95: number, status = 'stable') => ({
    mode: 'concurrency' as const,
    value,
    status,
    figures: { throughput, p95_latency: p95 },
  });
  it('stops on a failed level, a broken latency bound and saturation; goes on otherwise', () => {
    const c = latency('p95_latency<=10ms');
    assert.equal(levelStopReason([level(1, 10, 1000)], c, 0.05), undefined);
    assert.match(levelStopReason([level(1, 10, 1000, 'no_data')], c, 0.05)!, /level failed: no_data/);
    assert.match(
      levelStopReason([level(1, 10, 11_000)], c, 0.05)!,
      /constraint: p95_latency 11.00 ms breaks/,
    );
    assert.match(levelStopReason([level(1, 100, 1000), level(2, 104, 1000)], c, 0.05)!, /saturated/);
    assert.equal(levelStopReason([level(1, 100, 1000), level(2, 104, 1000)], c, 0), undefined);
  });
});

describe('paretoFrontier and eta', () => {
  it('property: no frontier point is dominated, every other point is dominated by one', () => {
    const point = fc.record({
      throughputPerSec: fc.integer({ min: 0, max: 50 }),
      latencyUs: fc.integer({ min: 1, max: 50 }),
    });
    fc.assert(
      fc.property(fc.array(point, { maxLength: 30 }), (points) => {
        const frontier = paretoFrontier(points);
        const dominates = (a: (typeof points)[0], b: (typeof points)[0]) =>
          a.throughputPerSec >= b.throughputPerSec &&
          a.latencyUs <= b.latencyUs &&
          (a.throughputPerSec > b.throughputPerSec || a.latencyUs < b.latencyUs);
        for (const f of frontier) assert.ok(!points.some((p) => dominates(p, f)));
        for (const p of points) {
          if (!frontier.includes(p))
            assert.ok(
              frontier.some(
                (f) =>
                  dominates(f, p) ||
                  (f.throughputPerSec === p.throughputPerSec && f.latencyUs === p.latencyUs),
              ),
            );
        }
        for (let i = 1; i < frontier.length; i++)
          assert.ok(frontier[i]!.throughputPerSec > frontier[i - 1]!.throughputPerSec);
      }),
    );
  });
  it('eta is the mean trial time times the trials left', () => {
    assert.equal(etaMs(0, 0, 5), undefined);
    assert.equal(etaMs(2, 1000, 3), 1500);
  });
});
