/**
 * config.pbtxt → ONNX Runtime session options, following Triton's ONNX Runtime backend (reference §8.1–§8.2)
 * so that a model repository behaves the same on both servers. Pure: the same config always maps to the
 * same options, and every option onnxruntime-node cannot honour is reported as a warning, never dropped
 * silently.
 *
 * Our own config parameter: `allow_tensorrt_fallback` ("true"/"false", default false). Triton builds with
 * TensorRT use the TensorRT EP for a `gpu_execution_accelerator { name: "tensorrt" }`; this server has no
 * TensorRT, so such a config is refused unless this parameter says that running on CUDA instead is fine.
 */
import type { InferenceSession } from 'onnxruntime-node';
import type {
  ModelConfig,
  ModelOptimizationPolicy_ExecutionAccelerators_Accelerator,
} from '../../../src/protocol/gen/model_config_pb.ts';
import { RuntimeConfigError } from './runtime-errors.ts';

export type InstanceKind = 'KIND_CPU' | 'KIND_GPU';

export interface SessionOptionsResult {
  /** Plain, structured-clonable options for `InferenceSession.create` (sent to the instance worker). */
  options: InferenceSession.SessionOptions;
  /**
   * CUDA EP options Triton would pass (legacy model parameters + `cuda` accelerator parameters), by ORT key.
   * onnxruntime-node 1.29 forwards only the device id to the CUDA EP, so these are reported, not applied.
   */
  cudaOptions: Record<string, string>;
  /** Human-readable notes about options that were requested but cannot take effect here. */
  warnings: string[];
}

/** The parameter key that lets a `tensorrt` accelerator fall back to CUDA (ours, not Triton's). */
export const ALLOW_TENSORRT_FALLBACK = 'allow_tensorrt_fallback';

const TENSORRT_KEYS = new Set([
  'precision_mode',
  'max_workspace_size_bytes',
  'trt_max_partition_iterations',
  'trt_min_subgraph_size',
  'int8_calibration_table_name',
  'int8_use_native_calibration_table',
  'trt_dla_enable',
  'trt_dla_core',
  'trt_engine_cache_enable',
  'trt_engine_cache_path',
  'trt_engine_cache_prefix',
  'trt_dump_subgraphs',
  'trt_force_sequential_engine_build',
  'trt_context_memory_sharing_enable',
  'trt_layer_norm_fp32_fallback',
  'trt_timing_cache_enable',
  'trt_timing_cache_path',
  'trt_force_timing_cache',
  'trt_detailed_build_log',
  'trt_build_heuristics_enable',
  'trt_sparsity_enable',
  'trt_builder_optimization_level',
  'trt_auxiliary_streams',
  'trt_tactic_sources',
  'trt_extra_plugin_lib_paths',
  'trt_profile_min_shapes',
  'trt_profile_max_shapes',
  'trt_profile_opt_shapes',
  'trt_cuda_graph_enable',
  'trt_dump_ep_context_model',
  'trt_ep_context_file_path',
  'trt_ep_context_embed_mode',
]);
const TENSORRT_PRECISIONS = new Set(['FP32', 'FP16', 'BF16', 'INT8']);

/** CUDA EP keys whose values ORT parses as booleans. */
const CUDA_BOOL_KEYS = new Set([
  'do_copy_in_default_stream',
  'cudnn_conv_use_max_workspace',
  'cudnn_conv1d_pad_to_nc1d',
  'enable_cuda_graph',
  'enable_skip_layer_norm_strict_mode',
  'use_ep_level_unified_stream',
  'use_tf32',
  'prefer_nhwc',
  'has_user_compute_stream',
  'tunable_op_enable',
  'tunable_op_tuning_enable',
  'fuse_conv_bias',
]);

const CUDNN_CONV_ALGO_SEARCH: Record<string, string> = {
  '0': 'EXHAUSTIVE',
  '1': 'HEURISTIC',
  '2': 'DEFAULT',
};
const ARENA_EXTEND_STRATEGY: Record<string, string> = { '0': 'kNextPowerOfTwo', '1': 'kSameAsRequested' };

/** Triton backend_common's ParseBoolValue: true/on/1, false/off/0, case-insensitive. */
function parseBool(value: string, key: string): boolean {
  const v = value.toLowerCase();
  if (v === 'true' || v === 'on' || v === '1') return true;
  if (v === 'false' || v === 'off' || v === '0') return false;
  throw new RuntimeConfigError(`failed to convert '${value}' to boolean value (parameter '${key}')`);
}

/** Triton backend_common's ParseIntValue (a non-negative count here). */
function parseCount(value: string, key: string): number {
  const v = value.trim();
  if (!/^\+?\d+$/.test(v))
    throw new RuntimeConfigError(`failed to convert '${value}' to integral number (parameter '${key}')`);
  return Number(v);
}

function graphLevel(level: number): NonNullable<InferenceSession.SessionOptions['graphOptimizationLevel']> {
  if (level === -1) return 'basic';
  if (level === 1) return 'extended';
  if (level === 2) return 'disabled';
  return 'all';
}

function tensorrtOptionsCheck(acc: ModelOptimizationPolicy_ExecutionAccelerators_Accelerator): void {
  for (const [key, value] of Object.entries(acc.parameters)) {
    if (!TENSORRT_KEYS.has(key)) {
      throw new RuntimeConfigError(
        `unknown parameter '${key}' is provided for TensorRT Execution Accelerator`,
      );
    }
    if (key === 'precision_mode' && !TENSORRT_PRECISIONS.has(value)) {
      throw new RuntimeConfigError(`unsupported precision mode '${value}' is requested`);
    }
  }
}

function gpuAccelerators(
  accelerators: readonly ModelOptimizationPolicy_ExecutionAccelerators_Accelerator[],
  allowTensorrtFallback: boolean,
  cudaOptions: Record<string, string>,
  warnings: string[],
): void {
  for (const acc of accelerators) {
    if (acc.name === 'tensorrt') {
      tensorrtOptionsCheck(acc);
      if (!allowTensorrtFallback) {
        throw new RuntimeConfigError(
          "TensorRT Execution Accelerator 'tensorrt' is requested, but this server's ONNX Runtime (onnxruntime-node) " +
            'has no TensorRT execution provider. Remove it from optimization.execution_accelerators.' +
            `gpu_execution_accelerator, or set parameters { key: "${ALLOW_TENSORRT_FALLBACK}" value: { string_value: "true" } } ` +
            'to run the model on the CUDA execution provider instead.',
        );
      }
      warnings.push(
        `TensorRT Execution Accelerator is not available; running on the CUDA execution provider (${ALLOW_TENSORRT_FALLBACK} is true)`,
      );
    } else if (acc.name === 'cuda') {
      for (const [key, value] of Object.entries(acc.parameters)) {
        cudaOptions[key] = CUDA_BOOL_KEYS.has(key) ? (parseBool(value, key) ? '1' : '0') : value;
      }
    } else {
      throw new RuntimeConfigError(`unknown Execution Accelerator '${acc.name}' is requested`);
    }
  }
}

function legacyCudaParameters(params: Record<string, string>, cudaOptions: Record<string, string>): void {
  const algo = params.cudnn_conv_algo_search ?? '0';
  const algoName = CUDNN_CONV_ALGO_SEARCH[algo.trim()];
  if (!algoName) {
    throw new RuntimeConfigError(
      `invalid value '${algo}' for parameter 'cudnn_conv_algo_search': expected 0 (EXHAUSTIVE), 1 (HEURISTIC) or 2 (DEFAULT)`,
    );
  }
  cudaOptions.cudnn_conv_algo_search = algoName;
  if (params.gpu_mem_limit !== undefined) {
    cudaOptions.gpu_mem_limit = String(parseCount(params.gpu_mem_limit, 'gpu_mem_limit'));
  }
  const arena = params.arena_extend_strategy ?? '0';
  const arenaName = ARENA_EXTEND_STRATEGY[arena.trim()];
  if (!arenaName) {
    throw new RuntimeConfigError(
      `invalid value '${arena}' for parameter 'arena_extend_strategy': expected 0 (kNextPowerOfTwo) or 1 (kSameAsRequested)`,
    );
  }
  cudaOptions.arena_extend_strategy = arenaName;
  const copyInDefault = params.do_copy_in_default_stream ?? '1';
  cudaOptions.do_copy_in_default_stream = parseBool(copyInDefault, 'do_copy_in_default_stream') ? '1' : '0';
}

/**
 * Session options for one instance of `config`, as Triton's ORT backend builds them. Throws
 * RuntimeConfigError with Triton's text where Triton has one, and with a clear explanation for
 * accelerators this server cannot provide (TensorRT without fallback, OpenVINO).
 */
export function sessionOptionsFromConfig(
  config: ModelConfig,
  instance: { kind: InstanceKind; deviceId: number },
): SessionOptionsResult {
  const params: Record<string, string> = {};
  for (const [key, p] of Object.entries(config.parameters)) params[key] = p.stringValue;
  const warnings: string[] = [];
  const cudaOptions: Record<string, string> = {};
  const options: InferenceSession.SessionOptions = {
    graphOptimizationLevel: graphLevel(config.optimization?.graph?.level ?? 0),
    executionMode: 'sequential',
  };

  const mode = params.execution_mode;
  if (mode !== undefined) {
    if (mode !== '0' && mode !== '1') {
      throw new RuntimeConfigError(
        `Invalid configuration value provided. Expected values for  execution_mode are 0 or 1 but got ${mode} .`,
      );
    }
    options.executionMode = mode === '1' ? 'parallel' : 'sequential';
  }
  if (params.intra_op_thread_count !== undefined) {
    const n = parseCount(params.intra_op_thread_count, 'intra_op_thread_count');
    if (n > 0) options.intraOpNumThreads = n;
  }
  if (params.inter_op_thread_count !== undefined) {
    const n = parseCount(params.inter_op_thread_count, 'inter_op_thread_count');
    if (n > 0) options.interOpNumThreads = n;
  }
  if (params.enable_mem_arena !== undefined) {
    options.enableCpuMemArena = parseBool(params.enable_mem_arena, 'enable_mem_arena');
  }
  if (params.enable_mem_pattern !== undefined) {
    options.enableMemPattern = parseBool(params.enable_mem_pattern, 'enable_mem_pattern');
  }
  const sessionEntries: Record<string, unknown> = {};
  const deviceInitializers = params['session.use_device_allocator_for_initializers'];
  if (deviceInitializers !== undefined) {
    const on = parseBool(deviceInitializers, 'session.use_device_allocator_for_initializers');
    sessionEntries.use_device_allocator_for_initializers = on ? '1' : '0';
  }
  // ORT's thread pools spin between operators by default. Next to a busy event loop on few cores the spinning
  // threads take the CPU the transports need (measured: bench:batching --intra-op-spinning), so these ORT
  // session config keys are passed through as model parameters.
  for (const pool of ['intra_op', 'inter_op'] as const) {
    const key = `session.${pool}.allow_spinning`;
    if (params[key] !== undefined)
      sessionEntries[pool] = { allow_spinning: parseBool(params[key], key) ? '1' : '0' };
  }
  if (Object.keys(sessionEntries).length > 0) options.extra = { session: sessionEntries };
  if (params['memory.enable_memory_arena_shrinkage'] !== undefined) {
    warnings.push(
      "parameter 'memory.enable_memory_arena_shrinkage' is a run option onnxruntime-node cannot set; ignored",
    );
  }

  const accelerators = config.optimization?.executionAccelerators;
  if (instance.kind === 'KIND_GPU') {
    const allowFallback = parseBool(params[ALLOW_TENSORRT_FALLBACK] ?? 'false', ALLOW_TENSORRT_FALLBACK);
    gpuAccelerators(accelerators?.gpuExecutionAccelerator ?? [], allowFallback, cudaOptions, warnings);
    // Triton injects the legacy CUDA parameters (and their defaults) only when the config has parameters.
    if (Object.keys(params).length > 0) legacyCudaParameters(params, cudaOptions);
    options.executionProviders = [{ name: 'cuda', deviceId: instance.deviceId }];
    const ignored = Object.keys(cudaOptions);
    if (ignored.length > 0) {
      warnings.push(
        `CUDA execution provider options ${ignored.join(', ')} cannot be passed through onnxruntime-node (it sets only the device id); ORT defaults apply`,
      );
    }
  }
  for (const acc of accelerators?.cpuExecutionAccelerator ?? []) {
    if (acc.name === 'openvino') {
      throw new RuntimeConfigError(
        "CPU Execution Accelerator 'openvino' is requested, but this server's ONNX Runtime (onnxruntime-node) has no " +
          'OpenVINO execution provider. Remove it from optimization.execution_accelerators.cpu_execution_accelerator.',
      );
    }
    throw new RuntimeConfigError(`unknown Execution Accelerator '${acc.name}' is requested`);
  }
  return { options, cudaOptions, warnings };
}
