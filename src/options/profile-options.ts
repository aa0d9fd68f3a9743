/**
 * THE option table of the profile command (perf_analyzer's flags, same names and short forms, plus ours): one
 * row per option, with its flag names, help text and group, how the command line collects it, and its
 * config-file key and schema. Everything else is derived from it: the commander options (cli/options.ts), the
 * `RawFlags` type, the bench-config schema and its published JSON Schema (config/bench-config-schema.ts), and
 * the file ↔ flags conversion (config/config-flags.ts). Values are collected as strings and validated when the
 * run is resolved (cli/resolve-settings.ts), with perf_analyzer's error texts.
 *
 * Rows are in the order `--help` lists them (by group); the config file's keys (and print-config) follow the
 * same order. Config keys are the long flag names in camelCase, with the same meaning and unit as the flag;
 * flags that only have a short form get a readable name (`-m` model, `-b` batchSize, `-f` csv …).
 *
 * Adding an option: add its row here, and use `flags.<key>` where it takes effect.
 */
import { z } from 'zod';
import { MAX_REQUEST_BYTES_LIMIT } from '../data/request-bytes.ts';
import { parseShapeOptions } from '../data/shape-option.ts';
import {
  DEFAULT_NUM_OF_SEQUENCES,
  DEFAULT_SEQUENCE_LENGTH,
  DEFAULT_SEQUENCE_LENGTH_VARIATION_PCT,
} from '../load/sequence-schedule.ts';
import { DEFAULT_ERROR_RATE_THRESHOLD } from '../measure/error-health.ts';
import {
  configOverride,
  flag,
  nonNegativeInt,
  nonNegativeNumber,
  oneOf,
  percentage,
  percentile,
  positiveInt,
  range,
  text,
  threshold,
} from './config-values.ts';
import { overrideText } from './model-config-text.ts';
import type { OptionSpec, ValueOf } from './option-spec.ts';
import { parseHeader } from './parse-header.ts';

const HOUR_MS = 3_600_000;
/** std::mt19937's default seed: perf_analyzer's Poisson schedule is always seeded with it. */
export const DEFAULT_SEED = 5489;

type Range = z.infer<ReturnType<typeof range>>;

function rangeText(value: Range): string {
  if (typeof value === 'string') return value.replace(/\s+/g, '');
  return [value.start, value.end, value.step].filter((v) => v !== undefined).join(':');
}

const rangeKey = (what: string) => ({
  schema: range(what),
  toFlag: (value: Range) => rangeText(value),
});

/** A list flag that is a list in the file too. */
const listKey = (schema: z.ZodType) => ({
  schema,
  toFlag: (value: string[]) => [...value],
});

export const PROFILE_OPTIONS = {
  // Model and server.
  model: {
    flags: '-m <model>',
    help: 'model name (inferbench without -u and -m: the main job, see below)',
    value: 'text',
    group: 'target',
    config: { schema: text().describe('-m: model name') },
  },
  modelVersion: {
    flags: '-x <version>',
    help: 'model version (default: the server picks the latest)',
    value: 'text',
    group: 'target',
    config: { schema: text().describe('-x: model version (default: the latest)') },
  },
  url: {
    flags: '-u <url>',
    help: 'server URL host:port (perf_analyzer default localhost:8000, grpc 8001; inferbench: embedded server)',
    value: 'text',
    group: 'target',
    config: {
      schema: text().describe('-u: server host:port; absent = inferbench starts its embedded server'),
    },
  },
  protocol: {
    flags: '-i <protocol>',
    help: 'protocol: http or grpc (default http)',
    value: 'text',
    group: 'target',
    config: { schema: oneOf(['http', 'grpc']).describe('-i: http (default) or grpc') },
  },
  serviceKind: {
    flags: '--service-kind <kind>',
    help: 'backend kind; only "triton" (KServe v2) is supported',
    value: 'text',
    group: 'target',
    config: { schema: oneOf(['triton']).describe('--service-kind (only triton)') },
  },
  headers: {
    flags: '-H <header>',
    help: 'extra header "Name:Value" (repeatable; value untrimmed after the first ":")',
    value: 'list',
    group: 'target',
    config: {
      schema: z
        .record(z.string(), z.string(), { error: 'expected a map of header name to value' })
        .describe('-H: extra request headers'),
      toFlag: (value: Record<string, string>) => Object.entries(value).map(([k, v]) => `${k}:${v}`),
      fromFlags: (flags) => {
        const values = flags.headers as string[] | undefined;
        return values?.length
          ? Object.fromEntries(values.map((h) => Object.values(parseHeader(h))))
          : undefined;
      },
    },
  },
  modelRepository: {
    flags: '--model-repository <dir>',
    help: 'embedded server only (no -u): serve this model repository instead of the bundled one',
    value: 'text',
    group: 'target',
    config: {
      path: 'embedded.modelRepository',
      schema: text().describe('--model-repository: serve this repository'),
    },
  },
  /** Config file only (`embedded.configOverrides`): model name → config.pbtxt text merged into its config. */
  embeddedConfigOverrides: {
    value: 'text-map',
    config: {
      path: 'embedded.configOverrides',
      schema: z
        .record(z.string(), configOverride)
        .describe(
          "per model: config.pbtxt text merged into the model's config (repeated fields given here replace the original ones), or ModelConfig JSON",
        ),
      toFlag: (value: Record<string, string | Record<string, unknown>>) =>
        Object.fromEntries(Object.entries(value).map(([model, v]) => [model, overrideText(v)])),
      fromFlags: (flags) => {
        const overrides = flags.embeddedConfigOverrides as Record<string, string> | undefined;
        return overrides ? { ...overrides } : undefined;
      },
    },
  },
  /** The config file itself; inferbench's -c, perf_analyzer's deprecated -c stays refused there. */
  config: {
    flags: '-c, --config <file>',
    help: 'benchmark config file (YAML or JSON, see bench-configs/); flags given here override it',
    value: 'text',
    group: 'target',
  },

  // Load.
  concurrencyRange: {
    flags: '--concurrency-range <start:end:step>',
    help: 'closed loop: requests kept in flight (default 1:1:1; end 0 = until -l)',
    value: 'text',
    group: 'load',
    config: rangeKey('a concurrency range'),
    limit: {
      max: 16_384,
      why: 'each in-flight HTTP request holds a connection, one file descriptor (ulimit -n); use several load generators beyond that',
    },
  },
  requestRateRange: {
    flags: '--request-rate-range <start:end:step>',
    help: 'open loop: target requests/s (end 0 = until -l)',
    value: 'text',
    group: 'load',
    config: rangeKey('a request-rate range'),
    limit: { max: 1_000_000, why: 'requests per second; one Node process sends far fewer' },
  },
  requestDistribution: {
    flags: '--request-distribution <dist>',
    help: 'request-rate inter-arrival: constant (default) or poisson',
    value: 'text',
    group: 'load',
    config: { schema: oneOf(['constant', 'poisson']) },
  },
  requestIntervals: {
    flags: '--request-intervals <file>',
    help: 'open loop with custom gaps: one interval in µs per line, looped',
    value: 'text',
    group: 'load',
    config: { schema: text().describe('file of inter-request gaps in µs') },
    limit: { max: 3_600_000_000, why: 'one hour, in µs, per interval' },
  },
  async: {
    flags: '-a, --async',
    help: 'asynchronous requests (default: sync, one blocking loop per in-flight request)',
    value: 'switch',
    group: 'load',
    config: { schema: flag() },
  },
  sync: {
    flags: '--sync',
    help: 'force synchronous requests',
    value: 'switch',
    group: 'load',
    config: { schema: flag() },
  },
  batchSize: {
    flags: '-b <n>',
    help: 'batch size per request (default 1)',
    value: 'text',
    group: 'load',
    config: { schema: positiveInt().describe('-b'), numeric: true },
    limit: { max: 1_000_000, why: 'no server batches more' },
    count: { default: 1 },
  },
  maxThreads: {
    flags: '--max-threads <n>',
    help: 'perf_analyzer thread cap; here it only caps in-flight requests of a sync request-rate run (default 4)',
    value: 'text',
    group: 'load',
    config: { schema: positiveInt(), numeric: true },
    limit: { max: 16_384, why: 'in-flight requests of a sync request-rate run' },
    count: {},
  },
  binarySearch: {
    flags: '--binary-search',
    help: 'binary search over the range (needs start, end and -l; step = precision)',
    value: 'switch',
    group: 'load',
    config: { schema: flag() },
  },
  latencyThreshold: {
    flags: '-l, --latency-threshold <ms>',
    help: 'latency limit that ends a sweep (default 0 = none)',
    value: 'text',
    group: 'load',
    config: { schema: nonNegativeInt().describe('-l, ms'), numeric: true },
    limit: { max: HOUR_MS, why: 'one hour' },
    count: { allowZero: true, default: 0 },
  },
  requestTimeout: {
    flags: '--request-timeout <ms>',
    help: 'per-request timeout; a timed-out request counts as an error (default 0 = none)',
    value: 'text',
    group: 'load',
    config: { schema: nonNegativeInt().describe('ms'), numeric: true },
    limit: { max: 86_400_000, why: 'one day' },
    count: { allowZero: true, default: 0 },
  },
  maxInFlight: {
    flags: '--max-in-flight <n>',
    help: 'open loop: cap on requests in flight; sends beyond it are counted as dropped',
    value: 'text',
    group: 'load',
    config: { schema: nonNegativeInt(), numeric: true },
    limit: { max: 1_000_000, why: 'open-loop requests in flight' },
    count: { allowZero: true },
  },
  delayTolerance: {
    flags: '--delay-tolerance <us>',
    help: 'open loop: a request sent more than this many µs after its scheduled time counts as delayed (default 1000, as perf_analyzer)',
    value: 'text',
    group: 'load',
    config: { schema: nonNegativeInt().describe('µs'), numeric: true },
    limit: { max: 60_000_000, why: 'one minute, in µs' },
    count: { allowZero: true, default: 1000 },
  },
  workerThreads: {
    flags: '--worker-threads <n>',
    help: 'spread the load over n worker threads (default 1)',
    value: 'text',
    group: 'load',
    config: { schema: positiveInt(), numeric: true },
    limit: { max: 64, why: 'load generator threads; more than the cores only adds contention' },
    count: { default: 1 },
  },

  // Measurement.
  measurementMode: {
    flags: '--measurement-mode <mode>',
    help: 'time_windows (default) or count_windows',
    value: 'text',
    group: 'measurement',
    config: { schema: oneOf(['time_windows', 'count_windows']) },
  },
  measurementInterval: {
    flags: '-p, --measurement-interval <ms>',
    help: 'window length in ms (default 5000). A REAL 5000 ms window: perf_analyzer silently used 1.2x this',
    value: 'text',
    group: 'measurement',
    config: { schema: positiveInt().describe('-p, window length in ms'), numeric: true },
    limit: { max: HOUR_MS, why: 'one hour per window' },
    count: { default: 5000 },
  },
  measurementRequestCount: {
    flags: '--measurement-request-count <n>',
    help: 'count_windows: minimum completed requests per window (default 50)',
    value: 'text',
    group: 'measurement',
    config: { schema: positiveInt(), numeric: true },
    limit: { max: 1_000_000_000, why: 'requests per window' },
    count: { default: 50 },
  },
  stabilityPercentage: {
    flags: '-s, --stability-percentage <pct>',
    help: 'allowed max/min spread over the last windows (default 10)',
    value: 'text',
    group: 'measurement',
    config: {
      schema: nonNegativeNumber().describe('-s, percent'),
      numeric: true,
    },
    limit: { max: 1_000, why: 'percent' },
  },
  maxTrials: {
    flags: '-r, --max-trials <n>',
    help: 'maximum windows per level (default 10)',
    value: 'text',
    group: 'measurement',
    config: { schema: positiveInt().describe('-r'), numeric: true },
    limit: { max: 1_000, why: 'windows per level' },
    count: { default: 10 },
  },
  percentile: {
    flags: '--percentile <p>',
    help: 'stabilise, limit and summarise on pN latency instead of the average (-1 = average)',
    value: 'text',
    group: 'measurement',
    config: {
      schema: percentile(),
      numeric: true,
    },
  },
  requestCount: {
    flags: '--request-count <n>',
    help: 'send exactly n requests in one window per level, no stability check',
    value: 'first-text',
    group: 'measurement',
    config: { schema: positiveInt(), numeric: true },
    limit: { max: 1_000_000_000, why: 'requests per level' },
    count: { default: 0 },
  },
  warmupRequestCount: {
    flags: '--warmup-request-count <n>',
    help: 'requests sent and discarded before each level (default 0)',
    value: 'text',
    group: 'measurement',
    config: { schema: nonNegativeInt(), numeric: true },
    limit: { max: 1_000_000_000, why: 'requests per level' },
    count: { allowZero: true, default: 0 },
  },
  singleMeasurement: {
    flags: '--single-measurement',
    help: 'one window per level, reported as measured (no stability rule)',
    value: 'switch',
    group: 'measurement',
    config: { schema: flag() },
  },
  maxErrorRate: {
    flags: '--max-error-rate <pct>',
    help: "abort when more than pct% of a window's requests fail (default 100 = never)",
    value: 'text',
    group: 'measurement',
    config: { schema: percentage(), numeric: true },
    fraction: { default: 1 },
  },
  errorRateThreshold: {
    flags: '--error-rate-threshold <pct>',
    help: 'mark a level unhealthy when more than pct% of its requests fail: warned, marked in every output, exit 4 (default 5)',
    value: 'text',
    group: 'measurement',
    config: {
      schema: percentage().describe(
        'percent of failed requests above which a level is marked unhealthy (default 5)',
      ),
      numeric: true,
    },
    fraction: { default: DEFAULT_ERROR_RATE_THRESHOLD },
  },
  seed: {
    flags: '--seed <n>',
    help: 'seed of the Poisson schedule and of random input data (default 5489)',
    value: 'text',
    group: 'measurement',
    config: { schema: nonNegativeInt(), numeric: true },
    limit: { max: 4_294_967_295, why: 'a 32-bit seed, as std::mt19937 takes' },
    count: { allowZero: true, default: DEFAULT_SEED },
  },
  stabilityWindows: {
    flags: '--stability-windows <n>',
    help: 'windows the stability rule looks at (default 3, as perf_analyzer)',
    value: 'text',
    group: 'measurement',
    config: { schema: positiveInt(), numeric: true },
    limit: { max: 1_000, why: 'windows per level' },
    count: { default: 3 },
  },

  // Input data.
  zeroInput: {
    flags: '-z',
    help: 'zero input data (same as --input-data zero)',
    value: 'switch',
    group: 'input',
  },
  inputData: {
    flags: '--input-data <src>',
    help: 'random (default), zero, a JSON file (repeatable) or a directory',
    value: 'list',
    group: 'input',
    config: {
      schema: z.union([text(), z.array(text())], {
        error: 'expected random, zero, a path, or a list of paths',
      }),
      toFlag: (value: string | string[]) => (Array.isArray(value) ? [...value] : [value]),
      // -z and --data-directory are spellings of --input-data: the file has the one key.
      fromFlags: (flags) => {
        const values = [
          ...(flags.zeroInput ? ['zero'] : []),
          ...((flags.inputData as string[] | undefined) ?? []),
          ...(flags.dataDirectory === undefined ? [] : [flags.dataDirectory as string]),
        ];
        if (values.length === 0) return undefined;
        return values.length === 1 ? values[0] : values;
      },
    },
  },
  dataDirectory: {
    flags: '--data-directory <dir>',
    help: 'deprecated: same as --input-data <dir>',
    value: 'text',
    group: 'input',
  },
  shape: {
    flags: '--shape <name:dims>',
    help: 'shape of a dynamic input, without the batch dimension, e.g. x:3,48,320 (repeatable)',
    value: 'list',
    group: 'input',
    config: {
      schema: z
        .record(
          z.string(),
          z.array(positiveInt(), { error: 'expected a list of dimensions, e.g. [3, 48, 320]' }).min(1),
        )
        .describe('shapes of dynamic inputs without the batch dimension, e.g. {x: [3, 48, 320]}'),
      toFlag: (value: Record<string, number[]>) =>
        Object.entries(value).map(([name, dims]) => `${name}:${dims.join(',')}`),
      fromFlags: (flags) => {
        const values = flags.shape as string[] | undefined;
        return values?.length ? parseShapeOptions(values) : undefined;
      },
    },
  },
  stringLength: {
    flags: '--string-length <n>',
    help: 'length of random BYTES strings (default 128)',
    value: 'text',
    group: 'input',
    config: { schema: positiveInt(), numeric: true },
    limit: { max: 64 * 1024 * 1024, why: 'bytes per string' },
    count: { default: 128 },
  },
  stringData: {
    flags: '--string-data <s>',
    help: 'fixed string for every BYTES element',
    value: 'text',
    group: 'input',
    config: { schema: z.string() },
  },
  sharedMemory: {
    flags: '--shared-memory <type>',
    help: 'only "none" is supported',
    value: 'text',
    group: 'input',
    config: { schema: oneOf(['none']) },
  },
  requestParameter: {
    flags: '--request-parameter <name:value:type>',
    help: 'custom request parameter, type bool|int|string (gRPC only; repeatable)',
    value: 'list',
    group: 'input',
    config: listKey(z.array(text()).describe('"name:value:type" (gRPC only)')),
  },

  // Output and gates.
  verbose: {
    flags: '-v, --verbose',
    help: 'verbose: per-window pass lines and client details; twice = client-library verbose',
    value: 'count',
    group: 'output',
    config: {
      schema: z.union([flag(), z.number().int().min(0).max(2)], {
        error: 'expected true, false, 0, 1 or 2',
      }),
      toFlag: (value: boolean | number) => {
        const level = typeof value === 'boolean' ? Number(value) : value;
        return level > 0 ? level : undefined;
      },
      fromFlags: (flags) => (flags.verbose ? flags.verbose : undefined),
    },
  },
  csv: {
    flags: '-f <file>',
    help: "write perf_analyzer's CSV (rows sorted by throughput, µs)",
    value: 'text',
    group: 'output',
    config: { schema: text().describe("-f: perf_analyzer's CSV") },
  },
  verboseCsv: {
    flags: '--verbose-csv',
    help: "add perf_analyzer's verbose CSV columns",
    value: 'switch',
    group: 'output',
    config: { schema: flag() },
  },
  profileExportFile: {
    flags: '--profile-export-file <file>',
    help: 'perf_analyzer-style JSON export: per-request send/response times, inputs and outputs, window edges, per-window aggregates',
    value: 'text',
    group: 'output',
    config: { schema: text() },
  },
  profileExportMaxOutputBytes: {
    flags: '--profile-export-max-output-bytes <n>',
    help: "response bytes kept for the export's response_outputs (default 67108864 = 64 MiB; 0 = none); later requests are exported without them",
    value: 'text',
    group: 'output',
    config: {
      schema: nonNegativeInt().describe(
        "response bytes kept for the export's response_outputs (default 64 MiB)",
      ),
      numeric: true,
    },
    limit: { max: MAX_REQUEST_BYTES_LIMIT, why: '2 GiB of response bytes kept' },
    count: { allowZero: true },
  },
  json: {
    flags: '--json <file>',
    help: 'write the versioned run record (schema: src/report/run-result.schema.json)',
    value: 'text',
    group: 'output',
    config: { schema: text().describe('the run record') },
  },
  extraCsvColumns: {
    flags: '--extra-csv-columns',
    help: 'append errors, delayed %, send rate and generator health to the CSV (at the end)',
    value: 'switch',
    group: 'output',
    config: { schema: flag() },
  },
  quiet: {
    flags: '--quiet',
    help: 'no progress and no stdout report (files are still written)',
    value: 'switch',
    group: 'output',
    config: { schema: flag() },
  },
  progress: {
    flags: '--no-progress',
    help: 'no progress line on stderr',
    value: 'switch',
    group: 'output',
    config: { schema: flag() },
  },
  thresholds: {
    flags: '--threshold <expr>',
    help: "gate checked after the run, e.g. 'p95_latency<=20ms', 'any:throughput>=500' (repeatable; exit 1 on failure)",
    value: 'list',
    group: 'output',
    config: listKey(
      z
        .array(threshold, { error: 'expected a list of threshold expressions' })
        .describe("checked after the run, e.g. 'p95_latency<=20ms'; any failure exits 1"),
    ),
  },
  html: {
    flags: '--html <file>',
    help: 'write the self-contained HTML report (charts, table, breakdown, settings)',
    value: 'text',
    group: 'output',
    config: { schema: text().describe('the self-contained HTML report') },
  },

  // Server metrics.
  collectMetrics: {
    flags: '--collect-metrics',
    help: "scrape the server's Prometheus GPU metrics during windows",
    value: 'switch',
    group: 'metrics',
    config: { schema: flag() },
  },
  metricsUrl: {
    flags: '--metrics-url <url>',
    help: 'Prometheus endpoint (default: host of -u, port 8002, /metrics)',
    value: 'text',
    group: 'metrics',
    config: { schema: text() },
  },
  metricsInterval: {
    flags: '--metrics-interval <ms>',
    help: 'scrape period (default 1000)',
    value: 'text',
    group: 'metrics',
    config: { schema: positiveInt(), numeric: true },
    limit: { max: HOUR_MS, why: 'one hour' },
    count: { default: 1000 },
  },

  // HTTP and gRPC.
  grpcCompressionAlgorithm: {
    flags: '--grpc-compression-algorithm <alg>',
    help: 'gRPC request compression: none, gzip or deflate',
    value: 'text',
    group: 'wire',
    config: { schema: oneOf(['none', 'gzip', 'deflate']) },
  },
  streaming: {
    flags: '--streaming',
    help: 'use the bidirectional gRPC stream (implies --async; gRPC only)',
    value: 'switch',
    group: 'wire',
    config: { schema: flag() },
  },
  inputTensorFormat: {
    flags: '--input-tensor-format <fmt>',
    help: 'HTTP request tensors: binary (default) or json',
    value: 'text',
    group: 'wire',
    config: { schema: oneOf(['binary', 'json']) },
  },
  outputTensorFormat: {
    flags: '--output-tensor-format <fmt>',
    help: 'HTTP response tensors: binary (default) or json (honoured, unlike perf_analyzer)',
    value: 'text',
    group: 'wire',
    config: { schema: oneOf(['binary', 'json']) },
  },

  // TLS.
  sslGrpcUseSsl: {
    flags: '--ssl-grpc-use-ssl',
    help: 'use TLS on the gRPC channel',
    value: 'switch',
    group: 'tls',
    config: { schema: flag() },
  },
  sslGrpcRootCertificationsFile: {
    flags: '--ssl-grpc-root-certifications-file <file>',
    help: 'PEM root certificates for gRPC TLS',
    value: 'text',
    group: 'tls',
    config: { schema: text() },
  },
  sslGrpcPrivateKeyFile: {
    flags: '--ssl-grpc-private-key-file <file>',
    help: 'PEM client key for gRPC TLS',
    value: 'text',
    group: 'tls',
    config: { schema: text() },
  },
  sslGrpcCertificateChainFile: {
    flags: '--ssl-grpc-certificate-chain-file <file>',
    help: 'PEM client certificate chain for gRPC TLS',
    value: 'text',
    group: 'tls',
    config: { schema: text() },
  },
  sslHttpsVerifyPeer: {
    flags: '--ssl-https-verify-peer <0|1>',
    help: 'verify the HTTPS server certificate (default 1)',
    value: 'text',
    group: 'tls',
    config: {
      schema: z.union([z.literal(0), z.literal(1)], { error: 'expected 0 or 1' }),
      numeric: true,
    },
  },
  sslHttpsVerifyHost: {
    flags: '--ssl-https-verify-host <0|1|2>',
    help: 'verify the HTTPS host name (default 2)',
    value: 'text',
    group: 'tls',
    config: {
      schema: z.union([z.literal(0), z.literal(1), z.literal(2)], { error: 'expected 0, 1 or 2' }),
      numeric: true,
    },
  },
  sslHttpsCaCertificatesFile: {
    flags: '--ssl-https-ca-certificates-file <file>',
    help: 'CA bundle for HTTPS',
    value: 'text',
    group: 'tls',
    config: { schema: text() },
  },
  sslHttpsClientCertificateFile: {
    flags: '--ssl-https-client-certificate-file <file>',
    help: 'client certificate for HTTPS',
    value: 'text',
    group: 'tls',
    config: { schema: text() },
  },
  sslHttpsClientCertificateType: {
    flags: '--ssl-https-client-certificate-type <PEM>',
    help: 'client certificate type (PEM only)',
    value: 'text',
    group: 'tls',
    config: { schema: oneOf(['PEM']) },
  },
  sslHttpsPrivateKeyFile: {
    flags: '--ssl-https-private-key-file <file>',
    help: 'client key for HTTPS',
    value: 'text',
    group: 'tls',
    config: { schema: text() },
  },
  sslHttpsPrivateKeyType: {
    flags: '--ssl-https-private-key-type <PEM>',
    help: 'client key type (PEM only)',
    value: 'text',
    group: 'tls',
    config: { schema: oneOf(['PEM']) },
  },

  // Sequence models (perf_analyzer §1; resolved in cli/sequence-options.ts).
  sequenceLength: {
    flags: '--sequence-length <n>',
    help: `sequence models: requests per sequence (default ${DEFAULT_SEQUENCE_LENGTH}; JSON streams: the stream length)`,
    value: 'text',
    group: 'other',
  },
  sequenceLengthVariation: {
    flags: '--sequence-length-variation <pct>',
    help: `sequence models: ± percent variation of the length (default ${DEFAULT_SEQUENCE_LENGTH_VARIATION_PCT})`,
    value: 'text',
    group: 'other',
  },
  sequenceIdRange: {
    flags: '--sequence-id-range <start[:end]>',
    help: 'sequence models: correlation IDs to use, end excluded (default 1:)',
    value: 'text',
    group: 'other',
  },
  numOfSequences: {
    flags: '--num-of-sequences <n>',
    help: `sequence models, request-rate modes: concurrent sequences (default ${DEFAULT_NUM_OF_SEQUENCES}; concurrency mode: = concurrency)`,
    value: 'text',
    group: 'other',
  },
  serialSequences: {
    flags: '--serial-sequences',
    help: 'sequence models, request-rate modes: one request in flight per sequence',
    value: 'switch',
    group: 'other',
  },
  maxRequestBytes: {
    flags: '--max-request-bytes <n>',
    help: 'refuse input data whose tensors take more than n bytes per request (default 67108864 = 64 MiB; at most 2 GiB)',
    value: 'text',
    group: 'other',
    limit: { max: MAX_REQUEST_BYTES_LIMIT, why: '2 GiB per request' },
    count: {},
  },
  repeat: {
    flags: '--repeat <n>',
    help: 'run the whole measurement n times (fresh connections, same seeds) into one record, for compare (default 1)',
    value: 'text',
    group: 'other',
    config: {
      schema: positiveInt().describe('--repeat: the whole measurement n times into one record'),
      numeric: true,
    },
  },

  // Sharded runs (distributed/shard-options.ts).
  shard: {
    flags: '--shard <i/N>',
    help: 'run shard i (0-based) of N load generators; merge their records with "inferbench merge"',
    value: 'text',
    group: 'other',
  },
  shards: {
    flags: '--shards <n>',
    help: 'N shards: the index comes from JOB_COMPLETION_INDEX (Kubernetes Indexed Job), or --local',
    value: 'text',
    group: 'other',
  },
  local: {
    flags: '--local',
    help: 'with --shards N: start N shard processes on this host and merge their records',
    value: 'switch',
    group: 'other',
  },
  startAt: {
    flags: '--start-at <time>',
    help: 'shards: shared start, ISO time with zone or epoch ms (windows line up)',
    value: 'text',
    group: 'other',
  },
  clockSync: {
    flags: '--clock-sync <url>',
    help: "shards: URL whose Date header is the reference clock, or 'none' (default: the target's HTTP URL)",
    value: 'text',
    group: 'other',
  },
  printRecord: {
    flags: '--print-record',
    help: 'shards: also print the record to stdout as tagged lines, for "inferbench merge --from-logs"',
    value: 'switch',
    group: 'other',
  },
} as const satisfies Record<string, OptionSpec>;

export type ProfileOptionKey = keyof typeof PROFILE_OPTIONS;

/**
 * The profile options as parsed (command line, then a config file under it), keyed by the table's keys; all
 * optional (defaults are applied when the run is resolved). Unsupported perf_analyzer flags, and the options of
 * commands that add their own (analyze, k8s), sit beside them under commander's attribute names.
 */
export type RawFlags = {
  -readonly [K in ProfileOptionKey]?: ValueOf<(typeof PROFILE_OPTIONS)[K]['value']>;
} & { [other: string]: unknown };
