/** Messages between the ceiling measurement (main thread) and its ORT session workers. */
import type { InferenceSession } from 'onnxruntime-node';

export interface CeilingWorkerData {
  modelPath: string;
  sessionOptions: InferenceSession.SessionOptions;
  /** The FP32 input's name and dims without the batch dimension. */
  inputName: string;
  dims: number[];
}

export interface CeilingToWorker {
  type: 'measure';
  batchSize: number;
  /** When set, runs alternate between `batchSize` and this size (exposes per-shape-change costs). */
  alternateBatchSize?: number;
  warmupRuns: number;
  /** At least `minRuns`; then more while under `minDurationMs`, up to `maxRuns`. */
  minRuns: number;
  maxRuns: number;
  minDurationMs: number;
}

export type CeilingFromWorker =
  | { type: 'ready' }
  | { type: 'result'; batchSize: number; runNs: number[] }
  | { type: 'error'; message: string };
