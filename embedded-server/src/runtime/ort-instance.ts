/**
 * Main-thread handle of one model instance (Triton: one ORT session per instance_group entry × count).
 * The session lives in its own worker thread because ORT's `run()` blocks its thread; the main thread only
 * moves buffers. Input buffers are transferred when a tensor owns its whole ArrayBuffer (the caller's view
 * is detached afterwards: execute() takes ownership of its inputs) and copied once otherwise.
 */
import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { InferenceSession } from 'onnxruntime-node';
import { type Clock, systemClock, systemClockOrigin } from '../../../src/protocol/clock.ts';
import { InferenceError } from '../../../src/protocol/status.ts';
import type { Tensor } from '../../../src/protocol/tensor.ts';
import type { ExecutionResult, ModelInstance } from '../core/types.ts';
import { ModelLoadError } from './runtime-errors.ts';
import type { InstanceKind } from './session-options.ts';
import type {
  BucketPlan,
  FromWorker,
  OrtValueInfo,
  RunMessage,
  WireInput,
  WorkerData,
} from './worker-protocol.ts';

const SOURCE_EXT = extname(fileURLToPath(import.meta.url));
/** `.ts` when running from sources under tsx, `.js` once compiled to dist/. */
const WORKER_URL = new URL(`./ort-worker${SOURCE_EXT}`, import.meta.url);
/**
 * Node 20 runs `--import tsx` in workers but its module hooks do not apply there, so a `.ts` worker entry
 * registers tsx itself before importing the entry.
 */
const TS_BOOTSTRAP = `const { workerData } = require('node:worker_threads');
import(workerData.tsxApi).then((tsx) => { tsx.register(); return import(workerData.entry); });`;

function startWorker(data: WorkerData, name: string): Worker {
  if (SOURCE_EXT !== '.ts') return new Worker(WORKER_URL, { workerData: data, name });
  const bootstrap = { ...data, tsxApi: import.meta.resolve('tsx/esm/api'), entry: WORKER_URL.href };
  return new Worker(TS_BOOTSTRAP, { eval: true, workerData: bootstrap, name });
}

export interface OrtInstanceOptions {
  /** Triton's instance name, e.g. `simple_0_0`. */
  name: string;
  modelPath: string;
  kind: InstanceKind;
  deviceId: number;
  sessionOptions: InferenceSession.SessionOptions;
  /**
   * Default true: an input tensor that spans its whole ArrayBuffer is transferred to the worker (no copy;
   * the caller's buffer is detached afterwards). False: inputs are always copied, so the caller may reuse
   * them (model warmup repeats one request).
   */
  transferInputs?: boolean;
  /** One session per batch-size bucket (GPU: see batch-buckets.ts). */
  batchBuckets?: BucketPlan;
  clock?: Clock;
}

/** A ModelInstance backed by ORT, plus what ORT says about the model (for config autocomplete and checks). */
export interface OrtInstance extends ModelInstance {
  readonly inputs: readonly OrtValueInfo[];
  readonly outputs: readonly OrtValueInfo[];
  /** Time the session took to load, on the injected clock. */
  readonly loadDurationNs: number;
  /** Batch-size buckets in use (empty: one session at exact shapes), and how long warming them took. */
  readonly bucketSizes: readonly number[];
  readonly bucketWarmMs: number;
}

interface InFlight {
  seq: number;
  resolve: (r: ExecutionResult) => void;
  reject: (e: Error) => void;
}

/** Whole ArrayBuffer holding exactly `data`: the buffer itself when the view spans it (and may move), else a copy (not `data.slice()`: on a Node Buffer that is a view of the shared pool). */
function ownBuffer(data: Uint8Array, transfer: boolean): ArrayBuffer {
  const whole =
    data.buffer instanceof ArrayBuffer && data.byteOffset === 0 && data.byteLength === data.buffer.byteLength;
  return transfer && whole ? (data.buffer as ArrayBuffer) : (Uint8Array.from(data).buffer as ArrayBuffer);
}

/** Groups per-request tensors by input name (in the first request's order) into transferable batches. */
function wireInputs(requests: ReadonlyArray<readonly Tensor[]>, transfer: boolean): WireInput[] {
  const first = requests[0] ?? [];
  return first.map((t0) => {
    const shapes: number[][] = [];
    const buffers: ArrayBuffer[] = [];
    requests.forEach((tensors, i) => {
      const t = tensors.find((x) => x.name === t0.name);
      if (!t) throw new InferenceError('INTERNAL', `request ${i} of the batch has no input '${t0.name}'`);
      if (t.datatype !== t0.datatype) {
        throw new InferenceError(
          'INTERNAL',
          `input '${t0.name}' has datatype ${t.datatype} in request ${i}, ${t0.datatype} in request 0`,
        );
      }
      if (t.data.buffer.byteLength === 0 && t.shape.every((d) => d > 0)) {
        throw new InferenceError(
          'INTERNAL',
          `input '${t.name}' of request ${i} has no data (its buffer was already handed to a model instance?)`,
        );
      }
      shapes.push([...t.shape]);
      buffers.push(ownBuffer(t.data, transfer));
    });
    return { name: t0.name, datatype: t0.datatype, shapes, buffers };
  });
}

/** Every input buffer once (a transfer list must not name a buffer twice). */
function transferList(inputs: readonly WireInput[]): ArrayBuffer[] {
  const list: ArrayBuffer[] = [];
  for (const input of inputs) {
    for (const b of input.buffers) if (!list.includes(b)) list.push(b);
  }
  return list;
}

class OrtWorkerInstance implements OrtInstance {
  readonly name: string;
  readonly kind: InstanceKind;
  readonly deviceId: number;
  readonly inputs: readonly OrtValueInfo[];
  readonly outputs: readonly OrtValueInfo[];
  readonly loadDurationNs: number;
  readonly bucketSizes: readonly number[];
  readonly bucketWarmMs: number;
  private readonly worker: Worker;
  private readonly transferInputs: boolean;
  private readonly clock: Clock;
  private inFlight: InFlight | undefined;
  private seq = 0;
  /** Set once the worker is gone: every later execute() fails with this. */
  private deadReason: string | undefined;
  private closing: Promise<void> | undefined;

  constructor(
    options: OrtInstanceOptions,
    worker: Worker,
    ready: { inputs: OrtValueInfo[]; outputs: OrtValueInfo[]; bucketSizes: number[]; bucketWarmMs: number },
    loadDurationNs: number,
  ) {
    this.name = options.name;
    this.kind = options.kind;
    this.deviceId = options.deviceId;
    this.inputs = ready.inputs;
    this.outputs = ready.outputs;
    this.loadDurationNs = loadDurationNs;
    this.bucketSizes = ready.bucketSizes;
    this.bucketWarmMs = ready.bucketWarmMs;
    this.worker = worker;
    this.transferInputs = options.transferInputs ?? true;
    this.clock = options.clock ?? systemClock;
    worker.on('message', (m: FromWorker) => this.onMessage(m));
    worker.on('error', (e: Error) => this.die(`model instance '${this.name}' failed: ${e.message}`));
    worker.on('exit', (code) => this.die(`model instance '${this.name}' stopped (worker exit code ${code})`));
    // Idle instances must not keep the process alive; an execution in flight does.
    worker.unref();
  }

  execute(
    requests: ReadonlyArray<readonly Tensor[]>,
    outputNames: readonly string[],
  ): Promise<ExecutionResult> {
    if (this.deadReason !== undefined) return Promise.reject(new InferenceError('INTERNAL', this.deadReason));
    if (this.inFlight) {
      return Promise.reject(
        new InferenceError('INTERNAL', `model instance '${this.name}' is already executing a batch`),
      );
    }
    if (requests.length === 0) return Promise.reject(new InferenceError('INTERNAL', 'empty batch'));
    let msg: RunMessage;
    try {
      msg = {
        type: 'run',
        seq: ++this.seq,
        inputs: wireInputs(requests, this.transferInputs),
        outputNames: [...outputNames],
      };
    } catch (e) {
      return Promise.reject(e);
    }
    return new Promise<ExecutionResult>((resolve, reject) => {
      this.inFlight = { seq: msg.seq, resolve, reject };
      this.worker.ref();
      try {
        this.worker.postMessage(msg, transferList(msg.inputs));
      } catch (e) {
        this.settle();
        reject(
          new InferenceError(
            'INTERNAL',
            `cannot send the batch to model instance '${this.name}': ${(e as Error).message}`,
          ),
        );
      }
    });
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      this.die(`model instance '${this.name}' is closed`);
      await this.worker.terminate();
    })();
    return this.closing;
  }

  private settle(): InFlight | undefined {
    const f = this.inFlight;
    this.inFlight = undefined;
    this.worker.unref();
    return f;
  }

  private die(reason: string): void {
    this.deadReason ??= reason;
    this.settle()?.reject(new InferenceError('INTERNAL', reason));
  }

  private onMessage(m: FromWorker): void {
    if ((m.type !== 'result' && m.type !== 'run-error') || m.seq !== this.inFlight?.seq) return;
    const resultReceivedNs = this.clock.nowNs();
    const f = this.settle() as InFlight;
    if (m.type === 'run-error') {
      f.reject(new InferenceError('INTERNAL', m.message));
      return;
    }
    f.resolve({
      outputs: m.outputs.map((o) => ({
        name: o.name,
        datatype: o.datatype,
        shape: o.shape,
        data: new Uint8Array(o.buffer, o.byteOffset, o.byteLength),
      })),
      computeInputNs: m.computeInputNs,
      computeInferNs: m.computeInferNs,
      computeOutputNs: m.computeOutputNs,
      stamps: {
        workerReceivedNs: m.receivedNs,
        runStartNs: m.runStartNs,
        runEndNs: m.runEndNs,
        workerPostedNs: m.postedNs,
        resultReceivedNs,
      },
    });
  }
}

/**
 * Starts the worker and loads the session. Resolves once ORT has created it; rejects with ModelLoadError
 * carrying ORT's text when it cannot (the worker is stopped then).
 */
export function createOrtInstance(options: OrtInstanceOptions): Promise<OrtInstance> {
  const clock = options.clock ?? systemClock;
  const startNs = clock.nowNs();
  const data: WorkerData = {
    modelPath: options.modelPath,
    sessionOptions: options.sessionOptions,
    clockOriginNs: systemClockOrigin(),
    ...(options.batchBuckets ? { batchBuckets: options.batchBuckets } : {}),
  };
  const worker = startWorker(data, `ort:${options.name}`);
  return new Promise<OrtInstance>((resolve, reject) => {
    const fail = (message: string) => {
      cleanup();
      void worker.terminate();
      reject(new ModelLoadError(message));
    };
    const onMessage = (m: FromWorker) => {
      if (m.type === 'load-error') {
        fail(m.message);
      } else if (m.type === 'ready') {
        cleanup();
        resolve(new OrtWorkerInstance(options, worker, m, clock.nowNs() - startNs));
      }
    };
    const onError = (e: Error) => fail(e.message);
    const onExit = (code: number) =>
      fail(`model instance '${options.name}' worker exited with code ${code} while loading`);
    const cleanup = () => {
      worker.off('message', onMessage);
      worker.off('error', onError);
      worker.off('exit', onExit);
    };
    worker.on('message', onMessage);
    worker.on('error', onError);
    worker.on('exit', onExit);
  });
}
