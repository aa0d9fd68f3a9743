/**
 * Which load level comes next (pure, perf_analyzer §3.4). The profiler asks `next(metPrevious)` after each
 * level; `undefined` ends the sweep. A level "meets the threshold" when it stabilised and stayed under the
 * latency limit.
 */
import type { Range } from './settings.ts';

export interface Sweep {
  /** `metPrevious` is undefined on the first call. */
  next(metPrevious: boolean | undefined): number | undefined;
}

/** start, start+step, … while (v ≤ end or end = 0) and the previous level met the threshold. */
export function linearSweep(range: Range): Sweep {
  let index = 0;
  return {
    next(metPrevious) {
      if (metPrevious === false) return undefined;
      const value = range.start + index * range.step;
      if (index > 0 && range.step <= 0) return undefined;
      if (range.end !== 0 && value > range.end + 1e-9) return undefined;
      index++;
      return value;
    },
  };
}

/**
 * Binary search (--binary-search): profile start (stop if it fails), then end (stop if it passes), then the
 * midpoint of [lo, hi] while hi − lo > step, moving lo up on a pass and hi down on a failure. Concurrency
 * midpoints use integer division.
 */
export function binarySearchSweep(range: Range, integer: boolean): Sweep {
  let phase: 'start' | 'end' | 'search' = 'start';
  let lo = range.start;
  let hi = range.end;
  let mid = 0;
  const pickMid = (): number | undefined => {
    if (hi - lo <= range.step) return undefined;
    mid = integer ? Math.floor((lo + hi) / 2) : (lo + hi) / 2;
    return mid;
  };
  return {
    next(metPrevious) {
      if (metPrevious === undefined) {
        phase = 'start';
        return range.start;
      }
      if (phase === 'start') {
        if (!metPrevious || range.end <= range.start) return undefined;
        phase = 'end';
        return range.end;
      }
      if (phase === 'end') {
        if (metPrevious) return undefined;
        phase = 'search';
        return pickMid();
      }
      if (metPrevious) lo = mid;
      else hi = mid;
      return pickMid();
    },
  };
}
