/**
 * Messages between an instance handle (main thread) and its ORT worker. Tensor bytes travel as whole
 * ArrayBuffers in the transfer list, so they move between threads without a copy.
 */
import type { MessagePort } from 'node:worker_threads';
import type { InferenceSession } from 'onnxruntime-node';
import type { Datatype } from '../../../src/protocol/datatypes.ts';

/** The worker's `workerData` (a `.ts` bootstrap adds its own fields next to these). */
export interface WorkerData {
  modelPath: string;
  sessionOptions: InferenceSession.SessionOptions;
  /** The main thread's `systemClockOrigin()`: the worker's stamps are on the same clock. */
  clockOriginNs: bigint;
  /** One session per batch-size bucket (batch-buckets.ts); absent = one session, exact shapes. */
  batchBuckets?: BucketPlan;
  /** The staged-batch control block (stage-control.ts), shared with the main thread. */
  stageControl: SharedArrayBuffer;
  /** Model parameter inferbench.execution_delay_us (execution-delay.ts): added to every execution; absent = 0. */
  executionDelayUs?: number;
  /** The ORT thread's end of its channel to the gather thread (gather-worker.ts); absent = no gather thread. */
  gatherPort?: MessagePort;
  /** Overrides the bounds on holding queued results back (ort-worker.ts flushHeld); tests make them certain. */
  resultHold?: { runMaxNs: number; ageMaxNs: number };
}

/** The gather thread's `workerData`. */
export interface GatherWorkerData {
  /** The same control block as the ORT thread's. */
  stageControl: SharedArrayBuffer;
  /** The gather thread's end of its channel to the ORT thread. */
  runnerPort: MessagePort;
  /** The ORT thread's batch buckets (ascending; empty = exact shapes): gathered batches are padded to them. */
  bucketSizes: number[];
  /** Rows to reserve per input buffer (max_batch_size); 0 = the first message's rows, grown as needed. */
  capacityRows: number;
}

/** A model input with every non-batch dim fixed, for warming bucket sessions with zeros. */
export interface WarmInput {
  name: string;
  datatype: Datatype;
  /** Dims after the batch dimension. */
  dims: number[];
}

export interface BucketPlan {
  /** Ascending bucket sizes; the last is max_batch_size. */
  sizes: number[];
  /** Undefined when some input has a variable dim: each bucket then tunes on its first batch. */
  warmInputs: WarmInput[] | undefined;
}

/** A model input or output as ORT reports it; dims are -1 where the model leaves them open. */
export interface OrtValueInfo {
  name: string;
  /** undefined for non-tensor values or element types with no protocol datatype. */
  datatype: Datatype | undefined;
  dims: number[];
}

/**
 * One input of a batch: request i's bytes are `byteLengths[i]` bytes at `byteOffsets[i]` of `buffers[i]`, with
 * shape `shapes[i]`. A buffer may hold more than the tensor (a whole HTTP body), and may repeat when one
 * request's inputs share it.
 */
export interface WireInput {
  name: string;
  datatype: Datatype;
  shapes: number[][];
  buffers: ArrayBuffer[];
  byteOffsets: number[];
  byteLengths: number[];
}

export interface WireOutput {
  name: string;
  datatype: Datatype;
  shape: number[];
  buffer: ArrayBuffer;
  byteOffset: number;
  byteLength: number;
}

export interface RunMessage {
  type: 'run';
  seq: number;
  inputs: WireInput[];
  /** Empty = every model output, in model order. */
  outputNames: string[];
  /**
   * Set by the gather thread: the batch's real rows, where every input is one buffer already zero-padded to
   * the bucket that holds them (its shape says the padded rows).
   */
  rows?: number;
  /** Set on the worker's side for a queued execution (QueueMessage): its result may travel with others. */
  queued?: boolean;
}

/**
 * Requests appended to staged batch `gen` (stage-control.ts): the worker runs all of a generation's messages
 * as one batch once it claims it. The main thread posts one only after its append was counted.
 */
export interface StageMessage {
  type: 'stage';
  gen: number;
  /** Requests in this message (the count the append added). */
  requests: number;
  inputs: WireInput[];
  /** Empty = every model output, in model order. */
  outputNames: string[];
}

/**
 * Separate executions queued on the ORT thread in one message (the default scheduler's requests, which never
 * share a batch): request i is `inputs[k].shapes[i]` etc. of every input, runs alone as execution `firstSeq + i`,
 * and is answered with its own `result` (or `run-error`) of that seq. The thread runs queued executions in
 * order, one at a time, before any staged batch. One message per main-thread turn instead of one per request:
 * at ~16k req/s the per-request stage message was the main thread's largest single cost (postMessage, 16 %).
 */
export interface QueueMessage {
  type: 'queue';
  firstSeq: number;
  /** Executions in this message (each input's arrays hold this many entries). */
  count: number;
  inputs: WireInput[];
  /** Empty = every model output, in model order. */
  outputNames: string[];
}
/** Asks a worker (ORT or gather thread) for its thread-usage.ts figures; answered with a `usage` message. */
export interface UsageRequest {
  type: 'usage';
}

/** A worker's thread usage, and (ORT thread) the time spent inside ORT's run() and the runs made. */
export interface UsageReply {
  type: 'usage';
  activeMs: number;
  cpuMs: number | undefined;
  runMs: number;
  runs: number;
  /** Runs of batches the gather thread built (ORT thread; 0 from the gather thread). */
  gatheredRuns: number;
}

/**
 * Ends the ORT thread from inside, once no run is going on: `Worker.terminate()` while ORT's native run() is on
 * the stack aborts the whole process (napi: "terminate called after throwing an instance of 'Napi::Error'").
 */
export interface CloseRequest {
  type: 'close';
}

export type ToWorker = RunMessage | StageMessage | QueueMessage | UsageRequest | CloseRequest;

/** ORT thread → gather thread. */
export type ToGather =
  /** The ORT thread is free and the open stage is the gather thread's: claim it and send it gathered. */
  | { type: 'free' }
  /** The ORT thread started a gathered batch that waited: a full open stage may be closed now. */
  | { type: 'dequeued' }
  /** Input buffers of a finished run, for reuse. */
  | { type: 'recycle'; buffers: ArrayBuffer[] };

/** Gather thread → ORT thread: a staged batch it claimed, gathered (or why it could not be). */
export type FromGather =
  | { type: 'gathered'; gen: number; batch: RunMessage }
  | { type: 'gather-error'; gen: number; message: string };

export type FromWorker =
  | {
      type: 'ready';
      inputs: OrtValueInfo[];
      outputs: OrtValueInfo[];
      /** Bucket sizes in use (empty: one session) and the time their warm runs took. */
      bucketSizes: number[];
      bucketWarmMs: number;
    }
  | { type: 'load-error'; message: string }
  | {
      type: 'result';
      /** The RunMessage's (or queued execution's) seq; -1 for a staged batch. */
      seq: number;
      /** The staged batch's generation, when it was one. */
      stage?: number;
      outputs: WireOutput[];
      computeInputNs: number;
      computeInferNs: number;
      computeOutputNs: number;
      /** Stamps on the shared clock: batch picked up, session.run called, returned, result posted. */
      receivedNs: number;
      runStartNs: number;
      runEndNs: number;
      postedNs: number;
    }
  | { type: 'run-error'; seq: number; stage?: number; message: string }
  /** Results of queued executions that travelled together (ort-worker.ts flushHeld), in order. */
  | { type: 'results'; results: FromWorker[] }
  | UsageReply;
