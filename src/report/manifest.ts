/**
 * The reproducibility manifest every record carries: what it takes to rerun a measurement and to know
 * whether two records are comparable — the tool and its commit, every setting, the seed, the server's
 * metadata and the model config as fetched, execution providers, the host (CPU, cores, load average) and
 * Node. `compare` lists every difference between baseline and current (gate/manifest-diff.ts).
 */
import { z } from 'zod';

export interface RunManifest {
  tool: { name: string; version: string /** git commit of the checkout, when it is one. */; commit?: string };
  /** Every setting the run resolved: profile settings, target, input data, transport (header values redacted), --repeat. */
  settings: Record<string, unknown>;
  /** Seed of the Poisson schedule and of random input data. */
  seed: number;
  server: {
    /** GET /v2 as fetched: name, version, extensions. */
    metadata: { name: string; version: string; extensions: string[] };
    /** The model config as fetched (ModelConfig JSON), absent without the model-configuration extension. */
    modelConfig?: Record<string, unknown>;
    /** Execution providers the model config asks for (instance kinds and accelerators), e.g. ["cpu"]. */
    executionProviders: string[];
  };
  host: {
    cpuModel: string;
    cores: number;
    /** 1, 5 and 15-minute load averages at the start of the run. */
    loadAverage: number[];
    totalMemoryBytes: number;
    platform: string;
    arch: string;
    hostname: string;
  };
  node: string;
}

export const runManifestSchema = z.object({
  tool: z.object({ name: z.string(), version: z.string(), commit: z.string().optional() }),
  settings: z.record(z.string(), z.unknown()),
  seed: z.number(),
  server: z.object({
    metadata: z.object({ name: z.string(), version: z.string(), extensions: z.array(z.string()) }),
    modelConfig: z.record(z.string(), z.unknown()).optional(),
    executionProviders: z.array(z.string()),
  }),
  host: z.object({
    cpuModel: z.string(),
    cores: z.number(),
    loadAverage: z.array(z.number()),
    totalMemoryBytes: z.number(),
    platform: z.string(),
    arch: z.string(),
    hostname: z.string(),
  }),
  node: z.string(),
});
