/**
 * A candidate as a model config (pure): the model's own config with the searched knobs replaced, as the load
 * API's JSON (`{"parameters":{"config":"…"}}`) and as config.pbtxt text. Everything the search does not
 * touch (inputs, outputs, optimisation, other parameters, the dynamic batcher's other fields) is kept.
 */
import { clone, create } from '@bufbuild/protobuf';
import { toText } from '@bufbuild/protobuf/txtpb';
import { stringifyExactJson } from '../protocol/exact-json.ts';
import {
  type ModelConfig,
  ModelConfigSchema,
  ModelDynamicBatchingSchema,
  ModelInstanceGroup_Kind,
  ModelInstanceGroupSchema,
  ModelParameterSchema,
} from '../protocol/gen/model_config_pb.ts';
import { modelConfigToJson } from '../protocol/model-config-json.ts';
import type { BaseSettings, Candidate, InstanceKind } from './search-space.ts';

export const BATCH_BUCKETS_PARAMETER = 'inferbench.batch_buckets';

function kindOf(kind: ModelInstanceGroup_Kind, hasGpus: boolean): InstanceKind {
  if (kind === ModelInstanceGroup_Kind.GPU) return 'KIND_GPU';
  if (kind === ModelInstanceGroup_Kind.AUTO && hasGpus) return 'KIND_GPU';
  return 'KIND_CPU';
}

/** The model's current values of the searched knobs. */
export function baseSettingsOf(config: ModelConfig): BaseSettings {
  const group = config.instanceGroup[0];
  const dynamic =
    config.schedulingChoice.case === 'dynamicBatching' ? config.schedulingChoice.value : undefined;
  const buckets = config.parameters[BATCH_BUCKETS_PARAMETER]?.stringValue;
  return {
    maxBatchSize: config.maxBatchSize,
    dynamicBatching: dynamic !== undefined,
    maxQueueDelayUs: dynamic ? Number(dynamic.maxQueueDelayMicroseconds) : 0,
    preferredBatchSize: dynamic ? [...dynamic.preferredBatchSize] : [],
    instanceCount: config.instanceGroup.reduce((sum, g) => sum + Math.max(1, g.count), 0) || 1,
    instanceKind: group ? kindOf(group.kind, group.gpus.length > 0) : 'KIND_CPU',
    ...(buckets !== undefined ? { batchBuckets: buckets } : {}),
  };
}

/** Why the model's scheduling rules out a knob of the search, or undefined when it does not. */
export function schedulingConflict(
  config: ModelConfig,
  searchesDynamicBatching: boolean,
): string | undefined {
  const scheduling = config.schedulingChoice.case;
  if (scheduling === 'ensembleScheduling') {
    return `model '${config.name}' is an ensemble: analyze its composing models instead (an ensemble has no instances or batcher of its own)`;
  }
  if (scheduling === 'sequenceBatching' && searchesDynamicBatching) {
    return `model '${config.name}' uses the sequence batcher: dynamic batching cannot be switched on for it (leave the dynamic batching knobs out)`;
  }
  return undefined;
}

/** `base` with the candidate's knobs. */
export function applyCandidate(base: ModelConfig, candidate: Candidate): ModelConfig {
  const config = clone(ModelConfigSchema, base);
  config.maxBatchSize = candidate.maxBatchSize;
  if (candidate.dynamicBatching) {
    const previous =
      base.schedulingChoice.case === 'dynamicBatching' ? base.schedulingChoice.value : undefined;
    const batcher = previous
      ? clone(ModelDynamicBatchingSchema, previous)
      : create(ModelDynamicBatchingSchema);
    batcher.maxQueueDelayMicroseconds = BigInt(candidate.maxQueueDelayUs);
    batcher.preferredBatchSize = [...candidate.preferredBatchSize];
    config.schedulingChoice = { case: 'dynamicBatching', value: batcher };
  } else if (config.schedulingChoice.case === 'dynamicBatching') {
    config.schedulingChoice = { case: undefined };
  }
  const kind =
    candidate.instanceKind === 'KIND_GPU' ? ModelInstanceGroup_Kind.GPU : ModelInstanceGroup_Kind.CPU;
  const first = base.instanceGroup[0];
  // GPU instances stay on the GPUs the model named; the other group fields (rate limiter, host policy) are kept.
  const group = first ? clone(ModelInstanceGroupSchema, first) : create(ModelInstanceGroupSchema);
  group.count = candidate.instanceCount;
  group.kind = kind;
  if (kind !== ModelInstanceGroup_Kind.GPU) group.gpus = [];
  config.instanceGroup = [group];
  if (candidate.batchBuckets !== undefined) {
    config.parameters[BATCH_BUCKETS_PARAMETER] = create(ModelParameterSchema, {
      stringValue: candidate.batchBuckets,
    });
  }
  return config;
}

/** The config as the load API's `config` parameter (Triton's JSON form of ModelConfig). */
export function configJsonText(config: ModelConfig): string {
  return stringifyExactJson(modelConfigToJson(config));
}

/** The config as config.pbtxt text. */
export function configPbtxt(config: ModelConfig): string {
  return toText(ModelConfigSchema, config);
}
