import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createProgress, formatEta, type ProgressPlan, progressPlanOf } from '../../src/cli/progress.ts';
import type { LevelResult } from '../../src/report/model.ts';
import { baseSettings, concurrencySweep } from '../report/fixtures.ts';

const window = {
  type: 'window_end' as const,
  mode: 'concurrency' as const,
  value: 2,
  windowIndex: 3,
  maxWindows: 10,
  throughputPerSec: 678.775,
  latencyUs: 2946.4,
  requestCount: 3394,
  errorCount: 2,
  spread: { throughput: 1.031, latency: 1.0456 },
};

const start = (levelIndex: number, value: number) => ({
  type: 'level_start' as const,
  mode: 'concurrency' as const,
  value,
  levelIndex,
  callMode: 'sync' as const,
});

function capture(isTTY: boolean, enabled = true, plan?: ProgressPlan) {
  const out = { text: '' };
  const progress = createProgress({ write: (t: string) => (out.text += t), isTTY }, enabled, plan);
  return { out, progress };
}

/** A finished level of `windows` windows of `windowMs` each. */
function finished(value: number, windows: number, windowMs: number): LevelResult {
  const base = concurrencySweep().levels[0]!;
  const w = base.windows[0]!;
  return {
    ...base,
    value,
    windows: Array.from({ length: windows }, (_, i) => ({ ...w, index: i + 1, durationNs: windowMs * 1e6 })),
  };
}

const plan: ProgressPlan = { levelCount: 4, windowMs: 5000, expectedWindows: 3, stabilityPct: 10 };

describe('progress display', () => {
  it('writes one plain line per event when not a TTY: level k/n, window, spread against the limit, ETA', () => {
    const { out, progress } = capture(false, true, plan);
    progress.onEvent(start(1, 2));
    progress.onEvent(window);
    progress.onEvent({ type: 'level_end', level: concurrencySweep().levels[1]! });
    progress.close();
    assert.equal(
      out.text,
      '[level 2/4] concurrency 2: measuring (sync), ETA 45s\n' +
        '[level 2/4] concurrency 2: window 3/10: 678.775 infer/sec, latency 2946 usec, 2 errors, spread throughput 3.1% latency 4.6% (limit 10%), ETA 30s\n' +
        '[level 2/4] concurrency 2: stable after 3 window(s), ETA 30s\n',
    );
  });

  it('redraws one line on a TTY and ends it on close', () => {
    const { out, progress } = capture(true);
    progress.onEvent(start(0, 2));
    progress.onEvent({ ...window, latencyUs: Number.POSITIVE_INFINITY, errorCount: 0 });
    progress.close();
    assert.equal(
      out.text,
      '\r\x1b[2K[level 1] concurrency 2: measuring (sync)' +
        '\r\x1b[2K[level 1] concurrency 2: window 3/10: 678.775 infer/sec, latency no valid request, spread throughput 3.1% latency 4.6%\n',
    );
  });

  it('a level end on a TTY ends the redrawn line itself (close adds nothing)', () => {
    const { out, progress } = capture(true, true, plan);
    progress.onEvent(start(0, 1));
    progress.onEvent({ type: 'level_end', level: finished(1, 3, 5000) });
    progress.close();
    assert.ok(out.text.endsWith('stable after 3 window(s), ETA 45s\n'), out.text);
    assert.equal(out.text.split('\n').length, 2);
  });

  it('is silent when disabled', () => {
    const { out, progress } = capture(true, false, plan);
    progress.onEvent(window);
    progress.close();
    assert.equal(out.text, '');
  });

  it('starts the ETA from the settings and refines it with what finished levels took', () => {
    const { out, progress } = capture(false, true, plan);
    progress.onEvent(start(0, 1)); // 3 windows here + 3 levels × 3 windows, 5 s each
    progress.onEvent({ ...window, value: 1, windowIndex: 1 }); // 2 + 9 windows
    // The first level really took 5 windows of 2 s: later levels are expected to do the same.
    progress.onEvent({ type: 'level_end', level: finished(1, 5, 2000) }); // 3 levels × 5 × 2 s
    progress.onEvent(start(1, 2)); // still 15 windows of 2 s
    progress.onEvent({ ...window, windowIndex: 4 }); // 1 + 10 windows
    const etas = out.text
      .trim()
      .split('\n')
      .map((l) => /ETA (\S+)$/.exec(l)?.[1]);
    assert.deepEqual(etas, ['1m00s', '55s', '30s', '30s', '22s']);
  });

  it('shows no ETA when the sweep length or the window length is unknown', () => {
    for (const p of [
      { ...plan, levelCount: undefined },
      { levelCount: 2, expectedWindows: 3, stabilityPct: 10 },
    ]) {
      const { out, progress } = capture(false, true, p);
      progress.onEvent(start(0, 1));
      assert.doesNotMatch(out.text, /ETA/);
    }
  });
});

describe('progress plan and ETA format', () => {
  it('derives levels, window length and expected windows from the settings', () => {
    assert.deepEqual(progressPlanOf(baseSettings()), {
      levelCount: 3,
      windowMs: 5000,
      expectedWindows: 3,
      stabilityPct: 10,
    });
    const rate = baseSettings({
      load: {
        mode: 'request_rate',
        range: { start: 50, end: 200, step: 50 },
        distribution: 'poisson',
        seed: 1,
        maxInFlight: 0,
      },
    });
    assert.equal(progressPlanOf(rate).levelCount, 4);
    const open = baseSettings({ load: { mode: 'concurrency', range: { start: 1, end: 0, step: 1 } } });
    assert.equal(progressPlanOf(open).levelCount, undefined);
    const single = baseSettings();
    const m = { ...single.measurement, singleMeasurement: true, mode: 'count_windows' as const };
    const p = progressPlanOf({ ...single, measurement: m });
    assert.equal(p.expectedWindows, 1);
    assert.equal(p.windowMs, undefined);
  });

  it('formats seconds, minutes and hours', () => {
    assert.equal(formatEta(44_600), '45s');
    assert.equal(formatEta(65_000), '1m05s');
    assert.equal(formatEta(3_720_000), '1h02m');
    assert.equal(formatEta(-5), '0s');
  });
});
