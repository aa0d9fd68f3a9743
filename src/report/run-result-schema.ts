/**
 * The zod schema of the versioned run record (`RunResult`): it validates records read back from disk (for
 * `report`/`compare` and gates) and is the source of the published JSON Schema `run-result.schema.json`.
 */
import { z } from 'zod';
import { distributedInfoSchema } from '../distributed/shard-record.ts';
import { serverAccountingSchema } from './accounting.ts';
import { runManifestSchema } from './manifest.ts';
import type { RunResult } from './model.ts';
import { RUN_RESULT_SCHEMA_VERSION } from './model.ts';

const durationStat = z.object({ count: z.number(), ns: z.number() });

interface ServerStatsShape {
  model: string;
  version: string;
  inferenceCount: number;
  executionCount: number;
  success: z.infer<typeof durationStat>;
  fail: z.infer<typeof durationStat>;
  queue: z.infer<typeof durationStat>;
  computeInput: z.infer<typeof durationStat>;
  computeInfer: z.infer<typeof durationStat>;
  computeOutput: z.infer<typeof durationStat>;
  cacheHit: z.infer<typeof durationStat>;
  cacheMiss: z.infer<typeof durationStat>;
  composing: ServerStatsShape[];
}

const serverStatsDelta: z.ZodType<ServerStatsShape> = z.object({
  model: z.string(),
  version: z.string(),
  inferenceCount: z.number(),
  executionCount: z.number(),
  success: durationStat,
  fail: durationStat,
  queue: durationStat,
  computeInput: durationStat,
  computeInfer: durationStat,
  computeOutput: durationStat,
  cacheHit: durationStat,
  cacheMiss: durationStat,
  get composing() {
    return z.array(serverStatsDelta);
  },
});

const latencySummary = z.object({
  count: z.number(),
  minUs: z.number(),
  maxUs: z.number(),
  meanUs: z.number(),
  stdUs: z.number(),
  percentilesUs: z.record(z.string(), z.number()),
});

const generatorHealth = z.object({
  eventLoopDelayP99Us: z.number(),
  eventLoopDelayMaxUs: z.number(),
  eventLoopUtilization: z.number(),
  cpuCores: z.number(),
  achievedRateRatio: z.number().optional(),
  bottleneckWarnings: z.array(z.string()),
});

const metricsSummary = z.object({
  gpuUtilization: z.record(z.string(), z.number()),
  gpuPowerUsageW: z.record(z.string(), z.number()),
  gpuMemoryUsedBytes: z.record(z.string(), z.number()),
  gpuMemoryTotalBytes: z.record(z.string(), z.number()),
});

const measurementShape = {
  durationNs: z.number(),
  requestCount: z.number(),
  sentCount: z.number(),
  errorCount: z.number(),
  errorsByKind: z.record(z.string(), z.number()),
  delayedCount: z.number(),
  throughputPerSec: z.number(),
  sendRatePerSec: z.number(),
  sequenceCount: z.number().optional(),
  sequencesPerSec: z.number().optional(),
  responseCount: z.number().optional(),
  responsesPerSec: z.number().optional(),
  firstResponseLatency: latencySummary.optional(),
  latency: latencySummary,
  uncorrectedLatency: latencySummary.optional(),
  latencyHistogram: z.string(),
  uncorrectedLatencyHistogram: z.string().optional(),
  clientSendUs: z.number(),
  clientRecvUs: z.number(),
  responseWaitUs: z.number(),
  server: serverStatsDelta.optional(),
  generator: generatorHealth,
  metrics: metricsSummary.optional(),
};

const measurement = z.object(measurementShape);
const windowResult = z.object({
  ...measurementShape,
  index: z.number(),
  startWallMs: z.number(),
  repeat: z.number().optional(),
});

const levelStatus = z.enum([
  'stable',
  'unstable',
  'single',
  'over_latency_limit',
  'errors_over_limit',
  'interrupted',
  'no_data',
]);

const levelResult = z.object({
  mode: z.enum(['concurrency', 'request_rate', 'custom_intervals']),
  value: z.number(),
  status: levelStatus,
  reported: z.boolean(),
  windows: z.array(windowResult),
  merged: measurement.optional(),
  stabilizingLatencyUs: z.number().optional(),
  spread: z.object({ throughput: z.number(), latency: z.number() }).optional(),
  stopReason: z.string(),
  errorRate: z.number().optional(),
  errorRateExceeded: z.boolean().optional(),
  repeats: z
    .array(
      z.object({
        repeat: z.number(),
        status: levelStatus,
        stopReason: z.string(),
        windowCount: z.number(),
      }),
    )
    .optional(),
  accounting: serverAccountingSchema.optional(),
});

const tensorInfo = z.object({ name: z.string(), datatype: z.string(), shape: z.array(z.number()) });

export const runResultSchema = z
  .object({
    schemaVersion: z.literal(RUN_RESULT_SCHEMA_VERSION),
    tool: z.object({ name: z.literal('inferbench'), version: z.string() }),
    startedAtWallMs: z.number(),
    finishedAtWallMs: z.number(),
    environment: z.object({
      node: z.string(),
      platform: z.string(),
      arch: z.string(),
      cpus: z.number(),
      cpuModel: z.string(),
      totalMemoryBytes: z.number(),
      hostname: z.string(),
    }),
    config: z.record(z.string(), z.unknown()),
    model: z.object({
      name: z.string(),
      version: z.string(),
      platform: z.string(),
      maxBatchSize: z.number(),
      inputs: z.array(tensorInfo),
      outputs: z.array(tensorInfo),
      dynamicBatching: z.boolean(),
      responseCache: z.boolean(),
      composingModels: z.array(z.string()),
      serverExtensions: z.array(z.string()),
    }),
    serverStats: z.object({ available: z.boolean(), reason: z.string().optional() }),
    levels: z.array(levelResult),
    warnings: z.array(z.string()),
    exitCode: z.number(),
    gates: z
      .array(z.object({ threshold: z.string(), passed: z.boolean(), details: z.array(z.string()) }))
      .optional(),
    manifest: runManifestSchema.optional(),
    repeatCount: z.number().optional(),
    distributed: distributedInfoSchema.optional(),
  })
  .meta({
    title: 'inferbench run record',
    description:
      'One benchmark run (inferbench --json). Latencies in microseconds, durations in nanoseconds.',
  });

// Compile-time proof that the schema describes exactly the contract type.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const schemaMatchesContract: Same<z.infer<typeof runResultSchema>, RunResult> = true;
void schemaMatchesContract;

/** The published JSON Schema (draft 2020-12) text, as committed in `src/report/run-result.schema.json`. */
export function runResultJsonSchemaText(): string {
  const schema = z.toJSONSchema(runResultSchema, { target: 'draft-2020-12' });
  return JSON.stringify(schema, null, 2) + '\n';
}
