import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  createProgress,
  fitProgressLine,
  formatEta,
  isCi,
  type ProgressEnv,
  type ProgressPlan,
  progressPlanOf,
} from '../../../src/cli/progress.ts';
import type { LevelResult } from '../../../src/report/model.ts';
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

function capture(isTTY: boolean, enabled = true, plan?: ProgressPlan, env: ProgressEnv = {}, columns = 200) {
  const out = { text: '' };
  const progress = createProgress({ write: (t: string) => (out.text += t), isTTY, columns }, enabled, plan, {
    ci: false,
    nowMs: () => 0,
    ...env,
  });
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

describe('progress on a terminal: width, CI, ETA that never rises', () => {
  /** The visible text of each redraw (what follows "\r\x1b[2K"). */
  const redraws = (text: string): string[] =>
    text
      .split('\r\x1b[2K')
      .slice(1)
      .map((t) => t.replace(/\n$/, ''));

  it('fits 80 columns: no redraw is longer than 79 characters, the ETA stays, nothing wraps', () => {
    const { out, progress } = capture(true, true, plan, {}, 80);
    progress.onEvent(start(1, 2));
    progress.onEvent(window);
    progress.onEvent({ ...window, mode: 'request_rate', value: 12345.678, errorCount: 123456 });
    progress.onEvent({ type: 'level_end', level: concurrencySweep().levels[1]! });
    const lines = redraws(out.text);
    assert.equal(lines.length, 4);
    for (const line of lines) {
      assert.ok(line.length <= 79, `${line.length}: ${line}`);
      assert.doesNotMatch(line, /\n/);
      assert.match(line, /ETA \S+$/);
    }
    // The window line keeps the most useful parts (throughput, latency, errors); the spread goes first.
    assert.equal(lines[1], '[2/4] concurrency 2: window 3/10: 678.775 infer/sec, latency 2946 usec, ETA 30s');
  });

  it('fitProgressLine: any parts, any width ≥ 20 → at most width − 1 characters, prefix first', () => {
    fc.assert(
      fc.property(
        fc.string({ minLength: 1, maxLength: 40 }),
        fc.array(fc.string({ maxLength: 60 }), { minLength: 1, maxLength: 6 }),
        fc.option(fc.string({ maxLength: 12 }), { nil: undefined }),
        fc.integer({ min: 20, max: 300 }),
        (prefix, parts, eta, columns) => {
          const line = fitProgressLine({ prefix, parts, eta }, columns);
          assert.ok([...line].length <= columns - 1);
          assert.ok(line.startsWith([...prefix].slice(0, columns - 2).join('')));
          if (eta !== undefined && [...`${prefix} ${parts[0]}, ${eta}`].length <= columns - 1) {
            assert.ok(line.endsWith(eta), 'the ETA is kept whenever the first part and it fit');
          }
        },
      ),
    );
  });

  it('CI=true or a non-TTY gives plain whole lines (no carriage returns)', () => {
    const ci = capture(true, true, plan, { ci: true }, 80);
    ci.progress.onEvent(start(0, 1));
    ci.progress.onEvent(window);
    assert.ok(!ci.out.text.includes('\r') && !ci.out.text.includes('\x1b'), 'no redraw codes');
    assert.equal(ci.out.text.split('\n').length, 3);
    assert.equal(isCi({ CI: 'true' }), true);
    assert.equal(isCi({ CI: '1' }), true);
    assert.equal(isCi({ CI: 'false' }), false);
    assert.equal(isCi({}), false);
  });

  it('the ETA never rises, even when levels need more windows than planned and windows run long', () => {
    let now = 0;
    const { out, progress } = capture(false, true, plan, { nowMs: () => now });
    const windowMs = 5300; // windows a bit longer than -p: the estimate from the settings is too low
    for (let level = 0; level < 4; level++) {
      progress.onEvent(start(level, level + 1));
      const windows = level === 1 ? 7 : 3; // level 2 is unstable for a while
      for (let w = 1; w <= windows; w++) {
        now += windowMs;
        progress.onEvent({ ...window, value: level + 1, windowIndex: w });
      }
      progress.onEvent({ type: 'level_end', level: finished(level + 1, windows, windowMs) });
    }
    const etas = out.text
      .trim()
      .split('\n')
      .map((l) => /ETA (?:(\d+)m)?(\d+)s$/.exec(l))
      .map((m) => Number(m?.[1] ?? 0) * 60 + Number(m?.[2]));
    assert.ok(etas.length > 10);
    for (let i = 1; i < etas.length; i++) {
      assert.ok((etas[i] as number) <= (etas[i - 1] as number), `ETA rose: ${etas.join(' ')}`);
    }
    assert.equal(etas.at(-1), 0);
  });
});
