/**
 * Quick search (hill climbing, as Model Analyzer's quick mode; pure): start at the smallest config (every knob
 * at its first value), measure its neighbours — one knob one value up — and move to the best of them if it
 * beats the current config; stop when none does. The caller measures; this only decides. Knob values are
 * climbed in the order the user lists them, so list them from cheapest to most expensive. Measurements are
 * noisy, so the loop (search.ts) re-measures the leaders when the climb stops and climbs on from a config that
 * then leads (a single lucky or unlucky window must not end the climb on a false summit).
 */

import { type ConfigScore, compareScores, improves } from './ranking.ts';
import {
  axisLengths,
  type Candidate,
  type Coordinate,
  candidateAt,
  candidateKey,
  coordinateOfIndex,
  KNOBS,
  type SearchSpace,
  spaceSize,
} from './search-space.ts';

export type QuickStep =
  /** Measure these (distinct, not yet known) candidates, at these coordinates, then ask again. */
  | { kind: 'measure'; candidates: Candidate[]; at: Coordinate[] }
  /** The best neighbour beats the current config: continue from it. */
  | { kind: 'move'; to: Coordinate }
  /** No neighbour beats the current config. */
  | { kind: 'done' };

/**
 * Where the climb starts: every knob at its first value, except dynamic batching, which starts on when the
 * space offers it (as Model Analyzer's quick search, which always batches). Without that, a client sending
 * batch 1 sees no gain from a larger max_batch_size alone nor from batching alone at max_batch_size 1, and the
 * climb would stop on that plateau. When that point is invalid: the first valid one in enumeration order.
 */
export function quickStart(space: SearchSpace, clientBatchSize = 1): Coordinate | undefined {
  const lengths = axisLengths(space);
  const total = spaceSize(space);
  const on = space.dynamicBatching.indexOf(true);
  const preferred = KNOBS.map((k) => (k === 'dynamicBatching' && on >= 0 ? on : 0));
  const candidates = [preferred, ...Array.from({ length: total }, (_, i) => coordinateOfIndex(lengths, i))];
  for (const at of candidates) {
    if ('candidate' in candidateAt(space, at, clientBatchSize)) return at;
  }
  return undefined;
}

/**
 * Coordinates one value further on one knob, in knob order. The climb starts at the smallest config, so it only
 * steps up (as Model Analyzer's quick search); `both` adds the steps down.
 */
export function neighbours(space: SearchSpace, at: Coordinate, both = false): Coordinate[] {
  const lengths = axisLengths(space);
  const out: Coordinate[] = [];
  for (let k = 0; k < lengths.length; k++) {
    for (const delta of both ? [1, -1] : [1]) {
      const v = (at[k] as number) + delta;
      if (v < 0 || v >= (lengths[k] as number)) continue;
      const next = [...at];
      next[k] = v;
      out.push(next);
    }
  }
  return out;
}

/**
 * One decision of the climb from `at`. `scoreOf` gives the score of a candidate already measured (by key),
 * undefined when not yet measured. The current config must have been measured before a move is decided.
 */
export function quickStep(
  space: SearchSpace,
  at: Coordinate,
  scoreOf: (key: string) => ConfigScore | undefined,
  clientBatchSize = 1,
): QuickStep {
  const here = candidateAt(space, at, clientBatchSize);
  if (!('candidate' in here))
    throw new Error(`quick search: coordinate ${at.join(',')} is not a valid config`);
  const hereKey = candidateKey(here.candidate);
  const hereScore = scoreOf(hereKey);
  if (!hereScore) return { kind: 'measure', candidates: [here.candidate], at: [at] };
  const unknown = new Map<string, { candidate: Candidate; at: Coordinate }>();
  let best: { at: Coordinate; score: ConfigScore } | undefined;
  for (const next of neighbours(space, at)) {
    const n = candidateAt(space, next, clientBatchSize);
    if (!('candidate' in n)) continue;
    const key = candidateKey(n.candidate);
    if (key === hereKey) continue;
    const score = scoreOf(key);
    if (!score) {
      unknown.set(key, { candidate: n.candidate, at: next });
      continue;
    }
    if (!best || compareScores(score, best.score) < 0) best = { at: next, score };
  }
  if (unknown.size > 0) {
    const list = [...unknown.values()];
    return { kind: 'measure', candidates: list.map((u) => u.candidate), at: list.map((u) => u.at) };
  }
  if (best && improves(best.score, hereScore)) return { kind: 'move', to: best.at };
  return { kind: 'done' };
}
