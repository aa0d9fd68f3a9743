/**
 * One shard of a load spread over several generator processes or machines (`--shard i/N`, or `--shards N`
 * with the index from Kubernetes' JOB_COMPLETION_INDEX), and the shared wall-clock start (`--start-at`) at
 * which every shard opens its first level, so that window k of every shard covers the same interval.
 * Parsing only (pure); what a shard does with it lives in load/shard-share.ts and shard-schedule.ts.
 */
import { OptionError } from '../errors.ts';

export interface ShardSettings {
  /** 0-based index of this shard. */
  index: number;
  /** Number of shards (generator processes) in the run. */
  count: number;
  /** Epoch ms (on the target server's clock, see clock-offset.ts) at which the first level's load starts. */
  startAtMs: number;
  /** Where the clock offset is measured: an http(s) URL answering with a `Date` header, or 'none'. */
  clockSync: string;
}

/** Most shards one run may have: a Kubernetes Indexed Job allows 100 000, merging that many records does not pay. */
export const MAX_SHARDS = 1024;
/** `--start-at` may lie at most this far ahead (a typo of a year must not park a Job for months). */
export const START_AT_MAX_AHEAD_MS = 24 * 3_600_000;
/** `--start-at ipc`: a local shard (--local) gets the start from its parent once every shard is ready (0 until then). */
export const COORDINATED_START = 'ipc';

/** Environment variable Kubernetes sets in each pod of an Indexed Job. */
export const JOB_COMPLETION_INDEX = 'JOB_COMPLETION_INDEX';

const COUNT_TEXT = /^[1-9][0-9]{0,5}$/;
const INDEX_TEXT = /^(0|[1-9][0-9]{0,5})$/;

function shardCount(flag: string, text: string): number {
  if (!COUNT_TEXT.test(text) || Number(text) > MAX_SHARDS) {
    throw new OptionError(
      `Failed to parse ${flag}. Expected a shard count from 1 to ${MAX_SHARDS} (got '${text}').`,
    );
  }
  return Number(text);
}

/** `--shard i/N`: index i (0-based) of N shards. */
export function parseShardFlag(text: string): { index: number; count: number } {
  const match = /^([^/]*)\/([^/]*)$/.exec(text.trim());
  if (!match) throw new OptionError(`Failed to parse --shard. Expected i/N, e.g. 0/4 (got '${text}').`);
  const count = shardCount('--shard', match[2]!);
  if (!INDEX_TEXT.test(match[1]!) || Number(match[1]) >= count) {
    throw new OptionError(
      `Failed to parse --shard. The index must be 0 to ${count - 1} for ${count} shards (got '${text}').`,
    );
  }
  return { index: Number(match[1]), count };
}

/** `--shards N` with the index from JOB_COMPLETION_INDEX (an Indexed Job's pod). */
export function shardFromEnvironment(
  countText: string,
  environment: Readonly<Record<string, string | undefined>>,
): { index: number; count: number } {
  const count = shardCount('--shards', countText);
  const raw = environment[JOB_COMPLETION_INDEX];
  if (raw === undefined) {
    throw new OptionError(
      `--shards ${count} takes the shard index from ${JOB_COMPLETION_INDEX} (set in the pods of a Kubernetes Indexed Job), which is not set: give --shard i/${count}, or --local to run every shard on this host.`,
    );
  }
  if (!INDEX_TEXT.test(raw) || Number(raw) >= count) {
    throw new OptionError(
      `${JOB_COMPLETION_INDEX}='${raw}' is not a shard index of --shards ${count} (0 to ${count - 1}): the Job's completions must equal --shards.`,
    );
  }
  return { index: Number(raw), count };
}

/**
 * `--start-at`: an ISO 8601 time with a zone (2026-12-03T15:00:00Z) or epoch milliseconds. Refused: anything
 * else, a time already past (the windows could no longer line up), or more than 24 h ahead.
 */
export function parseStartAt(text: string, nowMs: number, coordinated = false): number {
  const trimmed = text.trim();
  if (trimmed === COORDINATED_START) {
    if (!coordinated) {
      throw new OptionError(
        `--start-at ${COORDINATED_START} is only for shard processes started by --shards N --local.`,
      );
    }
    return 0;
  }
  let ms: number;
  if (/^[0-9]{1,15}$/.test(trimmed)) ms = Number(trimmed);
  else if (/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/.test(trimmed))
    ms = Date.parse(trimmed);
  else ms = Number.NaN;
  if (!Number.isFinite(ms)) {
    throw new OptionError(
      `Failed to parse --start-at. Expected an ISO time with a zone (e.g. 2026-12-03T15:00:00Z) or epoch milliseconds (got '${text}').`,
    );
  }
  if (ms < nowMs) {
    throw new OptionError(
      `--start-at ${new Date(ms).toISOString()} is ${((nowMs - ms) / 1000).toFixed(1)} s in the past: the shards' windows could not line up. Choose a time every shard reaches before it (e.g. a minute ahead).`,
    );
  }
  if (ms - nowMs > START_AT_MAX_AHEAD_MS) {
    throw new OptionError(
      `--start-at ${new Date(ms).toISOString()} is more than 24 h ahead (${((ms - nowMs) / 3_600_000).toFixed(1)} h): refused as a likely typo.`,
    );
  }
  return ms;
}

/** `--clock-sync`: 'none' or an http(s) URL (its `Date` header is the reference clock). */
export function parseClockSync(text: string): string {
  if (text === 'none') return text;
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new OptionError(`Failed to parse --clock-sync. Expected an http(s) URL or 'none' (got '${text}').`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new OptionError(`Failed to parse --clock-sync. Expected an http(s) URL or 'none' (got '${text}').`);
  }
  return url.href;
}
