/**
 * Open-loop send schedules as pure pacers: each call to `next()` returns when (ns after the schedule's
 * start) the next request is due. Kept free of timers so tables and statistics can test them directly.
 * perf_analyzer semantics: the first request is due one gap after the start, not at 0.
 */

import { mulberry32 } from '../data/seeded-random.ts';
import { NS_PER_S, usToNs } from '../protocol/units.ts';

export interface Pacer {
  /** Offset (ns from the schedule start) of the next request; non-decreasing. */
  next(): number;
}

export type ScheduleSpec =
  | { kind: 'constant'; ratePerSec: number }
  | { kind: 'poisson'; ratePerSec: number; seed: number }
  | { kind: 'custom'; intervalsUs: number[] };

/** Constant rate: the k-th request (k = 1, 2, …) is due at k / rate. Computed from k, so no drift accumulates. */
export function constantPacer(ratePerSec: number): Pacer {
  assertPositive(ratePerSec, 'rate');
  const gapNs = NS_PER_S / ratePerSec;
  let k = 0;
  return { next: () => ++k * gapNs };
}

/** Poisson arrivals: exponential gaps −ln(U)/λ from a seeded PRNG, so the same seed gives the same schedule. */
export function poissonPacer(ratePerSec: number, seed: number): Pacer {
  assertPositive(ratePerSec, 'rate');
  const random = mulberry32(seed);
  let offsetNs = 0;
  return {
    next: () => {
      // 1 − U lies in (0, 1], so the logarithm is finite.
      offsetNs += (-Math.log(1 - random()) / ratePerSec) * NS_PER_S;
      return offsetNs;
    },
  };
}

/** User intervals (µs), cumulative and looping (perf_analyzer --request-intervals). */
export function customPacer(intervalsUs: readonly number[]): Pacer {
  if (intervalsUs.length === 0 || intervalsUs.some((v) => !(v >= 0))) {
    throw new RangeError('custom intervals must be a non-empty list of non-negative microseconds');
  }
  if (intervalsUs.every((v) => v === 0)) throw new RangeError('custom intervals must not all be zero');
  let index = 0;
  let offsetNs = 0;
  return {
    next: () => {
      offsetNs += usToNs(intervalsUs[index % intervalsUs.length]!);
      index++;
      return offsetNs;
    },
  };
}

export function createPacer(spec: ScheduleSpec): Pacer {
  switch (spec.kind) {
    case 'constant':
      return constantPacer(spec.ratePerSec);
    case 'poisson':
      return poissonPacer(spec.ratePerSec, spec.seed);
    case 'custom':
      return customPacer(spec.intervalsUs);
  }
}

/**
 * The "request rate" perf_analyzer reports for custom intervals: count × 1e9 / Σintervals_ns, in integer
 * arithmetic (truncated), as its CSV and summary show it.
 */
export function customIntervalsRatePerSec(intervalsUs: readonly number[]): number {
  const totalNs = intervalsUs.reduce((sum, us) => sum + Math.trunc(usToNs(us)), 0);
  return totalNs > 0 ? Math.trunc((intervalsUs.length * NS_PER_S) / totalNs) : 0;
}

function assertPositive(value: number, what: string): void {
  if (!(value > 0) || !Number.isFinite(value))
    throw new RangeError(`${what} must be a positive number, got ${value}`);
}
