/**
 * Triton's ensemble scheduler (core:src/ensemble_scheduler/ensemble_scheduler.cc) for one ensemble version.
 *
 * A request walks the compiled data flow ({@link compileEnsemble}): a step starts as soon as every tensor it
 * reads is ready, so independent steps run at the same time (fan-out) and a step reading several branches
 * waits for all of them (fan-in). Every step is an ordinary request to its composing model, validated by
 * that model's rules and queued in that model's own scheduler, so concurrent ensemble requests are dynamically
 * batched inside the composing models. Steps carry the ensemble request's id, parameters, priority, timeout
 * and cancellation signal; steps whose outputs nobody asked for are pruned.
 *
 * Tensors pass between steps by reference. Model instances take ownership of (detach) the buffers they are
 * handed, so a tensor is handed over only to its last reader, and only when no other live tensor of this
 * request shares its buffer (request bodies hold several inputs); earlier readers get a copy. A single-reader
 * chain therefore never copies here.
 *
 * A failing step fails the ensemble request with Triton's text `in ensemble '<e>', <step error>` (the step's
 * status code) once its other in-flight steps have finished; no new step starts after a failure.
 *
 * Statistics are Triton's for ensembles: per request `success`/`fail` (request end − arrival), `queue` (the
 * ensemble's own scheduling delay, near zero), and `compute_input/infer/output` as the sums of what the
 * composing models charged this request's steps; one "execution" of the request's batch size per successful
 * request. The composing models keep their own statistics. With `response_cache` enabled the ensemble caches
 * its top-level responses.
 */

import type { Clock } from '../../../src/protocol/clock.ts';
import type { ModelConfig } from '../../../src/protocol/gen/model_config_pb.ts';
import { InferenceError, isInferenceError } from '../../../src/protocol/status.ts';
import type { Tensor } from '../../../src/protocol/tensor.ts';
import { ResponseCache } from '../cache/response-cache.ts';
import type { RequestAbortSignal } from '../core/request-abort.ts';
import type { ExecutionTimings, InferRequest, InferResponse, RequestedOutput } from '../core/types.ts';
import type { RequestValidator } from '../core/validate-request.ts';
import { requestIdPrefix } from '../core/validate-request.ts';
import type { ModelStatsRecorder } from '../stats/model-stats.ts';
import {
  compileEnsemble,
  type EnsemblePlan,
  type PrunedPlan,
  prunePlan,
  reshapeTensorDims,
  type StepPlan,
} from './ensemble-plan.ts';
import { stoppingError } from './model-scheduler.ts';

/** A composing model version as a step sees it. */
export interface ComposingModel {
  readonly version: string;
  readonly config: ModelConfig;
  readonly validate: RequestValidator;
  infer(request: InferRequest): Promise<InferResponse>;
}

/** Finds the READY version a step uses ('' = latest); throws Triton's NOT_FOUND / UNAVAILABLE texts. */
export type ComposingResolver = (modelName: string, modelVersion: string) => ComposingModel;

export interface EnsembleSchedulerOptions {
  config: ModelConfig;
  version: string;
  clock: Clock;
  stats: ModelStatsRecorder;
  resolve: ComposingResolver;
  cache?: ResponseCache;
  cacheEnabled: boolean;
}

export interface EnsembleScheduler {
  enqueue(request: InferRequest): Promise<InferResponse>;
  /** Ensemble requests accepted and not yet answered. */
  inflightCount(): number;
  stop(): void;
  drain(): Promise<void>;
}

/**
 * What one step needs of its composing model version on every request, worked out once per (step, version):
 * the config dims of each step input (as numbers; config dims are bigint), whether the model batches, whether
 * its outputs may be handed on to a model instance, and the outputs to ask for.
 */
interface StepBinding {
  readonly model: ComposingModel;
  readonly batching: boolean;
  /** Per `step.inputs` entry: the model input's config dims, undefined for an unknown input (validation fails). */
  readonly inputDims: readonly (readonly number[] | undefined)[];
  /** A response cache's outputs are shared with later hits: they are never handed to a model instance. */
  readonly ownableOutputs: boolean;
  readonly requestedOutputs: readonly RequestedOutput[];
}

function bindStep(step: StepPlan, model: ComposingModel): StepBinding {
  const dims = new Map(model.config.input.map((i) => [i.name, i.dims.map(Number)]));
  return {
    model,
    batching: model.config.maxBatchSize > 0,
    inputDims: step.inputs.map((i) => dims.get(i.modelInput)),
    ownableOutputs: !(model.config.responseCache?.enable ?? false),
    requestedOutputs: step.outputs.map((o) => ({ name: o.modelOutput })),
  };
}

/** Pruned plans kept per distinct set of requested outputs; more distinct sets than this are recomputed. */
const MAX_PRUNED_PLANS = 64;

/** Per-step limit of in-flight requests (`max_inflight_requests`), shared by all ensemble requests. */
class StepLimiter {
  private inflight = 0;
  private readonly waiters: (() => void)[] = [];
  constructor(private readonly limit: number) {}
  acquire(): Promise<void> | undefined {
    if (this.inflight < this.limit) {
      this.inflight += 1;
      return undefined;
    }
    return new Promise((resolve) => this.waiters.push(resolve));
  }
  release(): void {
    const next = this.waiters.shift();
    if (next) next();
    else this.inflight -= 1;
  }
}

/**
 * How many live tensors of one ensemble request sit on each buffer (request bodies and some step results
 * hold several tensors in one buffer). A request has few live tensors at a time, so a linear scan of two
 * parallel arrays beats a Map keyed by buffers: no identity hash is computed for every new step result.
 */
class LiveBuffers {
  private readonly buffers: ArrayBufferLike[] = [];
  private readonly counts: number[] = [];

  count(buffer: ArrayBufferLike): number {
    const i = this.buffers.indexOf(buffer);
    return i < 0 ? 0 : (this.counts[i] as number);
  }

  add(buffer: ArrayBufferLike): void {
    const i = this.buffers.indexOf(buffer);
    if (i >= 0) this.counts[i] = (this.counts[i] as number) + 1;
    else {
      this.buffers.push(buffer);
      this.counts.push(1);
    }
  }

  remove(buffer: ArrayBufferLike): void {
    const i = this.buffers.indexOf(buffer);
    if (i < 0) return;
    const left = (this.counts[i] as number) - 1;
    if (left > 0) {
      this.counts[i] = left;
      return;
    }
    // Swap-remove: order does not matter.
    const last = this.buffers.length - 1;
    this.buffers[i] = this.buffers[last] as ArrayBufferLike;
    this.counts[i] = this.counts[last] as number;
    this.buffers.pop();
    this.counts.pop();
  }
}

interface Value {
  /** null: an optional ensemble input the request left out, or an output a step did not produce. */
  tensor: Tensor | null;
  /** Triton's tensor batch size: the first dim when the writer batches, 0 when it does not. */
  batchSize: number;
  /** Readers still to come (needed steps, plus one when it is a requested output). */
  readers: number;
  /** Whether the buffer may be handed to a model instance (not a response cache's copy). */
  ownable: boolean;
}

/**
 * One step's request to its composing model. A class, so every step request has one shape and its two
 * hooks are methods rather than closures made per step. `signal` is the ensemble request's: the client
 * going away cancels the step too.
 */
class StepRequest implements InferRequest {
  readonly id: string;
  readonly modelName: string;
  readonly modelVersion: string;
  readonly parameters: InferRequest['parameters'];
  readonly priority: number;
  readonly timeoutUs: number;
  readonly binaryDataOutput = false;
  receivedNs = 0;

  constructor(
    private readonly ensemble: EnsembleRequest,
    private readonly parent: InferRequest,
    step: StepPlan,
    readonly inputs: Tensor[],
    readonly outputs: RequestedOutput[],
  ) {
    this.id = parent.id;
    this.modelName = step.modelName;
    this.modelVersion = step.modelVersion;
    this.parameters = parent.parameters;
    this.priority = parent.priority;
    this.timeoutUs = parent.timeoutUs;
  }

  get signal(): RequestAbortSignal | undefined {
    return this.parent.signal;
  }

  /** Triton's secondary stats aggregator: the composing model charges its compute to the ensemble request. */
  secondaryStats(t: ExecutionTimings): void {
    this.ensemble.charge(t);
  }
}

/** The response's output called `name`, or null when the step did not produce it. */
function outputNamed(response: InferResponse, name: string): Tensor | null {
  const outputs = response.outputs;
  for (let i = 0; i < outputs.length; i++) {
    const t = outputs[i] as Tensor;
    if (t.name === name) return t;
  }
  return null;
}

class EnsembleRequest {
  private readonly values: (Value | undefined)[];
  private readonly waiting: Int32Array;
  private readonly live = new LiveBuffers();
  /** Per step: its composing model version's binding, resolved once per request. */
  private readonly bound: (StepBinding | undefined)[];
  private inflightSteps = 0;
  private outputsPending: number;
  private error: InferenceError | undefined;
  private finished = false;
  readonly timings: ExecutionTimings = { computeInputNs: 0, computeInferNs: 0, computeOutputNs: 0 };

  constructor(
    private readonly scheduler: Scheduler,
    private readonly plan: EnsemblePlan,
    private readonly pruned: PrunedPlan,
    private readonly request: InferRequest,
    private readonly done: (outcome: InferResponse | InferenceError) => void,
  ) {
    this.values = new Array(plan.tensorNames.length);
    this.bound = new Array(plan.steps.length);
    this.waiting = scheduler.readsPerStep.slice();
    this.outputsPending = pruned.outputs.length;
  }

  start(): void {
    try {
      // Triton takes every composing model's handle up front: an unloaded one fails the request at once.
      for (const step of this.plan.steps) {
        if (this.pruned.needed[step.index]) this.composing(step);
      }
      const batchSize = this.plan.batching ? (this.request.inputs[0]?.shape[0] ?? 0) : 0;
      const ready: number[] = [];
      for (const t of this.request.inputs) {
        const input = this.plan.inputs.get(t.name);
        if (!input) continue;
        this.setValue(input.tensor, { tensor: t, batchSize, readers: 0, ownable: true });
        ready.push(input.tensor);
      }
      for (const input of this.plan.inputs.values()) {
        // Given inputs have a value already.
        if (this.values[input.tensor] !== undefined || !input.optional) continue;
        this.setValue(input.tensor, { tensor: null, batchSize, readers: 0, ownable: false });
        ready.push(input.tensor);
      }
      this.advance(ready);
    } catch (e) {
      this.fail(e);
    }
    this.settleIfIdle();
  }

  private composing(step: StepPlan): StepBinding {
    let binding = this.bound[step.index];
    if (!binding) {
      binding = this.scheduler.bindingOf(step);
      this.bound[step.index] = binding;
    }
    return binding;
  }

  charge(t: ExecutionTimings): void {
    this.timings.computeInputNs += t.computeInputNs;
    this.timings.computeInferNs += t.computeInferNs;
    this.timings.computeOutputNs += t.computeOutputNs;
  }

  private setValue(tensor: number, value: Value): void {
    value.readers = this.pruned.readers[tensor] as number;
    this.values[tensor] = value;
    if (value.tensor && value.readers > 0) this.live.add(value.tensor.data.buffer);
  }

  /** Tensors just became ready: starts the needed steps that now have all their inputs, or completes. */
  private advance(readyTensors: readonly number[]): void {
    for (const t of readyTensors) {
      if (this.pruned.isOutput[t]) this.outputsPending -= 1;
      for (const s of this.plan.consumers[t] ?? []) {
        if (!this.pruned.needed[s]) continue;
        const left = (this.waiting[s] as number) - 1;
        this.waiting[s] = left;
        if (left === 0 && this.error === undefined) this.runStep(this.plan.steps[s] as StepPlan);
      }
    }
  }

  private runStep(step: StepPlan): void {
    const binding = this.composing(step);
    const request = new StepRequest(
      this,
      this.request,
      step,
      this.stepInputs(step, binding),
      // Shared by every request of this step: nothing downstream modifies a request's output list.
      binding.requestedOutputs as RequestedOutput[],
    );
    const validation = binding.model.validate(request);
    // Triton's composing request is built and normalised (validated) first; its request_start is taken in
    // InferAsync, as it enters the composing model's scheduler.
    request.receivedNs = this.scheduler.clock.nowNs();
    // Triton's request batch size is 0 for a model that does not batch (reshapeTensorDims relies on it).
    const batchSize = binding.batching ? validation.batchSize : 0;
    this.inflightSteps += 1;
    void this.execute(step, request, binding, batchSize);
  }

  /**
   * Sends one step request to its composing model (after the step's `max_inflight_requests` slot, if any)
   * and hands its outcome on. An async method rather than promise callbacks: no closure per step.
   */
  private async execute(
    step: StepPlan,
    request: StepRequest,
    binding: StepBinding,
    batchSize: number,
  ): Promise<void> {
    const limiter = this.scheduler.limiters[step.index];
    let response: InferResponse;
    try {
      const gate = limiter?.acquire();
      if (gate) await gate;
      response = await binding.model.infer(request);
    } catch (e) {
      limiter?.release();
      this.inflightSteps -= 1;
      this.fail(e);
      this.settleIfIdle();
      return;
    }
    limiter?.release();
    this.stepDone(step, response, batchSize, binding.ownableOutputs);
  }

  /** The step's input tensors: renamed views, the buffer handed over only where this is its last use. */
  private stepInputs(step: StepPlan, binding: StepBinding): Tensor[] {
    const reads = step.reads;
    for (let r = 0; r < reads.length; r++) (this.values[reads[r] as number] as Value).readers -= 1;
    const inputs: Tensor[] = [];
    for (let i = 0; i < step.inputs.length; i++) {
      const { modelInput, tensor } = step.inputs[i] as StepPlan['inputs'][number];
      const v = this.values[tensor] as Value;
      const t = v.tensor;
      if (!t) continue;
      const dims = binding.inputDims[i];
      const shape = dims ? reshapeTensorDims(dims, binding.batching, v.batchSize, t.shape) : t.shape;
      const handOver = v.ownable && v.readers === 0 && this.othersLiveOn(t.data.buffer, reads) === 0;
      inputs.push({
        name: modelInput,
        datatype: t.datatype,
        shape,
        data: handOver ? t.data : t.data.slice(),
      });
    }
    for (let r = 0; r < reads.length; r++) {
      const v = this.values[reads[r] as number] as Value;
      if (v.readers === 0 && v.tensor) this.live.remove(v.tensor.data.buffer);
    }
    return inputs;
  }

  /** Live tensors of this request on `buffer`, besides those among `reads` that this step reads last. */
  private othersLiveOn(buffer: ArrayBufferLike, reads: readonly number[]): number {
    let n = this.live.count(buffer);
    for (let r = 0; r < reads.length; r++) {
      const v = this.values[reads[r] as number] as Value;
      if (v.readers === 0 && v.tensor && v.tensor.data.buffer === buffer) n -= 1;
    }
    return n;
  }

  private stepDone(step: StepPlan, response: InferResponse, batchSize: number, ownable: boolean): void {
    this.inflightSteps -= 1;
    if (this.error === undefined && !this.finished) {
      try {
        const ready: number[] = [];
        for (const o of step.outputs) {
          this.setValue(o.tensor, {
            tensor: outputNamed(response, o.modelOutput),
            batchSize,
            readers: 0,
            ownable,
          });
          ready.push(o.tensor);
        }
        this.advance(ready);
      } catch (e) {
        this.fail(e);
      }
    }
    this.settleIfIdle();
  }

  private fail(e: unknown): void {
    if (this.error !== undefined) return;
    const cause = isInferenceError(e)
      ? e
      : new InferenceError('INTERNAL', e instanceof Error ? e.message : String(e));
    this.error = new InferenceError(cause.code, `in ensemble '${this.plan.name}', ${cause.message}`);
  }

  /** Answers once nothing is in flight: with the outputs, the first error, or Triton's deadlock error. */
  private settleIfIdle(): void {
    if (this.finished || this.inflightSteps > 0) return;
    if (this.error === undefined && this.outputsPending > 0) {
      this.error = new InferenceError(
        'INVALID_ARG',
        `in ensemble '${this.plan.name}', ${requestIdPrefix(this.request.id)}unexpected deadlock, at least one ` +
          'output is not set while no more ensemble steps can be made',
      );
    }
    this.finished = true;
    if (this.error !== undefined) {
      this.done(this.error);
      return;
    }
    const outputs: Tensor[] = [];
    for (const o of this.pruned.outputs) {
      const v = this.values[o.tensor] as Value;
      if (!v.tensor) continue;
      const shape = reshapeTensorDims(o.dims, this.plan.batching, v.batchSize, v.tensor.shape);
      outputs.push({ name: o.name, datatype: v.tensor.datatype, shape, data: v.tensor.data });
    }
    this.done({
      id: this.request.id,
      modelName: this.request.modelName,
      modelVersion: this.scheduler.version,
      outputs,
    });
  }
}

class Scheduler implements EnsembleScheduler {
  readonly clock: Clock;
  readonly version: string;
  private readonly resolve: ComposingResolver;
  readonly limiters: (StepLimiter | undefined)[];
  /** Per step: how many distinct tensors it waits for (each request starts from a copy). */
  readonly readsPerStep: Int32Array;
  /** Per step: the binding of the composing model version it resolved to last. */
  private readonly bindings: (StepBinding | undefined)[];
  private readonly plan: EnsemblePlan;
  private readonly stats: ModelStatsRecorder;
  private readonly cache: ResponseCache | undefined;
  private readonly pruned = new Map<string, PrunedPlan>();
  private inflight = 0;
  private stopped = false;
  private drainWaiters: (() => void)[] = [];

  constructor(options: EnsembleSchedulerOptions) {
    this.plan = compileEnsemble(options.config);
    this.clock = options.clock;
    this.version = options.version;
    this.resolve = options.resolve;
    this.stats = options.stats;
    this.cache = options.cacheEnabled ? options.cache : undefined;
    const limit = Number(
      options.config.schedulingChoice.case === 'ensembleScheduling'
        ? options.config.schedulingChoice.value.maxInflightRequests
        : 0,
    );
    this.limiters = this.plan.steps.map(() => (limit > 0 ? new StepLimiter(limit) : undefined));
    this.bindings = this.plan.steps.map(() => undefined);
    this.readsPerStep = Int32Array.from(this.plan.steps, (step) => step.reads.length);
  }

  /** The step's composing model, resolved now (a reload gives a new version object, hence a new binding). */
  bindingOf(step: StepPlan): StepBinding {
    const model = this.resolve(step.modelName, step.modelVersion);
    let binding = this.bindings[step.index];
    if (binding?.model !== model) {
      binding = bindStep(step, model);
      this.bindings[step.index] = binding;
    }
    return binding;
  }

  enqueue(request: InferRequest): Promise<InferResponse> {
    if (this.stopped) return Promise.reject(stoppingError(request.id));
    const enqueueNs = this.clock.nowNs();
    let cacheKey: string | undefined;
    let cacheLookupNs = 0;
    if (this.cache) {
      cacheKey = ResponseCache.key(this.plan.name, this.version, request.inputs);
      const cached = this.cache.lookup(cacheKey);
      cacheLookupNs = this.clock.nowNs() - enqueueNs;
      if (cached) {
        const wanted = request.outputs;
        const outputs = cached.filter((t) => wanted.length === 0 || wanted.some((o) => o.name === t.name));
        this.stats.recordCacheHit({
          requestNs: this.clock.nowNs() - request.receivedNs,
          queueNs: 0,
          cacheHitNs: cacheLookupNs,
        });
        return Promise.resolve({
          id: request.id,
          modelName: request.modelName,
          modelVersion: this.version,
          outputs,
        });
      }
    }
    const pruned = this.prunedFor(request);
    this.inflight += 1;
    return new Promise<InferResponse>((resolve, reject) => {
      const computeStartNs = this.clock.nowNs();
      const batchSize = this.plan.batching ? Math.max(1, request.inputs[0]?.shape[0] ?? 1) : 1;
      const context = new EnsembleRequest(this, this.plan, pruned, request, (outcome) => {
        this.inflight -= 1;
        // As for composing requests (model-scheduler complete()): the response is handed on first, then
        // request_end is taken and the statistics reported, as Triton's core does.
        if (outcome instanceof InferenceError) {
          reject(outcome);
          this.stats.recordFailure('OTHER', this.clock.nowNs() - request.receivedNs);
        } else {
          let cacheMissNs: number | undefined;
          // Only a response with every output can answer a later request for any subset of them.
          if (this.cache && cacheKey !== undefined && outcome.outputs.length === this.plan.outputs.length) {
            const insertStartNs = this.clock.nowNs();
            this.cache.insert(cacheKey, outcome.outputs);
            cacheMissNs = cacheLookupNs + (this.clock.nowNs() - insertStartNs);
          }
          resolve(outcome);
          const t = context.timings;
          this.stats.recordSuccess({
            batchSize,
            requestNs: this.clock.nowNs() - request.receivedNs,
            queueNs: computeStartNs - enqueueNs,
            ...t,
            ...(cacheMissNs !== undefined ? { cacheMissNs } : {}),
          });
          this.stats.recordExecution({ batchSize, ...t });
        }
        this.checkDrained();
      });
      context.start();
    });
  }

  private prunedFor(request: InferRequest): PrunedPlan {
    const wanted = request.outputs;
    const key =
      wanted.length === 0
        ? ''
        : wanted.length === 1
          ? (wanted[0] as RequestedOutput).name
          : wanted
              .map((o) => o.name)
              .sort()
              .join('\0');
    let pruned = this.pruned.get(key);
    if (!pruned) {
      pruned = prunePlan(
        this.plan,
        wanted.map((o) => o.name),
      );
      if (this.pruned.size < MAX_PRUNED_PLANS) this.pruned.set(key, pruned);
    }
    return pruned;
  }

  inflightCount(): number {
    return this.inflight;
  }

  stop(): void {
    this.stopped = true;
  }

  drain(): Promise<void> {
    if (this.inflight === 0) return Promise.resolve();
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }

  private checkDrained(): void {
    if (this.inflight !== 0 || this.drainWaiters.length === 0) return;
    const waiters = this.drainWaiters;
    this.drainWaiters = [];
    for (const w of waiters) w();
  }
}

export function createEnsembleScheduler(options: EnsembleSchedulerOptions): EnsembleScheduler {
  return new Scheduler(options);
}
