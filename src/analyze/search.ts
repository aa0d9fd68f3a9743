/**
 * The search loop: which configs to try (brute: all of them; quick: the hill climb), each applied and swept
 * over the load levels with the stop-early rules, measurements delegated to a `Measurer` (the real one drives
 * a server through the load API and the profiler; tests pass a known surface). Trials of a resumed record are
 * reused by config key instead of measured again. SIGINT (the signal) ends the search after the current
 * level; what was measured is returned.
 */
import type { Constraint } from './constraints.ts';
import { nextSweepStep, type SweptLevel, walkDownAfterRemeasure, warmStartIndex } from './level-sweep.ts';
import type { Objective } from './objectives.ts';
import { quickStart, quickStep } from './quick-search.ts';
import { type ConfigScore, compareScores, rankTrials, scoreTrial } from './ranking.ts';
import {
  type Candidate,
  type Coordinate,
  candidateAt,
  candidateKey,
  enumerateSpace,
  type SearchSpace,
} from './search-space.ts';
import { type ConfigTrial, confirmedLevels, type LevelSample, type LoadPoint } from './trial.ts';

/** The server refused the config (the load API answered with an error): recorded, and the search goes on. */
export class ConfigRejectedError extends Error {}

export interface Measurer {
  /** Makes the server serve `candidate`; rejects with ConfigRejectedError when the server refuses it. */
  apply(candidate: Candidate): Promise<void>;
  /** Measures one load level of the config applied last. */
  measure(candidate: Candidate, load: LoadPoint): Promise<LevelSample>;
}

export type SearchMode = 'brute' | 'quick';

export interface SearchProgress {
  /** 1-based trial about to run, and the most the search may run (brute: exact; quick: an upper bound). */
  trial: number;
  plannedAtMost: number;
  key: string;
  /** Levels measured so far in this search (reused trials not counted). */
  measurements: number;
  elapsedMs: number;
  /** Mean time of the trials measured so far × the trials that may remain; undefined before the first. */
  etaMs?: number;
  /** Set when this is a leader's re-measure (confirmTop), at this load level, rather than a new config. */
  remeasure?: LoadPoint;
}

export interface SearchOptions {
  space: SearchSpace;
  mode: SearchMode;
  loads: readonly LoadPoint[];
  objectives: readonly Objective[];
  constraints: readonly Constraint[];
  /** Stop a config's load sweep when throughput gains less than this fraction (0 = never). */
  saturationGain: number;
  /** Client batch size (configs with a smaller max_batch_size are left out). */
  clientBatchSize: number;
  /** Try at most this many configs (undefined = no cap). */
  maxConfigs?: number;
  /**
   * Re-measure leaders (0 = never): once the search has tried its configs, the best `confirmTop` feasible
   * configs not yet re-measured measure their best level once more and count with the mean; repeated (at
   * most {@link MAX_CONFIRM_ROUNDS} times, then up to {@link MAX_LEADER_ROUNDS} times for the leader alone)
   * until the leader is a re-measured config. Quick search climbs on
   * from a new leader it has not climbed from.
   */
  confirmTop?: number;
  /** Trials of an earlier, interrupted run of this search: reused by key. */
  previous?: readonly ConfigTrial[];
  measurer: Measurer;
  /** Milliseconds, monotonic (injected so tests need no real time). */
  nowMs: () => number;
  signal?: AbortSignal;
  onProgress?: (progress: SearchProgress) => void;
  /** After every trial, with all trials so far (checkpoint for --resume). */
  onTrial?: (trial: ConfigTrial, trials: readonly ConfigTrial[]) => void;
}

export interface SearchResult {
  trials: ConfigTrial[];
  ranked: ConfigScore[];
  /** Load levels measured in this run (the cost figure brute vs quick is judged by). */
  measurements: number;
  /** Trials taken over from `previous` unmeasured. */
  reused: number;
  /** Valid distinct configs in the space (what brute force measures). */
  spaceConfigs: number;
  invalid: { coordinate: number[]; reason: string }[];
  interrupted: boolean;
  /** Why the search stopped before its natural end (interrupted, max configs, the server failing). */
  stoppedBy?: string;
}

/** Consecutive trials ending in a measurement error after which the search gives up (the server is gone). */
const MAX_CONSECUTIVE_ERRORS = 3;
/** Confirmation rounds per search at most (each re-measures up to `confirmTop` configs). */
export const MAX_CONFIRM_ROUNDS = 2;
/**
 * Rounds after those that re-measure the leader alone, while it is a config not yet re-measured: without
 * them a search whose re-measured leaders all lost could end on a new leader's single window.
 */
export const MAX_LEADER_ROUNDS = 3;

export function etaMs(
  measuredTrials: number,
  elapsedMs: number,
  remainingTrials: number,
): number | undefined {
  if (measuredTrials <= 0) return undefined;
  return (elapsedMs / measuredTrials) * Math.max(0, remainingTrials);
}

export async function runSearch(options: SearchOptions): Promise<SearchResult> {
  const { space, mode, signal } = options;
  const enumeration = enumerateSpace(space, options.clientBatchSize);
  const spaceConfigs = enumeration.candidates.length;
  const cap = Math.min(spaceConfigs, options.maxConfigs ?? Number.POSITIVE_INFINITY);
  const previous = new Map<string, ConfigTrial>();
  for (const t of options.previous ?? []) {
    if (t.outcome === 'measured' || t.outcome === 'load_failed') previous.set(t.key, t);
  }
  const trials: ConfigTrial[] = [];
  const scores = new Map<string, ConfigScore>();
  const startMs = options.nowMs();
  let measurements = 0;
  let reused = 0;
  let measuredTrials = 0;
  let measuringMs = 0;
  let consecutiveErrors = 0;
  let stoppedBy: string | undefined;

  const stopNow = (): boolean => {
    if (signal?.aborted) stoppedBy ??= 'interrupted';
    else if (trials.length >= cap && cap < spaceConfigs) stoppedBy ??= `--max-configs ${cap} reached`;
    else if (consecutiveErrors >= MAX_CONSECUTIVE_ERRORS)
      stoppedBy ??= `${MAX_CONSECUTIVE_ERRORS} configs in a row failed to measure`;
    return stoppedBy !== undefined || trials.length >= cap;
  };

  /** stopNow without the cap on configs (confirmation re-measures add no config). */
  const stopNowExceptCap = (): boolean => {
    if (signal?.aborted) stoppedBy ??= 'interrupted';
    else if (consecutiveErrors >= MAX_CONSECUTIVE_ERRORS)
      stoppedBy ??= `${MAX_CONSECUTIVE_ERRORS} configs in a row failed to measure`;
    return stoppedBy !== undefined;
  };

  /** Quick search starts each config's sweep at the leader's best level (level-sweep.ts); brute at the lightest. */
  const sweepStart = (): number =>
    mode === 'quick'
      ? warmStartIndex(options.loads, [...scores.values()].sort(compareScores)[0], options.objectives)
      : 0;

  const tryCandidate = async (candidate: Candidate): Promise<ConfigScore> => {
    const key = candidateKey(candidate);
    const index = trials.length + 1;
    const earlier = previous.get(key);
    let trial: ConfigTrial;
    if (earlier) {
      trial = { ...earlier, index };
      if (earlier.confirmations) trial.confirmations = [...earlier.confirmations];
      reused++;
    } else {
      options.onProgress?.({
        trial: index,
        plannedAtMost: cap,
        key,
        measurements,
        elapsedMs: options.nowMs() - startMs,
        etaMs: etaMs(measuredTrials, measuringMs, cap - index + 1),
      });
      const began = options.nowMs();
      trial = await measureTrial(candidate, key, index, options, () => measurements++, sweepStart());
      trial.elapsedMs = options.nowMs() - began;
      measuringMs += trial.elapsedMs;
      measuredTrials++;
      consecutiveErrors = trial.outcome === 'error' ? consecutiveErrors + 1 : 0;
    }
    trials.push(trial);
    const score = scoreTrial(trial, options.objectives, options.constraints);
    scores.set(key, score);
    options.onTrial?.(trial, trials);
    return score;
  };

  /**
   * A re-measure that leaves a warm-started config without a level meeting the constraints: measure the lighter
   * levels its sweep skipped, walking down until one meets them (level-sweep.ts walkDownAfterRemeasure).
   */
  const walkDown = async (trial: ConfigTrial): Promise<void> => {
    for (;;) {
      const next = walkDownAfterRemeasure(confirmedLevels(trial), options.loads, options.constraints);
      if (next === undefined || signal?.aborted) return;
      const load = options.loads[next] as LoadPoint;
      let sample: LevelSample;
      try {
        sample = await options.measurer.measure(trial.candidate, load);
      } catch {
        return; // The config keeps what it has; a server gone shows in the next measurement.
      }
      measurements++;
      trial.levels = [sample, ...trial.levels];
      if (sample.status === 'interrupted') return;
    }
  };

  const confirmTop = Math.max(0, Math.floor(options.confirmTop ?? 0));
  let confirmRounds = 0;
  /**
   * One confirmation round: re-measures the best level of the top `confirmTop` feasible configs not yet
   * re-measured. Returns false when there is nothing (more) to do: the leader is already re-measured, no
   * config is feasible, the rounds are used up, or the search was stopped.
   */
  const confirmLeaders = async (): Promise<boolean> => {
    if (confirmTop === 0 || confirmRounds >= MAX_CONFIRM_ROUNDS + MAX_LEADER_ROUNDS) return false;
    if (signal?.aborted || consecutiveErrors >= MAX_CONSECUTIVE_ERRORS) return false;
    const ranked = [...scores.values()].sort(compareScores);
    const leader = ranked[0];
    if (!leader?.feasible || remeasured(leader)) return false;
    const width = confirmRounds < MAX_CONFIRM_ROUNDS ? confirmTop : 1;
    const due = ranked.filter((r) => r.feasible && r.level && !remeasured(r)).slice(0, width);
    confirmRounds++;
    for (const r of due) {
      if (signal?.aborted) break;
      const trial = r.trial;
      const level = r.level as LevelSample;
      const load: LoadPoint = { mode: level.mode, value: level.value };
      options.onProgress?.({
        trial: trials.length,
        plannedAtMost: cap,
        key: trial.key,
        measurements,
        elapsedMs: options.nowMs() - startMs,
        remeasure: load,
      });
      let sample: LevelSample;
      try {
        await options.measurer.apply(trial.candidate);
        sample = await options.measurer.measure(trial.candidate, load);
        measurements++;
        consecutiveErrors = 0;
      } catch (error) {
        // Recorded as an unusable re-measurement: the config keeps its first figure and is not tried again.
        sample = { ...load, status: `confirmation failed: ${messageOf(error)}`, figures: {} };
        if (!(error instanceof ConfigRejectedError)) consecutiveErrors++;
      }
      trial.confirmations = [...(trial.confirmations ?? []), sample];
      await walkDown(trial);
      scores.set(trial.key, scoreTrial(trial, options.objectives, options.constraints));
      options.onTrial?.(trial, trials);
    }
    return due.length > 0;
  };

  if (mode === 'brute') {
    for (const candidate of enumeration.candidates) {
      if (stopNow()) break;
      await tryCandidate(candidate);
    }
    while (!stopNowExceptCap() && (await confirmLeaders())) {}
  } else {
    const coordinateOf = new Map<string, Coordinate>();
    const climbedFrom = new Set<string>();
    let at: Coordinate | undefined = quickStart(space, options.clientBatchSize);
    while (at && !stopNow()) {
      const step = quickStep(space, at, (key) => scores.get(key), options.clientBatchSize);
      if (step.kind === 'move') {
        at = step.to;
        continue;
      }
      if (step.kind === 'measure') {
        for (let i = 0; i < step.candidates.length; i++) {
          if (stopNow()) break;
          const candidate = step.candidates[i] as Candidate;
          coordinateOf.set(candidateKey(candidate), step.at[i] as Coordinate);
          await tryCandidate(candidate);
        }
        continue;
      }
      // A summit: every neighbour measured, none better. Re-measure the leaders; if another config leads
      // then and its neighbourhood was not climbed yet, climb on from there.
      const here = candidateAt(space, at, options.clientBatchSize);
      if ('candidate' in here) climbedFrom.add(candidateKey(here.candidate));
      at = undefined;
      while (confirmTop > 0 && !stopNowExceptCap()) {
        const progressed = await confirmLeaders();
        const leader = [...scores.values()].sort(compareScores)[0];
        if (leader?.feasible && remeasured(leader)) {
          if (!climbedFrom.has(leader.trial.key)) at = coordinateOf.get(leader.trial.key);
          break;
        }
        if (!progressed) break;
      }
    }
    // The climb can also end by having tried every config of a small space: the leaders are re-measured then too.
    while (!stopNowExceptCap() && (await confirmLeaders())) {}
  }
  stopNow();
  // A trial cut short by SIGINT is kept in the record but never counts as done on --resume.
  const interrupted = signal?.aborted === true;
  return {
    trials,
    ranked: rankTrials(trials, options.objectives, options.constraints),
    measurements,
    reused,
    spaceConfigs,
    invalid: enumeration.invalid,
    interrupted,
    stoppedBy,
  };
}

async function measureTrial(
  candidate: Candidate,
  key: string,
  index: number,
  options: SearchOptions,
  counted: () => void,
  startIndex: number,
): Promise<ConfigTrial> {
  const trial: ConfigTrial = { index, key, candidate, outcome: 'measured', levels: [], elapsedMs: 0 };
  try {
    await options.measurer.apply(candidate);
  } catch (error) {
    if (!(error instanceof ConfigRejectedError)) {
      return { ...trial, outcome: 'error', error: messageOf(error) };
    }
    return { ...trial, outcome: 'load_failed', error: error.message };
  }
  const swept: SweptLevel[] = [];
  // Levels in load order whatever order the sweep took (a warm start may walk down).
  const done = (rest: Partial<ConfigTrial>): ConfigTrial => ({
    ...trial,
    levels: [...swept].sort((a, b) => a.index - b.index).map((s) => s.sample),
    ...rest,
  });
  for (;;) {
    const step = nextSweepStep(
      swept,
      startIndex,
      options.loads.length,
      options.constraints,
      options.saturationGain,
    );
    if ('stop' in step) return done({ levelsStoppedBy: step.stop });
    if (options.signal?.aborted) return done({ outcome: 'interrupted', levelsStoppedBy: 'interrupted' });
    const load = options.loads[step.measure] as LoadPoint;
    try {
      const sample = await options.measurer.measure(candidate, load);
      counted();
      swept.push({ index: step.measure, sample });
    } catch (error) {
      return done({ outcome: 'error', error: messageOf(error), levelsStoppedBy: 'measurement error' });
    }
    if (swept.at(-1)?.sample.status === 'interrupted' || options.signal?.aborted) {
      return done({ outcome: 'interrupted', levelsStoppedBy: 'interrupted' });
    }
  }
}

/** The level a config's figure stands on has been measured again (whether or not that worked). */
function remeasured(score: ConfigScore): boolean {
  const level = score.level;
  if (!level) return false;
  return (score.trial.confirmations ?? []).some((c) => c.mode === level.mode && c.value === level.value);
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
