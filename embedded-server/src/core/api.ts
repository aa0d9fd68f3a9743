/**
 * What the transports (HTTP, gRPC) need from the server core. Transports only decode, call, and encode;
 * every rule about models, versions, validation and scheduling lives behind this interface.
 * Methods throw InferenceError (src/protocol/status.ts) carrying Triton's exact message and code.
 */
import type { ModelConfig } from '../../../src/protocol/gen/model_config_pb.ts';
import type { InferRequest, InferResponse } from './types.ts';

export interface ServerMetadata {
  name: string;
  version: string;
  extensions: string[];
}

export interface TensorMetadata {
  name: string;
  datatype: string;
  /** -1 for variable dims; a leading -1 when max_batch_size > 0. */
  shape: number[];
}

export interface ModelMetadata {
  name: string;
  versions: string[];
  platform: string;
  inputs: TensorMetadata[];
  outputs: TensorMetadata[];
}

export type ModelState = 'UNKNOWN' | 'READY' | 'UNAVAILABLE' | 'LOADING' | 'UNLOADING';

export interface ModelIndexEntry {
  name: string;
  /** Absent for a model never loaded. */
  version?: string;
  state?: ModelState;
  reason?: string;
}

export interface DurationStatJson {
  count: number;
  ns: number;
}

/** One entry of `model_stats`, in Triton's JSON member order (numbers, not strings). */
export interface ModelStatisticsJson {
  name: string;
  version: string;
  last_inference: number;
  inference_count: number;
  execution_count: number;
  inference_stats: {
    success: DurationStatJson;
    fail: DurationStatJson;
    queue: DurationStatJson;
    compute_input: DurationStatJson;
    compute_infer: DurationStatJson;
    compute_output: DurationStatJson;
    cache_hit: DurationStatJson;
    cache_miss: DurationStatJson;
  };
  response_stats: Record<string, unknown>;
  batch_stats: {
    batch_size: number;
    compute_input: DurationStatJson;
    compute_infer: DurationStatJson;
    compute_output: DurationStatJson;
  }[];
  memory_usage: { type: string; id: number; byte_size: number }[];
}

export interface InferenceCore {
  /** False while starting and once shutdown began (HTTP live → 503 "Server exiting" then). */
  isLive(): boolean;
  /** Server READY and (strict readiness) every model's versions READY. */
  isReady(): boolean;
  /** True once shutdown began: transports answer 503 / UNAVAILABLE "Server exiting" for health. */
  isExiting(): boolean;
  serverMetadata(): ServerMetadata;
  /** version '' = all ready versions. Throws NOT_FOUND / UNAVAILABLE as Triton. */
  modelMetadata(name: string, version: string): ModelMetadata;
  /** Throws NOT_FOUND for an unknown model/version; returns false when resolved but not ready. */
  modelReady(name: string, version: string): boolean;
  /** The normalised config. Throws NOT_FOUND. */
  modelConfig(name: string, version: string): ModelConfig;
  /** name '' = every ready model and version. Throws INVALID_ARG "requested model '<m>' is not available". */
  modelStatistics(name: string, version: string): ModelStatisticsJson[];
  /** Validates (INVALID_ARG with Triton's texts), schedules, resolves with the response or rejects with InferenceError. */
  infer(request: InferRequest): Promise<InferResponse>;
  repositoryIndex(readyOnly: boolean): ModelIndexEntry[];
  /** Load or reload; `configJson` overrides config.pbtxt (the load API's `parameters.config`). */
  loadModel(name: string, options?: { configJson?: string }): Promise<void>;
  unloadModel(name: string, options?: { unloadDependents?: boolean }): Promise<void>;
}
