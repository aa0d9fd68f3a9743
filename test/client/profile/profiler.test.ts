import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeFromCompressedBase64 } from 'hdr-histogram-js';
import { ExitCode } from '../../../src/errors.ts';
import type { MetricsSampler } from '../../../src/measure/metrics-sampler.ts';
import type { ProfileEvent } from '../../../src/profile/events.ts';
import { NO_VALID_REQUESTS, STABLE_FAILED } from '../../../src/profile/messages.ts';
import { type ProfileDeps, runProfile } from '../../../src/profile/profiler.ts';
import type { ProfileSettings } from '../../../src/profile/settings.ts';
import { FakeClock } from '../../../src/protocol/clock.ts';
import { driveUntil, type FakeBehaviour, FakeClient, fakeRequests } from '../load/fake-client.ts';
import { concurrency, FakeStatsApi, settingsWith } from './helpers.ts';

const MS = 1_000_000;

async function profile(
  settings: ProfileSettings,
  behaviour: (callIndex: number, inFlight: number, clock: FakeClock) => FakeBehaviour,
  extra: Partial<ProfileDeps> = {},
) {
  const clock = new FakeClock();
  const client = new FakeClient(clock, (i, n) => behaviour(i, n, clock));
  const events: ProfileEvent[] = [];
  const deps: ProfileDeps = {
    clock,
    client,
    requests: fakeRequests(client, 2),
    statsAvailable: false,
    onEvent: (e) => events.push(e),
    ...extra,
  };
  const outcome = await driveUntil(clock, runProfile(settings, deps), 1 * MS);
  return { outcome, events, client, clock };
}

describe('profiler', () => {
  it('measures a stable concurrency level: 3 windows merged, reported, events emitted', async () => {
    const { outcome, events, client } = await profile(settingsWith(concurrency(2)), () => ({
      latencyNs: 1 * MS,
    }));
    assert.equal(outcome.exitCode, ExitCode.Success);
    assert.equal(outcome.levels.length, 1);
    const level = outcome.levels[0]!;
    assert.equal(level.status, 'stable');
    assert.equal(level.reported, true);
    assert.equal(level.stopReason, 'stable');
    assert.equal(level.windows.length, 3);
    // The first window misses the completions due exactly at its start edge (198 vs 200 requests).
    assert.equal(level.spread!.latency, 1);
    assert.ok(level.spread!.throughput <= 1.011, `spread ${level.spread!.throughput}`);
    const merged = level.merged!;
    assert.equal(merged.durationNs, 300 * MS);
    assert.equal(
      merged.requestCount,
      level.windows.reduce((s, w) => s + w.requestCount, 0),
    );
    assert.equal(merged.requestCount, 598); // 2 in flight × 1 ms latency × 300 ms, less the first edge
    assert.ok(Math.abs(merged.throughputPerSec - 598 / 0.3) < 1e-6);
    assert.equal(level.stabilizingLatencyUs, 1000);
    assert.equal(decodeFromCompressedBase64(merged.latencyHistogram).totalCount, 598);
    assert.equal(client.maxInFlightSeen, 2);
    assert.deepEqual(
      events.map((e) => e.type),
      ['level_start', 'window_end', 'window_end', 'window_end', 'level_end'],
    );
    assert.equal(client.inFlight, 0, 'the load is drained at the end');
  });

  it('counts failed requests by kind and keeps going when the error rate is allowed', async () => {
    const { outcome } = await profile(
      settingsWith(concurrency(1, 2), {}, { errorRateThreshold: 0.2 }),
      (i) => (i % 10 === 0 ? { latencyNs: 1 * MS, ok: false, errorKind: 'http:503' } : { latencyNs: 1 * MS }),
    );
    assert.equal(outcome.exitCode, ExitCode.Success);
    assert.equal(outcome.levels.length, 2);
    for (const level of outcome.levels) {
      assert.equal(level.status, 'stable');
      assert.ok((level.merged!.errorsByKind['http:503'] ?? 0) > 0);
      assert.equal(level.merged!.errorCount, level.merged!.errorsByKind['http:503']);
      assert.equal(level.errorRateExceeded, false);
      assert.ok(level.errorRate! > 0.05 && level.errorRate! < 0.2);
    }
  });

  it('marks a level over the default error-rate threshold, warns by kind, and ends with exit 4', async () => {
    // 10 % of requests fail: above the default 5 %. The sweep still measures every level.
    const { outcome } = await profile(settingsWith(concurrency(1, 2)), (i) =>
      i % 10 === 0 ? { latencyNs: 1 * MS, ok: false, errorKind: 'timeout' } : { latencyNs: 1 * MS },
    );
    assert.equal(outcome.exitCode, ExitCode.ErrorsOverLimit);
    assert.equal(outcome.levels.length, 2);
    for (const level of outcome.levels) {
      assert.equal(level.errorRateExceeded, true);
      assert.ok(Math.abs(level.errorRate! - 0.1) < 0.02, `error rate ${level.errorRate}`);
    }
    assert.match(
      outcome.warnings.join('\n'),
      /concurrency 1: \d+ of \d+ requests failed \(\d+\.\d %, above the --error-rate-threshold of 5\.0 %\): timeout \d+/,
    );
  });

  it('aborts with exit 4 when a window exceeds --max-error-rate', async () => {
    const { outcome } = await profile(settingsWith(concurrency(1, 3), {}, { maxErrorRate: 0.1 }), (i) =>
      i % 2 === 0 ? { latencyNs: 1 * MS, ok: false, errorKind: 'timeout' } : { latencyNs: 1 * MS },
    );
    assert.equal(outcome.exitCode, ExitCode.ErrorsOverLimit);
    assert.equal(outcome.levels.length, 1, 'the sweep stops');
    const level = outcome.levels[0]!;
    assert.equal(level.status, 'errors_over_limit');
    assert.equal(level.reported, false);
    assert.equal(level.windows.length, 1);
    assert.match(
      outcome.warnings.join('\n'),
      /error rate 5\d\.\d\d% in window 1 at concurrency 1 .*max-error-rate of 10\.00% \(timeout: \d+\)/,
    );
  });

  it('first level unstable: exit 2 with perf_analyzer’s messages', async () => {
    // Latency alternates between 1 ms and 3 ms every 100 ms window: never stable.
    const { outcome } = await profile(settingsWith(concurrency(1, 4), { maxTrials: 4 }), (_i, _n, clock) => ({
      latencyNs: Math.floor(clock.nowNs() / (100 * MS)) % 2 === 0 ? 1 * MS : 3 * MS,
    }));
    assert.equal(outcome.exitCode, ExitCode.Unstable);
    assert.equal(outcome.levels.length, 1);
    const level = outcome.levels[0]!;
    assert.equal(level.status, 'unstable');
    assert.equal(level.reported, false);
    assert.equal(level.windows.length, 4);
    assert.equal(
      level.stabilizingLatencyUs,
      undefined,
      'perf_analyzer leaves it unset without a stable merge',
    );
    assert.ok(level.spread!.latency > 1.1);
    assert.deepEqual(outcome.warnings, [
      'Failed to obtain stable measurement within 4 measurement windows for concurrency 1. Please try to increase the --measurement-interval.',
      STABLE_FAILED,
    ]);
  });

  it('a later unstable level stops the sweep with exit 0', async () => {
    let target = 0;
    const { outcome } = await profile(
      settingsWith(concurrency(1, 4), { maxTrials: 4 }),
      (_i, _n, clock) => ({
        latencyNs: target === 1 ? 1 * MS : Math.floor(clock.nowNs() / (100 * MS)) % 2 === 0 ? 1 * MS : 3 * MS,
      }),
      {
        onEvent: (e) => {
          if (e.type === 'level_start') target = e.value;
        },
      },
    );
    assert.equal(outcome.exitCode, ExitCode.Success);
    assert.deepEqual(
      outcome.levels.map((l) => [l.value, l.status]),
      [
        [1, 'stable'],
        [2, 'unstable'],
      ],
    );
  });

  it('async mode accepts a level whose throughput alone is stable, with perf_analyzer’s warning', async () => {
    // Open loop at 1000 req/s: throughput is set by the schedule, latency alternates 1 ms / 3 ms per window.
    const rate = (asyncCalls: boolean) =>
      settingsWith(
        {
          mode: 'request_rate',
          range: { start: 1000, end: 1000, step: 1 },
          distribution: 'constant',
          seed: 1,
          maxInFlight: 0,
        },
        { maxTrials: 4 },
        { async: asyncCalls },
      );
    const alternating = (_i: number, _n: number, clock: FakeClock) => ({
      latencyNs: Math.floor(clock.nowNs() / (100 * MS)) % 2 === 0 ? 1 * MS : 3 * MS,
    });
    const relaxed = await profile(rate(true), alternating);
    assert.equal(relaxed.outcome.levels[0]!.status, 'stable');
    assert.equal(
      relaxed.outcome.levels[0]!.windows.length,
      4,
      'the full rule is tried until --max-trials first',
    );
    assert.ok(
      relaxed.outcome.warnings.includes(
        'Request latency is not stabilizing. Please try lowering the request rate.',
      ),
    );
    assert.equal(relaxed.outcome.exitCode, ExitCode.Success);
    const strict = await profile(rate(false), alternating);
    assert.equal(strict.outcome.levels[0]!.status, 'unstable');
    assert.deepEqual(strict.outcome.warnings, [STABLE_FAILED]);
    assert.equal(strict.outcome.exitCode, ExitCode.Unstable);
  });

  it('SIGINT: the current window finishes, the level is interrupted, earlier levels are kept', async () => {
    const ac = new AbortController();
    const { outcome } = await profile(settingsWith(concurrency(1, 5)), () => ({ latencyNs: 1 * MS }), {
      signal: ac.signal,
      onEvent: (e) => {
        if (e.type === 'level_start' && e.value === 2) ac.abort();
      },
    });
    assert.equal(outcome.exitCode, ExitCode.Success);
    assert.deepEqual(
      outcome.levels.map((l) => [l.value, l.status, l.reported]),
      [
        [1, 'stable', true],
        [2, 'interrupted', false],
      ],
    );
    assert.equal(outcome.levels[1]!.windows.length, 1);
    assert.equal(outcome.levels[1]!.stopReason, 'sigint');
  });

  it('SIGINT during the first level gives exit 130', async () => {
    const ac = new AbortController();
    const { outcome } = await profile(settingsWith(concurrency(1)), () => ({ latencyNs: 1 * MS }), {
      signal: ac.signal,
      onEvent: (e) => {
        if (e.type === 'window_end' && e.windowIndex === 1) ac.abort();
      },
    });
    assert.equal(outcome.exitCode, ExitCode.Interrupted);
    assert.equal(outcome.levels[0]!.status, 'interrupted');
    assert.equal(
      outcome.levels[0]!.windows.length,
      1,
      'the window in which the signal came is finished and kept',
    );
  });

  it('a window without a valid request: no_data, exit 5, perf_analyzer’s text', async () => {
    const { outcome } = await profile(settingsWith(concurrency(1), { maxTrials: 3 }), () => ({
      latencyNs: 10_000 * MS,
    }));
    assert.equal(outcome.exitCode, ExitCode.NoData);
    assert.equal(outcome.levels[0]!.status, 'no_data');
    assert.ok(outcome.warnings.includes(NO_VALID_REQUESTS));
  });

  it('binary search profiles levels in bisection order (latency grows with concurrency)', async () => {
    let target = 0;
    const { outcome } = await profile(
      settingsWith(
        concurrency(1, 16),
        { latencyThresholdMs: 5, warmupRequestCount: 20 },
        { search: 'binary' },
      ),
      () => ({ latencyNs: target * MS }),
      {
        onEvent: (e) => {
          if (e.type === 'level_start') target = e.value;
        },
      },
    );
    assert.deepEqual(
      outcome.levels.map((l) => l.value),
      [1, 16, 8, 4, 6, 5],
    );
    assert.deepEqual(
      outcome.levels.filter((l) => l.reported).map((l) => l.value),
      [1, 4],
    );
    const over = outcome.levels.find((l) => l.value === 5)!;
    assert.ok(['over_latency_limit', 'unstable'].includes(over.status));
    assert.equal(outcome.exitCode, ExitCode.Success);
  });

  it('latency limit after stabilising: not reported, perf_analyzer’s text with its trailing space, exit 0', async () => {
    const { outcome } = await profile(settingsWith(concurrency(1, 3), { latencyThresholdMs: 2 }), () => ({
      latencyNs: 2.5 * MS,
    }));
    // Window latencies already cross the limit, so the loop exits before stabilising → unstable, exit 2 (§3.4).
    assert.equal(outcome.levels[0]!.status, 'unstable');
    assert.equal(outcome.levels[0]!.stopReason, 'latency_limit');
    assert.equal(outcome.exitCode, ExitCode.Unstable);

    const single = await profile(
      settingsWith(concurrency(1, 3), { latencyThresholdMs: 2, singleMeasurement: true }),
      () => ({ latencyNs: 2.5 * MS }),
    );
    assert.equal(single.outcome.levels.length, 1);
    assert.equal(single.outcome.levels[0]!.status, 'over_latency_limit');
    assert.equal(single.outcome.levels[0]!.stabilizingLatencyUs, 2500);
    assert.ok(single.outcome.warnings.includes('Measured latency went over the set limit of 2 msec. '));
    assert.equal(single.outcome.exitCode, ExitCode.Success);
  });

  it('--request-count: exactly N requests in one window after the warm-up, status single', async () => {
    const { outcome, client } = await profile(
      settingsWith(concurrency(3), { requestCount: 50, warmupRequestCount: 6 }),
      () => ({ latencyNs: 1 * MS }),
    );
    const level = outcome.levels[0]!;
    assert.equal(level.status, 'single');
    assert.equal(level.reported, true);
    assert.equal(level.windows.length, 1);
    assert.equal(level.merged!.requestCount, 50);
    assert.equal(client.calls, 56);
  });

  it('fills per-window server deltas from statistics snapshots and sums them in the merge', async () => {
    let completed = 0;
    const api = new FakeStatsApi(() => completed);
    const { outcome } = await profile(
      settingsWith(concurrency(1)),
      () => {
        completed++;
        return { latencyNs: 1 * MS };
      },
      { serverApi: api, statsAvailable: true },
    );
    const level = outcome.levels[0]!;
    for (const w of level.windows) {
      assert.equal(w.server?.version, '1');
      assert.ok(Math.abs(w.server!.executionCount - 100) <= 1, `window execs ${w.server!.executionCount}`);
    }
    assert.equal(
      level.merged!.server!.executionCount,
      level.windows.reduce((s, w) => s + w.server!.executionCount, 0),
    );
    assert.equal(api.calls, 4, 'one snapshot at the level start and one per window edge');
  });

  it('starts and stops the metrics sampler per level and keeps its summary on the merge', async () => {
    const calls: string[] = [];
    const sampler: MetricsSampler = {
      start: () => calls.push('start'),
      stop: () => {
        calls.push('stop');
        return {
          gpuUtilization: { g: 0.5 },
          gpuPowerUsageW: {},
          gpuMemoryUsedBytes: {},
          gpuMemoryTotalBytes: {},
        };
      },
    };
    const { outcome } = await profile(settingsWith(concurrency(1, 2)), () => ({ latencyNs: 1 * MS }), {
      metricsSampler: sampler,
    });
    assert.deepEqual(calls, ['start', 'stop', 'start', 'stop']);
    assert.deepEqual(outcome.levels[1]!.merged!.metrics?.gpuUtilization, { g: 0.5 });
  });

  it('request-rate mode: open loop at the intended rate, latency from the intended time', async () => {
    const settings = settingsWith({
      mode: 'request_rate',
      range: { start: 500, end: 1000, step: 500 },
      distribution: 'constant',
      seed: 1,
      maxInFlight: 0,
    });
    const { outcome } = await profile(settings, () => ({ latencyNs: 2 * MS }));
    assert.deepEqual(
      outcome.levels.map((l) => [l.value, l.status]),
      [
        [500, 'stable'],
        [1000, 'stable'],
      ],
    );
    const m = outcome.levels[1]!.merged!;
    assert.ok(Math.abs(m.sendRatePerSec - 1000) <= 10, `send rate ${m.sendRatePerSec}`);
    assert.ok(Math.abs(m.throughputPerSec - 1000) <= 10);
    assert.equal(m.latency.meanUs, 2000);
    assert.equal(m.uncorrectedLatency?.meanUs, 2000);
    assert.equal(m.delayedCount, 0);
    assert.ok(Math.abs(m.generator.achievedRateRatio! - 1) <= 0.01);
  });

  it('count windows end when enough requests completed', async () => {
    const { outcome } = await profile(
      settingsWith(concurrency(1), { mode: 'count_windows', windowRequestCount: 40 }),
      () => ({ latencyNs: 1 * MS }),
    );
    const level = outcome.levels[0]!;
    assert.equal(level.status, 'stable');
    for (const w of level.windows) {
      assert.ok(w.requestCount >= 40 && w.requestCount <= 41, `count ${w.requestCount}`);
    }
  });
});
