/**
 * One scheduler per model version, shared by all its instances (Triton `core:src/dynamic_batch_scheduler.cc`
 * with the rate limiter off). Requests arrive validated; the scheduler answers them.
 *
 * **Default scheduler** (no `dynamic_batching`): every request is its own payload, FIFO, executed alone by the
 * first idle instance (a client batch of 8 stays one execution of 8). No priorities, timeouts or queue limits.
 * Instances that queue (the ORT instance: ModelInstance.queueExecution) are handed requests ahead, up to
 * QUEUED_PER_INSTANCE_MAX each, to the one holding fewest; those handed over in one turn travel to its thread
 * in one message, and each still runs alone, in order. Where Triton would give a request to whichever
 * instance frees first, here it waits behind the ones its instance holds (at most that cap; the same instance
 * type runs at the same speed, so the order of completion barely changes).
 *
 * **Dynamic batcher**: requests wait in a {@link PriorityQueue}; whenever a *payload slot* exists the batcher
 * ({@link formDynamicBatch}) moves requests into the current payload, which keeps growing until an instance
 * starts executing it. A slot exists when an instance is idle, or — when prefetching is allowed (one priority
 * level, default policy without timeout/override/max size) — while fewer than 2 × instances payloads are
 * queued. While no slot is free requests accumulate, so batches grow under load. The batcher runs in a
 * microtask after the triggering event, so requests enqueued in one synchronous burst are seen together.
 * Triton's instance-side merge of small queued payloads is not needed here: a new payload is only started
 * once the current one is saturated or executing, so a queued payload that could still grow is always the
 * last one and there is nothing behind it to merge.
 *
 * **Staged payloads.** Where payloads may be formed ahead (prefetch, or the default scheduler), a payload is
 * handed to an instance that can stage it (core/types.ts StagedBatch) — an idle one, or else the busy one
 * that started first — and keeps growing there: the batcher appends to it until the instance starts it. The
 * ORT instance's worker starts its staged batch by itself the moment its running batch ends, so the next
 * execution does not wait for the main thread to hear of the result and send a batch back (two thread
 * wake-ups, 0.1–1 ms each on a loaded CPU). Queue time ends when the instance starts the batch.
 *
 * Queue policies: `max_queue_size` overflow is rejected synchronously and not counted; expired REJECT requests
 * get UNAVAILABLE `Request timeout expired` (counted, reason REJECTED) when the batcher runs, and while no slot
 * is free a sweep runs at the closest deadline (at least every 500 ms, never sooner than 1 ms, like Triton's
 * slot wait); expired DELAY requests move behind their level. Requests whose `signal` aborts while still
 * queued are answered CANCELLED (reason CANCELED); once in a payload they run to completion (as Triton).
 *
 * Statistics: `queue` = compute start − enqueue, `success` = response − `receivedNs`, compute durations of the
 * whole batch per request, one `batch_stats` entry per execution; see ModelStatsRecorder.
 */
import type { Clock, TimerHandle } from '../../../src/protocol/clock.ts';
import type { ModelConfig, ModelDynamicBatching } from '../../../src/protocol/gen/model_config_pb.ts';
import { InferenceError, isInferenceError } from '../../../src/protocol/status.ts';
import type { Tensor } from '../../../src/protocol/tensor.ts';
import { NS_PER_MS, NS_PER_US } from '../../../src/protocol/units.ts';
import { ResponseCache } from '../cache/response-cache.ts';
import type {
  ExecutionResult,
  ExecutionStamps,
  ExecutionTimings,
  InferRequest,
  InferResponse,
  ModelInstance,
  StagedBatch,
} from '../core/types.ts';
import { requestIdPrefix } from '../core/validate-request.ts';
import type { FailureReason, ModelStatsRecorder } from '../stats/model-stats.ts';
import { formDynamicBatch } from './batch-formation.ts';
import { OrderedRelease } from './ordered-release.ts';
import { PriorityQueue } from './priority-queue.ts';
import { deadlineNs, effectiveTimeoutUs, resolveQueuePolicies } from './queue-policy.ts';
import { requestedResponse } from './requested-response.ts';
import { createSignatureFn } from './shape-signature.ts';
import { splitBatchOutputs } from './split-outputs.ts';

export interface SchedulerOptions {
  /** The normalised config (dynamic_batching preferred sizes already defaulted). */
  config: ModelConfig;
  version: string;
  instances: readonly ModelInstance[];
  clock: Clock;
  stats: ModelStatsRecorder;
  /** The server-wide cache, when the server has one. */
  cache?: ResponseCache;
  /** Model `response_cache { enable: true }` (used only together with `cache`). */
  cacheEnabled: boolean;
}

export interface ModelScheduler {
  /** Schedules a validated request; resolves with its response or rejects with an InferenceError. */
  enqueue(request: InferRequest): Promise<InferResponse>;
  /** Triton's pending request count: accepted, not yet executing (`nv_inference_pending_request_count`). */
  pendingCount(): number;
  /** Accepted and not yet answered (queued, executing, or held for ordering). */
  inflightCount(): number;
  /** Rejects new requests from now on; queued and executing ones still complete. */
  stop(): void;
  /** Resolves once nothing is queued, executing or waiting to be answered. */
  drain(): Promise<void>;
}

/** Longest wait between two slot-wait sweeps of expired requests (Triton's default batcher wait). */
const SWEEP_MAX_NS = 500 * NS_PER_MS;
/** Shortest wait between sweeps, so that a near deadline does not become a busy poll. */
const SWEEP_MIN_NS = NS_PER_MS;
/**
 * Default scheduler on instances that queue (ModelInstance.queueExecution): the most requests handed to one
 * instance and not yet answered, and the count it must fall below before it takes more. Requests then reach
 * an instance's thread several to a message (all those handed over in one turn) instead of one by one, and
 * the instance still holds work while the refill travels. A cap, so that a request waits behind at most this
 * many on one instance while another may free up (Triton hands each request to the first free instance).
 */
export const QUEUED_PER_INSTANCE_MAX = 16;
export const QUEUE_REFILL_BELOW = 8;
/** Cap for one armed timer; a later re-evaluation is harmless, an overflowing timer is not. */
const MAX_TIMER_NS = 60_000 * NS_PER_MS;

export function timeoutExpiredError(): InferenceError {
  return new InferenceError('UNAVAILABLE', 'Request timeout expired');
}

export function queueFullError(id: string): InferenceError {
  return new InferenceError('UNAVAILABLE', `${requestIdPrefix(id)}Exceeds maximum queue size`);
}

export function stoppingError(id: string): InferenceError {
  return new InferenceError(
    'UNAVAILABLE',
    `${requestIdPrefix(id)}Server is stopping, scheduler for model has stopped accepting new inference requests`,
  );
}

/** Triton answers a cancelled request with a bare CANCELLED status; the text here is ours. */
export function cancelledError(id: string): InferenceError {
  return new InferenceError('CANCELLED', `${requestIdPrefix(id)}Request was cancelled`);
}

interface Entry {
  readonly request: InferRequest;
  /** First dim when the model batches, else 1 (rows of this request in the batched outputs). */
  readonly rows: number;
  /** `max(1, rows)`: what the batcher sums and `inference_count` adds. */
  readonly batchSize: number;
  readonly enqueueNs: number;
  readonly signature: string;
  readonly level: number;
  deadlineNs: number;
  readonly cacheKey: string | undefined;
  readonly cacheLookupNs: number;
  orderSlot: number | undefined;
  detachSignal: (() => void) | undefined;
  readonly resolve: (response: InferResponse) => void;
  readonly reject: (error: InferenceError) => void;
}

interface Payload {
  readonly entries: Entry[];
  batchSize: number;
  readonly signature: string;
  saturated: boolean;
  /** Known to be executing (handed to an idle instance, or its staged batch was seen started). */
  executing: boolean;
  /** Set once staged on an instance (appended to until the instance starts it). */
  staged: StagedBatch | undefined;
}

/** What the scheduler tracks of one instance. */
interface InstanceState {
  /** Payloads handed to it and not yet answered (running, or staged behind the running one). */
  submitted: number;
  /** When its oldest unanswered payload was handed over (the one to finish first). */
  sinceNs: number;
  /** The payload staged on it last (it may have started since). */
  staged: Payload | undefined;
  /** Queueing instances: taking requests until QUEUED_PER_INSTANCE_MAX since it fell below the refill mark. */
  filling: boolean;
}

function preferredSizes(config: ModelConfig, batching: ModelDynamicBatching): number[] {
  const sizes = [...new Set(batching.preferredBatchSize)].sort((a, b) => a - b);
  // Normalisation puts max_batch_size there when none is given; be robust to a config that skipped it.
  return sizes.length === 0 && config.maxBatchSize > 0 ? [config.maxBatchSize] : sizes;
}

/** Copies an execution's instance stamps onto a traced request. */
function markExecution(request: InferRequest, stamps: ExecutionStamps): void {
  const s = request.stamps;
  if (!s) return;
  s.mark('workerReceived', stamps.workerReceivedNs);
  s.mark('runStart', stamps.runStartNs);
  s.mark('runEnd', stamps.runEndNs);
  s.mark('workerPosted', stamps.workerPostedNs);
  s.mark('resultReceived', stamps.resultReceivedNs);
}

function errorOf(e: unknown): InferenceError {
  if (isInferenceError(e)) return e;
  return new InferenceError('INTERNAL', e instanceof Error ? e.message : String(e), { cause: e });
}

class Scheduler implements ModelScheduler {
  private readonly config: ModelConfig;
  private readonly version: string;
  private readonly clock: Clock;
  private readonly stats: ModelStatsRecorder;
  private readonly cache: ResponseCache | undefined;
  private readonly instanceCount: number;
  private readonly batching: ModelDynamicBatching | undefined;
  private readonly modelBatches: boolean;
  private readonly maxBatchSize: number;
  private readonly preferred: number[];
  private readonly delayNs: number;
  private readonly outputNames: string[];
  private readonly signatureOf: ((inputs: readonly Tensor[]) => string) | undefined;
  private readonly policies: ReturnType<typeof resolveQueuePolicies>;
  private readonly queue: PriorityQueue<Entry>;
  private readonly ordering: OrderedRelease | undefined;

  private readonly idle: ModelInstance[];
  private readonly instanceStates = new Map<ModelInstance, InstanceState>();
  /**
   * Whether payloads may be staged on busy instances (see StagedBatch): when the batcher may prefetch, and
   * always for the default scheduler. With priorities or timeouts a payload is formed only for an idle
   * instance, as in Triton, so that late high-priority requests still go first.
   */
  private readonly stagingAllowed: boolean;
  /** Default scheduler whose instances all queue (queueExecution): payloads go out by dispatchQueued(). */
  private readonly queueing: boolean;
  /** Queued payloads not yet handed to any instance. */
  private readonly payloads: Payload[] = [];
  private current: Payload | undefined;
  private executing = 0;
  private inflight = 0;
  private stopped = false;
  private batcherScheduled = false;
  private wakeTimer: TimerHandle | undefined;
  private drainWaiters: (() => void)[] = [];

  constructor(o: SchedulerOptions) {
    this.config = o.config;
    this.version = o.version;
    this.clock = o.clock;
    this.stats = o.stats;
    this.cache = o.cacheEnabled ? o.cache : undefined;
    this.idle = [...o.instances];
    this.instanceCount = o.instances.length;
    this.batching =
      o.config.schedulingChoice.case === 'dynamicBatching' ? o.config.schedulingChoice.value : undefined;
    this.modelBatches = o.config.maxBatchSize > 0;
    this.maxBatchSize = Math.max(1, o.config.maxBatchSize);
    this.preferred = this.batching ? preferredSizes(o.config, this.batching) : [];
    this.delayNs = Number(this.batching?.maxQueueDelayMicroseconds ?? 0n) * NS_PER_US;
    this.outputNames = o.config.output.map((out) => out.name);
    this.signatureOf = createSignatureFn(o.config);
    this.policies = resolveQueuePolicies(this.batching);
    this.queue = new PriorityQueue<Entry>(this.policies);
    this.stagingAllowed = !this.batching || this.policies.supportsPrefetch;
    this.queueing =
      !this.batching && o.instances.length > 0 && o.instances.every((i) => i.queueExecution !== undefined);
    for (const instance of o.instances) {
      this.instanceStates.set(instance, { submitted: 0, sinceNs: 0, staged: undefined, filling: false });
    }
    this.ordering = this.batching?.preserveOrdering ? new OrderedRelease() : undefined;
  }

  enqueue(request: InferRequest): Promise<InferResponse> {
    if (this.stopped) return Promise.reject(stoppingError(request.id));
    const enqueueNs = this.clock.nowNs();
    request.stamps?.mark('enqueued', enqueueNs);
    const rows = this.modelBatches ? (request.inputs[0]?.shape[0] ?? 1) : 1;

    let cacheKey: string | undefined;
    let cacheLookupNs = 0;
    if (this.cache) {
      const lookupStartNs = this.clock.nowNs();
      cacheKey = ResponseCache.key(this.config.name, this.version, request.inputs);
      const cached = this.cache.lookup(cacheKey);
      cacheLookupNs = this.clock.nowNs() - lookupStartNs;
      if (cached) {
        try {
          return this.answerFromCache(request, cached, lookupStartNs - enqueueNs, cacheLookupNs);
        } catch (e) {
          return Promise.reject(errorOf(e));
        }
      }
    }

    const level = this.batching ? this.policies.levelOf(request.priority) : 1;
    if (this.batching && !this.queue.hasRoom(level)) return Promise.reject(queueFullError(request.id));

    return new Promise<InferResponse>((resolve, reject) => {
      const entry: Entry = {
        request,
        rows,
        batchSize: Math.max(1, rows),
        enqueueNs,
        // Only the batcher compares signatures; the default scheduler never needs one.
        signature: this.batching ? (this.signatureOf?.(request.inputs) ?? '') : '',
        level,
        deadlineNs: this.batching
          ? deadlineNs(enqueueNs, effectiveTimeoutUs(this.policies.policyOf(level), request.timeoutUs))
          : 0,
        cacheKey,
        cacheLookupNs,
        orderSlot: undefined,
        detachSignal: undefined,
        resolve,
        reject,
      };
      this.inflight += 1;
      if (!this.batching) {
        this.payloads.push({
          entries: [entry],
          batchSize: entry.batchSize,
          signature: entry.signature,
          saturated: true,
          executing: false,
          staged: undefined,
        });
        this.dispatch();
        return;
      }
      this.queue.push(entry);
      this.watchSignal(entry);
      this.kick();
    });
  }

  pendingCount(): number {
    let n = this.queue.size();
    for (const p of this.payloads) n += p.entries.length;
    if (this.queueing) {
      // Handed to an instance, one request each: all but the one it is running wait there.
      for (const state of this.instanceStates.values()) n += Math.max(0, state.submitted - 1);
      return n;
    }
    return n + this.stagedNotStarted().entries;
  }

  inflightCount(): number {
    return this.inflight;
  }

  stop(): void {
    this.stopped = true;
  }

  drain(): Promise<void> {
    if (this.isDrained()) return Promise.resolve();
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }

  /** A cache hit: answered at once, never queued or executed (held for order under preserve_ordering). */
  private answerFromCache(
    request: InferRequest,
    cached: readonly Tensor[],
    queueNs: number,
    lookupNs: number,
  ): Promise<InferResponse> {
    const response = this.responseOf(request, cached);
    this.stats.recordCacheHit({
      requestNs: this.clock.nowNs() - request.receivedNs,
      queueNs,
      cacheHitNs: lookupNs,
    });
    if (!this.ordering) return Promise.resolve(response);
    const slot = this.ordering.reserve();
    this.inflight += 1;
    return new Promise((resolve) => {
      this.ordering?.complete(slot, () => {
        this.inflight -= 1;
        resolve(response);
        this.checkDrained();
      });
    });
  }

  private watchSignal(entry: Entry): void {
    const signal = entry.request.signal;
    if (!signal) return;
    const onAbort = (): void => {
      if (!this.queue.remove(entry)) return;
      entry.detachSignal = undefined;
      this.fail(entry, cancelledError(entry.request.id), 'CANCELED');
      this.kick();
    };
    if (signal.aborted) {
      onAbort();
      return;
    }
    signal.addEventListener('abort', onAbort, { once: true });
    entry.detachSignal = () => signal.removeEventListener('abort', onAbort);
  }

  /**
   * Runs the batcher once, after the current synchronous work (coalesces bursts). A reaction on a settled
   * promise, not queueMicrotask: Node's queueMicrotask makes an AsyncResource and a bound function per call.
   */
  private kick(): void {
    if (this.batcherScheduled || !this.batching) return;
    this.batcherScheduled = true;
    void SETTLED.then(this.runScheduledBatcher);
  }

  private readonly runScheduledBatcher = (): void => {
    this.batcherScheduled = false;
    this.runBatcher();
  };

  private slotAvailable(): boolean {
    if (this.policies.supportsPrefetch) return this.queuedPayloads() < 2 * this.instanceCount;
    return this.idle.length > this.payloads.length;
  }

  /** Payloads formed and not yet executing: queued here, or staged on an instance that has not started them. */
  private queuedPayloads(): number {
    return this.payloads.length + this.stagedNotStarted().payloads;
  }

  /** Payloads staged on instances that have not started them yet (at most one per instance), and their requests. */
  private stagedNotStarted(): { payloads: number; entries: number } {
    let payloads = 0;
    let entries = 0;
    for (const state of this.instanceStates.values()) {
      if (!state.staged || this.started(state.staged)) continue;
      payloads += 1;
      entries += state.staged.entries.length;
    }
    return { payloads, entries };
  }

  /** Whether the payload can no longer grow because an instance is executing it. */
  private started(payload: Payload): boolean {
    if (!payload.executing && payload.staged?.started()) payload.executing = true;
    return payload.executing;
  }

  private runBatcher(): void {
    this.wakeTimer?.cancel();
    this.wakeTimer = undefined;
    for (;;) {
      if (this.current && (this.current.saturated || this.started(this.current))) this.current = undefined;
      const nowNs = this.clock.nowNs();
      for (const e of this.queue.applyTimeouts(nowNs)) this.fail(e, timeoutExpiredError(), 'REJECTED');
      if (this.queue.size() === 0) break;
      if (!this.slotAvailable()) {
        this.armSweep(nowNs);
        break;
      }
      const payload = this.current;
      const decision = formDynamicBatch({
        candidates: this.queue.inOrder(),
        payloadBatchSize: payload?.batchSize ?? 0,
        payloadSignature: payload?.signature ?? '',
        preferredBatchSizes: this.preferred,
        maxBatchSize: this.maxBatchSize,
        delayNs: this.delayNs,
        nowNs,
        closestDeadlineNs: this.queue.closestDeadlineNs(),
        checkInputs: this.signatureOf !== undefined,
      });
      if (decision.kind === 'wait') {
        if (decision.saturated && payload) payload.saturated = true;
        this.arm(decision.waitNs);
        break;
      }
      if (decision.count === 0) {
        if (decision.saturated && payload) {
          payload.saturated = true;
          continue;
        }
        break;
      }
      this.moveIntoPayload(this.queue.takeFirst(decision.count), decision.saturated);
      this.dispatch();
    }
    this.checkDrained();
  }

  private moveIntoPayload(entries: Entry[], saturated: boolean): void {
    let payload = this.current;
    if (payload?.staged) {
      let appended: boolean;
      try {
        appended = payload.staged.append(entries.map((e) => e.request.inputs));
      } catch (err) {
        for (const e of entries) this.fail(e, errorOf(err), 'BACKEND');
        return;
      }
      if (appended) {
        const nowNs = this.clock.nowNs();
        for (const e of entries) e.request.stamps?.mark('dispatched', nowNs);
      } else {
        // The instance started it first: these requests open the next payload (the batcher re-walks it).
        payload.executing = true;
        this.current = undefined;
        payload = undefined;
        saturated = false;
      }
    }
    if (!payload) {
      const first = entries[0] as Entry;
      payload = {
        entries: [],
        batchSize: 0,
        signature: first.signature,
        saturated: false,
        executing: false,
        staged: undefined,
      };
      this.current = payload;
      this.payloads.push(payload);
    }
    for (const e of entries) {
      e.detachSignal?.();
      e.detachSignal = undefined;
      if (this.ordering) e.orderSlot = this.ordering.reserve();
      payload.entries.push(e);
      payload.batchSize += e.batchSize;
    }
    if (saturated) payload.saturated = true;
  }

  /** Sweep of expired requests while no slot is free: at the closest deadline, within [1 ms, 500 ms]. */
  private armSweep(nowNs: number): void {
    const closest = this.queue.closestDeadlineNs();
    if (closest === 0) return;
    this.arm(Math.min(SWEEP_MAX_NS, Math.max(SWEEP_MIN_NS, closest - nowNs)));
  }

  private arm(delayNs: number): void {
    this.wakeTimer?.cancel();
    this.wakeTimer = this.clock.setTimer(
      () => {
        this.wakeTimer = undefined;
        this.runBatcher();
      },
      Math.min(delayNs, MAX_TIMER_NS),
    );
  }

  /**
   * Hands queued payloads to idle instances, first idle instance first; with staging allowed, then to busy
   * instances that can stage one behind their running batch (the one that started first first).
   */
  private dispatch(): void {
    if (this.queueing) {
      this.dispatchQueued();
      return;
    }
    while (this.payloads.length > 0) {
      const payload = this.payloads[0] as Payload;
      const idle = this.idle[0];
      const instance = idle ?? (this.stagingAllowed ? this.stageTarget() : undefined);
      if (!instance || !this.submit(instance, payload)) break;
      if (idle) this.idle.shift();
      this.payloads.shift();
    }
  }

  /**
   * Default scheduler, queueing instances: each payload to the instance holding the fewest unanswered ones
   * (the first on a tie: an idle instance first), while it takes more (QUEUED_PER_INSTANCE_MAX,
   * QUEUE_REFILL_BELOW). What one turn hands an instance reaches its thread in one message.
   */
  private dispatchQueued(): void {
    while (this.payloads.length > 0) {
      let best: ModelInstance | undefined;
      let bestSubmitted = Number.POSITIVE_INFINITY;
      for (const [instance, state] of this.instanceStates) {
        const takes =
          state.submitted < QUEUE_REFILL_BELOW ||
          (state.filling && state.submitted < QUEUED_PER_INSTANCE_MAX);
        if (takes && state.submitted < bestSubmitted) {
          best = instance;
          bestSubmitted = state.submitted;
        }
      }
      if (!best) return;
      const payload = this.payloads.shift() as Payload;
      const state = this.instanceStates.get(best) as InstanceState;
      const nowNs = this.clock.nowNs();
      const entry = payload.entries[0] as Entry;
      payload.executing = true;
      let result: Promise<ExecutionResult>;
      try {
        result = (best.queueExecution as NonNullable<ModelInstance['queueExecution']>)(
          entry.request.inputs,
          this.outputNames,
        );
      } catch (err) {
        result = Promise.reject(errorOf(err));
      }
      state.submitted += 1;
      state.filling = state.submitted < QUEUED_PER_INSTANCE_MAX;
      this.executing += 1;
      entry.request.stamps?.mark('dispatched', nowNs);
      void this.finish(best, payload, result, nowNs);
    }
  }

  /** A busy instance that can stage a payload now: it has none staged that has not started. */
  private stageTarget(): ModelInstance | undefined {
    let best: ModelInstance | undefined;
    let bestSinceNs = Number.POSITIVE_INFINITY;
    for (const [instance, state] of this.instanceStates) {
      if (!instance.stage || state.submitted === 0) continue;
      if (state.staged && !this.started(state.staged)) continue;
      if (state.sinceNs < bestSinceNs) {
        best = instance;
        bestSinceNs = state.sinceNs;
      }
    }
    return best;
  }

  /** Hands `payload` to `instance` (staged when allowed and possible); false when the instance cannot take it. */
  private submit(instance: ModelInstance, payload: Payload): boolean {
    const state = this.instanceStates.get(instance) as InstanceState;
    const nowNs = this.clock.nowNs();
    const inputs = payload.entries.map((e) => e.request.inputs);
    const staged = this.stagingAllowed ? this.stageOn(instance, inputs) : undefined;
    let result: Promise<ExecutionResult>;
    if (staged) {
      payload.staged = staged;
      state.staged = payload;
      result = staged.result;
    } else {
      // No staging here: only an idle instance can take the payload, sealed from now on.
      if (state.submitted > 0) return false;
      payload.executing = true;
      result = instance.execute(inputs, this.outputNames);
    }
    if (state.submitted === 0) state.sinceNs = nowNs;
    state.submitted += 1;
    this.executing += 1;
    for (const e of payload.entries) e.request.stamps?.mark('dispatched', nowNs);
    void this.finish(instance, payload, result, nowNs);
    return true;
  }

  /** The instance's staged batch of `inputs`, or undefined when it cannot stage (now). A failure to stage fails the batch. */
  private stageOn(
    instance: ModelInstance,
    inputs: ReadonlyArray<readonly Tensor[]>,
  ): StagedBatch | undefined {
    if (!instance.stage) return undefined;
    try {
      return instance.stage(inputs, this.outputNames);
    } catch (err) {
      return { append: () => false, started: () => true, result: Promise.reject(errorOf(err)) };
    }
  }

  /** Answers a payload's requests once its execution settles, and frees the instance. */
  private async finish(
    instance: ModelInstance,
    payload: Payload,
    pending: Promise<ExecutionResult>,
    submittedNs: number,
  ): Promise<void> {
    const entries = payload.entries;
    try {
      let outcome:
        | {
            outputs: Tensor[][];
            responses: InferResponse[];
            timings: ExecutionTimings;
            computeStartNs: number;
          }
        | InferenceError;
      try {
        const result = await pending;
        if (result.stamps) for (const e of entries) markExecution(e.request, result.stamps);
        const outputs = this.modelBatches
          ? splitBatchOutputs(
              result.outputs,
              entries.map((e) => e.rows),
            )
          : [result.outputs];
        outcome = {
          outputs,
          responses: entries.map((e, i) => this.responseOf(e.request, outputs[i] as Tensor[])),
          timings: {
            computeInputNs: result.computeInputNs,
            computeInferNs: result.computeInferNs,
            computeOutputNs: result.computeOutputNs,
          },
          // A staged batch starts when the instance claims it, not when it was handed over.
          computeStartNs: result.startedNs ?? submittedNs,
        };
      } catch (err) {
        outcome = errorOf(err);
      }
      if (outcome instanceof InferenceError) {
        for (const e of entries) this.fail(e, outcome, 'BACKEND');
      } else {
        this.complete(entries, outcome.outputs, outcome.responses, outcome.timings, outcome.computeStartNs);
      }
    } finally {
      const state = this.instanceStates.get(instance) as InstanceState;
      this.executing -= 1;
      state.submitted -= 1;
      if (state.staged === payload) state.staged = undefined;
      // dispatchQueued() reads the counts, not the idle list.
      if (state.submitted === 0 && !this.queueing) this.idle.push(instance);
      else state.sinceNs = this.clock.nowNs();
      this.dispatch();
      // Only waiting requests need the batcher (an empty queue has nothing to batch or time out).
      if (this.queue.size() > 0) this.kick();
      this.checkDrained();
    }
  }

  /** Records one successful execution and answers its requests (inserting into the cache first). */
  private complete(
    entries: readonly Entry[],
    outputs: readonly Tensor[][],
    responses: readonly InferResponse[],
    timings: ExecutionTimings,
    computeStartNs: number,
  ): void {
    const batchSize = entries.reduce((n, e) => n + e.batchSize, 0);
    this.stats.recordExecution({ batchSize, ...timings });
    let cacheMissNs: (number | undefined)[] | undefined;
    if (this.cache) {
      cacheMissNs = entries.map((e, i) => {
        if (!this.cache || e.cacheKey === undefined) return undefined;
        const insertStartNs = this.clock.nowNs();
        this.cache.insert(e.cacheKey, outputs[i] as Tensor[]);
        return e.cacheLookupNs + (this.clock.nowNs() - insertStartNs);
      });
    }
    // Triton's backend sends the responses, then reports each request's statistics: request_end is taken
    // once the responses are handed on (here: their promises resolved), as the core's ReportStatistics does.
    for (let i = 0; i < entries.length; i++) {
      const e = entries[i] as Entry;
      e.request.secondaryStats?.(timings);
      this.settle(e, () => e.resolve(responses[i] as InferResponse));
    }
    const endNs = this.clock.nowNs();
    for (let i = 0; i < entries.length; i++) {
      const e = entries[i] as Entry;
      e.request.stamps?.mark('completed', endNs);
      this.stats.recordSuccess({
        batchSize: e.batchSize,
        requestNs: endNs - e.request.receivedNs,
        queueNs: computeStartNs - e.enqueueNs,
        ...timings,
        cacheMissNs: cacheMissNs?.[i],
      });
    }
  }

  /** The response of `request` from all model outputs (model order), keeping only the requested ones. */
  private responseOf(request: InferRequest, outputs: readonly Tensor[]): InferResponse {
    return requestedResponse(request, outputs, this.outputNames, this.version);
  }

  private fail(entry: Entry, error: InferenceError, reason: FailureReason): void {
    entry.detachSignal?.();
    entry.detachSignal = undefined;
    this.stats.recordFailure(reason, this.clock.nowNs() - entry.request.receivedNs);
    this.settle(entry, () => entry.reject(error));
  }

  /** Delivers an outcome, in dispatch order under preserve_ordering. */
  private settle(entry: Entry, deliver: () => void): void {
    const finish = (): void => {
      this.inflight -= 1;
      deliver();
      this.checkDrained();
    };
    if (this.ordering && entry.orderSlot !== undefined) this.ordering.complete(entry.orderSlot, finish);
    else finish();
  }

  private isDrained(): boolean {
    return (
      this.queue.size() === 0 && this.payloads.length === 0 && this.executing === 0 && this.inflight === 0
    );
  }

  private checkDrained(): void {
    if (this.drainWaiters.length === 0 || !this.isDrained()) return;
    const waiters = this.drainWaiters;
    this.drainWaiters = [];
    for (const w of waiters) w();
  }
}

/** Settled once: kick() chains the batcher run on it. */
const SETTLED = Promise.resolve();

/** Creates the scheduler of one model version (default scheduler or dynamic batcher, per the config). */
export function createScheduler(options: SchedulerOptions): ModelScheduler {
  return new Scheduler(options);
}
