/**
 * The shard side of a run (--shard): measure the clock offset, build the aligned timetable the profiler
 * follows, and describe the shard in its record. Called by run-benchmark.ts after the model is known and
 * before the first level.
 */
import { hostname } from 'node:os';
import type { ProfileSettings } from '../profile/settings.ts';
import type { Clock } from '../protocol/clock.ts';
import { AlignedWindows } from './aligned-windows.ts';
import { type ClockOffset, clockSkewWarnings } from './clock-offset.ts';
import { measureClockOffset } from './date-probe.ts';
import type { DistributedInfo } from './shard-record.ts';
import { lateStartWarning, type ShardTimetable } from './shard-schedule.ts';
import type { ShardSettings } from './shard-spec.ts';

export interface ShardRun {
  aligned: AlignedWindows;
  info: DistributedInfo;
  warnings: string[];
}

export function timetableOf(settings: ProfileSettings, shard: ShardSettings): ShardTimetable {
  const m = settings.measurement;
  return {
    startAtMs: shard.startAtMs,
    windowMs: m.windowMs,
    windowsPerLevel: m.singleMeasurement ? 1 : Math.max(1, m.maxTrials),
  };
}

export async function prepareShard(
  settings: ProfileSettings,
  shard: ShardSettings,
  clock: Clock,
  seed: number,
  measure: (url: string) => Promise<ClockOffset | { error: string }> = measureClockOffset,
): Promise<ShardRun> {
  const warnings: string[] = [];
  let offset: ClockOffset = { offsetMs: 0, uncertaintyMs: 0, source: 'none', probes: 0 };
  if (shard.clockSync !== 'none') {
    const measured = await measure(shard.clockSync);
    if ('error' in measured) {
      warnings.push(
        `Shard ${shard.index}: clock offset not measured (${measured.error}); windows align on this host's clock.`,
      );
    } else {
      offset = measured;
    }
  }
  const timetable = timetableOf(settings, shard);
  warnings.push(...clockSkewWarnings(offset, timetable.windowMs, shard.index));
  const late = lateStartWarning(clock.wallMs() + offset.offsetMs, timetable, shard.index);
  if (late) warnings.push(late);
  return {
    aligned: new AlignedWindows(clock, timetable, offset.offsetMs),
    info: {
      count: shard.count,
      startAtMs: shard.startAtMs,
      merged: false,
      shards: [
        {
          index: shard.index,
          hostname: hostname(),
          clockOffsetMs: offset.offsetMs,
          clockOffsetUncertaintyMs: offset.uncertaintyMs,
          clockSource: offset.source,
          seed,
        },
      ],
    },
    warnings,
  };
}
