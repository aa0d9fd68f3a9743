/**
 * The sequence batcher (Triton `core:src/sequence_batch_scheduler.cc`) for stateful models: every request
 * belongs to a sequence named by its correlation ID (`sequence_id`, uint64 or string), and all requests of
 * one sequence go, in order and one at a time, to the same *slot* of the same instance.
 *
 * Slots: each instance has `max(1, max_batch_size)` slots with the `direct` strategy and
 * `max_candidate_sequences` (default `max(1, max_batch_size)`) with `oldest`. A START request claims a free
 * slot (the lowest-numbered one of the first instance that has one); when none is free its sequence waits in
 * the backlog, FIFO, and gets the next slot released. A slot is released when the sequence's END request has
 * executed, or when the sequence was idle (no request enqueued or completed) for
 * `max_sequence_idle_microseconds`; a later request of a released sequence without START is refused with
 * Triton's "must specify the START flag" message. The correlation ID is forgotten as soon as END is
 * *enqueued*, so a new START with the same ID opens a new sequence (Triton's rule).
 *
 * Batches, per instance, one execution at a time: with `direct`, the batch has one row per slot up to the
 * highest slot that has a request ready, and the slots in between are padded with null requests (READY false,
 * zero inputs, outputs dropped), so a slot always maps to the same batch row; `max_queue_delay_microseconds`
 * with `minimum_slot_utilization` lets the batcher wait for more slots to be ready. With `oldest`, the batch
 * takes the oldest waiting request of up to `max_batch_size` sequences (no padding), waiting up to
 * `max_queue_delay_microseconds` for the largest preferred batch size.
 *
 * Each row gets the control tensors (sequence-controls.ts) and the implicit state of its sequence
 * (implicit-state.ts); state outputs are kept per sequence and never returned to the client.
 *
 * Statistics as Triton: `queue` = compute start − enqueue, one execution per batch whose size counts the
 * padding rows, one success per real request. Errors before enqueue (batch size, correlation ID, START) are
 * INVALID_ARG and not counted.
 */
import type { Clock, TimerHandle } from '../../../src/protocol/clock.ts';
import { elementCount } from '../../../src/protocol/datatypes.ts';
import type { ModelConfig, ModelSequenceBatching } from '../../../src/protocol/gen/model_config_pb.ts';
import { inSequence } from '../../../src/protocol/infer-parameters.ts';
import { InferenceError, isInferenceError } from '../../../src/protocol/status.ts';
import type { Tensor } from '../../../src/protocol/tensor.ts';
import { NS_PER_US } from '../../../src/protocol/units.ts';
import type { ExecutionResult, InferRequest, InferResponse, ModelInstance } from '../core/types.ts';
import type { ModelStatsRecorder } from '../stats/model-stats.ts';
import { keptState, type StateSpec } from './implicit-state.ts';
import type { ModelScheduler } from './model-scheduler.ts';
import { stoppingError } from './model-scheduler.ts';
import { requestedResponse } from './requested-response.ts';
import { controlTensors, type SequenceControls, sequenceControlsOf } from './sequence-controls.ts';
import { splitBatchOutputs } from './split-outputs.ts';

export interface SequenceBatcherOptions {
  config: ModelConfig;
  version: string;
  instances: readonly ModelInstance[];
  clock: Clock;
  stats: ModelStatsRecorder;
  /** The model's implicit states with their initial values (implicit-state.ts loadStateSpecs). */
  states: readonly StateSpec[];
  log?: (line: string) => void;
}

/** A sequence batcher is a ModelScheduler that also holds a timer (the idle reaper) to cancel on unload. */
export interface SequenceBatcher extends ModelScheduler {
  /** Open sequences (correlation IDs known to the batcher), for tests and logs. */
  openSequences(): number;
  /** Cancels the idle reaper. Call after `drain`. */
  dispose(): void;
}

interface Entry {
  readonly request: InferRequest;
  readonly start: boolean;
  readonly end: boolean;
  readonly enqueueNs: number;
  readonly resolve: (response: InferResponse) => void;
  readonly reject: (error: InferenceError) => void;
}

interface Sequence {
  readonly id: bigint | string;
  readonly key: string;
  readonly queue: Entry[];
  slot: Slot | undefined;
  /** A request of this sequence is executing (the next one waits for its state). */
  running: boolean;
  /** Implicit state for the next request; undefined = initial. */
  state: Map<string, Tensor> | undefined;
  lastActivityNs: number;
  /** Released by the idle reaper: the slot goes once its queued requests are done. */
  released: boolean;
}

interface Slot {
  readonly instance: InstanceRec;
  readonly index: number;
  sequence: Sequence | undefined;
}

interface InstanceRec {
  readonly instance: ModelInstance;
  readonly slots: Slot[];
  busy: boolean;
  /** A dispatch is queued as a microtask. */
  kicked: boolean;
  waitTimer: TimerHandle | undefined;
}

/** A row of one execution: a real request of a sequence, or padding. */
interface Row {
  readonly entry: Entry | undefined;
  readonly sequence: Sequence | undefined;
}

export function batchSizeOneError(model: string): InferenceError {
  return new InferenceError(
    'INVALID_ARG',
    `inference request to model '${model}' must specify batch-size 1 due to requirements of sequence batcher`,
  );
}

export function noCorrelationIdError(model: string): InferenceError {
  return new InferenceError(
    'INVALID_ARG',
    `inference request to model '${model}' must specify a non-zero or non-empty correlation ID`,
  );
}

export function missingStartError(id: bigint | string, model: string): InferenceError {
  return new InferenceError(
    'INVALID_ARG',
    `inference request for sequence ${String(id)} to model '${model}' must specify the START flag on the first request of the sequence`,
  );
}

function errorOf(e: unknown): InferenceError {
  if (isInferenceError(e)) return e;
  return new InferenceError('INTERNAL', e instanceof Error ? e.message : String(e), { cause: e });
}

/** Triton's SequenceId equality: a uint64 1 and the string "1" are different sequences. */
function keyOf(id: bigint | string): string {
  return typeof id === 'string' ? `s:${id}` : `u:${id}`;
}

/** Zeros shaped like `t` (a null request's input). BYTES zeros are empty strings. */
function zerosLike(t: Tensor): Tensor {
  const size = t.datatype === 'BYTES' ? 4 * elementCount(t.shape) : t.data.byteLength;
  return { name: t.name, datatype: t.datatype, shape: t.shape, data: new Uint8Array(size) };
}

class Batcher implements SequenceBatcher {
  private readonly model: string;
  private readonly version: string;
  private readonly clock: Clock;
  private readonly stats: ModelStatsRecorder;
  private readonly states: readonly StateSpec[];
  private readonly controls: SequenceControls;
  private readonly log: ((line: string) => void) | undefined;
  private readonly strategy: 'direct' | 'oldest';
  private readonly modelBatches: boolean;
  private readonly maxBatchSize: number;
  private readonly delayNs: number;
  private readonly minSlotUtilization: number;
  private readonly targetBatchSize: number;
  private readonly idleNs: number;
  private readonly outputNames: string[];
  private readonly fetchNames: string[];
  private readonly instances: InstanceRec[] = [];
  /** Correlation IDs with an open sequence (until END is enqueued or the reaper releases it). */
  private readonly sequences = new Map<string, Sequence>();
  private readonly backlog: Sequence[] = [];
  private queued = 0;
  private inflight = 0;
  private stopped = false;
  private disposed = false;
  private reaper: TimerHandle | undefined;
  private drainWaiters: (() => void)[] = [];

  constructor(o: SequenceBatcherOptions) {
    if (o.config.schedulingChoice.case !== 'sequenceBatching') {
      throw new Error(`model '${o.config.name}' has no sequence_batching`);
    }
    const batcher: ModelSequenceBatching = o.config.schedulingChoice.value;
    this.model = o.config.name;
    this.version = o.version;
    this.clock = o.clock;
    this.stats = o.stats;
    this.states = o.states;
    this.log = o.log;
    this.controls = sequenceControlsOf(o.config, batcher);
    this.modelBatches = o.config.maxBatchSize > 0;
    this.maxBatchSize = Math.max(1, o.config.maxBatchSize);
    const strategy = batcher.strategyChoice;
    this.strategy = strategy.case === 'oldest' ? 'oldest' : 'direct';
    let slotsPerInstance = this.maxBatchSize;
    if (strategy.case === 'oldest') {
      const candidates = strategy.value.maxCandidateSequences;
      if (candidates > 0) slotsPerInstance = candidates;
      this.delayNs = Number(strategy.value.maxQueueDelayMicroseconds) * NS_PER_US;
      const preferred = strategy.value.preferredBatchSize.filter((s) => s > 0);
      this.targetBatchSize = Math.min(
        this.maxBatchSize,
        preferred.length > 0 ? Math.max(...preferred) : this.maxBatchSize,
      );
      this.minSlotUtilization = 0;
    } else {
      this.delayNs = Number(strategy.value?.maxQueueDelayMicroseconds ?? 0n) * NS_PER_US;
      this.minSlotUtilization = strategy.value?.minimumSlotUtilization ?? 0;
      this.targetBatchSize = this.maxBatchSize;
    }
    if (!this.modelBatches) slotsPerInstance = 1;
    this.idleNs = Number(batcher.maxSequenceIdleMicroseconds) * NS_PER_US;
    this.outputNames = o.config.output.map((out) => out.name);
    this.fetchNames = [...this.outputNames, ...this.states.map((s) => s.outputName)];
    for (const instance of o.instances) {
      const rec: InstanceRec = { instance, slots: [], busy: false, kicked: false, waitTimer: undefined };
      for (let i = 0; i < slotsPerInstance; i++)
        rec.slots.push({ instance: rec, index: i, sequence: undefined });
      this.instances.push(rec);
    }
  }

  enqueue(request: InferRequest): Promise<InferResponse> {
    try {
      return this.enqueueNow(request);
    } catch (e) {
      return Promise.reject(errorOf(e));
    }
  }

  private enqueueNow(request: InferRequest): Promise<InferResponse> {
    const start = request.sequence?.start ?? false;
    const end = request.sequence?.end ?? false;
    // Triton lets sequences in progress finish while stopping; only new ones are refused.
    if (this.stopped && start) throw stoppingError(request.id);
    const rows = this.modelBatches ? (request.inputs[0]?.shape[0] ?? 1) : 1;
    if (rows > 1) throw batchSizeOneError(this.model);
    const id = request.sequence?.correlationId ?? 0n;
    if (!inSequence(id)) throw noCorrelationIdError(this.model);
    const key = keyOf(id);
    const existing = this.sequences.get(key);
    if (!start && !existing) throw missingStartError(id, this.model);
    const nowNs = this.clock.nowNs();
    request.stamps?.mark('enqueued', nowNs);

    return new Promise<InferResponse>((resolve, reject) => {
      const entry: Entry = { request, start, end, enqueueNs: nowNs, resolve, reject };
      this.inflight += 1;
      this.queued += 1;
      let sequence = existing;
      if (sequence) {
        if (start) {
          this.log?.(
            `sequence ${String(id)} for model '${this.model}' has a conflict. The previous sequence did not end before this sequence start. Previous sequence will be terminated early.`,
          );
        }
        sequence.queue.push(entry);
        sequence.lastActivityNs = nowNs;
        if (end) this.sequences.delete(key);
      } else {
        sequence = {
          id,
          key,
          queue: [entry],
          slot: undefined,
          running: false,
          state: undefined,
          lastActivityNs: nowNs,
          released: false,
        };
        if (!end) this.sequences.set(key, sequence);
        const slot = this.freeSlot();
        if (slot) this.assign(slot, sequence);
        else this.backlog.push(sequence);
      }
      if (sequence.slot) this.kick(sequence.slot.instance);
      this.armReaper();
    });
  }

  pendingCount(): number {
    return this.queued;
  }

  inflightCount(): number {
    return this.inflight;
  }

  openSequences(): number {
    return this.sequences.size;
  }

  stop(): void {
    this.stopped = true;
  }

  drain(): Promise<void> {
    if (this.inflight === 0) return Promise.resolve();
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }

  dispose(): void {
    this.disposed = true;
    this.reaper?.cancel();
    this.reaper = undefined;
    for (const rec of this.instances) rec.waitTimer?.cancel();
  }

  /** The lowest free slot of the first instance that has one. */
  private freeSlot(): Slot | undefined {
    for (const rec of this.instances) {
      for (const slot of rec.slots) if (!slot.sequence) return slot;
    }
    return undefined;
  }

  private assign(slot: Slot, sequence: Sequence): void {
    slot.sequence = sequence;
    sequence.slot = slot;
  }

  /** Frees a slot and hands it to the first backlogged sequence. */
  private release(slot: Slot): void {
    const old = slot.sequence;
    if (old) old.slot = undefined;
    slot.sequence = undefined;
    const next = this.backlog.shift();
    if (next) {
      this.assign(slot, next);
      // Time spent in the backlog is not idleness: the sequence could not run.
      next.lastActivityNs = this.clock.nowNs();
    }
  }

  /** A slot's sequence is done with it once it ended or was reaped and has nothing left to run. */
  private releaseIfDone(sequence: Sequence, ended: boolean): void {
    const slot = sequence.slot;
    if (!slot || sequence.running || sequence.queue.length > 0) return;
    if (ended || sequence.released) this.release(slot);
  }

  /** Rows that could run on `rec` now: slots whose sequence has a request waiting and none running. */
  private readySlots(rec: InstanceRec): Slot[] {
    return rec.slots.filter((s) => s.sequence && !s.sequence.running && s.sequence.queue.length > 0);
  }

  /** Dispatches after the current synchronous work, so that a burst of requests can share one batch. */
  private kick(rec: InstanceRec): void {
    if (rec.kicked) return;
    rec.kicked = true;
    queueMicrotask(() => {
      rec.kicked = false;
      this.dispatch(rec);
    });
  }

  private dispatch(rec: InstanceRec): void {
    if (rec.busy) return;
    rec.waitTimer?.cancel();
    rec.waitTimer = undefined;
    const ready = this.readySlots(rec);
    if (ready.length === 0) return;
    const nowNs = this.clock.nowNs();
    const oldestNs = Math.min(...ready.map((s) => (s.sequence as Sequence).queue[0]?.enqueueNs ?? nowNs));
    const waitedNs = nowNs - oldestNs;
    const enough =
      this.strategy === 'direct'
        ? ready.length / rec.slots.length >= this.minSlotUtilization
        : ready.length >= this.targetBatchSize;
    if (!enough && this.delayNs > 0 && waitedNs < this.delayNs && !this.disposed) {
      rec.waitTimer = this.clock.setTimer(() => {
        rec.waitTimer = undefined;
        this.dispatch(rec);
      }, this.delayNs - waitedNs);
      return;
    }
    this.execute(rec, this.formRows(ready));
  }

  private formRows(ready: Slot[]): Row[] {
    if (this.strategy === 'oldest') {
      const picked = [...ready]
        .sort(
          (a, b) =>
            ((a.sequence as Sequence).queue[0] as Entry).enqueueNs -
            ((b.sequence as Sequence).queue[0] as Entry).enqueueNs,
        )
        .slice(0, this.maxBatchSize);
      return picked.map((s) => this.takeHead(s.sequence as Sequence));
    }
    // direct: row i = slot i, up to the highest ready slot; idle slots below it are padding.
    const highest = Math.max(...ready.map((s) => s.index));
    const rows: Row[] = [];
    for (let i = 0; i <= highest; i++) {
      const slot = ready.find((s) => s.index === i);
      rows.push(slot ? this.takeHead(slot.sequence as Sequence) : { entry: undefined, sequence: undefined });
    }
    return rows;
  }

  private takeHead(sequence: Sequence): Row {
    const entry = sequence.queue.shift() as Entry;
    this.queued -= 1;
    sequence.running = true;
    return { entry, sequence };
  }

  /** The input tensors of one row: the request's inputs (or zeros), controls, implicit states. */
  private rowInputs(row: Row, template: readonly Tensor[]): Tensor[] {
    const { entry, sequence } = row;
    const inputs = entry ? [...entry.request.inputs] : template.map(zerosLike);
    inputs.push(
      ...controlTensors(this.controls, {
        start: entry?.start ?? false,
        end: entry?.end ?? false,
        ready: entry !== undefined,
        correlationId: sequence?.id ?? 0n,
      }),
    );
    // A START (re)initialises the state, also when it restarts a sequence that never ended.
    const kept = entry && !entry.start ? sequence?.state : undefined;
    // Copies: instances may transfer (detach) input buffers, and a state must survive a failed execution.
    for (const spec of this.states) {
      const state = kept?.get(spec.inputName) ?? spec.initial;
      inputs.push({ ...state, data: state.data.slice() });
    }
    return inputs;
  }

  private execute(rec: InstanceRec, rows: Row[]): void {
    const template = rows.find((r) => r.entry)?.entry?.request.inputs ?? [];
    const startNs = this.clock.nowNs();
    let pending: Promise<ExecutionResult>;
    try {
      const inputs = rows.map((r) => this.rowInputs(r, template));
      for (const r of rows) r.entry?.request.stamps?.mark('dispatched', startNs);
      pending = rec.instance.execute(inputs, this.fetchNames);
    } catch (e) {
      pending = Promise.reject(e);
    }
    rec.busy = true;
    void this.finish(rec, rows, pending, startNs);
  }

  private async finish(
    rec: InstanceRec,
    rows: Row[],
    pending: Promise<ExecutionResult>,
    startNs: number,
  ): Promise<void> {
    let result: ExecutionResult | InferenceError;
    let perRow: Tensor[][] = [];
    try {
      result = await pending;
      perRow = this.modelBatches
        ? splitBatchOutputs(
            result.outputs,
            rows.map(() => 1),
          )
        : [result.outputs];
    } catch (e) {
      result = errorOf(e);
    }
    const endNs = this.clock.nowNs();
    if (!(result instanceof InferenceError)) {
      this.stats.recordExecution({
        batchSize: rows.length,
        computeInputNs: result.computeInputNs,
        computeInferNs: result.computeInferNs,
        computeOutputNs: result.computeOutputNs,
      });
    }
    rows.forEach((row, i) => {
      const { entry, sequence } = row;
      if (!entry || !sequence) return;
      sequence.running = false;
      sequence.lastActivityNs = endNs;
      if (result instanceof InferenceError) {
        this.stats.recordFailure('BACKEND', endNs - entry.request.receivedNs);
        this.settle(() => entry.reject(result as InferenceError));
      } else {
        const outputs = perRow[i] as Tensor[];
        let response: InferResponse;
        try {
          sequence.state = this.nextState(outputs);
          response = this.responseOf(entry.request, outputs);
        } catch (e) {
          this.stats.recordFailure('BACKEND', endNs - entry.request.receivedNs);
          const error = errorOf(e);
          this.settle(() => entry.reject(error));
          this.afterRow(sequence, entry);
          return;
        }
        entry.request.stamps?.mark('completed', endNs);
        this.stats.recordSuccess({
          batchSize: 1,
          requestNs: endNs - entry.request.receivedNs,
          queueNs: startNs - entry.enqueueNs,
          computeInputNs: result.computeInputNs,
          computeInferNs: result.computeInferNs,
          computeOutputNs: result.computeOutputNs,
        });
        this.settle(() => entry.resolve(response));
      }
      this.afterRow(sequence, entry);
    });
    rec.busy = false;
    for (const r of this.instances) this.dispatch(r);
  }

  /** After a row ran: an END frees the slot (and drops the state); so does a reaped sequence with nothing left. */
  private afterRow(sequence: Sequence, entry: Entry): void {
    if (entry.end) sequence.state = undefined;
    this.releaseIfDone(sequence, entry.end);
  }

  private nextState(outputs: readonly Tensor[]): Map<string, Tensor> | undefined {
    if (this.states.length === 0) return undefined;
    const next = new Map<string, Tensor>();
    for (const spec of this.states) {
      const out = outputs.find((t) => t.name === spec.outputName);
      if (!out)
        throw new InferenceError(
          'INTERNAL',
          `state output '${spec.outputName}' was not produced by the model`,
        );
      next.set(spec.inputName, keptState(spec, out));
    }
    return next;
  }

  private responseOf(request: InferRequest, outputs: readonly Tensor[]): InferResponse {
    return requestedResponse(request, outputs, this.outputNames, this.version);
  }

  private settle(deliver: () => void): void {
    this.inflight -= 1;
    deliver();
    if (this.inflight === 0 && this.drainWaiters.length > 0) {
      const waiters = this.drainWaiters;
      this.drainWaiters = [];
      for (const w of waiters) w();
    }
  }

  /** One timer for the earliest idle deadline among open sequences. */
  private armReaper(): void {
    if (this.reaper || this.disposed || this.idleNs <= 0 || this.sequences.size === 0) return;
    let earliestNs = Number.POSITIVE_INFINITY;
    for (const s of this.sequences.values())
      earliestNs = Math.min(earliestNs, s.lastActivityNs + this.idleNs);
    const delayNs = Math.max(0, earliestNs - this.clock.nowNs());
    this.reaper = this.clock.setTimer(() => {
      this.reaper = undefined;
      this.reap();
    }, delayNs);
  }

  /**
   * Releases sequences idle for longer than max_sequence_idle_microseconds: their correlation IDs are
   * forgotten and their slots freed once the requests already queued have run. Backlogged sequences wait
   * (Triton revisits them later): they have had no chance to run yet.
   */
  private reap(): void {
    const nowNs = this.clock.nowNs();
    const idle = [...this.sequences].filter(([, s]) => s.slot && nowNs - s.lastActivityNs >= this.idleNs);
    for (const [key, s] of idle) {
      if (!s.slot) continue;
      this.log?.(
        `sequence ${String(s.id)} of model '${this.model}': max sequence idle exceeded, slot released`,
      );
      this.sequences.delete(key);
      s.released = true;
      const instance = s.slot.instance;
      this.releaseIfDone(s, false);
      this.dispatch(instance);
    }
    for (const rec of this.instances) this.dispatch(rec);
    this.armReaperAfterReap(nowNs);
  }

  private armReaperAfterReap(nowNs: number): void {
    if (this.disposed || this.sequences.size === 0) return;
    let earliestNs = Number.POSITIVE_INFINITY;
    for (const s of this.sequences.values()) {
      // Backlogged sequences are looked at again after 50 ms (Triton's backlog idle wait).
      const due = s.slot ? s.lastActivityNs + this.idleNs : nowNs + 50_000_000;
      earliestNs = Math.min(earliestNs, due);
    }
    this.reaper = this.clock.setTimer(
      () => {
        this.reaper = undefined;
        this.reap();
      },
      Math.max(1_000_000, earliestNs - nowNs),
    );
  }
}

/** Creates the sequence batcher of one model version. */
export function createSequenceBatcher(options: SequenceBatcherOptions): SequenceBatcher {
  return new Batcher(options);
}

/** The config's idle timeout in ns (what tests advance a fake clock by). */
export function sequenceIdleNs(config: ModelConfig): number {
  return config.schedulingChoice.case === 'sequenceBatching'
    ? Number(config.schedulingChoice.value.maxSequenceIdleMicroseconds) * NS_PER_US
    : 0;
}
