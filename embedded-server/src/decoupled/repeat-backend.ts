/**
 * A built-in, non-ONNX backend: Triton's `repeat` backend (triton-inference-server/repeat_backend), the
 * reference decoupled model. ONNX Runtime gives one output set per run, so a decoupled model cannot be an
 * ONNX file; this backend is plain code behind the same VersionRuntime interface as the ORT models.
 *
 * Model (config `backend: "repeat"`, `max_batch_size: 0`, `model_transaction_policy { decoupled: true }`):
 * inputs IN INT32 [-1], DELAY UINT32 [-1] (same shape as IN), WAIT UINT32 [1]; outputs OUT INT32 [1] and
 * IDX UINT32 [1]. A request whose IN has n elements gets n responses: response i carries OUT = IN[i] and
 * IDX = i, and is sent DELAY[i] ms after the previous one (or after the execution started); then the FINAL
 * flag alone (Triton's null response). n = 0 gives no response, only the flag.
 *
 * Instances: each `instance_group` instance executes one request at a time, FIFO, and is held for WAIT ms
 * (Triton's backend sleeps WAIT ms in its execute function, while the responses go out from another thread):
 * with WAIT shorter than the delays, one instance serves several requests at once and their responses mix.
 *
 * Statistics as Triton's backend reports them: at the end of the WAIT, one execution of batch 1 and one
 * success whose compute_infer is the whole execution (exec start → end, compute input/output 0); queue =
 * exec start − enqueue; success = exec end − request start. Per response index, `response_stats` (see
 * model-stats.ts): compute_infer = time since the previous response, compute_output = time to hand the
 * response to the stream, and the final flag as `empty_response`.
 *
 * Bounds (this server's, refused with INVALID_ARG before the request is queued): at most
 * {@link MAX_REPEAT_RESPONSES} responses per request, each DELAY and the WAIT at most
 * {@link MAX_REPEAT_DELAY_MS} ms, the DELAYs of one request at most {@link MAX_REPEAT_TOTAL_DELAY_MS} ms in all.
 */
import type { Clock, TimerHandle } from '../../../src/protocol/clock.ts';
import { DataType, type ModelConfig } from '../../../src/protocol/gen/model_config_pb.ts';
import { InferenceError } from '../../../src/protocol/status.ts';
import type { Tensor } from '../../../src/protocol/tensor.ts';
import { NS_PER_MS } from '../../../src/protocol/units.ts';
import type { VersionRuntime } from '../core/model-backend.ts';
import type { InferRequest, InferResponse } from '../core/types.ts';
import { ConfigError } from '../repository/config-error.ts';
import { cancelledError, stoppingError } from '../scheduler/model-scheduler.ts';
import type { ModelStatsRecorder } from '../stats/model-stats.ts';

export const REPEAT_BACKEND = 'repeat';
export const MAX_REPEAT_RESPONSES = 10_000;
export const MAX_REPEAT_DELAY_MS = 60_000;
export const MAX_REPEAT_TOTAL_DELAY_MS = 600_000;

function invalidConfig(message: string): ConfigError {
  return new ConfigError(message, { kind: 'invalid' });
}

function shapeText(dims: readonly bigint[]): string {
  return `[${dims.join(',')}]`;
}

/** Triton's repeat backend ModelState::ValidateModelConfig, with its texts; plus: the model must be decoupled. */
export function validateRepeatConfig(config: ModelConfig): void {
  if (config.maxBatchSize !== 0) {
    throw invalidConfig('repeat backend only supports models with max_batch_size == 0');
  }
  if (config.input.length !== 3) throw invalidConfig(`expected 3 inputs, got ${config.input.length}`);
  if (config.output.length !== 2) throw invalidConfig(`expected 2 outputs, got ${config.output.length}`);
  const [inp, delay, wait] = config.input as [
    ModelConfig['input'][0],
    ModelConfig['input'][0],
    ModelConfig['input'][0],
  ];
  const [out, idx] = config.output as [ModelConfig['output'][0], ModelConfig['output'][0]];
  const names: [string, string, string][] = [
    [inp.name, 'IN', 'expected first input tensor name to be IN, got '],
    [delay.name, 'DELAY', 'expected second input tensor name to be DELAY, got '],
    [wait.name, 'WAIT', 'expected third input tensor name to be WAIT, got '],
    [out.name, 'OUT', 'expected first output tensor name to be OUT, got '],
    [idx.name, 'IDX', 'expected second output tensor name to be IDX, got '],
  ];
  for (const [got, want, text] of names) if (got !== want) throw invalidConfig(text + got);
  if (inp.dims.length !== 1) {
    throw invalidConfig(`expected IN shape to have one dimension, got ${shapeText(inp.dims)}`);
  }
  if (shapeText(inp.dims) !== shapeText(delay.dims)) {
    throw invalidConfig(
      `expected IN and DELAY shape to match, got ${shapeText(inp.dims)} and ${shapeText(delay.dims)}`,
    );
  }
  const one = (dims: readonly bigint[]) => dims.length === 1 && dims[0] === 1n;
  if (!one(wait.dims)) throw invalidConfig(`expected WAIT shape to be [1], got ${shapeText(wait.dims)}`);
  if (!one(out.dims)) throw invalidConfig(`expected OUT shape to be [1], got ${shapeText(out.dims)}`);
  if (!one(idx.dims)) throw invalidConfig(`expected IDX shape to be [1], got ${shapeText(idx.dims)}`);
  const types: [DataType, DataType, string][] = [
    [inp.dataType, DataType.TYPE_INT32, 'expected IN datatype to be INT32, got '],
    [delay.dataType, DataType.TYPE_UINT32, 'expected DELAY datatype to be UINT32, got '],
    [wait.dataType, DataType.TYPE_UINT32, 'expected WAIT datatype to be UINT32, got '],
    [out.dataType, DataType.TYPE_INT32, 'expected OUT datatype to be INT32, got '],
    [idx.dataType, DataType.TYPE_UINT32, 'expected IDX datatype to be UINT32, got '],
  ];
  for (const [got, want, text] of types) {
    if (got !== want) throw invalidConfig(text + `TYPE_${DataType[got]}`.replace('TYPE_TYPE_', 'TYPE_'));
  }
  if (!config.modelTransactionPolicy?.decoupled) {
    throw invalidConfig(
      `model '${config.name}': the repeat backend sends several responses per request and needs model_transaction_policy { decoupled: true }`,
    );
  }
}

interface RepeatPlan {
  values: Int32Array;
  delaysMs: number[];
  waitMs: number;
}

function tensorOf(request: InferRequest, name: string): Tensor {
  const t = request.inputs.find((x) => x.name === name);
  if (!t)
    throw new InferenceError('INVALID_ARG', `expected input '${name}' for model '${request.modelName}'`);
  return t;
}

function view(t: Tensor): DataView {
  return new DataView(t.data.buffer, t.data.byteOffset, t.data.byteLength);
}

/** Reads and bounds one request's inputs (Triton's ProcessRequest, plus this server's bounds). */
export function repeatPlanOf(request: InferRequest): RepeatPlan {
  const inp = tensorOf(request, 'IN');
  const delay = tensorOf(request, 'DELAY');
  const wait = tensorOf(request, 'WAIT');
  if (inp.shape.join(',') !== delay.shape.join(',')) {
    throw new InferenceError(
      'INVALID_ARG',
      `expected IN and DELAY shape to match, got [${inp.shape.join(',')}] and [${delay.shape.join(',')}]`,
    );
  }
  const n = inp.data.byteLength / 4;
  if (n > MAX_REPEAT_RESPONSES) {
    throw new InferenceError(
      'INVALID_ARG',
      `input 'IN' of model '${request.modelName}' has ${n} elements: the repeat backend sends at most ${MAX_REPEAT_RESPONSES} responses per request`,
    );
  }
  const inView = view(inp);
  const delayView = view(delay);
  const values = new Int32Array(n);
  const delaysMs: number[] = [];
  let totalMs = 0;
  for (let i = 0; i < n; i++) {
    values[i] = inView.getInt32(i * 4, true);
    const ms = delayView.getUint32(i * 4, true);
    if (ms > MAX_REPEAT_DELAY_MS) {
      throw new InferenceError(
        'INVALID_ARG',
        `DELAY[${i}] of model '${request.modelName}' is ${ms} ms: at most ${MAX_REPEAT_DELAY_MS} ms per response`,
      );
    }
    totalMs += ms;
    delaysMs.push(ms);
  }
  if (totalMs > MAX_REPEAT_TOTAL_DELAY_MS) {
    throw new InferenceError(
      'INVALID_ARG',
      `the DELAYs of one request to model '${request.modelName}' add up to ${totalMs} ms: at most ${MAX_REPEAT_TOTAL_DELAY_MS} ms`,
    );
  }
  const waitMs = wait.data.byteLength >= 4 ? view(wait).getUint32(0, true) : 0;
  if (waitMs > MAX_REPEAT_DELAY_MS) {
    throw new InferenceError(
      'INVALID_ARG',
      `WAIT of model '${request.modelName}' is ${waitMs} ms: at most ${MAX_REPEAT_DELAY_MS} ms`,
    );
  }
  return { values, delaysMs, waitMs };
}

function scalar(name: string, datatype: 'INT32' | 'UINT32', value: number): Tensor {
  const data = new Uint8Array(4);
  const v = new DataView(data.buffer);
  if (datatype === 'INT32') v.setInt32(0, value, true);
  else v.setUint32(0, value, true);
  return { name, datatype, shape: [1], data };
}

interface Job {
  readonly request: InferRequest;
  readonly plan: RepeatPlan;
  readonly sink: (response: InferResponse) => void;
  readonly enqueueNs: number;
  readonly resolve: (response: InferResponse) => void;
  readonly reject: (error: InferenceError) => void;
  /** Responses sent so far. */
  sent: number;
  lastNs: number;
  timer: TimerHandle | undefined;
  done: boolean;
  onAbort: (() => void) | undefined;
}

export interface RepeatRuntimeOptions {
  config: ModelConfig;
  version: string;
  /** Instances (instance_group counts summed). */
  instanceCount: number;
  clock: Clock;
  stats: ModelStatsRecorder;
}

/** The VersionRuntime of one repeat model version. */
export function createRepeatRuntime(o: RepeatRuntimeOptions): VersionRuntime {
  const { clock, stats, version } = o;
  const queue: Job[] = [];
  let freeInstances = Math.max(1, o.instanceCount);
  let accepting = true;
  /** Requests accepted and not yet settled (their responses may still be going out). */
  let open = 0;
  /** Executions holding an instance (their WAIT not over). */
  let holding = 0;
  const holds = new Set<TimerHandle>();
  /** Executed requests whose responses are still going out. */
  const active = new Set<Job>();
  let drainWaiters: (() => void)[] = [];

  const settled = (): void => {
    open -= 1;
    maybeDrained();
  };
  const maybeDrained = (): void => {
    if (open > 0 || holding > 0 || drainWaiters.length === 0) return;
    const waiters = drainWaiters;
    drainWaiters = [];
    for (const w of waiters) w();
  };

  const responseOf = (job: Job, i: number): InferResponse => {
    const all = [scalar('OUT', 'INT32', job.plan.values[i] as number), scalar('IDX', 'UINT32', i)];
    const wanted = job.request.outputs;
    const outputs = wanted.length === 0 ? all : all.filter((t) => wanted.some((w) => w.name === t.name));
    return { id: job.request.id, modelName: job.request.modelName, modelVersion: version, outputs };
  };

  const finish = (job: Job): void => {
    if (job.done) return;
    job.done = true;
    active.delete(job);
    if (job.onAbort) job.request.signal?.removeEventListener('abort', job.onAbort);
    const nowNs = clock.nowNs();
    stats.recordEmptyResponse(job.sent, nowNs - job.lastNs);
    job.resolve({
      id: job.request.id,
      modelName: job.request.modelName,
      modelVersion: version,
      outputs: [],
      emptyFinal: true,
    });
    settled();
  };

  /** Sends response `job.sent` after its delay, then the next, then the FINAL flag. */
  const next = (job: Job): void => {
    if (job.done) return;
    const i = job.sent;
    if (i >= job.plan.values.length) {
      finish(job);
      return;
    }
    job.timer = clock.setTimer(
      () => {
        job.timer = undefined;
        if (job.done) return;
        const createdNs = clock.nowNs();
        const response = responseOf(job, i);
        job.sink(response);
        const sentNs = clock.nowNs();
        stats.recordResponse(i, {
          computeInferNs: createdNs - job.lastNs,
          computeOutputNs: sentNs - createdNs,
        });
        job.sent += 1;
        job.lastNs = sentNs;
        next(job);
      },
      (job.plan.delaysMs[i] as number) * NS_PER_MS,
    );
  };

  const execute = (job: Job): void => {
    freeInstances -= 1;
    holding += 1;
    const startNs = clock.nowNs();
    job.lastNs = startNs;
    active.add(job);
    next(job);
    const hold = clock.setTimer(() => {
      holds.delete(hold);
      const endNs = clock.nowNs();
      const computeInferNs = endNs - startNs;
      stats.recordExecution({ batchSize: 1, computeInputNs: 0, computeInferNs, computeOutputNs: 0 });
      stats.recordSuccess({
        batchSize: 1,
        requestNs: endNs - job.request.receivedNs,
        queueNs: startNs - job.enqueueNs,
        computeInputNs: 0,
        computeInferNs,
        computeOutputNs: 0,
      });
      holding -= 1;
      freeInstances += 1;
      dispatch();
      maybeDrained();
    }, job.plan.waitMs * NS_PER_MS);
    holds.add(hold);
  };

  const dispatch = (): void => {
    while (freeInstances > 0 && queue.length > 0) execute(queue.shift() as Job);
  };

  const cancel = (job: Job): void => {
    if (job.done) return;
    const queued = queue.indexOf(job);
    if (queued >= 0) {
      queue.splice(queued, 1);
      stats.recordFailure('CANCELED', clock.nowNs() - job.request.receivedNs);
    } else {
      stats.recordResponseCancel(job.sent, clock.nowNs() - job.lastNs);
    }
    job.done = true;
    active.delete(job);
    job.timer?.cancel();
    job.reject(cancelledError(job.request.id));
    settled();
  };

  return {
    stats,
    infer(request: InferRequest): Promise<InferResponse> {
      try {
        if (!accepting) throw stoppingError(request.id);
        const sink = request.responseSink;
        if (!sink)
          throw new InferenceError(
            'INTERNAL',
            'a decoupled request reached the repeat backend without a stream',
          );
        const plan = repeatPlanOf(request);
        return new Promise<InferResponse>((resolve, reject) => {
          const job: Job = {
            request,
            plan,
            sink,
            enqueueNs: clock.nowNs(),
            resolve,
            reject,
            sent: 0,
            lastNs: 0,
            timer: undefined,
            done: false,
            onAbort: undefined,
          };
          open += 1;
          const signal = request.signal;
          if (signal) {
            if (signal.aborted) {
              open -= 1;
              reject(cancelledError(request.id));
              return;
            }
            job.onAbort = () => cancel(job);
            signal.addEventListener('abort', job.onAbort, { once: true });
          }
          queue.push(job);
          dispatch();
        });
      } catch (e) {
        return Promise.reject(e);
      }
    },
    pendingCount: () => queue.length,
    stopAccepting() {
      accepting = false;
    },
    drain() {
      if (open === 0 && holding === 0) return Promise.resolve();
      return new Promise((resolve) => drainWaiters.push(resolve));
    },
    async close() {
      for (const h of holds) h.cancel();
      holds.clear();
      // Only reached after drain() or on a forced shutdown: whatever is left is stopped, never left hanging.
      for (const job of [...queue.splice(0), ...active]) {
        job.done = true;
        job.timer?.cancel();
        job.reject(stoppingError(job.request.id));
      }
      active.clear();
    },
  };
}
