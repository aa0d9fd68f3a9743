/**
 * `inferbench merge`: the records of a sharded run → one record, as if one generator had run (pure).
 * Refused (OptionError, exit 3) unless they belong together: every record a shard record (--shard) of the
 * same run (shard count, --start-at, model and every setting but the shard index equal), each shard index
 * exactly once, the same levels. Window w of level k is the parallel merge of every shard's window w
 * (merge-parallel.ts); each level is then judged on its merged windows (judge-merged-level.ts) and the sweep
 * replayed (where one generator would have stopped, with its exit code).
 */
import { ExitCode, OptionError } from '../errors.ts';
import { STABLE_FAILED } from '../profile/messages.ts';
import type { ProfileSettings } from '../profile/settings.ts';
import { linearSweep } from '../profile/sweep.ts';
import { sweepStopCode } from '../profile/sweep-stop.ts';
import { accountLevel } from '../report/accounting.ts';
import type { LevelResult, RunResult, WindowResult } from '../report/model.ts';
import { settingsOf } from '../report/run-settings.ts';
import { alignmentWarning } from './clock-offset.ts';
import { judgeMergedLevel } from './judge-merged-level.ts';
import { mergeParallelWindows, type ShardWindow } from './merge-parallel.ts';
import type { ShardRecordInfo } from './shard-record.ts';

export interface ShardInput {
  /** Where it came from (a file path, or "logs:shard 2"), for messages. */
  source: string;
  record: RunResult;
}

/** Per-shard warnings that describe the shard's own provisional verdicts: the merge judges again. */
const PROVISIONAL = [
  /^Failed to obtain stable measurement/,
  /^No valid requests/,
  /^Request latency is not stabilizing/,
  /^Measured latency went over/,
  /^Request error rate/,
  /error rate .* is above/i,
  /^Client and server disagree/,
];

/** A shard's own verdict on a level (unstable, no data, accounting…): the merge judges the merged windows again. */
export function isProvisionalShardWarning(text: string): boolean {
  return PROVISIONAL.some((re) => re.test(text));
}

/** The first path where two JSON values differ ('' when equal). */
function firstDifference(a: unknown, b: unknown, path = ''): string {
  if (a === b) return '';
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return path || '(value)';
  if (Array.isArray(a) !== Array.isArray(b)) return path || '(value)';
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  for (const k of [...keys].sort()) {
    const d = firstDifference(
      (a as Record<string, unknown>)[k],
      (b as Record<string, unknown>)[k],
      path ? `${path}.${k}` : k,
    );
    if (d) return d;
  }
  return '';
}

function withoutShardIndex(settings: ProfileSettings): Record<string, unknown> {
  const { shard, ...rest } = settings;
  return { ...rest, shard: shard ? { ...shard, index: 0 } : undefined };
}

function shardOf(input: ShardInput): ShardRecordInfo & { count: number; startAtMs: number } {
  const d = input.record.distributed;
  if (!d) {
    throw new OptionError(
      `${input.source} is not a shard record: it has no "distributed" section (was it written with --shard?).`,
    );
  }
  if (d.merged || d.shards.length !== 1) {
    throw new OptionError(`${input.source} is already a merged record: merge the shards' own records.`);
  }
  return { ...d.shards[0]!, count: d.count, startAtMs: d.startAtMs };
}

interface Checked {
  inputs: (ShardInput & { shard: ReturnType<typeof shardOf> })[];
  settings: ProfileSettings;
}

function checkTogether(inputs: readonly ShardInput[]): Checked {
  if (inputs.length === 0) throw new OptionError('merge needs the records of every shard (none given).');
  const withShard = inputs.map((i) => ({ ...i, shard: shardOf(i) }));
  const first = withShard[0]!;
  const settings0 = settingsOf(first.record);
  const bySource = new Map<number, string>();
  for (const input of withShard) {
    const { shard } = input;
    if (shard.count !== first.shard.count) {
      throw new OptionError(
        `${input.source} is shard ${shard.index} of ${shard.count}, ${first.source} of ${first.shard.count}: not the same run.`,
      );
    }
    if (shard.startAtMs !== first.shard.startAtMs) {
      throw new OptionError(
        `${input.source} started at ${new Date(shard.startAtMs).toISOString()}, ${first.source} at ${new Date(first.shard.startAtMs).toISOString()}: not the same run (--start-at differs).`,
      );
    }
    const seen = bySource.get(shard.index);
    if (seen !== undefined) {
      throw new OptionError(`shard ${shard.index} is given twice (${seen} and ${input.source}).`);
    }
    bySource.set(shard.index, input.source);
    const model = input.record.model;
    if (model.name !== first.record.model.name || model.version !== first.record.model.version) {
      throw new OptionError(
        `${input.source} measured model ${model.name} version '${model.version}', ${first.source} ${first.record.model.name} version '${first.record.model.version}'.`,
      );
    }
    const diff = firstDifference(withoutShardIndex(settingsOf(input.record)), withoutShardIndex(settings0));
    if (diff) {
      throw new OptionError(
        `${input.source} and ${first.source} were run with different settings (${diff}): shards of one run share every setting but the index.`,
      );
    }
  }
  const missing = Array.from({ length: first.shard.count }, (_, i) => i).filter((i) => !bySource.has(i));
  if (missing.length > 0) {
    throw new OptionError(
      `shard${missing.length > 1 ? 's' : ''} ${missing.join(', ')} of ${first.shard.count} missing: a merge without every shard would under-count the load.`,
    );
  }
  withShard.sort((a, b) => a.shard.index - b.shard.index);
  return { inputs: withShard, settings: settings0 };
}

function checkLevels(inputs: Checked['inputs']): void {
  const ref = inputs[0]!;
  for (const input of inputs) {
    const a = input.record.levels.map((l) => `${l.mode} ${l.value}`);
    const b = ref.record.levels.map((l) => `${l.mode} ${l.value}`);
    const n = Math.min(a.length, b.length);
    for (let i = 0; i < n; i++) {
      if (a[i] !== b[i]) {
        throw new OptionError(
          `${input.source} has level ${i + 1} at ${a[i]}, ${ref.source} at ${b[i]}: not the same sweep.`,
        );
      }
    }
  }
}

/** Merges the shard records of one run into one record. */
export function mergeShardRecords(inputs: readonly ShardInput[]): RunResult {
  const { inputs: shards, settings } = checkTogether(inputs);
  checkLevels(shards);
  const warnings: string[] = [];
  const warn = (text: string): void => {
    if (!warnings.includes(text)) warnings.push(text);
  };
  const levelCount = Math.min(...shards.map((s) => s.record.levels.length));
  if (shards.some((s) => s.record.levels.length !== levelCount)) {
    warn(
      `Not every shard measured every level (${shards.map((s) => s.record.levels.length).join('/')} levels): the merge has the ${levelCount} all of them measured.`,
    );
  }
  const windowMs = settings.measurement.windowMs;
  const levels: LevelResult[] = [];
  const sweep = settings.load.mode === 'custom_intervals' ? undefined : linearSweep(settings.load.range);
  let exitCode: number = ExitCode.Success;
  let met: boolean | undefined;
  for (let k = 0; k < levelCount; k++) {
    const perShard = shards.map((s) => s.record.levels[k]!);
    const ref = perShard[0]!;
    // The sweep as one generator would have run it: stop where it would have stopped.
    if (sweep) {
      const next = sweep.next(met);
      if (next === undefined) break;
    } else if (k > 0) break;
    const windowCount = Math.min(...perShard.map((l) => l.windows.length));
    const interrupted = perShard.some((l) => l.status === 'interrupted');
    const merged: WindowResult[] = [];
    let startSpreadMs = 0;
    for (let w = 0; w < windowCount; w++) {
      const parts: ShardWindow[] = shards.map((s, i) => ({
        shardIndex: s.shard.index,
        clockOffsetMs: s.shard.clockOffsetMs,
        window: perShard[i]!.windows[w]!,
      }));
      const starts = parts.map((p) => p.window.startWallMs + p.clockOffsetMs);
      startSpreadMs = Math.max(startSpreadMs, Math.max(...starts) - Math.min(...starts));
      const late = alignmentWarning(starts, windowMs);
      if (late) warn(late);
      merged.push(mergeParallelWindows(parts));
    }
    const level = judgeMergedLevel(ref.mode, ref.value, merged, settings, interrupted, warn);
    account(level, startSpreadMs, warn);
    levels.push(level);
    met = level.reported;
    const first = levels.length === 1;
    const stop = sweepStopCode(level.status, first);
    if (stop !== undefined) {
      if (level.status === 'unstable') warn(STABLE_FAILED);
      exitCode = stop;
      break;
    }
  }
  if (exitCode === ExitCode.Success && levels.some((l) => l.errorRateExceeded))
    exitCode = ExitCode.ErrorsOverLimit;
  const shardWarnings = shards.flatMap((s) =>
    s.record.warnings
      .filter((w) => !isProvisionalShardWarning(w))
      .map((w) => (w.startsWith('Shard ') ? w : `Shard ${s.shard.index}: ${w}`)),
  );
  const { shard: _shard, ...plainSettings } = settings;
  const first = shards[0]!.record;
  const result: RunResult = {
    schemaVersion: first.schemaVersion,
    tool: first.tool,
    startedAtWallMs: Math.min(...shards.map((s) => s.record.startedAtWallMs)),
    finishedAtWallMs: Math.max(...shards.map((s) => s.record.finishedAtWallMs)),
    environment: {
      ...first.environment,
      hostname: [...new Set(shards.map((s) => s.record.environment.hostname))].join(','),
      cpus: shards.reduce((n, s) => n + s.record.environment.cpus, 0),
    },
    config: plainSettings as unknown as Record<string, unknown>,
    model: first.model,
    serverStats: first.serverStats,
    levels,
    warnings: [...new Set([...shardWarnings, ...warnings])],
    exitCode,
    ...(first.manifest ? { manifest: first.manifest } : {}),
    distributed: {
      count: shards.length,
      startAtMs: shards[0]!.shard.startAtMs,
      merged: true,
      shards: shards.map(({ shard }) => ({
        index: shard.index,
        hostname: shard.hostname,
        clockOffsetMs: shard.clockOffsetMs,
        clockOffsetUncertaintyMs: shard.clockOffsetUncertaintyMs,
        clockSource: shard.clockSource,
        seed: shard.seed,
      })),
    },
  };
  return result;
}

/**
 * Client ↔ server accounting of the merged level: every shard's completions against the server's count
 * (shard 0's statistics: the server counts every shard's requests), as the profiler does for one generator.
 */
function account(level: LevelResult, startSpreadMs: number, warn: (text: string) => void): void {
  const durationNs = level.windows.reduce((s, w) => s + w.durationNs, 0);
  const requests = level.windows.reduce((s, w) => s + w.requestCount, 0);
  const requestsPerSec = durationNs > 0 ? (requests * 1e9) / durationNs : 0;
  const inFlightBound =
    level.mode === 'concurrency'
      ? level.value
      : requestsPerSec * ((level.merged?.latency.maxUs ?? 0) / 1e6) + 1;
  // The shards' windows open up to startSpreadMs apart: requests in that slice of both edges may differ too.
  const accounting = accountLevel(level.windows, {
    inFlightBound,
    throughputPerSec: requestsPerSec,
    statsFetchNs: 2 * startSpreadMs * 1e6,
  });
  if (!accounting) return;
  level.accounting = accounting;
  if (accounting.flagged) {
    warn(
      `Client and server disagree at ${level.mode} ${level.value}: the shards completed ${accounting.clientCompleted} requests, the server counted ${accounting.serverSuccess} successes over the same windows (more than the ${accounting.allowedDifference} in flight at the edges).`,
    );
  }
}
