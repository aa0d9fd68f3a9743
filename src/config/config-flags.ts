/**
 * A config file and the command line meet in one shape: `RawFlags`, the strings commander produces. The file is
 * converted into flags and merged UNDER the flags the user actually typed, so `resolve-settings.ts` stays the one
 * place that validates and applies defaults (precedence: command line > config file > defaults). The reverse
 * conversion serves `inferbench print-config`.
 */
import { create, fromJson } from '@bufbuild/protobuf';
import { fromText, mergeFromText, toText } from '@bufbuild/protobuf/txtpb';
import type { RawFlags } from '../cli/options.ts';
import { parseHeader } from '../cli/parse-header.ts';
import { parseShapeOptions } from '../data/shape-option.ts';
import { ModelConfigSchema } from '../protocol/gen/model_config_pb.ts';
import type { BenchConfig } from './bench-config-schema.ts';

type ValueKind = 'string' | 'number' | 'boolean';

/** Config keys that map one-to-one onto a flag attribute: [config key, flag attribute, value kind]. */
const SIMPLE: readonly (readonly [keyof BenchConfig & string, keyof RawFlags & string, ValueKind])[] = [
  ['model', 'm', 'string'],
  ['modelVersion', 'x', 'string'],
  ['url', 'u', 'string'],
  ['protocol', 'i', 'string'],
  ['serviceKind', 'serviceKind', 'string'],
  ['grpcCompressionAlgorithm', 'grpcCompressionAlgorithm', 'string'],
  ['streaming', 'streaming', 'boolean'],
  ['inputTensorFormat', 'inputTensorFormat', 'string'],
  ['outputTensorFormat', 'outputTensorFormat', 'string'],
  ['sslGrpcUseSsl', 'sslGrpcUseSsl', 'boolean'],
  ['sslGrpcRootCertificationsFile', 'sslGrpcRootCertificationsFile', 'string'],
  ['sslGrpcPrivateKeyFile', 'sslGrpcPrivateKeyFile', 'string'],
  ['sslGrpcCertificateChainFile', 'sslGrpcCertificateChainFile', 'string'],
  ['sslHttpsVerifyPeer', 'sslHttpsVerifyPeer', 'number'],
  ['sslHttpsVerifyHost', 'sslHttpsVerifyHost', 'number'],
  ['sslHttpsCaCertificatesFile', 'sslHttpsCaCertificatesFile', 'string'],
  ['sslHttpsClientCertificateFile', 'sslHttpsClientCertificateFile', 'string'],
  ['sslHttpsClientCertificateType', 'sslHttpsClientCertificateType', 'string'],
  ['sslHttpsPrivateKeyFile', 'sslHttpsPrivateKeyFile', 'string'],
  ['sslHttpsPrivateKeyType', 'sslHttpsPrivateKeyType', 'string'],
  ['requestDistribution', 'requestDistribution', 'string'],
  ['requestIntervals', 'requestIntervals', 'string'],
  ['async', 'async', 'boolean'],
  ['sync', 'sync', 'boolean'],
  ['batchSize', 'b', 'number'],
  ['maxThreads', 'maxThreads', 'number'],
  ['maxInFlight', 'maxInFlight', 'number'],
  ['seed', 'seed', 'number'],
  ['workerThreads', 'workerThreads', 'number'],
  ['repeat', 'repeat', 'number'],
  ['binarySearch', 'binarySearch', 'boolean'],
  ['latencyThreshold', 'latencyThreshold', 'number'],
  ['measurementMode', 'measurementMode', 'string'],
  ['measurementInterval', 'measurementInterval', 'number'],
  ['measurementRequestCount', 'measurementRequestCount', 'number'],
  ['stabilityPercentage', 'stabilityPercentage', 'number'],
  ['stabilityWindows', 'stabilityWindows', 'number'],
  ['maxTrials', 'maxTrials', 'number'],
  ['percentile', 'percentile', 'number'],
  ['requestCount', 'requestCount', 'number'],
  ['warmupRequestCount', 'warmupRequestCount', 'number'],
  ['singleMeasurement', 'singleMeasurement', 'boolean'],
  ['requestTimeout', 'requestTimeout', 'number'],
  ['maxErrorRate', 'maxErrorRate', 'number'],
  ['errorRateThreshold', 'errorRateThreshold', 'number'],
  ['stringLength', 'stringLength', 'number'],
  ['stringData', 'stringData', 'string'],
  ['sharedMemory', 'sharedMemory', 'string'],
  ['csv', 'f', 'string'],
  ['verboseCsv', 'verboseCsv', 'boolean'],
  ['extraCsvColumns', 'extraCsvColumns', 'boolean'],
  ['json', 'json', 'string'],
  ['html', 'html', 'string'],
  ['profileExportFile', 'profileExportFile', 'string'],
  ['profileExportMaxOutputBytes', 'profileExportMaxOutputBytes', 'number'],
  ['collectMetrics', 'collectMetrics', 'boolean'],
  ['metricsUrl', 'metricsUrl', 'string'],
  ['metricsInterval', 'metricsInterval', 'number'],
  ['quiet', 'quiet', 'boolean'],
  ['progress', 'progress', 'boolean'],
];

type Range = NonNullable<BenchConfig['concurrencyRange']>;

function rangeText(range: Range): string {
  if (typeof range === 'string') return range.replace(/\s+/g, '');
  return [range.start, range.end, range.step].filter((v) => v !== undefined).join(':');
}

/** A config override as config.pbtxt text (the JSON form is converted through the generated ModelConfig). */
export function overrideText(value: string | Record<string, unknown>): string {
  if (typeof value === 'string') return value;
  return toText(ModelConfigSchema, fromJson(ModelConfigSchema, value as never));
}

/** The config file as flags (what commander would have produced had each value been typed). */
export function configToFlags(config: BenchConfig): RawFlags {
  const flags: RawFlags = {};
  const source = config as Record<string, unknown>;
  for (const [key, attr, kind] of SIMPLE) {
    const value = source[key];
    if (value === undefined) continue;
    flags[attr] = kind === 'number' ? String(value) : value;
  }
  if (config.headers) flags.H = Object.entries(config.headers).map(([k, v]) => `${k}:${v}`);
  if (config.concurrencyRange !== undefined) flags.concurrencyRange = rangeText(config.concurrencyRange);
  if (config.requestRateRange !== undefined) flags.requestRateRange = rangeText(config.requestRateRange);
  if (config.inputData !== undefined) {
    flags.inputData = Array.isArray(config.inputData) ? [...config.inputData] : [config.inputData];
  }
  if (config.shape)
    flags.shape = Object.entries(config.shape).map(([name, dims]) => `${name}:${dims.join(',')}`);
  if (config.requestParameter) flags.requestParameter = [...config.requestParameter];
  if (config.verbose !== undefined) {
    const level = typeof config.verbose === 'boolean' ? Number(config.verbose) : config.verbose;
    if (level > 0) flags.verbose = level;
  }
  if (config.thresholds) flags.threshold = [...config.thresholds];
  if (config.embedded?.modelRepository !== undefined) flags.modelRepository = config.embedded.modelRepository;
  if (config.embedded?.configOverrides) {
    flags.embeddedConfigOverrides = Object.fromEntries(
      Object.entries(config.embedded.configOverrides).map(([model, value]) => [
        model,
        overrideText(value as string | Record<string, unknown>),
      ]),
    );
  }
  return flags;
}

/** Command-line flags over the file's (a flag the user set replaces the file's value, lists included). */
export function mergeFlags(fromFile: RawFlags, fromCommandLine: RawFlags): RawFlags {
  const merged: RawFlags = { ...fromFile };
  for (const [key, value] of Object.entries(fromCommandLine)) {
    if (value !== undefined && key !== 'config') merged[key] = value;
  }
  return merged;
}

function asNumber(text: unknown): unknown {
  return typeof text === 'string' && /^-?\d+(\.\d+)?$/.test(text.trim()) ? Number(text) : text;
}

/** Flags back into the config-file shape (for `print-config`); keys in the schema's order. */
export function flagsToConfig(flags: RawFlags): BenchConfig {
  const out: Record<string, unknown> = {};
  const bySimpleKey = new Map(SIMPLE.map(([key, attr, kind]) => [key, { attr, kind }]));
  const order = [
    'model',
    'modelVersion',
    'url',
    'protocol',
    'serviceKind',
    'headers',
    'embedded',
    'concurrencyRange',
    'requestRateRange',
    ...SIMPLE.map(([key]) => key),
    'inputData',
    'shape',
    'requestParameter',
    'verbose',
    'thresholds',
  ];
  for (const key of new Set(order)) {
    const simple = bySimpleKey.get(key as keyof BenchConfig & string);
    if (simple) {
      const value = flags[simple.attr];
      if (value !== undefined) out[key] = simple.kind === 'number' ? asNumber(value) : value;
      continue;
    }
    switch (key) {
      case 'headers':
        if (flags.H?.length) {
          out.headers = Object.fromEntries(flags.H.map((h) => Object.values(parseHeader(h))));
        }
        break;
      case 'embedded': {
        const embedded: Record<string, unknown> = {};
        if (flags.modelRepository !== undefined) embedded.modelRepository = flags.modelRepository;
        if (flags.embeddedConfigOverrides) embedded.configOverrides = { ...flags.embeddedConfigOverrides };
        if (Object.keys(embedded).length > 0) out.embedded = embedded;
        break;
      }
      case 'concurrencyRange':
      case 'requestRateRange':
        if (flags[key] !== undefined) out[key] = flags[key];
        break;
      case 'inputData': {
        const values = [
          ...(flags.z ? ['zero'] : []),
          ...(flags.inputData ?? []),
          ...(flags.dataDirectory === undefined ? [] : [flags.dataDirectory]),
        ];
        if (values.length > 0) out.inputData = values.length === 1 ? values[0] : values;
        break;
      }
      case 'shape':
        if (flags.shape?.length) out.shape = parseShapeOptions(flags.shape);
        break;
      case 'requestParameter':
        if (flags.requestParameter?.length) out.requestParameter = [...flags.requestParameter];
        break;
      case 'verbose':
        if (flags.verbose) out.verbose = flags.verbose;
        break;
      case 'thresholds':
        if (flags.threshold?.length) out.thresholds = [...flags.threshold];
        break;
    }
  }
  return out as BenchConfig;
}

/**
 * Merges `override` (config.pbtxt text) into `base` with protobuf merge semantics, except that a repeated field
 * the override sets (instance_group, input…) replaces the base's list instead of being appended to it. Map
 * fields (parameters) merge by key; a scalar can be set to any value, 0 included.
 */
export function mergeModelConfigText(base: string, override: string): string {
  const merged = base.trim() === '' ? create(ModelConfigSchema) : fromText(ModelConfigSchema, base);
  const patch = fromText(ModelConfigSchema, override);
  const target = merged as unknown as Record<string, unknown>;
  const source = patch as unknown as Record<string, unknown>;
  for (const field of ModelConfigSchema.fields) {
    const value = source[field.localName];
    if (field.fieldKind === 'list' && Array.isArray(value) && value.length > 0) target[field.localName] = [];
  }
  return toText(ModelConfigSchema, mergeFromText(ModelConfigSchema, merged, override));
}
