/**
 * The seam between the core's model management (lifecycle, versions, readiness) and what actually reads a
 * repository and runs models. The ONNX Runtime implementation is `ort-model-backend.ts`; tests of the core's
 * rules can plug in a fake without starting ORT.
 */
import type { ModelConfig } from '../../../src/protocol/gen/model_config_pb.ts';
import type { ComposingResolver } from '../scheduler/ensemble-scheduler.ts';
import type { ModelStatsRecorder } from '../stats/model-stats.ts';
import type { InferRequest, InferResponse } from './types.ts';

/** One version directory selected by the model's version policy. */
export interface VersionSource {
  readonly version: string;
  /** The model file (or directory) the instances load. */
  readonly modelPath: string;
}

/** A model as read from the repository: its normalised config and the versions to serve. */
export interface ModelSource {
  readonly name: string;
  readonly config: ModelConfig;
  readonly versions: readonly VersionSource[];
}

/** A loaded, READY-able model version: instances created and warmed up, scheduler running. */
export interface VersionRuntime {
  readonly stats: ModelStatsRecorder;
  /** Schedules a validated request; resolves with its response or rejects with InferenceError. */
  infer(request: InferRequest): Promise<InferResponse>;
  /** Requests enqueued but not yet started by an instance (`nv_inference_pending_request_count`). */
  pendingCount(): number;
  /** From now on new requests are refused with Triton's "Server is stopping…" UNAVAILABLE error. */
  stopAccepting(): void;
  /** Resolves once every accepted request has been answered. */
  drain(): Promise<void>;
  /** Releases the instances (ORT sessions, worker threads). Call after `drain`. */
  close(): Promise<void>;
}

export interface ModelBackend {
  /** Names of the models in the repository (directories), any order. */
  listModels(): Promise<string[]>;
  /**
   * Reads, autocompletes, normalises and validates a model's config and picks its versions. `configJson`
   * (the load API's `parameters.config`) replaces config.pbtxt. Throws InferenceError (ConfigError) with the
   * reason the model is UNAVAILABLE.
   */
  readModel(name: string, options?: { configJson?: string }): Promise<ModelSource>;
  /**
   * Creates instances, warms each up, starts the scheduler. Throws with the reason the version is UNAVAILABLE.
   * An ensemble gets `context.resolveComposing`, through which its steps reach their composing models.
   */
  loadVersion(
    model: ModelSource,
    version: VersionSource,
    context?: { resolveComposing: ComposingResolver },
  ): Promise<VersionRuntime>;
}
