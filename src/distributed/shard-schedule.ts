/**
 * The shared wall-clock timetable of a sharded run (pure). Every shard runs the same sweep with the same
 * windows: level k starts its load at levelStart(k) and measures exactly `windowsPerLevel` windows of
 * `windowMs` back to back from there; the next level starts LEVEL_GAP_MS after the last window ends (time for
 * the statistics call and, in open loop, the drain), so window w of level k covers the same interval on every
 * shard. No shard stops a level early: the merge judges stability on the merged windows (merge-records.ts).
 */

/** Pause between a level's last window and the next level's start (ms). */
export const LEVEL_GAP_MS = 1000;

export interface ShardTimetable {
  startAtMs: number;
  windowMs: number;
  windowsPerLevel: number;
}

/** Wall-clock ms (reference clock) at which level `levelIndex` (0-based) starts its load and first window. */
export function levelStartMs(t: ShardTimetable, levelIndex: number): number {
  return t.startAtMs + levelIndex * (t.windowsPerLevel * t.windowMs + LEVEL_GAP_MS);
}

/** Wall-clock ms at which window `windowIndex` (1-based) of level `levelIndex` ends. */
export function windowEndMs(t: ShardTimetable, levelIndex: number, windowIndex: number): number {
  return levelStartMs(t, levelIndex) + windowIndex * t.windowMs;
}

/** A shard that reaches the start later than a tenth of a window: its first window is short (warned). */
export function lateStartWarning(
  nowReferenceMs: number,
  t: ShardTimetable,
  shardIndex: number,
): string | undefined {
  const lateMs = nowReferenceMs - t.startAtMs;
  if (lateMs <= t.windowMs / 10) return undefined;
  return `Shard ${shardIndex} was ready ${lateMs.toFixed(0)} ms after --start-at (more than a tenth of the ${t.windowMs} ms window): its first window is short. Choose a later --start-at.`;
}
