/**
 * Main-thread handle of one model instance (Triton: one ORT session per instance_group entry × count).
 * The session lives in its own worker thread because ORT's `run()` blocks its thread; the main thread only
 * moves buffers. Input buffers are transferred when a tensor spans its whole ArrayBuffer or the buffer is
 * request-owned (the caller's views are detached afterwards: execute() takes ownership of its inputs) and
 * copied once otherwise.
 */
import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MessageChannel, Worker } from 'node:worker_threads';
import type { InferenceSession } from 'onnxruntime-node';
import { type Clock, systemClock, systemClockOrigin } from '../../../src/protocol/clock.ts';
import { InferenceError } from '../../../src/protocol/status.ts';
import type { Tensor } from '../../../src/protocol/tensor.ts';
import { isRequestOwned } from '../core/request-buffers.ts';
import type { ExecutionResult, ModelInstance, StagedBatch } from '../core/types.ts';
import { ModelLoadError } from './runtime-errors.ts';
import type { InstanceKind } from './session-options.ts';
import {
  appendToStage,
  createStageControl,
  GEN_MASK,
  notifyStagePosted,
  openStage,
  setStageRoute,
  stageClaimed,
} from './stage-control.ts';
import type {
  BucketPlan,
  FromWorker,
  GatherWorkerData,
  OrtValueInfo,
  QueueMessage,
  RunMessage,
  StageMessage,
  ToWorker,
  UsageReply,
  UsageRequest,
  WireInput,
  WorkerData,
} from './worker-protocol.ts';

const SOURCE_EXT = extname(fileURLToPath(import.meta.url));
/** `.ts` when running from sources under tsx, `.js` once compiled to dist/. */
const WORKER_URL = new URL(`./ort-worker${SOURCE_EXT}`, import.meta.url);
const GATHER_URL = new URL(`./gather-worker${SOURCE_EXT}`, import.meta.url);
/**
 * How long close() waits for the ORT thread to finish the run it is in and end itself. Past that it is
 * terminated, which aborts the process if ORT's native run() is still on the stack: only a run that never
 * ends gets there.
 */
const CLOSE_GRACE_MS = 120_000;
/**
 * Node 20 runs `--import tsx` in workers but its module hooks do not apply there, so a `.ts` worker entry
 * registers tsx itself before importing the entry.
 */
const TS_BOOTSTRAP = `const { workerData } = require('node:worker_threads');
import(workerData.tsxApi).then((tsx) => { tsx.register(); return import(workerData.entry); });`;

function startWorker(
  url: URL,
  data: WorkerData | GatherWorkerData,
  name: string,
  transferList: MessagePortLike[] = [],
): Worker {
  const options = { name, transferList: transferList as never };
  if (SOURCE_EXT !== '.ts') return new Worker(url, { ...options, workerData: data });
  const bootstrap = { ...data, tsxApi: import.meta.resolve('tsx/esm/api'), entry: url.href };
  return new Worker(TS_BOOTSTRAP, { ...options, eval: true, workerData: bootstrap });
}

type MessagePortLike = InstanceType<typeof MessageChannel>['port1'];

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
  /** Fixed delay added to every execution (model parameter inferbench.execution_delay_us). */
  executionDelayUs?: number;
  /**
   * True: a gather thread (gather-worker.ts) receives the batches staged behind a running one and gathers
   * each input into one buffer while the ORT thread runs, so the ORT thread does not copy. Default false
   * (the ORT thread gathers every batch itself); the server decides per model (gather-thread-parameter.ts).
   */
  gatherThread?: boolean;
  /** max_batch_size: rows the gather thread reserves per input buffer (0 or absent: grown as needed). */
  maxBatchRows?: number;
  /** Tests: the worker's bounds on holding queued results back to send them together (WorkerData.resultHold). */
  resultHold?: WorkerData['resultHold'];
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
  /** Benchmarks: the ORT thread's usage (and the gather thread's, when there is one) so far. */
  threadUsage(): Promise<{ ort: UsageReply; gather: UsageReply | undefined }>;
}

/** One `usage` answer from a worker (ignores every other message). */
function usageOf(worker: Worker, unrefAfter: () => boolean): Promise<UsageReply> {
  // Referenced until it answers: an idle instance's worker is unreferenced, and the process must wait.
  worker.ref();
  return new Promise((resolve, reject) => {
    const done = () => {
      worker.off('message', onMessage);
      worker.off('exit', onExit);
      if (unrefAfter()) worker.unref();
    };
    const onMessage = (m: FromWorker) => {
      if (m.type !== 'usage') return;
      done();
      resolve(m);
    };
    const onExit = () => {
      done();
      reject(new Error('the worker stopped before it reported its usage'));
    };
    worker.on('message', onMessage);
    worker.once('exit', onExit);
    worker.postMessage({ type: 'usage' } satisfies UsageRequest);
  });
}

interface InFlight {
  seq: number;
  resolve: (r: ExecutionResult) => void;
  reject: (e: Error) => void;
}

/** A request handed to queueExecution() and not yet posted (the turn's requests go in one message). */
interface BufferedExecution {
  inputs: readonly Tensor[];
  resolve: (r: ExecutionResult) => void;
  reject: (e: Error) => void;
}

/** Settled once: the queue flush is chained on it (a microtask, without queueMicrotask's per-call cost). */
const SETTLED = Promise.resolve();

/** The input names of a request, in a canonical order: requests that agree can share a queue message. */
function inputNamesKey(inputs: readonly Tensor[]): string {
  return inputs
    .map((t) => t.name)
    .sort()
    .join('\0');
}

/** A staged batch not yet answered (claimed or not), oldest first. */
interface PendingStage {
  gen: number;
  resolve: (r: ExecutionResult) => void;
  reject: (e: Error) => void;
}

/**
 * Where request bytes travel: the tensor's own buffer when the instance may take it (it spans the whole
 * buffer, or the transport allocated that buffer for this request alone: see request-buffers.ts), else a copy
 * (not `data.slice()`: on a Node Buffer that is a view of the shared pool).
 */
function wirePart(data: Uint8Array, transfer: boolean): { buffer: ArrayBuffer; byteOffset: number } {
  const whole =
    data.buffer instanceof ArrayBuffer && data.byteOffset === 0 && data.byteLength === data.buffer.byteLength;
  if (transfer && (whole || isRequestOwned(data.buffer))) {
    return { buffer: data.buffer as ArrayBuffer, byteOffset: data.byteOffset };
  }
  return { buffer: Uint8Array.from(data).buffer as ArrayBuffer, byteOffset: 0 };
}

/** Groups per-request tensors by input name (in the first request's order) into transferable batches. */
function wireInputs(requests: ReadonlyArray<readonly Tensor[]>, transfer: boolean): WireInput[] {
  const first = requests[0] ?? [];
  return first.map((t0) => {
    const shapes: number[][] = [];
    const buffers: ArrayBuffer[] = [];
    const byteOffsets: number[] = [];
    const byteLengths: number[] = [];
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
      const part = wirePart(t.data, transfer);
      shapes.push([...t.shape]);
      buffers.push(part.buffer);
      byteOffsets.push(part.byteOffset);
      byteLengths.push(t.data.byteLength);
    });
    return { name: t0.name, datatype: t0.datatype, shapes, buffers, byteOffsets, byteLengths };
  });
}

function sameNames(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((n, i) => n === b[i]);
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
  /** The gather thread, when the instance has one: batches staged behind a running one go there. */
  private readonly gather: Worker | undefined;
  private readonly transferInputs: boolean;
  private readonly clock: Clock;
  private inFlight: InFlight | undefined;
  private seq = 0;
  private readonly stageControl: Int32Array;
  /** Generation of the stage opened last. */
  private stageGen = 0;
  private readonly stages: PendingStage[] = [];
  /** Queued executions posted to the worker and not yet answered, by seq (queueExecution). */
  private readonly queued = new Map<number, InFlight>();
  /** Queued executions of this turn, posted together once the turn's synchronous work is done. */
  private buffered: BufferedExecution[] = [];
  private bufferedOutputNames: readonly string[] = [];
  private flushScheduled = false;
  private readonly flushNow = (): void => {
    this.flushScheduled = false;
    this.flushQueue();
  };
  /** Set once the worker is gone: every later execute() fails with this. */
  private deadReason: string | undefined;
  private closing: Promise<void> | undefined;
  /** The ORT thread has exited. */
  private exited = false;

  constructor(
    options: OrtInstanceOptions,
    worker: Worker,
    gather: Worker | undefined,
    stageControl: Int32Array,
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
    this.stageControl = stageControl;
    this.transferInputs = options.transferInputs ?? true;
    this.clock = options.clock ?? systemClock;
    worker.on('message', (m: FromWorker) => this.onMessage(m));
    worker.on('error', (e: Error) => this.die(`model instance '${this.name}' failed: ${e.message}`));
    worker.on('exit', (code) => {
      this.exited = true;
      this.die(`model instance '${this.name}' stopped (worker exit code ${code})`);
    });
    // Idle instances must not keep the process alive; an execution in flight does.
    worker.unref();
    this.gather = gather;
    if (gather) {
      gather.on('error', (e: Error) =>
        this.die(`model instance '${this.name}' gather thread failed: ${e.message}`),
      );
      gather.on('exit', (code) =>
        this.die(`model instance '${this.name}' gather thread stopped (exit code ${code})`),
      );
      gather.unref();
    }
  }

  execute(
    requests: ReadonlyArray<readonly Tensor[]>,
    outputNames: readonly string[],
  ): Promise<ExecutionResult> {
    if (this.deadReason !== undefined) return Promise.reject(new InferenceError('INTERNAL', this.deadReason));
    if (this.inFlight || this.stages.length > 0 || this.queuedCount() > 0) {
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

  /**
   * Queues one request to run alone, after every execution queued before it (the default scheduler: requests
   * never share a batch). The requests queued in one turn reach the worker in one message; the worker runs
   * them one by one and answers each on its own, stamped with its own start. Not mixed with execute() or
   * stage() on one instance (a model has one scheduler).
   */
  queueExecution(inputs: readonly Tensor[], outputNames: readonly string[]): Promise<ExecutionResult> {
    if (this.deadReason !== undefined) return Promise.reject(new InferenceError('INTERNAL', this.deadReason));
    if (this.inFlight || this.stages.length > 0) {
      return Promise.reject(
        new InferenceError('INTERNAL', `model instance '${this.name}' is executing a batch; cannot queue`),
      );
    }
    return new Promise<ExecutionResult>((resolve, reject) => {
      if (this.buffered.length > 0 && !sameNames(outputNames, this.bufferedOutputNames)) this.flushQueue();
      if (this.buffered.length === 0) this.bufferedOutputNames = [...outputNames];
      // Referenced from the first one on (nothing else runs here while any is queued): the process must not
      // exit under a request waiting for its message. Once per idle-to-busy change, not per request.
      if (this.queuedCount() === 0) this.worker.ref();
      this.buffered.push({ inputs, resolve, reject });
      if (!this.flushScheduled) {
        this.flushScheduled = true;
        void SETTLED.then(this.flushNow);
      }
    });
  }

  /** Executions queued and not yet answered (buffered or posted). */
  private queuedCount(): number {
    return this.queued.size + this.buffered.length;
  }

  /**
   * Posts the turn's queued executions: one message per run of requests with the same input names (an
   * optional input may be absent in some), each request alone when its group cannot be sent.
   */
  private flushQueue(): void {
    const items = this.buffered;
    if (items.length === 0) return;
    this.buffered = [];
    const outputNames = [...this.bufferedOutputNames];
    let start = 0;
    while (start < items.length) {
      const key = inputNamesKey((items[start] as BufferedExecution).inputs);
      let end = start + 1;
      while (end < items.length && inputNamesKey((items[end] as BufferedExecution).inputs) === key) end++;
      const group = items.slice(start, end);
      if (!this.postQueued(group, outputNames) && group.length > 1) {
        for (const item of group) this.postQueued([item], outputNames);
      }
      start = end;
    }
    this.unrefWhenIdle();
  }

  /**
   * One queue message for `group`; false, with nothing sent or settled, when its tensors cannot form one
   * (then each is tried alone, so that one bad request fails by itself). A single request that cannot be
   * sent is failed here.
   */
  private postQueued(group: BufferedExecution[], outputNames: string[]): boolean {
    if (this.deadReason !== undefined) {
      for (const item of group) item.reject(new InferenceError('INTERNAL', this.deadReason));
      return true;
    }
    let inputs: WireInput[];
    try {
      inputs = wireInputs(
        group.map((item) => item.inputs),
        this.transferInputs,
      );
    } catch (e) {
      if (group.length > 1) return false;
      (group[0] as BufferedExecution).reject(e as Error);
      return true;
    }
    const firstSeq = this.seq + 1;
    this.seq += group.length;
    group.forEach((item, i) => {
      this.queued.set(firstSeq + i, { seq: firstSeq + i, resolve: item.resolve, reject: item.reject });
    });
    const msg: QueueMessage = { type: 'queue', firstSeq, count: group.length, inputs, outputNames };
    try {
      this.worker.postMessage(msg, transferList(inputs));
    } catch (e) {
      for (let i = 0; i < group.length; i++) this.queued.delete(firstSeq + i);
      if (group.length > 1) return false;
      (group[0] as BufferedExecution).reject(
        new InferenceError(
          'INTERNAL',
          `cannot send the request to model instance '${this.name}': ${(e as Error).message}`,
        ),
      );
    }
    return true;
  }

  /** The worker may let the process exit only while nothing is executing, staged or queued. */
  private unrefWhenIdle(): void {
    if (!this.inFlight && this.stages.length === 0 && this.queuedCount() === 0) this.worker.unref();
  }

  stage(requests: ReadonlyArray<readonly Tensor[]>, outputNames: readonly string[]): StagedBatch | undefined {
    if (this.inFlight || requests.length === 0 || this.queuedCount() > 0) return undefined;
    if (this.deadReason !== undefined) {
      const result = Promise.reject(new InferenceError('INTERNAL', this.deadReason));
      return { append: () => false, started: () => true, result };
    }
    if (!stageClaimed(this.stageControl, this.stageGen)) return undefined;
    const gen = (this.stageGen + 1) & GEN_MASK;
    // Built before the stage opens: a bad batch throws here and leaves nothing half-staged.
    const inputs = wireInputs(requests, this.transferInputs);
    // Behind a running batch, the gather thread builds it while that one runs. On a free instance a lone
    // request goes straight to the ORT thread (one thread hop less at c=1, nothing to gather); several go
    // to the gather thread too, which claims them at once: a 40-request gather costs the ORT thread more
    // than the hop costs the batch.
    const target = this.gather && (this.stages.length > 0 || requests.length > 1) ? this.gather : this.worker;
    setStageRoute(this.stageControl, gen, target === this.gather);
    if (!openStage(this.stageControl, gen, requests.length)) return undefined;
    this.stageGen = gen;
    const names = [...outputNames];
    const result = new Promise<ExecutionResult>((resolve, reject) => {
      this.stages.push({ gen, resolve, reject });
    });
    this.worker.ref();
    this.postStage(target, { type: 'stage', gen, requests: requests.length, inputs, outputNames: names });
    return {
      append: (more) => {
        if (more.length === 0) return true;
        if (gen !== this.stageGen || this.deadReason !== undefined) return false;
        if (stageClaimed(this.stageControl, gen)) return false;
        const moreInputs = wireInputs(more, this.transferInputs);
        if (!appendToStage(this.stageControl, gen, more.length)) return false;
        this.postStage(target, {
          type: 'stage',
          gen,
          requests: more.length,
          inputs: moreInputs,
          outputNames: names,
        });
        return true;
      },
      started: () => stageClaimed(this.stageControl, gen),
      result,
    };
  }

  /** Posts a counted stage message; if it cannot go, the worker would wait for it in vain: the instance dies. */
  private postStage(target: Worker, msg: StageMessage): void {
    try {
      target.postMessage(msg, transferList(msg.inputs));
      notifyStagePosted(this.stageControl);
    } catch (e) {
      this.die(`cannot send a batch to model instance '${this.name}': ${(e as Error).message}`);
    }
  }

  async threadUsage(): Promise<{ ort: UsageReply; gather: UsageReply | undefined }> {
    const [ort, gather] = await Promise.all([
      usageOf(this.worker, () => !this.inFlight && this.stages.length === 0 && this.queuedCount() === 0),
      this.gather ? usageOf(this.gather, () => true) : Promise.resolve(undefined),
    ]);
    return { ort, gather };
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      this.die(`model instance '${this.name}' is closed`);
      // The ORT thread ends itself after the run it may be in (worker-protocol.ts CloseRequest); then the
      // gather thread. One after the other: two threads entangled by a MessageChannel, terminated at once, can
      // leave the first one's exit never reported (Node 20; the process then exits under the awaiting caller).
      await this.stopOrtThread();
      await this.gather?.terminate();
    })();
    return this.closing;
  }

  /** Asks the ORT thread to end between runs; terminates it only if a run outlasts CLOSE_GRACE_MS. */
  private stopOrtThread(): Promise<void> {
    if (this.exited) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        void this.worker.terminate().finally(resolve);
      }, CLOSE_GRACE_MS);
      timer.unref();
      this.worker.once('exit', () => {
        clearTimeout(timer);
        resolve();
      });
      // Keep the process alive until the thread has gone (an idle instance's worker is unref'd).
      this.worker.ref();
      try {
        this.worker.postMessage({ type: 'close' } satisfies ToWorker);
      } catch {
        clearTimeout(timer);
        void this.worker.terminate().finally(resolve);
      }
    });
  }

  private settle(): InFlight | undefined {
    const f = this.inFlight;
    this.inFlight = undefined;
    this.unrefWhenIdle();
    return f;
  }

  /** The queued execution `seq`, removed. */
  private settleQueued(seq: number): InFlight | undefined {
    const f = this.queued.get(seq);
    if (!f) return undefined;
    this.queued.delete(seq);
    this.unrefWhenIdle();
    return f;
  }

  /**
   * The pending stage `gen`, removed. Usually the oldest, but not always: a failure (a batch whose requests
   * never reached its thread) is answered as soon as it is known, possibly before an older batch's result.
   */
  private settleStage(gen: number): PendingStage | undefined {
    const index = this.stages.findIndex((s) => s.gen === gen);
    if (index < 0) return undefined;
    const [s] = this.stages.splice(index, 1);
    this.unrefWhenIdle();
    return s;
  }

  private die(reason: string): void {
    this.deadReason ??= reason;
    const error = new InferenceError('INTERNAL', reason);
    this.settle()?.reject(error);
    for (const s of this.stages.splice(0)) s.reject(error);
    const queued = [...this.queued.values(), ...this.buffered];
    this.queued.clear();
    this.buffered = [];
    for (const q of queued) q.reject(error);
  }

  private onMessage(m: FromWorker): void {
    if (m.type === 'results') {
      for (const r of m.results) this.onMessage(r);
      return;
    }
    if (m.type !== 'result' && m.type !== 'run-error') return;
    const resultReceivedNs = this.clock.nowNs();
    const queuedResult = m.stage === undefined && m.seq !== this.inFlight?.seq;
    const f =
      m.stage === undefined
        ? queuedResult
          ? this.settleQueued(m.seq)
          : this.settle()
        : this.settleStage(m.stage);
    if (!f) return;
    if (m.type === 'run-error') {
      f.reject(new InferenceError('INTERNAL', m.message));
      return;
    }
    f.resolve({
      // A staged batch or a queued execution starts when the worker takes it up, not when it was handed over.
      ...(m.stage === undefined && !queuedResult ? {} : { startedNs: m.receivedNs }),
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
  const stageControl = createStageControl();
  const channel = options.gatherThread === true ? new MessageChannel() : undefined;
  const data: WorkerData = {
    modelPath: options.modelPath,
    sessionOptions: options.sessionOptions,
    clockOriginNs: systemClockOrigin(),
    stageControl: stageControl.buffer as SharedArrayBuffer,
    ...(options.batchBuckets ? { batchBuckets: options.batchBuckets } : {}),
    ...(options.executionDelayUs ? { executionDelayUs: options.executionDelayUs } : {}),
    ...(options.resultHold ? { resultHold: options.resultHold } : {}),
    ...(channel ? { gatherPort: channel.port1 } : {}),
  };
  const worker = startWorker(WORKER_URL, data, `ort:${options.name}`, channel ? [channel.port1] : []);
  let gather: Worker | undefined;
  if (channel) {
    const gatherData: GatherWorkerData = {
      stageControl: stageControl.buffer as SharedArrayBuffer,
      runnerPort: channel.port2,
      bucketSizes: [...(options.batchBuckets?.sizes ?? [])],
      capacityRows: Math.max(0, options.maxBatchRows ?? options.batchBuckets?.sizes.at(-1) ?? 0),
    };
    gather = startWorker(GATHER_URL, gatherData, `gather:${options.name}`, [channel.port2]);
    gather.unref();
  }
  return new Promise<OrtInstance>((resolve, reject) => {
    const fail = (message: string) => {
      cleanup();
      void worker.terminate().finally(() => gather?.terminate());
      reject(new ModelLoadError(message));
    };
    const onMessage = (m: FromWorker) => {
      if (m.type === 'load-error') {
        fail(m.message);
      } else if (m.type === 'ready') {
        cleanup();
        resolve(new OrtWorkerInstance(options, worker, gather, stageControl, m, clock.nowNs() - startNs));
      }
    };
    const onError = (e: Error) => fail(e.message);
    const onExit = (code: number) =>
      fail(`model instance '${options.name}' worker exited with code ${code} while loading`);
    const onGatherError = (e: Error) => fail(`model instance '${options.name}' gather thread: ${e.message}`);
    const onGatherExit = (code: number) =>
      fail(`model instance '${options.name}' gather thread exited with code ${code} while loading`);
    const cleanup = () => {
      worker.off('message', onMessage);
      worker.off('error', onError);
      worker.off('exit', onExit);
      gather?.off('error', onGatherError);
      gather?.off('exit', onGatherExit);
    };
    worker.on('message', onMessage);
    worker.on('error', onError);
    worker.on('exit', onExit);
    gather?.on('error', onGatherError);
    gather?.on('exit', onGatherExit);
  });
}
