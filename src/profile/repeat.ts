/**
 * `profile --repeat N`: the whole measurement runs N times (fresh connections, same seed schedule) and the
 * outcomes become one record. Pure: per load level, every run's windows (tagged with `repeat`), the pool of
 * the runs' merged figures as the level's figure, and how the level ended in each run — so `compare` can
 * measure run-to-run noise, not only window-to-window.
 */
import { mergeMeasurements } from '../measure/merge-measurements.ts';
import { stabilizingLatencyUs } from '../measure/summarize.ts';
import type { LevelResult, Measurement } from '../report/model.ts';
import type { ProfileOutcome } from './profiler.ts';

function key(l: LevelResult): string {
  return `${l.mode} ${l.value}`;
}

function combineLevel(perRun: (LevelResult | undefined)[], percentile: number | undefined): LevelResult {
  const present = perRun.filter((l): l is LevelResult => l !== undefined);
  const first = present[0] as LevelResult;
  const allReported = present.length === perRun.length && present.every((l) => l.reported);
  const windows = perRun.flatMap((l, i) => (l ? l.windows.map((w) => ({ ...w, repeat: i + 1 })) : []));
  const merges = present.map((l) => l.merged).filter((m): m is Measurement => m !== undefined);
  const notReported = present.find((l) => !l.reported);
  const level: LevelResult = {
    mode: first.mode,
    value: first.value,
    status: allReported ? first.status : (notReported?.status ?? 'no_data'),
    reported: allReported,
    windows,
    stopReason: [...new Set(present.map((l) => l.stopReason))].join('/'),
    repeats: perRun.map((l, i) => ({
      repeat: i + 1,
      status: l?.status ?? 'no_data',
      stopReason: l?.stopReason ?? 'not_reached',
      windowCount: l?.windows.length ?? 0,
    })),
  };
  if (merges.length > 0) {
    level.merged = mergeMeasurements(merges);
    if (allReported) level.stabilizingLatencyUs = stabilizingLatencyUs(level.merged.latency, percentile);
  }
  const spreads = present.map((l) => l.spread).filter((s) => s !== undefined);
  if (spreads.length > 0) {
    level.spread = {
      throughput: Math.max(...spreads.map((s) => s.throughput)),
      latency: Math.max(...spreads.map((s) => s.latency)),
    };
  }
  if (present.some((l) => l.errorRate !== undefined)) {
    const errors = windows.reduce((s, w) => s + w.errorCount, 0);
    const total = errors + windows.reduce((s, w) => s + w.requestCount, 0);
    level.errorRate = total > 0 ? errors / total : 0;
    level.errorRateExceeded = present.some((l) => l.errorRateExceeded === true);
  }
  const accounts = present.map((l) => l.accounting);
  if (accounts.length > 0 && accounts.every((a) => a !== undefined)) {
    level.accounting = {
      clientCompleted: accounts.reduce((s, a) => s + a.clientCompleted, 0),
      serverSuccess: accounts.reduce((s, a) => s + a.serverSuccess, 0),
      allowedDifference: accounts.reduce((s, a) => s + a.allowedDifference, 0),
      flagged: accounts.some((a) => a.flagged),
    };
  }
  return level;
}

/** N outcomes of the same sweep → one: levels joined by load value (in first-seen order). */
export function combineRepeats(outcomes: readonly ProfileOutcome[], percentile?: number): ProfileOutcome {
  if (outcomes.length === 0) throw new RangeError('combineRepeats needs at least one outcome');
  if (outcomes.length === 1) return outcomes[0] as ProfileOutcome;
  const order: string[] = [];
  for (const o of outcomes) for (const l of o.levels) if (!order.includes(key(l))) order.push(key(l));
  const levels = order.map((k) =>
    combineLevel(
      outcomes.map((o) => o.levels.find((l) => key(l) === k)),
      percentile,
    ),
  );
  const warnings = [...new Set(outcomes.flatMap((o) => o.warnings))];
  const exitCode = outcomes.find((o) => o.exitCode !== 0)?.exitCode ?? 0;
  return { levels, warnings, exitCode };
}
