/**
 * Triton's model-configuration validation (core:src/model_config_utils.cc ValidateModelConfig,
 * ValidateInstanceGroup, ValidateModelIOConfig; warmup checks of backend_model_instance.cc), with Triton's
 * exact messages so that a user who moves a repository between Triton and the reference server reads the
 * same error. Runs on a normalised config. Throws ConfigError (kind 'invalid'); returns nothing.
 */
import type { DescEnum } from '@bufbuild/protobuf';
import {
  BatchInput_KindSchema,
  BatchOutput_KindSchema,
  DataType,
  type ModelConfig,
  type ModelDynamicBatching,
  type ModelInput,
  ModelInput_Format,
  ModelInstanceGroup_Kind,
  type ModelOutput,
  type ModelQueuePolicy,
  ModelQueuePolicy_TimeoutAction,
  type ModelSequenceBatching,
  ModelSequenceBatching_Control_Kind,
  ModelSequenceBatching_Control_KindSchema,
} from '../../../src/protocol/gen/model_config_pb.ts';
import { ConfigError, invalidConfig } from './config-error.ts';
import { backendOfPlatform, ENSEMBLE_PLATFORM, knownBackendType } from './normalize.ts';
import { validateEnsembleScheduling } from './validate-ensemble.ts';

/** Triton's TRITON_MIN_COMPUTE_CAPABILITY, printed in the invalid-gpu message. */
export const DEFAULT_MIN_COMPUTE_CAPABILITY = 6.0;
const TENSORRT_PLATFORM = 'tensorrt_plan';
const WILDCARD_DIM = -1n;

export interface ValidateOptions {
  /** GPUs the server may use (empty: CPU-only host). */
  gpuIds: readonly number[];
  minComputeCapability?: number;
}

function enumName(schema: DescEnum, value: number): string {
  return schema.values.find((v) => v.number === value)?.name ?? String(value);
}

/** Every check, in Triton's order: model-level, instance groups, inputs/outputs, warmup. */
export function validateModelConfig(config: ModelConfig, options: ValidateOptions): void {
  validateModelLevel(config);
  validateInstanceGroups(config, options);
  validateModelIo(config);
  validateWarmup(config);
}

/** ValidateModelConfig: identity, backend/platform, batching, schedulers. */
export function validateModelLevel(config: ModelConfig): void {
  const m = config.name;
  if (m === '') throw invalidConfig("model configuration must specify 'name'");
  if (config.backend === '') {
    if (config.platform !== ENSEMBLE_PLATFORM)
      throw invalidConfig(`unexpected platform type '${config.platform}' for ${m}`);
  } else if (config.platform === ENSEMBLE_PLATFORM) {
    throw invalidConfig(
      `Ensemble model '${m}' must have platform type '${config.platform}' and empty backend type`,
    );
  }
  if (config.platform === '' && config.backend === '') {
    throw invalidConfig(`must specify 'platform' or 'backend' for '${m}'`);
  }
  const backendType = knownBackendType(config.backend);
  if (backendType !== '' && backendType !== backendOfPlatform(config.platform)) {
    throw invalidConfig(
      `unexpected 'platform' and 'backend' pair, got:${config.platform}, ${config.backend}`,
    );
  }
  if (config.maxBatchSize < 0) throw invalidConfig(`'max_batch_size' must be non-negative value for ${m}`);
  if (!config.versionPolicy) throw invalidConfig(`must specify 'version policy' for ${m}`);

  const scheduling = config.schedulingChoice;
  if (scheduling.case === 'dynamicBatching') validateDynamicBatching(scheduling.value, config);
  if (scheduling.case === 'sequenceBatching') validateSequenceBatching(scheduling.value, config);
  if (scheduling.case === 'ensembleScheduling') {
    validateEnsembleScheduling(config, scheduling.value);
  } else if (config.platform === ENSEMBLE_PLATFORM) {
    throw invalidConfig(
      `ensemble scheduling must be set for ensemble ${m} whose platform is ${ENSEMBLE_PLATFORM}`,
    );
  }
  if (config.modelTransactionPolicy?.decoupled && config.responseCache?.enable) {
    throw invalidConfig(
      `Response Cache does not currently support model ${m} with 'decoupled' transaction policy. Please disable the response cache.`,
    );
  }
  for (const control of config.modelMetrics?.metricControl ?? []) {
    if (!control.metricIdentifier) throw invalidConfig("metric control must specify 'metric_identifier'");
    if (control.metricIdentifier.family === '')
      throw invalidConfig("metric identifier must specify non-empty 'family'");
    if (control.metricOptions.case !== 'histogramOptions') {
      throw invalidConfig("metric control must specify 'histogram_options'");
    }
    if (control.metricOptions.value.buckets.length === 0) {
      throw invalidConfig("histogram options must specify non-empty 'buckets'");
    }
  }
}

function hasDelayTimeout(policy: ModelQueuePolicy | undefined): boolean {
  return (
    policy !== undefined &&
    policy.defaultTimeoutMicroseconds !== 0n &&
    policy.timeoutAction === ModelQueuePolicy_TimeoutAction.DELAY
  );
}

function validateDynamicBatching(db: ModelDynamicBatching, config: ModelConfig): void {
  const m = config.name;
  for (const size of db.preferredBatchSize) {
    if (size <= 0) throw invalidConfig(`dynamic batching preferred size must be positive for ${m}`);
    if (size > config.maxBatchSize) {
      throw invalidConfig(`dynamic batching preferred size must be <= max batch size for ${m}`);
    }
  }
  const levels = db.priorityLevels;
  if (levels !== 0n) {
    if (db.defaultPriorityLevel === 0n || db.defaultPriorityLevel > levels) {
      throw invalidConfig(`default priority level must be in range [1, ${levels}] for ${m}`);
    }
    for (const key of Object.keys(db.priorityQueuePolicy)) {
      const level = BigInt(key);
      if (level === 0n || level > levels) {
        throw invalidConfig(
          `priority queue policy must have priority level in range [1, ${levels}] for ${m}`,
        );
      }
    }
  }
  if (db.preserveOrdering) {
    if (levels > 1n)
      throw invalidConfig(`Only one priority level is allowed when 'preserve_ordering' is true for ${m}`);
    const policies = [db.defaultQueuePolicy, ...Object.values(db.priorityQueuePolicy)];
    if (policies.some(hasDelayTimeout)) {
      throw invalidConfig(
        `Queue policy can not have DELAY as timeout action when 'preserve_ordering' is true for ${m}`,
      );
    }
  }
}

type ControlKind = ModelSequenceBatching_Control_Kind;

/** GetBooleanSequenceControlProperties / GetTypedSequenceControlProperties: returns the control's data type. */
function checkSequenceControl(
  batcher: ModelSequenceBatching,
  m: string,
  kind: ControlKind,
  typed: boolean,
): DataType | undefined {
  const kindName = enumName(ModelSequenceBatching_Control_KindSchema, kind);
  const seenTensors = new Set<string>();
  let found: DataType | undefined;
  for (const controlInput of batcher.controlInput) {
    if (controlInput.name === '')
      throw invalidConfig(`sequence batching control tensor must have a name for ${m}`);
    if (seenTensors.has(controlInput.name)) {
      throw invalidConfig(
        `sequence batching control tensor '${controlInput.name}' is specified for multiple control kinds for ${m}`,
      );
    }
    seenTensors.add(controlInput.name);
    for (const c of controlInput.control) {
      if (c.kind !== kind) continue;
      if (found !== undefined)
        throw invalidConfig(`sequence batching specifies multiple ${kindName} tensors for ${m}`);
      const lists = [
        ['int32_false_true', c.int32FalseTrue.length, DataType.TYPE_INT32],
        ['fp32_false_true', c.fp32FalseTrue.length, DataType.TYPE_FP32],
        ['bool_false_true', c.boolFalseTrue.length, DataType.TYPE_BOOL],
      ] as const;
      const given = lists.filter(([, n]) => n > 0);
      if (typed) {
        if (given.length > 0) {
          throw invalidConfig(
            `sequence batching must not specify either 'int32_false_true', 'fp32_false_true' or 'bool_false_true' for ${kindName} for ${m}`,
          );
        }
        found = c.dataType;
        continue;
      }
      if (given.length === 0) {
        throw invalidConfig(
          `sequence batching must specify either 'int32_false_true', 'fp32_false_true' or 'bool_false_true' for ${kindName} for ${m}`,
        );
      }
      if (given.length > 1) {
        throw invalidConfig(
          `sequence batching specifies more than one from 'int32_false_true', 'fp32_false_true' and 'bool_false_true' for ${kindName} for ${m}`,
        );
      }
      const [field, count, dataType] = given[0]!;
      if (count !== 2) {
        throw invalidConfig(
          `sequence batching control '${field}' must have exactly 2 entries for ${kindName} for ${m}`,
        );
      }
      found = dataType;
    }
  }
  return found;
}

const CORRID_TYPES: readonly DataType[] = [
  DataType.TYPE_UINT64,
  DataType.TYPE_INT64,
  DataType.TYPE_UINT32,
  DataType.TYPE_INT32,
  DataType.TYPE_STRING,
];

function validateSequenceBatching(batcher: ModelSequenceBatching, config: ModelConfig): void {
  const m = config.name;
  if (config.responseCache?.enable) {
    throw invalidConfig(
      `Response Cache does not currently support model ${m} with sequence batching scheduler. Please disable the response cache.`,
    );
  }
  for (const kind of [
    ModelSequenceBatching_Control_Kind.CONTROL_SEQUENCE_START,
    ModelSequenceBatching_Control_Kind.CONTROL_SEQUENCE_END,
    ModelSequenceBatching_Control_Kind.CONTROL_SEQUENCE_READY,
  ]) {
    checkSequenceControl(batcher, m, kind, false);
  }
  const corrId = checkSequenceControl(
    batcher,
    m,
    ModelSequenceBatching_Control_Kind.CONTROL_SEQUENCE_CORRID,
    true,
  );
  if (corrId !== undefined && !CORRID_TYPES.includes(corrId)) {
    throw invalidConfig(
      `unexpected data type for control CONTROL_SEQUENCE_CORRID for ${m}. Allowed data types are TYPE_UINT64, TYPE_INT64, TYPE_UINT32, TYPE_INT32 and TYPE_STRING`,
    );
  }
  const strategy = batcher.strategyChoice;
  if (strategy.case === 'oldest') {
    for (const size of strategy.value.preferredBatchSize) {
      if (size <= 0) throw invalidConfig(`sequence batching preferred batch size must be positive for ${m}`);
      if (size > config.maxBatchSize) {
        throw invalidConfig(`sequence batching preferred batch size must be <= max batch size for ${m}`);
      }
    }
  }
  if (strategy.case === 'direct') {
    const utilization = strategy.value.minimumSlotUtilization;
    if (utilization < 0 || utilization > 1) {
      throw invalidConfig(`sequence batching minimum slot utilization must be in range (0.0, 1.0] for ${m}`);
    }
  }
}

/** C++ std::to_string(double): six decimals. */
function cppDoubleString(value: number): string {
  return value.toFixed(6);
}

/** ValidateInstanceGroup: kinds resolved, GPU ids available, TensorRT-only fields. */
export function validateInstanceGroups(config: ModelConfig, options: ValidateOptions): void {
  if (config.schedulingChoice.case === 'ensembleScheduling') return;
  const m = config.name;
  if (config.instanceGroup.length === 0)
    throw invalidConfig(`must specify one or more 'instance group's for ${m}`);
  const available = [...new Set(options.gpuIds)].sort((a, b) => a - b);
  const minCc = options.minComputeCapability ?? DEFAULT_MIN_COMPUTE_CAPABILITY;
  for (const group of config.instanceGroup) {
    const prefix = `instance group ${group.name} of model ${m}`;
    switch (group.kind) {
      case ModelInstanceGroup_Kind.MODEL:
        if (group.gpus.length > 0)
          throw invalidConfig(`${prefix} has kind KIND_MODEL but specifies one or more GPUs`);
        break;
      case ModelInstanceGroup_Kind.GPU:
        if (group.gpus.length === 0) {
          throw invalidConfig(
            available.length === 0
              ? `${prefix} has kind KIND_GPU but no GPUs are available`
              : `${prefix} has kind KIND_GPU but specifies no GPUs`,
          );
        }
        for (const id of group.gpus) {
          if (!available.includes(id)) {
            throw invalidConfig(
              `${prefix} specifies invalid or unsupported gpu id ${id}. GPUs with at least the minimum required CUDA compute compatibility of ${cppDoubleString(minCc)} are: ${available.join(', ')}`,
            );
          }
        }
        break;
      case ModelInstanceGroup_Kind.CPU:
        if (group.gpus.length > 0)
          throw invalidConfig(`${prefix} has kind KIND_CPU but specifies one or more GPUs`);
        break;
      default:
        throw new ConfigError(`${prefix} has unexpected kind KIND_AUTO`, {
          kind: 'invalid',
          code: 'INTERNAL',
        });
    }
    if (config.platform !== TENSORRT_PLATFORM && group.profile.length > 0) {
      // Triton's text lacks the space before "specifies"; kept verbatim.
      throw invalidConfig(
        `${prefix} and platform ${config.platform}specifies profile field which is only supported for TensorRT models`,
      );
    }
  }
}

/** Triton's GetElementCount: 0 for no dims, -1 when any dim is variable. */
function elementCountOf(dims: readonly bigint[]): bigint {
  if (dims.length === 0) return 0n;
  let n = 1n;
  for (const d of dims) {
    if (d === WILDCARD_DIM) return -1n;
    n *= d;
  }
  return n;
}

/** Element counts of the runs of fixed dims between variable dims. */
function segmentCounts(dims: readonly bigint[]): bigint[] {
  const counts: bigint[] = [];
  let current = 1n;
  for (const d of dims) {
    if (d === WILDCARD_DIM) {
      counts.push(current);
      current = 1n;
    } else {
      current *= d;
    }
  }
  counts.push(current);
  return counts;
}

/** ValidateIOShape; the message is returned without the model suffix. */
function ioShapeProblem(
  io: ModelInput | ModelOutput,
  maxBatchSize: number,
  prefix: string,
): string | undefined {
  if (io.name === '') return `${prefix}must specify 'name'`;
  const p = `${prefix}'${io.name}' `;
  if (io.dataType === DataType.TYPE_INVALID) return `${p}must specify 'data_type'`;
  if (io.dims.length === 0) return `${p}must specify 'dims'`;
  if (io.reshape && io.reshape.shape.length === 0 && maxBatchSize === 0) {
    return `${p}cannot have empty reshape for non-batching model as scalar tensors are not supported`;
  }
  if (io.dims.some((d) => d < 1n && d !== WILDCARD_DIM)) {
    return `${p}dimension must be integer >= 1, or -1 to indicate a variable-size dimension`;
  }
  if (!io.reshape) return undefined;
  const shape = io.reshape.shape;
  if (shape.some((d) => d < 1n && d !== WILDCARD_DIM)) {
    return `${p}reshape dimensions must be integer >= 1, or -1 to indicate a variable-size dimension`;
  }
  const dimsSize = elementCountOf(io.dims);
  const reshapeSize = elementCountOf(shape);
  // Equal counts, or the scalar special case: empty reshape of a one-element dims.
  if (dimsSize !== reshapeSize && (reshapeSize !== 0n || dimsSize !== 1n)) {
    return `${p}has different size for dims and reshape`;
  }
  if (dimsSize === -1n) {
    const a = segmentCounts(io.dims);
    const b = segmentCounts(shape);
    if (a.length !== b.length)
      return `${p}has different number of variable-size dimensions for dims and reshape`;
    if (a.some((count, i) => count !== b[i])) return `${p}has different size for dims and reshape`;
  }
  return undefined;
}

function inputProblem(io: ModelInput, config: ModelConfig): string | undefined {
  const shape = ioShapeProblem(io, config.maxBatchSize, 'model input ');
  if (shape) return shape;
  if (
    (io.format === ModelInput_Format.NHWC || io.format === ModelInput_Format.NCHW) &&
    io.dims.length !== 3
  ) {
    return 'model input NHWC/NCHW require 3 dims';
  }
  if (config.platform !== TENSORRT_PLATFORM && io.isShapeTensor) {
    return 'shape tensors are only supported for TensorRT platform';
  }
  if (io.isNonLinearFormatIo) return nonLinearProblem(io.dims.length, config.platform, 'input');
  return undefined;
}

function outputProblem(io: ModelOutput, config: ModelConfig): string | undefined {
  const shape = ioShapeProblem(io, config.maxBatchSize, 'model output ');
  if (shape) return shape;
  if (config.platform !== TENSORRT_PLATFORM && io.isShapeTensor) {
    return 'shape tensors are only supported for TensorRT platform';
  }
  if (io.isNonLinearFormatIo) return nonLinearProblem(io.dims.length, config.platform, 'output');
  return undefined;
}

function nonLinearProblem(rank: number, platform: string, what: 'input' | 'output'): string | undefined {
  if (platform !== TENSORRT_PLATFORM)
    return 'Non-linear IO format is only supported for the TensorRT platform';
  return rank === 3 ? undefined : `Non-linear IO format ${what} requires 3 dims`;
}

/** A batch input's or output's kind is known, and it names exactly one source input (Triton's checks, in order). */
function batchKindProblem(
  what: 'input' | 'output',
  schema: DescEnum,
  kind: number,
  sourceInput: readonly string[],
): string | undefined {
  const kindName = enumName(schema, kind);
  if (!schema.values.some((v) => v.number === kind)) return `unknown batch ${what} kind '${kindName}'`;
  if (sourceInput.length !== 1) {
    return `batch ${what} kind '${kindName}' expects 1 source input, got ${sourceInput.length}`;
  }
  return undefined;
}

function unknownSourceProblem(
  sourceInput: readonly string[],
  inputNames: ReadonlySet<string>,
): string | undefined {
  const unknown = sourceInput.find((s) => !inputNames.has(s));
  return unknown === undefined ? undefined : `unknown source input name '${unknown}'`;
}

function batchIoProblem(config: ModelConfig): string | undefined {
  const inputNames = new Set(config.input.map((i) => i.name));
  const outputNames = new Set(config.output.map((o) => o.name));
  for (const bi of config.batchInput) {
    const problem =
      batchKindProblem('input', BatchInput_KindSchema, bi.kind, bi.sourceInput) ??
      (bi.dataType !== DataType.TYPE_INT32 && bi.dataType !== DataType.TYPE_FP32
        ? 'batch input data type must be TYPE_INT32 or TYPE_FP32'
        : unknownSourceProblem(bi.sourceInput, inputNames));
    if (problem !== undefined) return problem;
  }
  for (const bo of config.batchOutput) {
    const problem =
      batchKindProblem('output', BatchOutput_KindSchema, bo.kind, bo.sourceInput) ??
      unknownSourceProblem(bo.sourceInput, inputNames);
    if (problem !== undefined) return problem;
    const targets = new Set<string>();
    for (const target of bo.targetName) {
      if (!outputNames.has(target)) return `unknown target output name '${target}'`;
      if (targets.has(target)) return `target output name '${target}' can only be specified once`;
      targets.add(target);
    }
  }
  return undefined;
}

/** ValidateModelIOConfig: every message ends with ` for <model>`. */
export function validateModelIo(config: ModelConfig): void {
  const problem =
    config.input.map((io) => inputProblem(io, config)).find((p) => p !== undefined) ??
    config.output.map((io) => outputProblem(io, config)).find((p) => p !== undefined) ??
    batchIoProblem(config);
  if (problem !== undefined) throw invalidConfig(`${problem} for ${config.name}`);
}

/** Warmup samples: the checks Triton makes while building them at load (backend_model_instance.cc). */
export function validateWarmup(config: ModelConfig): void {
  for (const sample of config.modelWarmup) {
    if (sample.batchSize === 0) continue;
    for (const [name, input] of Object.entries(sample.inputs)) {
      if (input.dims.includes(WILDCARD_DIM)) {
        throw invalidConfig(
          `warmup setting expects all variable-size dimensions are specified for input '${name}'`,
        );
      }
      if (input.inputDataType.case === undefined) {
        throw invalidConfig(`warmup setting expects input '${name}' to have input_data_type set`);
      }
    }
  }
}
