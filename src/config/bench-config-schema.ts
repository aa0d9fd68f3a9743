/**
 * The benchmark config file (`-c FILE`, YAML or JSON): one zod schema that validates files, gives the
 * TypeScript type (`BenchConfig`) and generates the published JSON Schema (`bench-configs/bench-config.schema.json`).
 *
 * Keys are the long flag names in camelCase (`--measurement-interval` → `measurementInterval`), with the same
 * meaning and unit as the flag. Flags that only have a short form get a readable name: `-m` model, `-x`
 * modelVersion, `-u` url, `-i` protocol, `-b` batchSize, `-f` csv, `-H` headers, `-a` async, `-v` verbose,
 * `--threshold` thresholds, `--model-repository` embedded.modelRepository. `-z` is `inputData: zero`.
 * Paths are relative to the current directory, as on the command line. Values are plain validation (no
 * transforms) so the JSON Schema describes exactly what a file may contain; `config-flags.ts` converts.
 */
import { fromJson } from '@bufbuild/protobuf';
import { fromText } from '@bufbuild/protobuf/txtpb';
import { z } from 'zod';
import { analyzeConfigSchema } from '../analyze/analyze-config-schema.ts';
import { parseThreshold } from '../gate/thresholds.ts';
import { ModelConfigSchema } from '../protocol/gen/model_config_pb.ts';

const POSITIVE_INT = 'expected a positive integer';
const NON_NEGATIVE_INT = 'expected an integer >= 0';
const POSITIVE_NUMBER = 'expected a positive number';

const positiveInt = () =>
  z.number({ error: POSITIVE_INT }).int({ error: POSITIVE_INT }).positive({ error: POSITIVE_INT });
const nonNegativeInt = () =>
  z
    .number({ error: NON_NEGATIVE_INT })
    .int({ error: NON_NEGATIVE_INT })
    .nonnegative({ error: NON_NEGATIVE_INT });
const positiveNumber = () => z.number({ error: POSITIVE_NUMBER }).positive({ error: POSITIVE_NUMBER });
const text = () => z.string({ error: 'expected a string' }).min(1, { error: 'expected a non-empty string' });
const flag = () => z.boolean({ error: 'expected true or false' });
const oneOf = <const T extends readonly [string, ...string[]]>(values: T) =>
  z.enum(values, { error: `expected one of ${values.map((v) => `'${v}'`).join(', ')}` });

/** `start[:end[:step]]` as on the command line, or its object form. */
const range = (what: string) =>
  z.union(
    [
      z
        .string()
        .regex(/^\s*[0-9.]+\s*(:\s*[0-9.]+\s*){0,2}$/, { error: `expected ${what} as "start:end:step"` }),
      z
        .object({
          start: positiveNumber(),
          end: z.number({ error: 'expected a number >= 0' }).nonnegative().optional(),
          step: positiveNumber().optional(),
        })
        .strict(),
    ],
    { error: `expected "start:end:step" or {start, end, step}` },
  );

const threshold = z.string({ error: 'expected a threshold expression' }).superRefine((value, ctx) => {
  const parsed = parseThreshold(value);
  if ('error' in parsed) ctx.addIssue({ code: 'custom', message: parsed.error });
});

/** A model's config.pbtxt override: protobuf text (merged into the model's config) or its JSON form. */
const configOverride = z
  .union([z.string(), z.record(z.string(), z.unknown())], {
    error: 'expected protobuf text (config.pbtxt syntax) or an object (ModelConfig JSON)',
  })
  .superRefine((value, ctx) => {
    try {
      if (typeof value === 'string') fromText(ModelConfigSchema, value);
      else fromJson(ModelConfigSchema, value as never);
    } catch (error) {
      ctx.addIssue({ code: 'custom', message: `not a valid ModelConfig: ${(error as Error).message}` });
    }
  });

export const benchConfigSchema = z
  .object({
    $schema: z.string().optional().describe('JSON Schema reference for editors; ignored'),
    // Target.
    model: text().optional().describe('-m: model name'),
    modelVersion: text().optional().describe('-x: model version (default: the latest)'),
    url: text().optional().describe('-u: server host:port; absent = inferbench starts its embedded server'),
    protocol: oneOf(['http', 'grpc']).optional().describe('-i: http (default) or grpc'),
    serviceKind: oneOf(['triton']).optional().describe('--service-kind (only triton)'),
    headers: z
      .record(z.string(), z.string(), { error: 'expected a map of header name to value' })
      .optional()
      .describe('-H: extra request headers'),
    grpcCompressionAlgorithm: oneOf(['none', 'gzip', 'deflate']).optional(),
    streaming: flag().optional(),
    inputTensorFormat: oneOf(['binary', 'json']).optional(),
    outputTensorFormat: oneOf(['binary', 'json']).optional(),
    sslGrpcUseSsl: flag().optional(),
    sslGrpcRootCertificationsFile: text().optional(),
    sslGrpcPrivateKeyFile: text().optional(),
    sslGrpcCertificateChainFile: text().optional(),
    sslHttpsVerifyPeer: z.union([z.literal(0), z.literal(1)], { error: 'expected 0 or 1' }).optional(),
    sslHttpsVerifyHost: z
      .union([z.literal(0), z.literal(1), z.literal(2)], { error: 'expected 0, 1 or 2' })
      .optional(),
    sslHttpsCaCertificatesFile: text().optional(),
    sslHttpsClientCertificateFile: text().optional(),
    sslHttpsClientCertificateType: oneOf(['PEM']).optional(),
    sslHttpsPrivateKeyFile: text().optional(),
    sslHttpsPrivateKeyType: oneOf(['PEM']).optional(),
    embedded: z
      .object({
        modelRepository: text().optional().describe('--model-repository: serve this repository'),
        configOverrides: z
          .record(z.string(), configOverride)
          .optional()
          .describe(
            "per model: config.pbtxt text merged into the model's config (repeated fields given here replace the original ones), or ModelConfig JSON",
          ),
      })
      .strict()
      .optional()
      .describe('the embedded server (used when url is absent)'),
    // Load.
    concurrencyRange: range('a concurrency range').optional(),
    requestRateRange: range('a request-rate range').optional(),
    requestDistribution: oneOf(['constant', 'poisson']).optional(),
    requestIntervals: text().optional().describe('file of inter-request gaps in µs'),
    async: flag().optional(),
    sync: flag().optional(),
    batchSize: positiveInt().optional().describe('-b'),
    maxThreads: positiveInt().optional(),
    maxInFlight: nonNegativeInt().optional(),
    seed: nonNegativeInt().optional(),
    workerThreads: positiveInt().optional(),
    repeat: positiveInt().optional().describe('--repeat: the whole measurement n times into one record'),
    binarySearch: flag().optional(),
    latencyThreshold: nonNegativeInt().optional().describe('-l, ms'),
    // Measurement.
    measurementMode: oneOf(['time_windows', 'count_windows']).optional(),
    measurementInterval: positiveInt().optional().describe('-p, window length in ms'),
    measurementRequestCount: positiveInt().optional(),
    stabilityPercentage: z
      .number({ error: 'expected a number >= 0' })
      .nonnegative({ error: 'expected a number >= 0' })
      .optional()
      .describe('-s, percent'),
    stabilityWindows: positiveInt().optional(),
    maxTrials: positiveInt().optional().describe('-r'),
    percentile: z
      .number({ error: 'expected a percentile 1..99' })
      .int({ error: 'expected a percentile 1..99' })
      .min(1, { error: 'expected a percentile 1..99' })
      .max(99, { error: 'expected a percentile 1..99' })
      .optional(),
    requestCount: positiveInt().optional(),
    warmupRequestCount: nonNegativeInt().optional(),
    singleMeasurement: flag().optional(),
    requestTimeout: nonNegativeInt().optional().describe('ms'),
    maxErrorRate: z
      .number({ error: 'expected a percentage 0..100' })
      .min(0, { error: 'expected a percentage 0..100' })
      .max(100, { error: 'expected a percentage 0..100' })
      .optional(),
    errorRateThreshold: z
      .number({ error: 'expected a percentage 0..100' })
      .min(0, { error: 'expected a percentage 0..100' })
      .max(100, { error: 'expected a percentage 0..100' })
      .optional()
      .describe('percent of failed requests above which a level is marked unhealthy (default 5)'),
    // Input data.
    inputData: z
      .union([text(), z.array(text())], { error: 'expected random, zero, a path, or a list of paths' })
      .optional(),
    shape: z
      .record(
        z.string(),
        z.array(positiveInt(), { error: 'expected a list of dimensions, e.g. [3, 48, 320]' }).min(1),
      )
      .optional()
      .describe('shapes of dynamic inputs without the batch dimension, e.g. {x: [3, 48, 320]}'),
    stringLength: positiveInt().optional(),
    stringData: z.string().optional(),
    sharedMemory: oneOf(['none']).optional(),
    requestParameter: z.array(text()).optional().describe('"name:value:type" (gRPC only)'),
    // Outputs.
    csv: text().optional().describe("-f: perf_analyzer's CSV"),
    verboseCsv: flag().optional(),
    extraCsvColumns: flag().optional(),
    json: text().optional().describe('the run record'),
    html: text().optional().describe('the self-contained HTML report'),
    profileExportFile: text().optional(),
    profileExportMaxOutputBytes: nonNegativeInt()
      .optional()
      .describe("response bytes kept for the export's response_outputs (default 64 MiB)"),
    collectMetrics: flag().optional(),
    metricsUrl: text().optional(),
    metricsInterval: positiveInt().optional(),
    verbose: z
      .union([flag(), z.number().int().min(0).max(2)], { error: 'expected true, false, 0, 1 or 2' })
      .optional(),
    quiet: flag().optional(),
    progress: flag().optional(),
    // Gates.
    thresholds: z
      .array(threshold, { error: 'expected a list of threshold expressions' })
      .optional()
      .describe("checked after the run, e.g. 'p95_latency<=20ms'; any failure exits 1"),
    // `inferbench analyze` only.
    analyze: analyzeConfigSchema.optional(),
  })
  .strict()
  .meta({
    title: 'inferbench benchmark config',
    description:
      'A benchmark as a file (inferbench -c FILE). Keys are the long flag names in camelCase; command-line flags override them.',
  });

export type BenchConfig = z.infer<typeof benchConfigSchema>;

/** The published JSON Schema text, as committed in `bench-configs/bench-config.schema.json`. */
export function benchConfigJsonSchemaText(): string {
  const schema = z.toJSONSchema(benchConfigSchema, { target: 'draft-2020-12', unrepresentable: 'any' });
  return JSON.stringify(schema, null, 2) + '\n';
}
