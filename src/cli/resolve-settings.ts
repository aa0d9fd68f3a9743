/**
 * Flags → the frozen settings a run uses (pure: files are looked at only through the injected `FileView`).
 * Defaults are perf_analyzer's, except that a window is as long as it says (-p 5000 = 5000 ms, no hidden 1.2×).
 * Validation texts are perf_analyzer's where it has one, so scripts that match them keep working.
 */
import { parseShapeOptions } from '../data/shape-option.ts';
import { resolveShard, type ShardContext } from '../distributed/shard-options.ts';
import { OptionError } from '../errors.ts';
import { parseThreshold, type Threshold } from '../gate/thresholds.ts';
import { countOf, fractionOf, limitOf } from '../options/option-values.ts';
import { headersOf } from '../options/parse-header.ts';
import {
  invalidValue,
  overLimit,
  parseCountFlag,
  parseDecimalFlag,
  parseIntegerFlag,
  parsePercentile,
} from '../options/parse-number.ts';
import { DEFAULT_SEED, type RawFlags } from '../options/profile-options.ts';
import type { LoadSettings, MeasurementSettings, ProfileSettings, Range } from '../profile/settings.ts';
import { MAIN_JOB } from './options.ts';
import { isMultiValue, type ParsedRange, parseRange } from './parse-range.ts';
import { requestParametersOf } from './parse-request-parameter.ts';
import type { InputDataOptions, OutputOptions, ResolvedRun, Target, TransportOptions } from './run-types.ts';
import { sequenceSettingsOf } from './sequence-options.ts';
import { refuseUnsupported, unsupported } from './unsupported.ts';

/** What resolving may look at besides the flags. */
export interface FileView {
  exists(path: string): boolean;
  readText(path: string): string;
}

export interface ResolveEnv {
  programName: 'inferbench' | 'perf_analyzer';
  files: FileView;
  /** For --shards (JOB_COMPLETION_INDEX) and --start-at; default: process.env and Date.now(). */
  shardContext?: ShardContext;
}

/** perf_analyzer's --max-threads default outside concurrency mode. */
const DEFAULT_MAX_THREADS = 4;

export function resolveSettings(flags: RawFlags, env: ResolveEnv): ResolvedRun {
  refuseUnsupported(flags);
  checkServiceKind(flags.serviceKind);
  checkSharedMemory(flags.sharedMemory);
  const warnings: string[] = [];

  const target = targetOf(flags, env.programName);
  const mainJob = target.kind === 'embedded' && target.mainJob;
  const modelName = flags.model ?? (mainJob ? MAIN_JOB.modelName : undefined);
  if (modelName === undefined || modelName === '') {
    throw new OptionError('Failed to parse -m (model name). The value must be specified.');
  }
  const protocol = protocolOf(flags.protocol);
  const url =
    target.kind === 'embedded'
      ? ''
      : (flags.url ?? (protocol === 'grpc' ? 'localhost:8001' : 'localhost:8000'));

  if (flags.async && flags.sync) throw new OptionError('Cannot use both --async and --sync.');
  if (flags.streaming && protocol !== 'grpc') {
    throw new OptionError('Streaming is only allowed with gRPC protocol and Triton C API.');
  }
  if (flags.streaming && flags.sync) throw new OptionError('can not use streaming with synchronous API');
  const async = Boolean(flags.async || flags.streaming);

  const percentile = flags.percentile === undefined ? undefined : parsePercentile(flags.percentile);
  const latencyThresholdMs = countOf(flags, 'latencyThreshold');
  const maxThreads = countOf(flags, 'maxThreads');
  const { load, multiValue, first } = loadOf(
    flags,
    env.files,
    latencyThresholdMs,
    async,
    maxThreads,
    mainJob,
  );
  if (maxThreads !== undefined && load.mode === 'concurrency') {
    warnings.push(
      'WARNING: --max-threads has no effect in concurrency mode: inferbench keeps exactly the requested concurrency in flight.',
    );
  }
  if (flags.delayTolerance !== undefined && load.mode === 'concurrency') {
    warnings.push(
      'WARNING: --delay-tolerance has no effect in concurrency mode: a request goes out when the previous one completes, never late.',
    );
  }

  const search = flags.binarySearch ? 'binary' : 'linear';
  if (search === 'binary') checkBinarySearch(flags, load, latencyThresholdMs);

  const measurement = measurementOf(flags, { percentile, latencyThresholdMs, multiValue, first, load });
  const batchSize = countOf(flags, 'batchSize');

  const settings: ProfileSettings = {
    modelName,
    modelVersion: flags.modelVersion ?? '',
    protocol,
    url,
    batchSize,
    load,
    search,
    async,
    streaming: Boolean(flags.streaming),
    workerThreads: countOf(flags, 'workerThreads'),
    measurement,
    requestTimeoutMs: countOf(flags, 'requestTimeout'),
    maxErrorRate: fractionOf(flags, 'maxErrorRate'),
    errorRateThreshold: fractionOf(flags, 'errorRateThreshold'),
    ...metricsOf(flags, url),
  };
  const sharding = resolveShard(
    flags,
    settings,
    env.shardContext ?? {
      environment: process.env,
      nowMs: Date.now(),
      coordinated: typeof process.send === 'function',
    },
  );
  if (sharding.kind === 'shard') {
    settings.shard = sharding.shard;
    warnings.push(...sharding.warnings);
  }

  return {
    settings: deepFreeze(settings),
    ...(sharding.kind === 'local'
      ? { localShards: { count: sharding.count, startAtMs: sharding.startAtMs } }
      : {}),
    ...(sharding.kind === 'shard' && flags.printRecord ? { printRecord: true } : {}),
    target,
    output: outputOf(flags, env.files, mainJob),
    input: inputOf(flags, env.files, mainJob),
    transport: transportOf(flags, protocol, url, env.files),
    thresholds: thresholdsOf(flags.thresholds ?? []),
    ...repeatOf(flags),
    warnings,
    sequence: sequenceSettingsOf(flags, load, DEFAULT_SEED, warnings),
  };
}

/** The embedded server's URLs, once the runner knows its ports (settings stay frozen: a new object is returned). */
export function bindEmbeddedUrl(
  run: ResolvedRun,
  urls: { inferUrl: string; metricsUrl: string },
): ResolvedRun {
  const metrics = run.settings.metrics ? { metrics: { ...run.settings.metrics, url: urls.metricsUrl } } : {};
  return { ...run, settings: deepFreeze({ ...run.settings, url: urls.inferUrl, ...metrics }) };
}

function checkServiceKind(kind: string | undefined): void {
  if (kind === undefined || kind.toLowerCase() === 'triton') return;
  const known = ['tfserving', 'torchserve', 'triton_c_api', 'openai', 'dynamic_grpc'];
  if (known.includes(kind.toLowerCase())) {
    throw unsupported(`--service-kind ${kind}`, 'only triton (KServe v2 HTTP/gRPC) servers are supported');
  }
  throw invalidValue('--service-kind', kind);
}

function checkSharedMemory(kind: string | undefined): void {
  if (kind === undefined || kind === 'none') return;
  if (kind === 'system' || kind === 'cuda') {
    throw unsupported(`--shared-memory ${kind}`, 'tensors are always sent in the request body');
  }
  throw new OptionError(
    `Failed to parse --shared-memory. Unsupported type provided: '${kind}'. The available options are 'system', 'cuda', or 'none'.`,
  );
}

function targetOf(flags: RawFlags, programName: ResolveEnv['programName']): Target {
  if (flags.modelRepository !== undefined && (programName === 'perf_analyzer' || flags.url !== undefined)) {
    throw unsupported(
      '--model-repository',
      "it only selects the repository of inferbench's embedded server (inferbench without -u); the Triton C API service kind is not supported",
    );
  }
  const overrides = flags.embeddedConfigOverrides;
  const hasOverrides = overrides !== undefined && Object.keys(overrides).length > 0;
  if (programName === 'perf_analyzer' || flags.url !== undefined) {
    if (hasOverrides) {
      throw new OptionError(
        'embedded.configOverrides applies to the embedded server only (no url / -u): a remote server keeps its own model configuration.',
      );
    }
    return { kind: 'remote' };
  }
  return {
    kind: 'embedded',
    ...(flags.modelRepository === undefined ? {} : { modelRepository: flags.modelRepository }),
    mainJob: flags.model === undefined,
    ...(hasOverrides ? { configOverrides: { ...overrides } } : {}),
  };
}

function protocolOf(value: string | undefined): 'http' | 'grpc' {
  if (value === undefined) return 'http';
  const lower = value.toLowerCase();
  if (lower === 'http' || lower === 'grpc') return lower;
  throw new OptionError('Failed to parse -i (protocol). The value should be either HTTP or gRPC.');
}

const MODE_NAMES = {
  concurrencyRange: 'Concurrency',
  requestRateRange: 'RequestRate',
  requestIntervals: 'CustomIntervals',
};

function loadOf(
  flags: RawFlags,
  files: FileView,
  latencyThresholdMs: number,
  async: boolean,
  maxThreads: number | undefined,
  mainJob: boolean,
): { load: LoadSettings; multiValue: boolean; first: number } {
  const given = (Object.keys(MODE_NAMES) as (keyof typeof MODE_NAMES)[]).filter(
    (k) => flags[k] !== undefined,
  );
  if (given.length > 1) {
    throw new OptionError(
      `Cannot use both ${MODE_NAMES[given[0]!]} and ${MODE_NAMES[given[1]!]} inference load modes.`,
    );
  }
  const maxInFlightFlag = countOf(flags, 'maxInFlight');
  // Sync open loop: like perf_analyzer's sync workers, at most --max-threads requests are in flight, and a
  // request due while all are busy goes out late (queue). An explicit --max-in-flight drops instead.
  const openLoopCap = maxInFlightFlag ?? (async ? 0 : (maxThreads ?? DEFAULT_MAX_THREADS));
  const overflow = maxInFlightFlag !== undefined ? 'drop' : 'queue';
  const seed = countOf(flags, 'seed');

  if (flags.requestIntervals !== undefined) {
    const intervalsUs = readIntervals(flags.requestIntervals, files);
    return {
      load: { mode: 'custom_intervals', intervalsUs, maxInFlight: openLoopCap, overflow },
      multiValue: false,
      first: 0,
    };
  }
  if (flags.requestRateRange !== undefined) {
    const parsed = parseRange(
      '--request-rate-range',
      flags.requestRateRange,
      'decimal',
      limitOf('requestRateRange'),
    );
    const range = rangeOf('--request-rate-range', parsed, latencyThresholdMs);
    const distribution = distributionOf(flags.requestDistribution);
    return {
      load: { mode: 'request_rate', range, distribution, seed, maxInFlight: openLoopCap, overflow },
      multiValue: isMultiValue(parsed),
      first: range.start,
    };
  }
  if (maxInFlightFlag !== undefined) {
    throw new OptionError(
      '--max-in-flight applies to --request-rate-range and --request-intervals only (concurrency mode keeps exactly the concurrency in flight).',
    );
  }
  if (flags.requestDistribution !== undefined) distributionOf(flags.requestDistribution);
  const parsed: ParsedRange =
    flags.concurrencyRange !== undefined
      ? parseRange('--concurrency-range', flags.concurrencyRange, 'integer', limitOf('concurrencyRange'))
      : mainJob
        ? { ...MAIN_JOB.concurrencyRange }
        : { start: 1 };
  const range = rangeOf('--concurrency-range', parsed, latencyThresholdMs);
  return { load: { mode: 'concurrency', range }, multiValue: isMultiValue(parsed), first: range.start };
}

/**
 * Fills a parsed range's defaults. perf_analyzer keeps end = 1 when only start is given, which runs the single
 * level `start`; we say that directly (end = start), and the same for any end below start.
 */
function rangeOf(flag: string, parsed: ParsedRange, latencyThresholdMs: number): Range {
  const end =
    parsed.end === undefined || (parsed.end !== 0 && parsed.end < parsed.start) ? parsed.start : parsed.end;
  if (end === 0 && latencyThresholdMs === 0) {
    throw new OptionError(
      `The end of ${flag} can only be 0 (search until the latency limit) when -l (--latency-threshold) is set.`,
    );
  }
  return { start: parsed.start, end, step: parsed.step ?? 1 };
}

function distributionOf(value: string | undefined): 'constant' | 'poisson' {
  if (value === undefined) return 'constant';
  const lower = value.toLowerCase();
  if (lower === 'constant' || lower === 'poisson') return lower;
  // perf_analyzer's text misspells "posson"; we spell it right.
  throw new OptionError(
    `Failed to parse --request-distribution. Unsupported type provided: '${value}'. Choices are 'poisson' or 'constant'.`,
  );
}

function readIntervals(path: string, files: FileView): number[] {
  if (!files.exists(path))
    throw new OptionError(`Failed to parse --request-intervals. File '${path}' does not exist.`);
  const lines = files
    .readText(path)
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l !== '');
  if (lines.length === 0) throw new OptionError(`file '${path}' is empty`);
  return lines.map((l) => parseCountFlag('--request-intervals', l, { limit: limitOf('requestIntervals') }));
}

function checkBinarySearch(flags: RawFlags, load: LoadSettings, latencyThresholdMs: number): void {
  if (load.mode === 'custom_intervals')
    throw new OptionError('--binary-search cannot be used with --request-intervals.');
  const text = load.mode === 'concurrency' ? flags.concurrencyRange : flags.requestRateRange;
  const flag = load.mode === 'concurrency' ? '--concurrency-range' : '--request-rate-range';
  if (text === undefined || text.split(':').length < 2) {
    throw new OptionError(`--binary-search requires an explicit <start>:<end> in ${flag}.`);
  }
  if (load.range.end === 0 || load.range.end < load.range.start) {
    throw new OptionError(
      `--binary-search requires the end of ${flag} to be non-zero and not below the start.`,
    );
  }
  if (latencyThresholdMs === 0)
    throw new OptionError('--binary-search requires -l (--latency-threshold) to be set.');
}

function measurementOf(
  flags: RawFlags,
  ctx: {
    percentile?: number;
    latencyThresholdMs: number;
    multiValue: boolean;
    first: number;
    load: LoadSettings;
  },
): MeasurementSettings {
  const requestCount = countOf(flags, 'requestCount');
  const warmupRequestCount = countOf(flags, 'warmupRequestCount');
  if (requestCount > 0) {
    if (ctx.multiValue)
      throw new OptionError('--request-count cannot be used with a multi-value load range.');
    if (ctx.load.mode === 'concurrency' && requestCount < ctx.first) {
      throw new OptionError(
        `--request-count (${requestCount}) must be at least the concurrency (${ctx.first}).`,
      );
    }
    if (ctx.load.mode === 'request_rate' && requestCount < ctx.first) {
      throw new OptionError(
        `--request-count (${requestCount}) must be at least the request rate (${ctx.first}).`,
      );
    }
  }
  if (warmupRequestCount > 0 && ctx.multiValue) {
    throw new OptionError('--warmup-request-count cannot be used with a multi-value load range.');
  }
  const modeText = flags.measurementMode ?? 'time_windows';
  if (modeText !== 'time_windows' && modeText !== 'count_windows') {
    throw new OptionError(
      `Failed to parse --measurement-mode. Unsupported type provided: '${modeText}'. The available options are 'time_windows' or 'count_windows'.`,
    );
  }
  const windowRequestCount = countOf(flags, 'measurementRequestCount');
  const stabilityPct =
    flags.stabilityPercentage === undefined ? 10 : parseDecimalFlag('-s', flags.stabilityPercentage);
  if (stabilityPct < 0)
    throw new OptionError('Failed to parse -s (stability-percentage). The value must be >= 0.');
  const stabilityLimit = limitOf('stabilityPercentage');
  if (stabilityPct > stabilityLimit.max) throw overLimit('-s', stabilityLimit);
  return {
    mode: requestCount > 0 ? 'count_windows' : modeText,
    windowMs: countOf(flags, 'measurementInterval'),
    windowRequestCount: requestCount > 0 ? requestCount : windowRequestCount,
    stabilityThreshold: stabilityPct / 100,
    stabilityWindows: countOf(flags, 'stabilityWindows'),
    maxTrials: countOf(flags, 'maxTrials'),
    ...(ctx.percentile === undefined ? {} : { percentile: ctx.percentile }),
    latencyThresholdMs: ctx.latencyThresholdMs,
    warmupRequestCount,
    requestCount,
    singleMeasurement: Boolean(flags.singleMeasurement),
    delayToleranceUs: countOf(flags, 'delayTolerance'),
  };
}

function metricsOf(flags: RawFlags, url: string): Pick<ProfileSettings, 'metrics'> {
  if (!flags.collectMetrics) {
    if (flags.metricsUrl !== undefined) {
      throw new OptionError('Must specify --collect-metrics when using the --metrics-url option.');
    }
    if (flags.metricsInterval !== undefined) {
      throw new OptionError('Must specify --collect-metrics when using the --metrics-interval option.');
    }
    return {};
  }
  const intervalMs = countOf(flags, 'metricsInterval');
  return {
    metrics: { url: flags.metricsUrl ?? (url === '' ? '' : `${hostOf(url)}:8002/metrics`), intervalMs },
  };
}

/** The host part of `-u` (scheme, port and path dropped; IPv6 brackets kept). */
export function hostOf(url: string): string {
  const rest = url.replace(/^[a-z][a-z0-9+.-]*:\/\//i, '');
  if (rest.startsWith('[')) return rest.slice(0, rest.indexOf(']') + 1);
  return rest.split(/[:/]/)[0]!;
}

function outputOf(flags: RawFlags, files: FileView, mainJob: boolean): OutputOptions {
  // The main job always leaves its figures behind, for spreadsheets and for `inferbench compare`.
  const csvFile = flags.csv ?? (mainJob ? MAIN_JOB.csvFile : undefined);
  const jsonFile = flags.json ?? (mainJob ? MAIN_JOB.jsonFile : undefined);
  if (flags.profileExportFile !== undefined && files.exists(flags.profileExportFile)) {
    throw new OptionError('Failed to parse --profile-export-file. Path must not already exist.');
  }
  if (flags.profileExportMaxOutputBytes !== undefined && flags.profileExportFile === undefined) {
    throw new OptionError('Must specify --profile-export-file when using --profile-export-max-output-bytes.');
  }
  const maxOutputBytes = countOf(flags, 'profileExportMaxOutputBytes');
  const verbosity = flags.verbose ?? 0;
  return {
    ...(csvFile === undefined ? {} : { csvFile }),
    verboseCsv: Boolean(flags.verboseCsv),
    extraCsvColumns: Boolean(flags.extraCsvColumns),
    ...(jsonFile === undefined ? {} : { jsonFile }),
    ...(flags.html === undefined ? {} : { htmlFile: flags.html }),
    ...(flags.profileExportFile === undefined ? {} : { profileExportFile: flags.profileExportFile }),
    ...(maxOutputBytes === undefined ? {} : { profileExportMaxOutputBytes: maxOutputBytes }),
    verbose: verbosity >= 1,
    extraVerbose: verbosity >= 2,
    quiet: Boolean(flags.quiet),
    progress: flags.progress !== false && !flags.quiet,
  };
}

const GENERATED = ['random', 'zero'];

function inputOf(flags: RawFlags, files: FileView, mainJob: boolean): InputDataOptions {
  if (flags.zeroInput && flags.dataDirectory !== undefined) {
    throw new OptionError('The -z flag cannot be set when --data-directory is provided.');
  }
  const values = [
    ...(flags.inputData ?? []),
    ...(flags.dataDirectory === undefined ? [] : [flags.dataDirectory]),
  ];
  const paths = values.filter((v) => !GENERATED.includes(v));
  for (const path of paths) {
    if (!files.exists(path)) {
      throw new OptionError(
        `Failed to parse --input-data. Unsupported type provided: '${path}'. The available options are 'zero', 'random', path to a directory, or a json file.`,
      );
    }
  }
  const generated = values.filter((v) => GENERATED.includes(v));
  if (paths.length > 0 && (generated.length > 0 || flags.zeroInput)) {
    throw new OptionError(
      `Failed to parse --input-data. '${generated[0] ?? 'zero'}' cannot be combined with data files.`,
    );
  }
  const source = paths[0] ?? (flags.zeroInput ? 'zero' : (generated[generated.length - 1] ?? 'random'));
  const stringLength = countOf(flags, 'stringLength');
  const seed = countOf(flags, 'seed');
  const shapes = { ...(mainJob ? MAIN_JOB.shapes : {}), ...parseShapeOptions(flags.shape ?? []) };
  const maxRequestBytes = countOf(flags, 'maxRequestBytes');
  return {
    ...(maxRequestBytes === undefined ? {} : { maxRequestBytes }),
    source,
    additionalFiles: paths.slice(1),
    shapes: Object.fromEntries(Object.entries(shapes).map(([k, v]) => [k, [...v]])),
    stringLength,
    ...(flags.stringData === undefined ? {} : { stringData: flags.stringData }),
    seed,
  };
}

function transportOf(
  flags: RawFlags,
  protocol: 'http' | 'grpc',
  url: string,
  files: FileView,
): TransportOptions {
  let grpcCompression: TransportOptions['grpcCompression'] = 'none';
  if (flags.grpcCompressionAlgorithm !== undefined) {
    if (protocol !== 'grpc')
      throw new OptionError('Using compression algorithm is only allowed with gRPC protocol.');
    const alg = flags.grpcCompressionAlgorithm.toLowerCase();
    if (alg !== 'none' && alg !== 'gzip' && alg !== 'deflate') {
      throw new OptionError(
        `Failed to parse --grpc-compression-algorithm. Unsupported type provided: '${flags.grpcCompressionAlgorithm}'. The available options are 'none', 'gzip' or 'deflate'.`,
      );
    }
    grpcCompression = alg;
  }
  const requestParameters = requestParametersOf(flags.requestParameter ?? []);
  if (Object.keys(requestParameters).length > 0 && protocol !== 'grpc') {
    throw new OptionError('The --request-parameter option is currently only supported by gRPC protocol.');
  }
  const tls = protocol === 'grpc' ? grpcTls(flags, files) : httpsTls(flags, url, files);
  return {
    headers: headersOf(flags.headers ?? []),
    grpcCompression,
    binaryInputs: tensorFormat('--input-tensor-format', flags.inputTensorFormat),
    binaryOutputs: tensorFormat('--output-tensor-format', flags.outputTensorFormat),
    ...(tls ? { tls } : {}),
    requestParameters,
  };
}

function tensorFormat(flag: string, value: string | undefined): boolean {
  if (value === undefined || value.toLowerCase() === 'binary') return true;
  if (value.toLowerCase() === 'json') return false;
  throw new OptionError(
    `Failed to parse ${flag}. Unsupported type provided: '${value}'. The available options are 'binary' or 'json'.`,
  );
}

function existingFile(flag: string, path: string | undefined, files: FileView): string | undefined {
  if (path === undefined) return undefined;
  if (!files.exists(path)) throw new OptionError(`Failed to parse ${flag}. File '${path}' does not exist.`);
  return path;
}

function grpcTls(flags: RawFlags, files: FileView): TransportOptions['tls'] {
  if (!flags.sslGrpcUseSsl) return undefined;
  const caFile = existingFile(
    '--ssl-grpc-root-certifications-file',
    flags.sslGrpcRootCertificationsFile,
    files,
  );
  const keyFile = existingFile('--ssl-grpc-private-key-file', flags.sslGrpcPrivateKeyFile, files);
  const certFile = existingFile(
    '--ssl-grpc-certificate-chain-file',
    flags.sslGrpcCertificateChainFile,
    files,
  );
  return {
    enabled: true,
    ...(caFile ? { caFile } : {}),
    ...(certFile ? { certFile } : {}),
    ...(keyFile ? { keyFile } : {}),
  };
}

function httpsTls(flags: RawFlags, url: string, files: FileView): TransportOptions['tls'] {
  for (const [flag, type] of [
    ['--ssl-https-client-certificate-type', flags.sslHttpsClientCertificateType],
    ['--ssl-https-private-key-type', flags.sslHttpsPrivateKeyType],
  ] as const) {
    if (type === undefined || type.toUpperCase() === 'PEM') continue;
    if (type.toUpperCase() === 'DER') throw unsupported(`${flag} DER`, 'convert the file to PEM');
    throw new OptionError(
      `Failed to parse ${flag}. Unsupported type provided: '${type}'. The available options are 'PEM' or 'DER'.`,
    );
  }
  const verifyPeer = choice('--ssl-https-verify-peer', flags.sslHttpsVerifyPeer, [0, 1], 1);
  const verifyHost = choice('--ssl-https-verify-host', flags.sslHttpsVerifyHost, [0, 1, 2], 2);
  const caFile = existingFile('--ssl-https-ca-certificates-file', flags.sslHttpsCaCertificatesFile, files);
  const certFile = existingFile(
    '--ssl-https-client-certificate-file',
    flags.sslHttpsClientCertificateFile,
    files,
  );
  const keyFile = existingFile('--ssl-https-private-key-file', flags.sslHttpsPrivateKeyFile, files);
  if (!/^https:\/\//i.test(url)) return undefined;
  return {
    enabled: true,
    ...(caFile ? { caFile } : {}),
    ...(certFile ? { certFile } : {}),
    ...(keyFile ? { keyFile } : {}),
    verifyPeer: verifyPeer !== 0,
    verifyHost: verifyHost !== 0,
  };
}

function choice(flag: string, value: string | undefined, allowed: number[], fallback: number): number {
  if (value === undefined) return fallback;
  const n = parseIntegerFlag(flag, value);
  if (!allowed.includes(n))
    throw new OptionError(`Failed to parse ${flag}. The value must be ${allowed.join(', ')}.`);
  return n;
}

/** Parses every --threshold; the first bad one is an option error (exit 3) before anything runs. */
function thresholdsOf(values: readonly string[]): Threshold[] {
  return values.map((text) => {
    const parsed = parseThreshold(text);
    if ('error' in parsed) throw new OptionError(`Failed to parse --threshold. ${parsed.error}`);
    return parsed.value;
  });
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}

/** --repeat N (1..100): the whole measurement N times into one record; not with --profile-export-file. */
function repeatOf(flags: RawFlags): { repeat?: number } {
  if (flags.repeat === undefined) return {};
  const repeat = parseCountFlag('--repeat', flags.repeat);
  if (repeat > 100)
    throw new OptionError(`Failed to parse --repeat. Expected 1 to 100 runs (got '${flags.repeat}').`);
  if (repeat > 1 && flags.profileExportFile !== undefined) {
    throw new OptionError(
      '--repeat cannot be combined with --profile-export-file (the export describes one run).',
    );
  }
  return { repeat };
}
