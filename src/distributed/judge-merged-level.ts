/**
 * The profiler's level rules (profile/level-rules.ts), replayed on merged windows (pure): a sharded run
 * measures every window of every level, and the merge decides, window by window, where one generator would
 * have stopped (stable, --max-error-rate, the latency limit, --max-trials), then judges the level exactly as the
 * profiler does: the figure is the merge of the last K windows up to that point, and the same stderr texts are
 * produced.
 */
import { mergeMeasurements } from '../measure/merge-measurements.ts';
import type { StabilityPoint, StabilityVerdict } from '../measure/stability.ts';
import {
  addStabilityPoint,
  judgeLevel,
  type LevelContext,
  type StopReason,
  windowStopReason,
} from '../profile/level-rules.ts';
import type { ProfileSettings } from '../profile/settings.ts';
import type { LevelResult, LoadMode, WindowResult } from '../report/model.ts';

/** `interrupted`: a shard's level ended early on SIGINT (the merge then has fewer windows than the timetable). */
export function judgeMergedLevel(
  mode: LoadMode,
  value: number,
  windows: readonly WindowResult[],
  settings: ProfileSettings,
  interrupted: boolean,
  warn: (text: string) => void,
): LevelResult {
  const ctx: LevelContext = { mode, value, settings, warn };
  const history: StabilityPoint[] = [];
  let verdict: StabilityVerdict | undefined;
  let stopReason: StopReason = interrupted ? 'sigint' : 'max_trials';
  let kept = windows.length;
  for (let i = 0; i < windows.length; i++) {
    const w = windows[i]!;
    verdict = addStabilityPoint(history, w, settings);
    const stop = windowStopReason(ctx, w, i + 1, history, verdict);
    if (stop) {
      stopReason = stop;
      kept = i + 1;
      break;
    }
  }
  const results = windows.slice(0, kept).map((w) => ({ ...w }));
  return judgeLevel(ctx, results, stopReason, verdict, (count) => mergeMeasurements(results.slice(-count)));
}
