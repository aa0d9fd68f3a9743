/**
 * Triton's config normalisation (core:src/model_config_utils.cc AutoCompleteBackendFields,
 * NormalizeModelConfig, NormalizeInstanceGroup): what `/config` returns is the config after these steps,
 * so clients (perf_analyzer reads max_batch_size and dims from it) see the same values as from Triton.
 * Every function is pure: it returns a normalised copy.
 */
import { clone, create } from '@bufbuild/protobuf';
import {
  type ModelConfig,
  ModelConfigSchema,
  ModelInstanceGroup_Kind,
  ModelInstanceGroupSchema,
  ModelOptimizationPolicy_PinnedMemoryBufferSchema,
  ModelOptimizationPolicySchema,
  ModelVersionPolicy_LatestSchema,
  ModelVersionPolicySchema,
} from '../../../src/protocol/gen/model_config_pb.ts';
import { ConfigError } from './config-error.ts';

export const ONNXRUNTIME_BACKEND = 'onnxruntime';
export const ONNXRUNTIME_PLATFORM = 'onnxruntime_onnx';
export const ONNX_MODEL_FILENAME = 'model.onnx';
export const ENSEMBLE_PLATFORM = 'ensemble';
/** Triton's SEQUENCE_IDLE_DEFAULT_MICROSECONDS. */
export const SEQUENCE_IDLE_DEFAULT_US = 1_000_000n;

/** One entry of a version directory, as far as backend detection needs it. */
export interface VersionDirEntry {
  name: string;
  isDirectory: boolean;
}

export interface BackendFieldsContext {
  /** The model's directory name: the model name when the config gives none. */
  modelName: string;
  /**
   * Entries of the version directory Triton inspects (the lexicographically first subdirectory of the
   * model directory); undefined when the model has no subdirectory.
   */
  versionDirEntries: readonly VersionDirEntry[] | undefined;
}

interface KnownBackend {
  backend: string;
  platform: string;
  filename: string;
  /** Whether detection by directory contents wants the artifact to be a directory (true), a file (false) or either. */
  artifactIsDirectory: boolean | 'either';
}

// The backends Triton's core recognises by platform / file name, in the order it tries them.
const TENSORFLOW_SAVEDMODEL: KnownBackend = {
  backend: 'tensorflow',
  platform: 'tensorflow_savedmodel',
  filename: 'model.savedmodel',
  artifactIsDirectory: true,
};
const TENSORFLOW_GRAPHDEF: KnownBackend = {
  backend: 'tensorflow',
  platform: 'tensorflow_graphdef',
  filename: 'model.graphdef',
  artifactIsDirectory: false,
};
const TENSORRT: KnownBackend = {
  backend: 'tensorrt',
  platform: 'tensorrt_plan',
  filename: 'model.plan',
  artifactIsDirectory: false,
};
const ONNXRUNTIME: KnownBackend = {
  backend: ONNXRUNTIME_BACKEND,
  platform: ONNXRUNTIME_PLATFORM,
  filename: ONNX_MODEL_FILENAME,
  // A large ONNX model may be a directory holding model.onnx plus external data.
  artifactIsDirectory: 'either',
};
const PYTORCH: KnownBackend = {
  backend: 'pytorch',
  platform: 'pytorch_libtorch',
  filename: 'model.pt',
  artifactIsDirectory: false,
};

/** Backend type of a platform string, as Triton's GetBackendTypeFromPlatform ('' when unknown). */
export function backendOfPlatform(platform: string): string {
  for (const b of [TENSORFLOW_SAVEDMODEL, TENSORFLOW_GRAPHDEF, TENSORRT, ONNXRUNTIME, PYTORCH]) {
    if (b.platform === platform) return b.backend;
  }
  return '';
}

/** Backend type of a backend name, as Triton's GetBackendType ('' when it is a user-provided backend). */
export function knownBackendType(backend: string): string {
  return [TENSORFLOW_SAVEDMODEL.backend, TENSORRT.backend, ONNXRUNTIME_BACKEND, PYTORCH.backend].includes(
    backend,
  )
    ? backend
    : '';
}

function hasArtifact(ctx: BackendFieldsContext, b: KnownBackend): boolean {
  const entry = ctx.versionDirEntries?.find((e) => e.name === b.filename);
  if (!entry) return false;
  return b.artifactIsDirectory === 'either' || entry.isDirectory === b.artifactIsDirectory;
}

/**
 * Triton's AutoCompleteBackendFields: sets `name` from the directory, then detects backend/platform and
 * `default_model_filename` from the config and the files of the first version directory. A given name that
 * differs from the directory name is refused as Triton's repository manager does.
 */
export function autoCompleteBackendFields(input: ModelConfig, ctx: BackendFieldsContext): ModelConfig {
  const config = clone(ModelConfigSchema, input);
  if (config.name === '') config.name = ctx.modelName;
  if (config.name !== ctx.modelName) {
    throw new ConfigError(
      `unexpected directory name '${ctx.modelName}' for model '${config.name}', directory name must equal model name`,
      { kind: 'invalid' },
    );
  }
  const hasVersion = ctx.versionDirEntries !== undefined;
  const probeFiles = config.platform === '' && config.defaultModelFilename === '' && hasVersion;

  // TensorFlow: the platform is required by its backend, so it is the field filled first.
  if (config.platform === '' && (config.backend === '' || config.backend === TENSORFLOW_SAVEDMODEL.backend)) {
    for (const tf of [TENSORFLOW_SAVEDMODEL, TENSORFLOW_GRAPHDEF]) {
      if (config.defaultModelFilename === tf.filename) config.platform = tf.platform;
    }
    if (config.defaultModelFilename === '' && hasVersion) {
      for (const tf of [TENSORFLOW_SAVEDMODEL, TENSORFLOW_GRAPHDEF]) {
        if (hasArtifact(ctx, tf)) config.platform = tf.platform;
      }
    }
  }
  for (const tf of [TENSORFLOW_SAVEDMODEL, TENSORFLOW_GRAPHDEF]) {
    if (config.platform === tf.platform) {
      if (config.backend === '') config.backend = tf.backend;
      if (config.defaultModelFilename === '') config.defaultModelFilename = tf.filename;
      return config;
    }
  }

  for (const b of [TENSORRT, ONNXRUNTIME, PYTORCH]) {
    if (config.backend === '') {
      if (config.platform === b.platform || config.defaultModelFilename === b.filename) {
        config.backend = b.backend;
      } else if (probeFiles && hasArtifact(ctx, b)) {
        config.backend = b.backend;
      }
    }
    if (config.backend === b.backend) {
      if (config.platform === '') config.platform = b.platform;
      if (config.defaultModelFilename === '') config.defaultModelFilename = b.filename;
      return config;
    }
  }

  for (const [backend, filename] of [
    ['openvino', 'model.xml'],
    ['python', 'model.py'],
  ] as const) {
    if (config.backend === '') {
      const found = ctx.versionDirEntries?.some((e) => e.name === filename) ?? false;
      if (config.defaultModelFilename === filename || (probeFiles && found)) config.backend = backend;
    }
    if (config.backend === backend) {
      if (config.defaultModelFilename === '') config.defaultModelFilename = filename;
      return config;
    }
  }

  if (config.platform === ENSEMBLE_PLATFORM) return config;

  // Custom backend, named by the model: `model.<backend>`.
  if (config.backend === '' && config.platform === '' && config.defaultModelFilename === '') {
    const dot = ctx.modelName.indexOf('.');
    if (dot < 0) {
      throw new ConfigError(
        `Invalid model name: Could not determine backend for model '${ctx.modelName}' with no backend in model configuration. Expected model name of the form 'model.<backend_name>'.`,
        { kind: 'invalid' },
      );
    }
    config.backend = ctx.modelName.slice(dot + 1);
    config.defaultModelFilename = `model.${config.backend}`;
  }
  return config;
}

/**
 * Triton's NormalizeModelConfig: version policy `latest {num_versions: 1}`, preferred batch size
 * `[max_batch_size]`, sequence idle timeout 1 s, pinned-memory enables. (`runtime: ""` is proto3's
 * default and needs no action.)
 */
export function normalizeModelConfig(input: ModelConfig): ModelConfig {
  const config = clone(ModelConfigSchema, input);
  if (!config.versionPolicy) {
    config.versionPolicy = create(ModelVersionPolicySchema, {
      policyChoice: { case: 'latest', value: create(ModelVersionPolicy_LatestSchema, { numVersions: 1 }) },
    });
  }
  const scheduling = config.schedulingChoice;
  if (scheduling.case === 'dynamicBatching') {
    if (scheduling.value.preferredBatchSize.length === 0 && config.maxBatchSize > 0) {
      scheduling.value.preferredBatchSize.push(config.maxBatchSize);
    }
  } else if (scheduling.case === 'sequenceBatching') {
    const seq = scheduling.value;
    if (seq.maxSequenceIdleMicroseconds === 0n) seq.maxSequenceIdleMicroseconds = SEQUENCE_IDLE_DEFAULT_US;
    const strategy = seq.strategyChoice;
    if (
      strategy.case === 'oldest' &&
      strategy.value.preferredBatchSize.length === 0 &&
      config.maxBatchSize > 0
    ) {
      strategy.value.preferredBatchSize.push(config.maxBatchSize);
    }
  }
  if (scheduling.case !== 'ensembleScheduling') {
    const optimization = config.optimization ?? create(ModelOptimizationPolicySchema);
    optimization.inputPinnedMemory ??= create(ModelOptimizationPolicy_PinnedMemoryBufferSchema, {
      enable: true,
    });
    optimization.outputPinnedMemory ??= create(ModelOptimizationPolicy_PinnedMemoryBufferSchema, {
      enable: true,
    });
    config.optimization = optimization;
  }
  return config;
}

export interface InstanceGroupContext {
  /** Ids of the GPUs the server may use; empty on a CPU-only host (the reference server's usual case). */
  gpuIds: readonly number[];
}

/**
 * Triton's NormalizeInstanceGroup (no backend-preferred groups: the ORT backend declares none): one group
 * named `<model>` when there is none, names `<model>_<index>`, KIND_AUTO resolved by GPU availability, count
 * 1 (2 for KIND_CPU with onnxruntime or tensorflow), KIND_GPU without gpus → every available GPU.
 */
export function normalizeInstanceGroups(input: ModelConfig, ctx: InstanceGroupContext): ModelConfig {
  const config = clone(ModelConfigSchema, input);
  if (config.schedulingChoice.case === 'ensembleScheduling') return config;
  const available = new Set(ctx.gpuIds);
  if (config.instanceGroup.length === 0) {
    config.instanceGroup.push(create(ModelInstanceGroupSchema, { name: config.name }));
  }
  config.instanceGroup.forEach((group, index) => {
    if (group.name === '') group.name = `${config.name}_${index}`;
    if (group.kind === ModelInstanceGroup_Kind.AUTO) {
      const allListedPresent = group.gpus.every((id) => available.has(id));
      group.kind =
        available.size === 0 || !allListedPresent ? ModelInstanceGroup_Kind.CPU : ModelInstanceGroup_Kind.GPU;
    }
    if (group.count < 1) {
      const cpuDefaultsToTwo = config.backend === ONNXRUNTIME_BACKEND || config.backend === 'tensorflow';
      group.count = group.kind === ModelInstanceGroup_Kind.CPU && cpuDefaultsToTwo ? 2 : 1;
    }
    if (group.kind === ModelInstanceGroup_Kind.GPU && group.gpus.length === 0) {
      group.gpus.push(...[...available].sort((a, b) => a - b));
    }
  });
  return config;
}
