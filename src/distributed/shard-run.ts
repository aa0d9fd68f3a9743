/**
 * The shard side of a run (--shard): measure the clock offset, build the aligned timetable the profiler
 * follows, and describe the shard in its record. Called by run-benchmark.ts after the model is known and
 * before the first level.
 */
import { hostname } from 'node:os';
import { OptionError, ServerError } from '../errors.ts';
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

/** Longest a local shard waits for its parent's start (the parent waits for the slowest shard to be ready). */
const COORDINATED_WAIT_MS = 300_000;

/** Tells the parent (IPC) this shard is ready and resolves with the start it sends back. */
function coordinatedStart(): Promise<number> {
  return new Promise((resolve, reject) => {
    const send = process.send?.bind(process);
    if (!send) {
      reject(new OptionError('--start-at ipc needs the parent started by --shards N --local.'));
      return;
    }
    const timer = setTimeout(() => {
      process.off('message', onMessage);
      reject(new ServerError(`no start from the parent within ${COORDINATED_WAIT_MS / 1000} s`));
    }, COORDINATED_WAIT_MS);
    const onMessage = (message: unknown): void => {
      const m = message as { type?: string; startAtMs?: number };
      if (m?.type !== 'inferbench-start' || typeof m.startAtMs !== 'number') return;
      clearTimeout(timer);
      process.off('message', onMessage);
      // The IPC channel must not keep this process alive once the run is over.
      process.channel?.unref();
      resolve(m.startAtMs);
    };
    process.on('message', onMessage);
    send({ type: 'inferbench-shard-ready' });
  });
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
  // A local shard (--start-at ipc): ready now; the parent sends the start once every shard is.
  const startAtMs = shard.startAtMs === 0 ? await coordinatedStart() : shard.startAtMs;
  const timetable = timetableOf(settings, { ...shard, startAtMs });
  warnings.push(...clockSkewWarnings(offset, timetable.windowMs, shard.index));
  const late = lateStartWarning(clock.wallMs() + offset.offsetMs, timetable, shard.index);
  if (late) warnings.push(late);
  return {
    aligned: new AlignedWindows(clock, timetable, offset.offsetMs),
    info: {
      count: shard.count,
      startAtMs,
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
