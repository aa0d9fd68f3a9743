/**
 * Which load level of a config to measure next (pure). A sweep starts at `start` and climbs: more load is
 * pointless once the stop-early rule, saturation or a failed level says so (stop-early.ts). Brute force starts
 * every config at the lightest load. Quick search starts a config at the level where the leading config had its
 * best feasible figure (a warm start: with a higher-is-better objective such as throughput, a neighbour's best
 * level is almost always the leader's or next to it, so the light levels below it are spent for nothing).
 * When the start level is no use — it failed, or broke a constraint that more load only makes worse — the
 * sweep walks down until a level meets the constraints, then stops: less load only gives less throughput.
 */
import { type Constraint, checkConstraints, failsForHigherLoad } from './constraints.ts';
import type { Objective } from './objectives.ts';
import type { ConfigScore } from './ranking.ts';
import { levelStopReason } from './stop-early.ts';
import { isUsableLevel, type LevelSample, type LoadPoint } from './trial.ts';

export interface SweptLevel {
  /** Index into the search's load levels. */
  index: number;
  sample: LevelSample;
}

export type SweepStep = { measure: number } | { stop: string };

/** Where a quick-search config's sweep starts: the leader's best feasible level, or the lightest load. */
export function warmStartIndex(
  loads: readonly LoadPoint[],
  leader: ConfigScore | undefined,
  objectives: readonly Objective[],
): number {
  // Only when more of every objective is better: with a latency objective the best level is the lightest.
  if (!objectives.every((o) => o.metric.higherIsBetter)) return 0;
  const level = leader?.feasible ? leader.level : undefined;
  if (!level) return 0;
  const index = loads.findIndex((l) => l.mode === level.mode && l.value === level.value);
  return Math.max(0, index);
}

/** The next level to measure after `swept` (in the order measured), or why the sweep stops. */
export function nextSweepStep(
  swept: readonly SweptLevel[],
  start: number,
  levelCount: number,
  constraints: readonly Constraint[],
  saturationGain: number,
): SweepStep {
  const first = swept[0];
  const last = swept.at(-1);
  if (!first || !last) return start < levelCount ? { measure: start } : { stop: 'all levels' };
  const noUse = (s: LevelSample) =>
    !isUsableLevel(s) || checkConstraints(constraints, s.figures).some(failsForHigherLoad);
  if (start > 0 && noUse(first.sample)) {
    // Walking down from a warm start that broke the constraints.
    if (last !== first && !noUse(last.sample))
      return { stop: 'below the start: first level meeting the constraints' };
    if (last !== first && !isUsableLevel(last.sample)) return { stop: `level failed: ${last.sample.status}` };
    if (last.index === 0) {
      return { stop: levelStopReason([last.sample], constraints, saturationGain) ?? 'no lighter level' };
    }
    return { measure: last.index - 1 };
  }
  const stop = levelStopReason(
    swept.map((s) => s.sample),
    constraints,
    saturationGain,
  );
  if (stop) return { stop };
  return last.index + 1 < levelCount ? { measure: last.index + 1 } : { stop: 'all levels' };
}

/**
 * After a re-measure (search.ts confirmTop) the mean of a level's measurements may break a latency limit that its
 * first window met. A config swept from the lightest load then falls back on a lighter level it measured; one
 * whose sweep started higher (quick search's warm start) has none, and would drop out of the ranking for want of
 * a level never measured. This says which lighter level to measure next, walking down as from a start that broke
 * the limits, or undefined: the config has a level meeting every constraint, its lightest measured level is the
 * lightest load, or that level fails only limits that less load cannot fix. `levels`: the config's levels with
 * their re-measures folded in (confirmedLevels), in load order.
 */
export function walkDownAfterRemeasure(
  levels: readonly LevelSample[],
  loads: readonly LoadPoint[],
  constraints: readonly Constraint[],
): number | undefined {
  const usable = levels.filter(isUsableLevel);
  if (usable.some((l) => checkConstraints(constraints, l.figures).every((c) => c.passed))) return undefined;
  const lightest = levels[0];
  if (!lightest) return undefined;
  const index = loads.findIndex((l) => l.mode === lightest.mode && l.value === lightest.value);
  if (index <= 0) return undefined;
  const breaks =
    !isUsableLevel(lightest) || checkConstraints(constraints, lightest.figures).some(failsForHigherLoad);
  return breaks ? index - 1 : undefined;
}
