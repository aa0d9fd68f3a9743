/**
 * The profiler's --request-count window edges, its per-request trace (for --profile-export-file) and the
 * statistics of an ensemble's composing models, on a FakeClock.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RequestLogBudget } from '../../../src/measure/request-log.ts';
import type { ComposingModel } from '../../../src/measure/server-stats.ts';
import { type ProfileDeps, runProfile } from '../../../src/profile/profiler.ts';
import type { ProfileSettings } from '../../../src/profile/settings.ts';
import { FakeClock } from '../../../src/protocol/clock.ts';
import type { ModelStatsSnapshot } from '../../../src/transport/server-api.ts';
import { driveUntil, FakeClient, fakeRequests } from '../load/fake-client.ts';
import { concurrency, FakeStatsApi, settingsWith } from './helpers.ts';

const MS = 1_000_000;

/** Runs the profiler on a FakeClock: every request takes `latencyNs`, and each statistics call `statsNs`. */
async function profile(
  settings: ProfileSettings,
  options: { latencyNs: number; statsNs?: number; extra?: Partial<ProfileDeps> },
) {
  const clock = new FakeClock();
  let completed = 0;
  const client = new FakeClient(clock, () => {
    completed++;
    return { latencyNs: options.latencyNs };
  });
  const api = new FakeStatsApi(() => completed);
  const slowStats = Object.assign(Object.create(api) as FakeStatsApi, {
    modelStatistics: async (name: string, version: string) => {
      const answer = await api.modelStatistics();
      await new Promise<void>((resolve) => clock.setTimer(resolve, options.statsNs ?? 0));
      void name;
      void version;
      return answer;
    },
  });
  const deps: ProfileDeps = {
    clock,
    client,
    requests: fakeRequests(client, 2),
    serverApi: slowStats,
    statsAvailable: true,
    ...options.extra,
  };
  const outcome = await driveUntil(clock, runProfile(settings, deps), 0.5 * MS, 20_000);
  return { outcome, client };
}

describe('--request-count windows', () => {
  it('with a warm-up, completions while the statistics are fetched still count: the window fills', async () => {
    // Statistics take 5 ms, requests 1 ms: before the fix those completions were discarded and the capped
    // window waited forever (driveUntil would throw "did not settle").
    const { outcome, client } = await profile(
      settingsWith(concurrency(4), { warmupRequestCount: 8, requestCount: 40 }),
      { latencyNs: 1 * MS, statsNs: 5 * MS },
    );
    const level = outcome.levels[0]!;
    assert.equal(level.status, 'single');
    assert.equal(level.merged!.requestCount, 40);
    assert.equal(client.calls, 48, 'warm-up + count sends, no more');
  });

  it('without a warm-up, every send and completion is in the window and the server delta equals it', async () => {
    const { outcome } = await profile(settingsWith(concurrency(4), { requestCount: 40 }), {
      latencyNs: 1 * MS,
      statsNs: 3 * MS,
    });
    const m = outcome.levels[0]!.merged!;
    assert.equal(m.requestCount, 40);
    assert.equal(m.sentCount, 40);
    assert.equal(m.server!.executionCount, 40, 'statistics taken before the first send');
  });
});

describe('per-request trace (--profile-export-file)', () => {
  it('logs each window’s requests, index-aligned with levels and windows, only when asked', async () => {
    const budget = new RequestLogBudget();
    const { outcome } = await profile(settingsWith(concurrency(1, 2), { windowMs: 20, maxTrials: 3 }), {
      latencyNs: 1 * MS,
      extra: { recordRequests: budget },
    });
    const trace = outcome.requestTrace!;
    assert.equal(trace.levels.length, outcome.levels.length);
    for (const [i, level] of outcome.levels.entries()) {
      const traced = trace.levels[i]!;
      assert.equal(traced.windows.length, level.windows.length);
      for (const [j, w] of level.windows.entries()) {
        const times = traced.windows[j]!;
        assert.equal(times.sendNs.length, w.requestCount);
        assert.equal(times.omitted, 0);
        for (let k = 0; k < times.sendNs.length; k++) {
          assert.equal(times.responseNs[k]! - times.sendNs[k]!, 1 * MS);
        }
      }
    }
    const plain = await profile(settingsWith(concurrency(1), { windowMs: 20, maxTrials: 3 }), {
      latencyNs: 1 * MS,
    });
    assert.equal(plain.outcome.requestTrace, undefined);
  });

  it('stops logging at the budget, counts the rest and warns', async () => {
    const budget = new RequestLogBudget(10);
    const { outcome } = await profile(settingsWith(concurrency(1), { windowMs: 20, maxTrials: 3 }), {
      latencyNs: 1 * MS,
      extra: { recordRequests: budget },
    });
    const windows = outcome.requestTrace!.levels[0]!.windows;
    const logged = windows.reduce((s, w) => s + w.sendNs.length, 0);
    const omitted = windows.reduce((s, w) => s + w.omitted, 0);
    assert.equal(logged, 10);
    const measured = outcome.levels[0]!.windows.reduce((s, w) => s + w.requestCount, 0);
    assert.equal(logged + omitted, measured, 'every measured request is logged or counted as omitted');
    assert.ok(outcome.warnings.some((w) => /lists the first 10 measured requests; \d+ more/.test(w)));
  });
});

describe('ensemble statistics in the profiler', () => {
  const snap = (name: string, n: number): ModelStatsSnapshot => ({
    name,
    version: '1',
    inferenceCount: n,
    executionCount: n,
    success: { count: n, ns: n * 1_000_000 },
    fail: { count: 0, ns: 0 },
    queue: { count: n, ns: n * 100_000 },
    computeInput: { count: n, ns: 0 },
    computeInfer: { count: n, ns: n * 500_000 },
    computeOutput: { count: n, ns: 0 },
    cacheHit: { count: 0, ns: 0 },
    cacheMiss: { count: 0, ns: 0 },
  });

  it('asks for every model’s statistics and attaches the composing models’ deltas to each window', async () => {
    const clock = new FakeClock();
    let completed = 0;
    const client = new FakeClient(clock, () => {
      completed++;
      return { latencyNs: 1 * MS };
    });
    const asked: string[] = [];
    const api = new FakeStatsApi(() => completed);
    api.modelStatistics = async (name?: string) => {
      asked.push(name ?? '');
      return [snap('m', completed), snap('pre', completed), snap('net', completed)];
    };
    const composing: ComposingModel[] = [
      { name: 'pre', version: '', composing: [] },
      { name: 'net', version: '1', composing: [] },
    ];
    const outcome = await driveUntil(
      clock,
      runProfile(settingsWith(concurrency(1), { windowMs: 20 }), {
        clock,
        client,
        requests: fakeRequests(client, 1),
        serverApi: api,
        statsAvailable: true,
        composingModels: composing,
      }),
      0.5 * MS,
    );
    assert.ok(
      asked.every((name) => name === ''),
      'all-model statistics',
    );
    for (const w of outcome.levels[0]!.windows) {
      assert.deepEqual(
        w.server!.composing.map((c) => [c.model, c.success.count]),
        [
          ['pre', w.server!.success.count],
          ['net', w.server!.success.count],
        ],
      );
    }
  });
});
