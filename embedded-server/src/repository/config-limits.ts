/**
 * Resource bounds on a model config, checked when the model is read (from config.pbtxt or the load API) and
 * before anything is created: instances (each one is a worker thread plus ONNX Runtime's own threads), ORT
 * thread counts, and warmup samples (bytes per input, batch size, repetitions). Triton has no such bounds; a
 * config with `instance_group { count: 100000 }` made this server start threads until memory ran out, so
 * each bound refuses with the field, the value and the limit, and names the flag when there is one.
 */
import { byteSizeOf, datatypeFromConfigEnum } from '../../../src/protocol/datatypes.ts';
import { type ModelConfig, ModelInstanceGroup_Kind } from '../../../src/protocol/gen/model_config_pb.ts';
import { ConfigError } from './config-error.ts';

export interface ConfigLimits {
  /** Instances of one model version (all instance groups, × GPUs for KIND_GPU): `--max-instances-per-model`. */
  maxInstancesPerModel: number;
}

export const DEFAULT_MAX_INSTANCES_PER_MODEL = 64;
/** Instances over all loaded models: `--max-instances-total`. */
export const DEFAULT_MAX_INSTANCES_TOTAL = 256;
/** The largest value accepted for either instance flag (each instance is at least one thread). */
export const MAX_INSTANCES_FLAG = 4096;
/** ORT `intra_op_thread_count` / `inter_op_thread_count` per instance. */
export const MAX_ORT_THREADS_PER_INSTANCE = 256;
/** Bytes of one warmup input tensor (zero, random or file data). */
export const MAX_WARMUP_SAMPLE_BYTES = 64 * 1024 * 1024;
/** Requests in one warmup sample (its batch_size). */
export const MAX_WARMUP_BATCH_SIZE = 1024;
/** Bytes one warmup execution holds (sum of inputs × batch_size). */
export const MAX_WARMUP_EXECUTION_BYTES = 256 * 1024 * 1024;
/** Repetitions of one warmup sample (its count). */
export const MAX_WARMUP_COUNT = 10_000;

export const DEFAULT_CONFIG_LIMITS: ConfigLimits = Object.freeze({
  maxInstancesPerModel: DEFAULT_MAX_INSTANCES_PER_MODEL,
});

function over(model: string, what: string, value: number | bigint, limit: number, fix: string): ConfigError {
  return new ConfigError(
    `model '${model}': ${what} is ${value}, over the limit of ${limit}${fix === '' ? '' : ` (${fix})`}`,
    { kind: 'invalid' },
  );
}

/** Instances a normalised config creates per version: per group `count` (at least 1), × its GPUs for KIND_GPU. */
export function instanceCount(config: ModelConfig): number {
  let total = 0;
  for (const group of config.instanceGroup) {
    const count = Math.max(1, group.count);
    total += group.kind === ModelInstanceGroup_Kind.GPU ? count * Math.max(1, group.gpus.length) : count;
  }
  return total;
}

function threadCount(params: ModelConfig['parameters'], key: string): number | undefined {
  const raw = params[key]?.stringValue;
  if (raw === undefined || !/^\+?\d+$/.test(raw.trim())) return undefined;
  return Number(raw.trim());
}

/** Duplicate input or output names: refused at load (requests could never satisfy such a config). */
export function assertUniqueTensorNames(config: ModelConfig): void {
  for (const [kind, list] of [
    ['input', config.input],
    ['output', config.output],
  ] as const) {
    const seen = new Set<string>();
    for (const t of list) {
      if (seen.has(t.name)) {
        throw new ConfigError(
          `model '${config.name}': ${kind} name '${t.name}' appears more than once in the config; each ${kind} needs a unique name`,
          { kind: 'invalid' },
        );
      }
      seen.add(t.name);
    }
  }
}

/** Throws ConfigError for the first bound the config breaks. */
export function assertConfigLimits(config: ModelConfig, limits: ConfigLimits = DEFAULT_CONFIG_LIMITS): void {
  const m = config.name;
  for (const group of config.instanceGroup) {
    if (group.count > limits.maxInstancesPerModel) {
      throw over(
        m,
        `instance_group '${group.name}' count`,
        group.count,
        limits.maxInstancesPerModel,
        'raise it with --max-instances-per-model',
      );
    }
  }
  const instances = instanceCount(config);
  if (instances > limits.maxInstancesPerModel) {
    throw over(
      m,
      'the number of instances',
      instances,
      limits.maxInstancesPerModel,
      'raise it with --max-instances-per-model',
    );
  }
  for (const key of ['intra_op_thread_count', 'inter_op_thread_count']) {
    const n = threadCount(config.parameters, key);
    if (n !== undefined && n > MAX_ORT_THREADS_PER_INSTANCE) {
      throw over(m, `parameter '${key}'`, n, MAX_ORT_THREADS_PER_INSTANCE, '');
    }
  }
  for (const sample of config.modelWarmup) {
    const label = `model_warmup '${sample.name}'`;
    if (sample.batchSize > MAX_WARMUP_BATCH_SIZE) {
      throw over(m, `${label} batch_size`, sample.batchSize, MAX_WARMUP_BATCH_SIZE, '');
    }
    if (sample.count > MAX_WARMUP_COUNT) throw over(m, `${label} count`, sample.count, MAX_WARMUP_COUNT, '');
    let executionBytes = 0;
    for (const [name, input] of Object.entries(sample.inputs)) {
      const datatype = datatypeFromConfigEnum(input.dataType);
      // BYTES (width 0) holds at least a 4-byte length per element.
      const width = datatype === undefined ? 1 : byteSizeOf(datatype) || 4;
      let bytes = width;
      for (const d of input.dims) {
        const dim = Number(d);
        if (dim < 0) break; // refused later with Triton's own message
        bytes *= dim;
      }
      if (!Number.isFinite(bytes) || bytes > MAX_WARMUP_SAMPLE_BYTES) {
        throw over(m, `${label} input '${name}' size in bytes`, bytes, MAX_WARMUP_SAMPLE_BYTES, '');
      }
      executionBytes += bytes * Math.max(1, sample.batchSize);
    }
    if (executionBytes > MAX_WARMUP_EXECUTION_BYTES) {
      throw over(
        m,
        `${label} bytes per execution (inputs × batch_size)`,
        executionBytes,
        MAX_WARMUP_EXECUTION_BYTES,
        '',
      );
    }
  }
}
