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
}

/** Usable levels: measured to the end (stable, single or unstable after --max-trials windows). */
export function isUsableLevel(level: LevelSample): boolean {
  return level.status === 'stable' || level.status === 'single' || level.status === 'unstable';
}

export function loadLabel(point: LoadPoint): string {
  return point.mode === 'concurrency' ? `concurrency ${point.value}` : `request rate ${point.value}/s`;
}
