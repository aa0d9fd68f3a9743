/**
 * A known throughput/latency surface built from how a batching server behaves, as a Measurer: closer to a real
 * model than surface.ts (whose capacity is a plain product of knobs), so that the quick search's budget is
 * judged on shapes it meets in practice rather than on one it was tuned for.
 *
 * - A batch of b requests takes t(b) = fixedMs + perItemMs × b × (1 + b / cacheItems): batching amortises the
 *   fixed cost, and very large batches get slower per item again (caches), so the best max_batch_size is inside
 *   the range, not at its end.
 * - Closed loop at concurrency c with n instances: without queue delay the requests spread over the instances
 *   (b = c / n, at most max_batch_size); with a queue delay the batcher holds them to fill a batch
 *   (b = min(max_batch_size, c)), and when c cannot fill one it waits the whole delay.
 * - k batches run at once on `parallelism` execution units: beyond it they share them (slower each), and each
 *   extra instance costs `instanceOverhead` (threads, memory) — instance count helps up to a point.
 * - Throughput = k × b / cycle time; mean latency by Little's law (c / throughput); p95 = 1.35 × mean.
 * - Measurement noise: a deterministic ±noise factor per (config, level, repeat), so re-measuring differs.
 */
import type { Measurer } from '../../../src/analyze/search.ts';
import { type Candidate, candidateKey } from '../../../src/analyze/search-space.ts';
import type { LevelSample, LoadPoint } from '../../../src/analyze/trial.ts';

export interface QueueingModel {
  name: string;
  fixedMs: number;
  perItemMs: number;
  cacheItems: number;
  parallelism: number;
  instanceOverhead: number;
  /** Relative half-width of the measurement noise (0.03 = ±3 %). */
  noise: number;
}

/** A 2-core CPU: batching gains ~2x, a second instance helps, a third contends. */
export const CPU_MODEL: QueueingModel = {
  name: 'cpu',
  fixedMs: 2.5,
  perItemMs: 2,
  cacheItems: 64,
  parallelism: 2,
  instanceOverhead: 0.12,
  noise: 0.04,
};

/** A GPU: a large fixed cost per launch and a tiny one per item, so large batches win by far. */
export const GPU_MODEL: QueueingModel = {
  name: 'gpu',
  fixedMs: 3,
  perItemMs: 0.03,
  cacheItems: 512,
  parallelism: 1.6,
  instanceOverhead: 0.05,
  noise: 0.04,
};

/** The noise-free figures of `c` at concurrency `concurrency`. */
export function queueingFigures(
  model: QueueingModel,
  c: Candidate,
  concurrency: number,
): { throughput: number; p95_latency: number } {
  const n = c.instanceCount;
  const maxBatch = c.dynamicBatching ? Math.max(1, c.maxBatchSize) : 1;
  const holds = c.dynamicBatching && c.maxQueueDelayUs > 0;
  const batch = Math.max(1, Math.min(maxBatch, holds ? concurrency : concurrency / n));
  const inFlight = Math.max(1, Math.min(n, concurrency / batch));
  const computeMs = model.fixedMs + model.perItemMs * batch * (1 + batch / model.cacheItems);
  const sharing = Math.max(1, inFlight / model.parallelism) * (1 + model.instanceOverhead * (n - 1));
  // A batch that the load cannot fill waits out the queue delay before it runs.
  const waitMs = holds && batch < maxBatch ? c.maxQueueDelayUs / 1000 : 0;
  const cycleMs = computeMs * sharing + waitMs;
  const throughput = (inFlight * batch * 1000) / cycleMs;
  const meanUs = (concurrency / throughput) * 1e6;
  return { throughput, p95_latency: meanUs * 1.35 };
}

function noiseFactor(id: string, width: number): number {
  // FNV-1a: a fixed pseudo-random number per id, so every run of a test sees the same surface.
  let h = 0x811c9dc5;
  for (let i = 0; i < id.length; i++) h = Math.imul(h ^ id.charCodeAt(i), 0x01000193) >>> 0;
  return 1 + width * ((h / 0xffffffff) * 2 - 1);
}

export interface QueueingMeasurer extends Measurer {
  /** Levels measured, in order (re-measures included). */
  measured: { key: string; load: LoadPoint }[];
}

export function queueingMeasurer(model: QueueingModel): QueueingMeasurer {
  const measured: { key: string; load: LoadPoint }[] = [];
  const repeats = new Map<string, number>();
  return {
    measured,
    async apply() {},
    async measure(c, load): Promise<LevelSample> {
      const key = candidateKey(c);
      measured.push({ key, load });
      const id = `${model.name} ${key} @${load.value}`;
      const repeat = (repeats.get(id) ?? 0) + 1;
      repeats.set(id, repeat);
      const f = queueingFigures(model, c, load.value);
      // Throughput and latency move together (Little's law): a slow window is slow for both.
      const k = noiseFactor(`${id} #${repeat}`, model.noise);
      const figures = { throughput: f.throughput * k, p95_latency: f.p95_latency / k };
      return { ...load, status: 'stable', figures };
    },
  };
}
