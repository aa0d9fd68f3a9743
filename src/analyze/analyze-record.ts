/**
 * The JSON record of a search (`--json FILE`): every config tried with its levels, the ranking, the best
 * config as config.pbtxt text. Written after every config, so an interrupted search leaves it behind and
 * `--resume FILE` continues from it. Reading checks that the record belongs to the same search.
 */
import { z } from 'zod';
import { OptionError } from '../errors.ts';
import type { ConfigScore } from './ranking.ts';
import type { SearchMode } from './search.ts';
import type { ConfigTrial, LoadPoint } from './trial.ts';

export const ANALYZE_RECORD_KIND = 'inferbench-analyze';
export const ANALYZE_RECORD_VERSION = 1;

export interface RankedEntry {
  rank: number;
  key: string;
  feasible: boolean;
  /** The level the rank is judged by (best feasible, else the closest to the constraints). */
  level?: LoadPoint;
  figures?: Record<string, number>;
  /** Measurements `figures` is the mean of, when the level was re-measured (search.ts confirmTop). */
  samples?: number;
  reason?: string;
}

export interface AnalyzeRecord {
  kind: typeof ANALYZE_RECORD_KIND;
  version: typeof ANALYZE_RECORD_VERSION;
  tool: { name: 'inferbench'; version: string };
  startedAtWallMs: number;
  finishedAtWallMs: number;
  model: string;
  /** 'embedded' or the server URL. */
  server: string;
  mode: SearchMode;
  objectives: string[];
  constraints: string[];
  loads: LoadPoint[];
  /** The model's config before the search, as config.pbtxt text. */
  baseConfig: string;
  spaceConfigs: number;
  measurements: number;
  reused: number;
  complete: boolean;
  stoppedBy?: string;
  trials: ConfigTrial[];
  ranking: RankedEntry[];
  /** The best config that meets the constraints, as config.pbtxt text. */
  best?: { key: string; config: string };
}

export function rankingEntries(ranked: readonly ConfigScore[]): RankedEntry[] {
  return ranked.map((s, i) => ({
    rank: i + 1,
    key: s.trial.key,
    feasible: s.feasible,
    ...(s.level ? { level: { mode: s.level.mode, value: s.level.value }, figures: s.level.figures } : {}),
    ...(s.level?.samples ? { samples: s.level.samples } : {}),
    ...(s.reason ? { reason: s.reason } : {}),
  }));
}

export function serializeAnalyzeRecord(record: AnalyzeRecord): string {
  return `${JSON.stringify(record, null, 2)}\n`;
}

const loadPoint = z.object({ mode: z.enum(['concurrency', 'request_rate']), value: z.number() });
const candidate = z.object({
  maxBatchSize: z.number().int().nonnegative(),
  dynamicBatching: z.boolean(),
  maxQueueDelayUs: z.number().int().nonnegative(),
  preferredBatchSize: z.array(z.number().int().positive()),
  instanceCount: z.number().int().positive(),
  instanceKind: z.enum(['KIND_CPU', 'KIND_GPU']),
  batchBuckets: z.string().optional(),
});
const level = loadPoint.extend({ status: z.string(), figures: z.record(z.string(), z.number()) });
const trial = z.object({
  index: z.number().int(),
  key: z.string(),
  candidate,
  outcome: z.enum(['measured', 'load_failed', 'interrupted', 'error']),
  error: z.string().optional(),
  levels: z.array(level),
  levelsStoppedBy: z.string().optional(),
  elapsedMs: z.number(),
  // Re-measures of a leader's best level (search.ts confirmTop): a resumed search does not repeat them.
  confirmations: z.array(level).optional(),
});
const resumable = z.object({
  kind: z.literal(ANALYZE_RECORD_KIND),
  version: z.literal(ANALYZE_RECORD_VERSION),
  model: z.string(),
  loads: z.array(loadPoint),
  trials: z.array(trial),
});

/** The trials of a record to resume, after checking it is a record of this search (same model, same loads). */
export function trialsToResume(
  text: string,
  path: string,
  model: string,
  loads: readonly LoadPoint[],
): ConfigTrial[] {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new OptionError(`--resume ${path}: not JSON (${(error as Error).message})`);
  }
  const parsed = resumable.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new OptionError(
      `--resume ${path}: not an analyze record of this version (${issue ? `${issue.path.join('.')}: ${issue.message}` : 'invalid'})`,
    );
  }
  const record = parsed.data;
  if (record.model !== model) {
    throw new OptionError(`--resume ${path}: the record is for model '${record.model}', not '${model}'`);
  }
  const same =
    record.loads.length === loads.length &&
    record.loads.every((l, i) => l.mode === loads[i]?.mode && l.value === loads[i]?.value);
  if (!same) {
    const text = (ls: readonly LoadPoint[]) => ls.map((l) => `${l.mode} ${l.value}`).join(', ');
    throw new OptionError(
      `--resume ${path}: the record measured other load levels (${text(record.loads)}) than this search (${text(loads)})`,
    );
  }
  return record.trials as ConfigTrial[];
}
