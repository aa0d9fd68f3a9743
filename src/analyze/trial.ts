/**
 * What the search records per configuration tried (the JSON record, the resume file and every report read
 * these): the candidate, whether the server took it, and the figures of each load level measured.
 */
import type { Candidate } from './search-space.ts';

export type LoadMode = 'concurrency' | 'request_rate';

export interface LoadPoint {
  mode: LoadMode;
  /** Concurrency, or request rate (req/s). */
  value: number;
}

export interface LevelSample extends LoadPoint {
  /** The profiler's level status (stable, unstable, single, errors_over_limit, no_data, interrupted, …). */
  status: string;
  /** Every analyze metric the level measured, by name, in base units (see analyze-metrics.ts). */
  figures: Record<string, number>;
  /** How many measurements `figures` is the mean of (absent = 1; see confirmedLevels). */
  samples?: number;
}

/**
 * measured: the server loaded the config and its levels were measured. load_failed: the server refused the
 * config (the search moves on). interrupted: SIGINT came while it was measured (not resumed as done).
 * error: the measurement itself failed (server gone, no data…).
 */
export type TrialOutcome = 'measured' | 'load_failed' | 'interrupted' | 'error';

export interface ConfigTrial {
  /** 1-based order in which the search tried it. */
  index: number;
  key: string;
  candidate: Candidate;
  outcome: TrialOutcome;
  /** load_failed / error: the server's or the measurement's message. */
  error?: string;
  levels: LevelSample[];
  /** Why no higher load level was measured: 'constraint: …', 'saturated', 'all levels', 'level failed: …'. */
  levelsStoppedBy?: string;
  /** Wall time spent on it (applying + measuring), ms. */
  elapsedMs: number;
  /**
   * Re-measurements of the load level that made it a leader (search.ts, `confirmTop`): scoring takes the mean
   * of that level and these, so one lucky window cannot win the search.
   */
  confirmations?: LevelSample[];
}

/** Usable levels: measured to the end (stable, single or unstable after --max-trials windows). */
export function isUsableLevel(level: LevelSample): boolean {
  return level.status === 'stable' || level.status === 'single' || level.status === 'unstable';
}

/**
 * Load levels the trials took to measure, re-measures included: a search's cost, whether or not part of it was
 * measured by an earlier, interrupted run (SearchResult.measurements counts only this run's).
 */
export function levelsMeasured(trials: readonly ConfigTrial[]): number {
  return trials.reduce((n, t) => n + t.levels.length + (t.confirmations?.length ?? 0), 0);
}

export function loadLabel(point: LoadPoint): string {
  return point.mode === 'concurrency' ? `concurrency ${point.value}` : `request rate ${point.value}/s`;
}

function sameLoad(a: LoadPoint, b: LoadPoint): boolean {
  return a.mode === b.mode && a.value === b.value;
}

/**
 * The trial's levels with its confirmations folded in: a level re-measured is replaced by the mean of its
 * usable measurements (each figure averaged over the samples that have it), `samples` saying how many.
 */
export function confirmedLevels(trial: ConfigTrial): LevelSample[] {
  const extra = trial.confirmations ?? [];
  if (extra.length === 0) return trial.levels;
  return trial.levels.map((level) => {
    const again = extra.filter((c) => sameLoad(c, level) && isUsableLevel(c));
    if (again.length === 0) return level;
    const all = isUsableLevel(level) ? [level, ...again] : again;
    const sums = new Map<string, { sum: number; n: number }>();
    for (const sample of all) {
      for (const [name, value] of Object.entries(sample.figures)) {
        const s = sums.get(name) ?? { sum: 0, n: 0 };
        s.sum += value;
        s.n += 1;
        sums.set(name, s);
      }
    }
    const figures: Record<string, number> = {};
    for (const [name, s] of sums) figures[name] = s.sum / s.n;
    return {
      mode: level.mode,
      value: level.value,
      status: (all[0] as LevelSample).status,
      figures,
      samples: all.length,
    };
  });
}
