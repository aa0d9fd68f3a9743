/**
 * The shard flags (--shard i/N, --shards N, --local, --start-at, --clock-sync) → this process's ShardSettings,
 * or the number of local shard processes to start (--shards N --local), with every combination that cannot
 * line windows up across processes refused (exit 3): count windows, binary search, an open-ended range,
 * warm-up and --request-count (counts per process), --repeat, the profile export, no -u.
 */
import { OptionError } from '../errors.ts';
import type { ProfileSettings } from '../profile/settings.ts';
import {
  parseClockSync,
  parseShardFlag,
  parseStartAt,
  type ShardSettings,
  shardFromEnvironment,
} from './shard-spec.ts';

export interface ShardFlags {
  shard?: string;
  shards?: string;
  local?: boolean;
  startAt?: string;
  clockSync?: string;
  url?: string;
  repeat?: string;
  profileExportFile?: string;
  printRecord?: boolean;
}

export interface ShardContext {
  environment: Readonly<Record<string, string | undefined>>;
  nowMs: number;
  /** This process was started by --local with an IPC channel (it may take --start-at ipc). */
  coordinated?: boolean;
}

export type ShardResolution =
  | { kind: 'none' }
  | { kind: 'shard'; shard: ShardSettings; warnings: string[] }
  | { kind: 'local'; count: number; startAtMs?: number };

/** The reference clock of a shard by default: the target's own HTTP endpoint (its `Date` header). */
export function defaultClockSync(settings: ProfileSettings): string | undefined {
  if (settings.protocol !== 'http') return undefined;
  const base = settings.url.includes('://') ? settings.url : `http://${settings.url}`;
  try {
    return new URL('/v2/health/live', base).href;
  } catch {
    return undefined;
  }
}

function refuseUnalignable(settings: ProfileSettings, flags: ShardFlags, what: string): void {
  const m = settings.measurement;
  const refuse = (why: string): never => {
    throw new OptionError(`${what} cannot be combined with ${why}`);
  };
  if (m.warmupRequestCount > 0 || m.requestCount > 0)
    refuse('--warmup-request-count or --request-count: counts are per process; windows are timed');
  if (m.mode !== 'time_windows')
    refuse('--measurement-mode count_windows: shards line up time windows (use -p)');
  if (settings.search === 'binary')
    refuse('--binary-search: the next level depends on merged results no shard has');
  if (settings.load.mode !== 'custom_intervals' && settings.load.range.end === 0)
    refuse('an open-ended range (end 0): every shard must know the levels in advance');
  if (flags.repeat !== undefined) refuse('--repeat: merge the records of separate sharded runs with compare');
  if (flags.profileExportFile !== undefined)
    refuse('--profile-export-file: per-request times are per process');
}

export function resolveShard(
  flags: ShardFlags,
  settings: ProfileSettings,
  context: ShardContext,
): ShardResolution {
  if (flags.shard !== undefined && flags.shards !== undefined)
    throw new OptionError(
      'Give either --shard i/N or --shards N (index from JOB_COMPLETION_INDEX), not both.',
    );
  if (flags.local && flags.shards === undefined)
    throw new OptionError('--local needs --shards N (the number of shard processes to start on this host).');
  const sharded = flags.shard !== undefined || flags.shards !== undefined;
  if (!sharded || flags.local) {
    if (flags.printRecord)
      throw new OptionError('--print-record applies only to a shard (--shard or --shards in a Job).');
  }
  if (!sharded) {
    if (flags.startAt !== undefined || flags.clockSync !== undefined)
      throw new OptionError('--start-at and --clock-sync apply only to a sharded run (--shard or --shards).');
    return { kind: 'none' };
  }
  const startAtMs =
    flags.startAt === undefined
      ? undefined
      : parseStartAt(flags.startAt, context.nowMs, context.coordinated ?? false);
  const clockSync = flags.clockSync === undefined ? undefined : parseClockSync(flags.clockSync);
  if (flags.local) {
    const { count } = parseShardFlag(`0/${flags.shards}`);
    refuseUnalignable(settings, flags, '--shards --local');
    return startAtMs === undefined ? { kind: 'local', count } : { kind: 'local', count, startAtMs };
  }
  const where =
    flags.shard !== undefined
      ? parseShardFlag(flags.shard)
      : shardFromEnvironment(flags.shards as string, context.environment);
  refuseUnalignable(settings, flags, '--shard');
  if (flags.url === undefined)
    throw new OptionError(
      'A shard needs -u: every shard must load the same server (not its own embedded one).',
    );
  if (startAtMs === undefined) {
    throw new OptionError(
      '--shard needs --start-at (an ISO time or epoch ms every shard reaches before it), so all shards open their windows together.',
    );
  }
  const warnings: string[] = [];
  let sync = clockSync ?? defaultClockSync(settings);
  if (sync === undefined) {
    sync = 'none';
    warnings.push(
      `Shard ${where.index}: the clock offset is not measured (gRPC has no Date header): give --clock-sync http://HOST:HTTP_PORT/v2/health/live, or --clock-sync none to rely on NTP.`,
    );
  }
  return { kind: 'shard', shard: { ...where, startAtMs, clockSync: sync }, warnings };
}
