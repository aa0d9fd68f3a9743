/**
 * Shard records built from known latency samples (real HDR histograms through summarizeWindow), so merge
 * tests can compare the merged figures with those of all samples together.
 */
import type { ShardSettings } from '../../../src/distributed/shard-spec.ts';
import { LatencyAccumulator } from '../../../src/measure/latency-accumulator.ts';
import { summarizeWindow } from '../../../src/measure/summarize.ts';
import { emptyWindowData } from '../../../src/measure/window-data.ts';
import type { ProfileSettings } from '../../../src/profile/settings.ts';
import type { LevelResult, RunResult, WindowResult } from '../../../src/report/model.ts';
import { baseSettings, runResult } from '../report/fixtures.ts';

export const START_AT_MS = 1_800_000_000_000;

/** One window of `latenciesUs` (each a successful request) over `durationMs`. */
export function windowOf(
  latenciesUs: readonly number[],
  index: number,
  durationMs = 1000,
  extra: { errors?: number; startWallMs?: number } = {},
): WindowResult {
  const data = emptyWindowData(0, extra.startWallMs ?? START_AT_MS + (index - 1) * durationMs, false);
  data.latency = new LatencyAccumulator();
  for (const us of latenciesUs) data.latency.recordNs(us * 1000);
  data.okCount = latenciesUs.length;
  data.sentCount = latenciesUs.length + (extra.errors ?? 0);
  if (extra.errors) data.errorsByKind = { 'http:503': extra.errors };
  data.durationNs = durationMs * 1e6;
  data.endNs = data.durationNs;
  const summary = summarizeWindow(data, { batchSize: 1 });
  return { ...summary, index, startWallMs: data.startWallMs };
}

export function shardSettings(
  index: number,
  count: number,
  overrides: Partial<ProfileSettings> = {},
): ProfileSettings {
  const shard: ShardSettings = { index, count, startAtMs: START_AT_MS, clockSync: 'none' };
  return baseSettings({
    measurement: { ...baseSettings().measurement, windowMs: 1000, maxTrials: 5 },
    load: { mode: 'concurrency', range: { start: 4, end: 8, step: 4 } },
    url: 'server:8000',
    ...overrides,
    shard,
  });
}

/** A shard's record: levels given as lists of windows (each a list of latencies in µs). */
export function shardRecord(
  index: number,
  count: number,
  levels: { value: number; windows: WindowResult[] }[],
  options: { settings?: Partial<ProfileSettings>; clockOffsetMs?: number; hostname?: string } = {},
): RunResult {
  const settings = shardSettings(index, count, options.settings);
  const levelResults: LevelResult[] = levels.map((l) => ({
    mode: settings.load.mode,
    value: l.value,
    status: 'unstable',
    reported: false,
    windows: l.windows,
    stopReason: 'max_trials',
  }));
  return runResult(settings, levelResults, {
    warnings: ['Failed to obtain stable measurement.'],
    distributed: {
      count,
      startAtMs: START_AT_MS,
      merged: false,
      shards: [
        {
          index,
          hostname: options.hostname ?? `host-${index}`,
          clockOffsetMs: options.clockOffsetMs ?? 0,
          clockOffsetUncertaintyMs: 1,
          clockSource: 'none',
          seed: 5489,
        },
      ],
    },
  });
}
