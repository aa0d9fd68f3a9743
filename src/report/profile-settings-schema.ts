/**
 * The zod schema of `ProfileSettings`. `RunResult.config` carries the settings a run used; renderers read them
 * back through this schema (so a record loaded from disk is checked before a report trusts it), and the JSON
 * record's published schema documents them.
 */
import { z } from 'zod';
import type { ProfileSettings } from '../profile/settings.ts';

const rangeSchema = z.object({ start: z.number(), end: z.number(), step: z.number() });

export const loadSettingsSchema = z.discriminatedUnion('mode', [
  z.object({ mode: z.literal('concurrency'), range: rangeSchema }),
  z.object({
    mode: z.literal('request_rate'),
    range: rangeSchema,
    distribution: z.enum(['constant', 'poisson']),
    seed: z.number(),
    maxInFlight: z.number(),
    overflow: z.enum(['drop', 'queue']).optional(),
  }),
  z.object({
    mode: z.literal('custom_intervals'),
    intervalsUs: z.array(z.number()),
    maxInFlight: z.number(),
    overflow: z.enum(['drop', 'queue']).optional(),
  }),
]);

export const measurementSettingsSchema = z.object({
  mode: z.enum(['time_windows', 'count_windows']),
  windowMs: z.number(),
  windowRequestCount: z.number(),
  stabilityThreshold: z.number(),
  stabilityWindows: z.number(),
  maxTrials: z.number(),
  percentile: z.number().optional(),
  latencyThresholdMs: z.number(),
  warmupRequestCount: z.number(),
  requestCount: z.number(),
  singleMeasurement: z.boolean(),
  delayToleranceUs: z.number(),
});

export const profileSettingsSchema = z.object({
  modelName: z.string(),
  modelVersion: z.string(),
  protocol: z.enum(['http', 'grpc']),
  url: z.string(),
  batchSize: z.number(),
  load: loadSettingsSchema,
  search: z.enum(['linear', 'binary']),
  async: z.boolean(),
  streaming: z.boolean(),
  workerThreads: z.number(),
  measurement: measurementSettingsSchema,
  requestTimeoutMs: z.number(),
  maxErrorRate: z.number(),
  errorRateThreshold: z.number().optional(),
  metrics: z.object({ url: z.string(), intervalMs: z.number() }).optional(),
  sequence: z
    .object({
      length: z.number().optional(),
      lengthVariationPct: z.number(),
      idStart: z.number(),
      idRange: z.number(),
      numSequences: z.number(),
      serial: z.boolean(),
      seed: z.number(),
      syncRequested: z.boolean().optional(),
      streamLengths: z.array(z.number()).optional(),
      lengthFromStreams: z.boolean().optional(),
    })
    .optional(),
  shard: z
    .object({ index: z.number(), count: z.number(), startAtMs: z.number(), clockSync: z.string() })
    .optional(),
  decoupled: z.boolean().optional(),
});

// Compile-time proof that the schema and the contract type describe the same object.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const schemaMatchesContract: Same<z.infer<typeof profileSettingsSchema>, ProfileSettings> = true;
void schemaMatchesContract;
