/**
 * The raw ONNX Runtime ceiling: how many inferences per second ORT itself delivers at a batch size, with the
 * session options a server instance gets and as many concurrent sessions as the configuration has instances
 * (each in its own worker thread, like the server's instances). Nothing else runs meanwhile, so the figure
 * is what the machine can do; the server's throughput divided by it is the serving efficiency.
 */
import { Worker } from 'node:worker_threads';
import type { InferenceSession } from 'onnxruntime-node';
import type { CeilingFromWorker, CeilingToWorker, CeilingWorkerData } from './ort-ceiling-protocol.ts';

const WORKER_URL = new URL('./ort-ceiling-worker.ts', import.meta.url);
/** Node 20 does not apply `--import tsx` hooks inside workers: the worker registers tsx itself. */
const TS_BOOTSTRAP = `const { workerData } = require('node:worker_threads');
import(workerData.tsxApi).then((tsx) => { tsx.register(); return import(workerData.entry); });`;

export interface CeilingOptions {
  modelPath: string;
  sessionOptions: InferenceSession.SessionOptions;
  inputName: string;
  /** Input dims without the batch dimension. */
  dims: number[];
  /** Concurrent sessions (= instances of the configuration). */
  sessions: number;
  batchSizes: readonly number[];
  warmupRuns: number;
  minRuns: number;
  maxRuns: number;
  minDurationMs: number;
  /**
   * Times every batch size is measured (passes interleaved: all sizes, then all again); the fastest pass is
   * kept. Noise from other processes only ever slows ORT down, so the best pass is the closest to the ceiling.
   */
  passes: number;
  /**
   * Also time runs that alternate between these two batch sizes (one session): a backend that re-tunes on
   * every input-shape change (ORT's CUDA EP with cuDNN's exhaustive algorithm search) shows it here.
   */
  shapeChangeProbe?: [number, number];
}

export interface ShapeChangeProbe {
  batchSizes: [number, number];
  /** Median run time when every run changes the batch size. */
  alternatingMedianRunNs: number;
  /** Median run time of the same two sizes, each repeated (from the ceiling points or measured). */
  steadyMedianRunNs: [number, number];
}

export interface CeilingResult {
  points: CeilingPoint[];
  shapeChange?: ShapeChangeProbe;
}

export interface CeilingPoint {
  batchSize: number;
  sessions: number;
  /** Median `session.run` time per session (ns). */
  medianRunNs: number[];
  /** Σ over sessions of batchSize / median run time. */
  inferPerSec: number;
  runs: number;
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

interface SessionWorker {
  worker: Worker;
  next(): Promise<CeilingFromWorker>;
}

function startSessionWorker(data: CeilingWorkerData, index: number): SessionWorker {
  const worker = new Worker(TS_BOOTSTRAP, {
    eval: true,
    name: `ort-ceiling:${index}`,
    workerData: {
      ...data,
      tsxApi: import.meta.resolve('tsx/esm/api'),
      entry: WORKER_URL.href,
    },
  });
  const inbox: CeilingFromWorker[] = [];
  let waiter: ((m: CeilingFromWorker) => void) | undefined;
  const deliver = (m: CeilingFromWorker) => {
    if (waiter) {
      const w = waiter;
      waiter = undefined;
      w(m);
    } else {
      inbox.push(m);
    }
  };
  worker.on('message', deliver);
  worker.on('error', (e: Error) => deliver({ type: 'error', message: e.message }));
  worker.on('exit', (code) => deliver({ type: 'error', message: `ceiling worker exited with code ${code}` }));
  return {
    worker,
    next: () => {
      const m = inbox.shift();
      return m ? Promise.resolve(m) : new Promise((resolve) => (waiter = resolve));
    },
  };
}

async function expect<T extends CeilingFromWorker['type']>(
  w: SessionWorker,
  type: T,
): Promise<Extract<CeilingFromWorker, { type: T }>> {
  const m = await w.next();
  if (m.type === 'error') throw new Error(`ORT ceiling: ${m.message}`);
  if (m.type !== type) throw new Error(`ORT ceiling: expected '${type}', got '${m.type}'`);
  return m as Extract<CeilingFromWorker, { type: T }>;
}

/** Measures every batch size (in the order given) with `sessions` concurrent sessions; workers always stopped. */
export async function measureOrtCeiling(options: CeilingOptions): Promise<CeilingResult> {
  const data: CeilingWorkerData = {
    modelPath: options.modelPath,
    sessionOptions: options.sessionOptions,
    inputName: options.inputName,
    dims: options.dims,
  };
  const workers = Array.from({ length: options.sessions }, (_, i) => startSessionWorker(data, i));
  try {
    await Promise.all(workers.map((w) => expect(w, 'ready')));
    const best = new Map<number, CeilingPoint>();
    for (let pass = 0; pass < Math.max(1, options.passes); pass++) {
      for (const batchSize of options.batchSizes) {
        const point = await measureBatch(workers, options, batchSize);
        const previous = best.get(batchSize);
        if (!previous || point.inferPerSec > previous.inferPerSec) best.set(batchSize, point);
      }
    }
    const points = options.batchSizes.map((b) => best.get(b) as CeilingPoint);
    if (!options.shapeChangeProbe) return { points };
    const [a, b] = options.shapeChangeProbe;
    const first = workers.slice(0, 1);
    const steady = async (size: number) =>
      median(best.get(size)?.medianRunNs ?? (await measureBatch(first, options, size)).medianRunNs);
    const alternating = await measureBatch(first, options, a, b);
    return {
      points,
      shapeChange: {
        batchSizes: [a, b],
        alternatingMedianRunNs: alternating.medianRunNs[0] ?? Number.NaN,
        steadyMedianRunNs: [await steady(a), await steady(b)],
      },
    };
  } finally {
    await Promise.all(workers.map((w) => w.worker.terminate()));
  }
}

async function measureBatch(
  workers: readonly SessionWorker[],
  options: CeilingOptions,
  batchSize: number,
  alternateBatchSize?: number,
): Promise<CeilingPoint> {
  const msg: CeilingToWorker = {
    type: 'measure',
    batchSize,
    alternateBatchSize,
    warmupRuns: options.warmupRuns,
    minRuns: options.minRuns,
    maxRuns: options.maxRuns,
    minDurationMs: options.minDurationMs,
  };
  for (const w of workers) w.worker.postMessage(msg);
  const results = await Promise.all(workers.map((w) => expect(w, 'result')));
  const medianRunNs = results.map((r) => median(r.runNs));
  return {
    batchSize,
    sessions: workers.length,
    medianRunNs,
    inferPerSec: medianRunNs.reduce((s, ns) => s + (batchSize * 1e9) / ns, 0),
    runs: results.reduce((s, r) => s + r.runNs.length, 0),
  };
}
