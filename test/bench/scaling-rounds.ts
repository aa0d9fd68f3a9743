/**
 * `bench:server-scaling --rounds N`: each core count is measured N times, the rounds alternating their order
 * (1,2,4,8 then 8,4,2,1, …) so that a drift of the host over the run falls on every core count alike. The
 * figures are medians over the rounds, and the ratio to N × the 1-core figure uses the medians: one round's
 * 1-core point moved between 3,128 and 6,014 req/s within minutes on the H200 host, which alone swung a
 * single run's 8-core ratio from 0.36 to 0.81.
 */
import { median } from './client-bench-report.ts';

/** Most rounds `--rounds` takes: each measures every core count with a fresh server. */
export const MAX_ROUNDS = 50;

/** `--rounds`: a whole number 1…MAX_ROUNDS written in digits; anything else throws naming the flag. */
export function parseRounds(text: string): number {
  const n = Number(text);
  if (!/^\d{1,3}$/.test(text) || n < 1 || n > MAX_ROUNDS)
    throw new Error(`--rounds: expected a whole number 1-${MAX_ROUNDS}, got '${text}'`);
  return n;
}

/** The core counts of round `round` (0-based): as given on even rounds, reversed on odd ones. */
export function roundOrder(coreCounts: readonly number[], round: number): number[] {
  return round % 2 === 0 ? [...coreCounts] : [...coreCounts].reverse();
}

/** What one round measured at one core count (the fields the aggregate reads). */
export interface RoundPoint {
  cores: number;
  requestsPerSec: number;
  serverCores: number;
  mainThreadCores: number;
  clientCores: number;
  errors: number;
}

export interface AggregatedPoint {
  cores: number;
  /** Median over the rounds, and every round's figure in round order. */
  requestsPerSec: number;
  requestsPerSecRounds: number[];
  serverCores: number;
  mainThreadCores: number;
  clientCores: number;
  /** Summed over the rounds. */
  errors: number;
  /** requestsPerSec / (cores × the 1-core median); absent without a 1-core point. */
  scaling?: number;
}

/** Medians per core count, in the order of `coreCounts`; each round contributes its point of that count. */
export function aggregateRounds(
  coreCounts: readonly number[],
  rounds: readonly (readonly RoundPoint[])[],
): AggregatedPoint[] {
  const points = coreCounts.map((cores) => {
    const mine = rounds.flatMap((r) => r.filter((p) => p.cores === cores));
    return {
      cores,
      requestsPerSec: median(mine.map((p) => p.requestsPerSec)),
      requestsPerSecRounds: mine.map((p) => p.requestsPerSec),
      serverCores: median(mine.map((p) => p.serverCores)),
      mainThreadCores: median(mine.map((p) => p.mainThreadCores)),
      clientCores: median(mine.map((p) => p.clientCores)),
      errors: mine.reduce((n, p) => n + p.errors, 0),
    } satisfies AggregatedPoint;
  });
  const one = points.find((p) => p.cores === 1)?.requestsPerSec;
  return points.map((p) =>
    one !== undefined && one > 0 ? { ...p, scaling: p.requestsPerSec / (p.cores * one) } : p,
  );
}
