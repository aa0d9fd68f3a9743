/**
 * Types shared by the reference server's layers: transports decode wire requests into InferRequest,
 * the core validates and schedules them, model instances execute batches.
 */

import type { ModelConfig } from '../../../src/protocol/gen/model_config_pb.ts';
import type { SequenceParameters } from '../../../src/protocol/infer-parameters.ts';
import type { Tensor } from '../../../src/protocol/tensor.ts';
import type { StageStamps } from '../stats/stage-trace.ts';
import type { RequestAbortSignal } from './request-abort.ts';

export type ParameterValue = string | number | boolean | bigint;

export interface RequestedOutput {
  name: string;
  /** HTTP binary tensor extension: `parameters.binary_data` of this output (undefined = not given). */
  binaryData?: boolean;
  /** Classification extension: top-N (0 = off). */
  classification?: number;
}

export interface InferRequest {
  /** Request id ('' when none was given). */
  id: string;
  modelName: string;
  /** '' = the server picks the highest ready version. */
  modelVersion: string;
  inputs: Tensor[];
  /** Requested outputs; empty = all, in model order. */
  outputs: RequestedOutput[];
  /** Non-reserved request parameters, passed through. */
  parameters: Record<string, ParameterValue>;
  /** 0 = model default priority level. */
  priority: number;
  /** Per-request queue timeout in µs (0 = none); honoured only under `allow_timeout_override`. */
  timeoutUs: number;
  /** HTTP: top-level `binary_data_output`. */
  binaryDataOutput: boolean;
  /** Clock ns of Triton's request_start: set by the transport once decoded, then by the core after validation. */
  receivedNs: number;
  /** Aborted when the client goes away (HTTP close, gRPC cancel): queued requests are then CANCELLED. */
  signal?: RequestAbortSignal;
  /** `sequence_id` / `sequence_start` / `sequence_end`, when the request gave any (sequence batcher). */
  sequence?: SequenceParameters;
  /** Stage timestamps, only when the server traces stages (benchmarks); see stats/stage-trace.ts. */
  stamps?: StageStamps;
  /**
   * Triton's secondary stats aggregator: an ensemble step's request also reports the compute durations it
   * was charged to the ensemble request that sent it.
   */
  secondaryStats?: (timings: ExecutionTimings) => void;
  /**
   * Decoupled models (decoupled-model.ts): receives each response as the model sends it, before the promise
   * settles with the FINAL flag. Only a stream sets it (gRPC ModelStreamInfer); without one a decoupled model
   * refuses the request with Triton's text for `endpoint`.
   */
  responseSink?: (response: InferResponse) => void;
  /** The front end that decoded the request (picks Triton's refusal text for a decoupled model). */
  endpoint?: 'http' | 'grpc';
}

export interface InferResponse {
  id: string;
  modelName: string;
  /** The version that executed, as a string. */
  modelVersion: string;
  /** Outputs in model order (only the requested ones when some were requested). */
  outputs: Tensor[];
  parameters?: Record<string, ParameterValue>;
  /**
   * Decoupled models: the FINAL flag sent without a response (Triton's null response), after the responses
   * already given to `InferRequest.responseSink`; `outputs` is empty.
   */
  emptyFinal?: boolean;
}

/** Durations of one batch execution, as the ORT backend reports them (§5 of the reference). */
export interface ExecutionTimings {
  computeInputNs: number;
  computeInferNs: number;
  computeOutputNs: number;
}

/** When an execution passed the instance's stages, on the server clock (for the opt-in stage trace). */
export interface ExecutionStamps {
  workerReceivedNs: number;
  runStartNs: number;
  runEndNs: number;
  workerPostedNs: number;
  resultReceivedNs: number;
}

export interface ExecutionResult extends ExecutionTimings {
  /** Batched outputs (batch dim first when the model batches), all model outputs, in the order asked. */
  outputs: Tensor[];
  /** Set by instances that can tell (the ORT worker instance). */
  stamps?: ExecutionStamps;
  /** A staged batch: when the instance started it (sealed it), on the server clock. */
  startedNs?: number;
}

/**
 * A batch handed to an instance ahead of time, behind the batch it is running: Triton's queued payload, which
 * keeps growing until an instance starts it. The instance starts it by itself as soon as it is free, with no
 * round trip through the main thread; until then `append` adds requests at its end.
 */
export interface StagedBatch {
  /** Adds requests at the end; false (nothing added) once the instance has started the batch. */
  append(requests: ReadonlyArray<readonly Tensor[]>): boolean;
  /** Whether the instance has started the batch (it can no longer grow). */
  started(): boolean;
  /** Settles once the batch has run: the requests appended so far, in order, as one execution. */
  readonly result: Promise<ExecutionResult>;
}

/**
 * One model instance (Triton: one ORT session in its own worker thread). Executes one batch at a time.
 * `requests[i]` holds request i's input tensors (each with its own batch dim); the instance concatenates
 * them along dim 0 in order.
 */
export interface ModelInstance {
  readonly name: string;
  readonly kind: 'KIND_CPU' | 'KIND_GPU';
  readonly deviceId: number;
  execute(
    requests: ReadonlyArray<readonly Tensor[]>,
    outputNames: readonly string[],
  ): Promise<ExecutionResult>;
  /**
   * Optional: starts a {@link StagedBatch} with these requests, to run after whatever the instance holds (at
   * once when it holds nothing). Undefined while an earlier staged batch has not started: one at a time.
   */
  stage?(requests: ReadonlyArray<readonly Tensor[]>, outputNames: readonly string[]): StagedBatch | undefined;
  /**
   * Optional: queues one request to run alone after everything queued before it; settles with that
   * execution's result (`startedNs`: when it started). The default scheduler hands several requests to a busy
   * instance this way, so they travel to its thread together. Not mixed with execute()/stage().
   */
  queueExecution?(inputs: readonly Tensor[], outputNames: readonly string[]): Promise<ExecutionResult>;
  close(): Promise<void>;
}

/** A model version as the core sees it once loaded. */
export interface LoadedModelVersion {
  readonly name: string;
  readonly version: string;
  /** Normalised (autocompleted) config, what `/config` returns. */
  readonly config: ModelConfig;
}
