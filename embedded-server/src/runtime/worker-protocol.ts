/**
 * Messages between an instance handle (main thread) and its ORT worker. Tensor bytes travel as whole
 * ArrayBuffers in the transfer list, so they move between threads without a copy.
 */
import type { InferenceSession } from 'onnxruntime-node';
import type { Datatype } from '../../../src/protocol/datatypes.ts';

/** The worker's `workerData` (a `.ts` bootstrap adds its own fields next to these). */
export interface WorkerData {
  modelPath: string;
  sessionOptions: InferenceSession.SessionOptions;
}

/** A model input or output as ORT reports it; dims are -1 where the model leaves them open. */
export interface OrtValueInfo {
  name: string;
  /** undefined for non-tensor values or element types with no protocol datatype. */
  datatype: Datatype | undefined;
  dims: number[];
}

/** One input of a batch: request i's bytes are `buffers[i]` (each a whole buffer) with shape `shapes[i]`. */
export interface WireInput {
  name: string;
  datatype: Datatype;
  shapes: number[][];
  buffers: ArrayBuffer[];
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
}

export type ToWorker = RunMessage;

export type FromWorker =
  | { type: 'ready'; inputs: OrtValueInfo[]; outputs: OrtValueInfo[] }
  | { type: 'load-error'; message: string }
  | {
      type: 'result';
      seq: number;
      outputs: WireOutput[];
      computeInputNs: number;
      computeInferNs: number;
      computeOutputNs: number;
    }
  | { type: 'run-error'; seq: number; message: string };
