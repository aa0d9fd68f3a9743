/**
 * A fake server whose throughput/latency surface is known in closed form, as a Measurer: the search tests
 * know which config must win. Capacity grows with instances and (with dynamic batching) with batch size and
 * queue delay; latency = concurrency / throughput (Little's law) + the queue delay.
 */
import { ConfigRejectedError, type Measurer } from '../../../src/analyze/search.ts';
import { type Candidate, candidateKey } from '../../../src/analyze/search-space.ts';
import type { LevelSample, LoadPoint } from '../../../src/analyze/trial.ts';

export function capacityOf(c: Candidate): number {
  const batching = c.dynamicBatching
    ? Math.min(c.maxBatchSize, 16) ** 0.5 * (1 + Math.min(c.maxQueueDelayUs, 2000) / 4000)
    : 1;
  return 100 * Math.min(c.instanceCount, 3) * batching;
}

export function figuresAt(c: Candidate, concurrency: number): Record<string, number> {
  const throughput = Math.min(concurrency * 400, capacityOf(c));
  const latencyUs = (concurrency / throughput) * 1e6 + c.maxQueueDelayUs;
  return {
    throughput,
    avg_latency: latencyUs,
    p50_latency: latencyUs,
    p95_latency: latencyUs * 1.2,
    p99_latency: latencyUs * 1.5,
  };
}

export interface SurfaceMeasurer extends Measurer {
  applied: string[];
  measured: { key: string; load: LoadPoint }[];
}

/** `refuse(c)` true = the load API answers 400 for it. */
export function surfaceMeasurer(refuse: (c: Candidate) => boolean = () => false): SurfaceMeasurer {
  const applied: string[] = [];
  const measured: { key: string; load: LoadPoint }[] = [];
  return {
    applied,
    measured,
    async apply(c) {
      applied.push(candidateKey(c));
      if (refuse(c)) throw new ConfigRejectedError(`load failed for model 'm': refused ${candidateKey(c)}`);
    },
    async measure(c, load): Promise<LevelSample> {
      measured.push({ key: candidateKey(c), load });
      return { ...load, status: 'stable', figures: figuresAt(c, load.value) };
    },
  };
}

export const CONCURRENCY: LoadPoint[] = [1, 2, 4, 8, 16, 32].map((value) => ({ mode: 'concurrency', value }));
