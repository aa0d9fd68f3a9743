/**
 * When a config's load sweep stops (pure). Levels run from the lightest load up; more load is pointless when
 * (1) the last level failed to measure, (2) it broke an upper bound on a figure that only grows with load
 * (p95 latency over the limit at concurrency 4 will not come back at 8) — the stop-early rule — or
 * (3) throughput saturated: the last level gained less than `saturationGain` over the best before it.
 */
import { type Constraint, checkConstraints, describeFailure, failsForHigherLoad } from './constraints.ts';
import { isUsableLevel, type LevelSample } from './trial.ts';

/** Why the sweep stops after `levels` (the last one just measured), or undefined to go on. */
export function levelStopReason(
  levels: readonly LevelSample[],
  constraints: readonly Constraint[],
  saturationGain: number,
): string | undefined {
  const last = levels.at(-1);
  if (!last) return undefined;
  if (!isUsableLevel(last)) return `level failed: ${last.status}`;
  const hopeless = checkConstraints(constraints, last.figures).filter(failsForHigherLoad);
  if (hopeless.length > 0) return `constraint: ${hopeless.map(describeFailure).join('; ')}`;
  if (saturationGain > 0) {
    const before = levels.slice(0, -1).filter(isUsableLevel);
    const bestBefore = Math.max(0, ...before.map((l) => l.figures.throughput ?? 0));
    const now = last.figures.throughput ?? 0;
    if (before.length > 0 && now < bestBefore * (1 + saturationGain)) {
      return `saturated: throughput gained < ${(saturationGain * 100).toFixed(0)}%`;
    }
  }
  return undefined;
}
