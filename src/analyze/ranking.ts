/**
 * Scoring and ranking of the configs tried (pure). A config's figure is its best load level that meets every
 * constraint (best by the objectives' score); configs that have one rank above all that do not, by score;
 * the rest rank by how far they missed (the smallest summed relative excess over the constraints at any of
 * their levels), then configs the server refused or that failed. Ties go to the earlier trial, so the order
 * is deterministic. A level the search re-measured (confirmations) counts with the mean of its measurements,
 * and alone when that mean meets the constraints.
 */
import { type Constraint, checkConstraints, describeFailure } from './constraints.ts';
import { type Objective, objectiveScore } from './objectives.ts';
import { type ConfigTrial, confirmedLevels, isUsableLevel, type LevelSample } from './trial.ts';

export interface ConfigScore {
  trial: ConfigTrial;
  /** Some usable level meets every constraint and has every objective figure. */
  feasible: boolean;
  /** Feasible: the best feasible level. Otherwise: the level that came closest to the constraints. */
  level?: LevelSample;
  /** The objectives' score of `level` (feasible only). */
  score?: number;
  /** Summed relative excess at `level` (0 when feasible; +∞ when nothing usable was measured). */
  violation: number;
  /** Why it is not feasible, in words. */
  reason?: string;
}

export function scoreTrial(
  trial: ConfigTrial,
  objectives: readonly Objective[],
  constraints: readonly Constraint[],
): ConfigScore {
  if (trial.outcome === 'load_failed') {
    return {
      trial,
      feasible: false,
      violation: Number.POSITIVE_INFINITY,
      reason: `server refused the config: ${trial.error ?? ''}`,
    };
  }
  let best: { level: LevelSample; score: number } | undefined;
  let closest: { level: LevelSample; violation: number; reason: string } | undefined;
  // A re-measured level counts with the mean of its measurements; when that mean still meets the constraints
  // it is the config's figure (its other levels had one window each: the re-measure was of its best claim).
  let usable = confirmedLevels(trial).filter(isUsableLevel);
  const confirmed = usable.filter((l) => (l.samples ?? 1) > 1);
  if (confirmed.some((l) => checkConstraints(constraints, l.figures).every((c) => c.passed)))
    usable = confirmed;
  for (const level of usable) {
    const checks = checkConstraints(constraints, level.figures);
    const failed = checks.filter((c) => !c.passed);
    if (failed.length === 0) {
      const score = objectiveScore(objectives, level.figures);
      if (score === undefined) {
        const missing = objectives
          .filter((o) => level.figures[o.metric.name] === undefined)
          .map((o) => o.metric.name);
        if (!closest || closest.violation > 1)
          closest = { level, violation: 1, reason: `objective not measured: ${missing.join(', ')}` };
        continue;
      }
      if (!best || score > best.score) best = { level, score };
      continue;
    }
    const violation = failed.reduce((sum, c) => sum + c.excess, 0);
    if (!closest || violation < closest.violation) {
      closest = { level, violation, reason: failed.map(describeFailure).join('; ') };
    }
  }
  if (best) return { trial, feasible: true, level: best.level, score: best.score, violation: 0 };
  if (closest)
    return {
      trial,
      feasible: false,
      level: closest.level,
      violation: closest.violation,
      reason: closest.reason,
    };
  const reason =
    trial.outcome === 'error' || trial.outcome === 'interrupted'
      ? `${trial.outcome}: ${trial.error ?? 'no level measured'}`
      : 'no usable load level (none stabilised or every level failed)';
  return { trial, feasible: false, violation: Number.POSITIVE_INFINITY, reason };
}

/** Negative when `a` ranks above `b`. */
export function compareScores(a: ConfigScore, b: ConfigScore): number {
  if (a.feasible !== b.feasible) return a.feasible ? -1 : 1;
  if (a.feasible && b.feasible) {
    const d = (b.score as number) - (a.score as number);
    if (d !== 0) return d;
  } else if (a.violation !== b.violation) {
    if (a.violation === Number.POSITIVE_INFINITY) return 1;
    if (b.violation === Number.POSITIVE_INFINITY) return -1;
    return a.violation - b.violation;
  }
  return a.trial.index - b.trial.index;
}

/** True when `a` is strictly better than `b` (the quick search moves only on this). */
export function improves(a: ConfigScore, b: ConfigScore): boolean {
  if (a.feasible !== b.feasible) return a.feasible;
  if (a.feasible) return (a.score as number) > (b.score as number);
  return a.violation < b.violation;
}

export function rankTrials(
  trials: readonly ConfigTrial[],
  objectives: readonly Objective[],
  constraints: readonly Constraint[],
): ConfigScore[] {
  return trials.map((t) => scoreTrial(t, objectives, constraints)).sort(compareScores);
}

export interface ParetoPoint {
  throughputPerSec: number;
  latencyUs: number;
}

/**
 * The non-dominated points for (throughput up, latency down), by ascending throughput: no other point has
 * at least the throughput and at most the latency with one of them strictly better. Equal points: the first.
 */
export function paretoFrontier<T extends ParetoPoint>(points: readonly T[]): T[] {
  const sorted = points
    .map((p, i) => ({ p, i }))
    .filter(({ p }) => Number.isFinite(p.throughputPerSec) && Number.isFinite(p.latencyUs))
    .sort(
      (a, b) => b.p.throughputPerSec - a.p.throughputPerSec || a.p.latencyUs - b.p.latencyUs || a.i - b.i,
    );
  const frontier: T[] = [];
  let bestLatency = Number.POSITIVE_INFINITY;
  for (const { p } of sorted) {
    if (p.latencyUs < bestLatency) {
      frontier.push(p);
      bestLatency = p.latencyUs;
    }
  }
  return frontier.reverse();
}
