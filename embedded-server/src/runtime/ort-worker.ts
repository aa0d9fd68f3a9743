/**
 * Worker-thread entry of one model instance: owns one ORT InferenceSession, whose `run()` blocks the thread
 * it is called on, and so must not run on the main thread. Gathers each batch, runs it, and sends the
 * outputs back by transfer. Measures Triton's compute_input / compute_infer / compute_output durations here,
 * next to the work. Run failures are answered as messages; the worker itself keeps going.
 */
import { parentPort, receiveMessageOnPort, workerData } from 'node:worker_threads';
import { type InferenceSession, Tensor as OrtTensor } from 'onnxruntime-node';
import { systemClockFrom } from '../../../src/protocol/clock.ts';
import { datatypeFromOrtType } from '../../../src/protocol/datatypes.ts';
import { firstRows } from './batch-buckets.ts';
import { onMessagesDrained } from './drain-port.ts';
import { sleepThreadUs } from './execution-delay.ts';
import { ScratchArena } from './scratch-arena.ts';
import { SessionSet } from './session-set.ts';
import {
  claimStage,
  countWaitingBatch,
  openStageGen,
  setRunnerBusy,
  stagePostsSeen,
  stageRoutedToGather,
  waitForStagePost,
} from './stage-control.ts';
import { concatBatch, fromOrtTensor, toOrtTensor } from './tensor-map.ts';
import { threadUsage } from './thread-usage.ts';
import type {
  FromGather,
  FromWorker,
  OrtValueInfo,
  QueueMessage,
  RunMessage,
  StageMessage,
  ToGather,
  ToWorker,
  WireInput,
  WireOutput,
  WorkerData,
} from './worker-protocol.ts';

const port = parentPort;
if (!port) throw new Error('ort-worker.ts must run in a worker thread');
const init = workerData as WorkerData;

function post(message: FromWorker, transfer: ArrayBuffer[] = []): void {
  (port as NonNullable<typeof port>).postMessage(message, transfer);
}

/**
 * Results of queued executions held back to travel to the main thread together: while more queued executions
 * are ready to run and each takes under HOLD_RUN_MAX_NS, results wait for the next ones, up to HOLD_MAX_NS
 * after the first was held and HOLD_MAX of them. A tiny model's result then waits at most ~0.1 ms, for one
 * message (and one main-thread wake-up) per group instead of per request; a model whose runs take longer
 * never holds a result, and a lone request (nothing queued behind it) is posted at once.
 */
type ResultMessage = Extract<FromWorker, { type: 'result' }>;
const held: { message: ResultMessage; transfer: ArrayBuffer[] }[] = [];
let heldSinceNs = 0;
const HOLD_RUN_MAX_NS = init.resultHold?.runMaxNs ?? 50_000;
const HOLD_MAX_NS = init.resultHold?.ageMaxNs ?? 100_000;
const HOLD_MAX = 16;

/** Posts the held results, one message for several. */
function flushHeld(): void {
  if (held.length === 0) return;
  const group = held.splice(0);
  // Posted now, not when they were held (the stamp traces where a request's time went).
  const postedNs = clock.nowNs();
  for (const g of group) g.message.postedNs = postedNs;
  if (group.length === 1) {
    const only = group[0] as (typeof group)[number];
    postResult(only.message, only.transfer);
    return;
  }
  const transfer: ArrayBuffer[] = [];
  for (const g of group) for (const b of g.transfer) transfer.push(b);
  try {
    post({ type: 'results', results: group.map((g) => g.message) }, transfer);
  } catch {
    // One result whose buffers refuse to move must not hold up the others: each alone, with its fallback.
    for (const g of group) postResult(g.message, g.transfer);
  }
}

/** Posts a result whose output buffers move by transfer, or as copies when a buffer refuses to move. */
function postResult(result: ResultMessage, transfer: ArrayBuffer[]): void {
  try {
    post(result, transfer);
  } catch {
    // A buffer ORT owns may refuse to move: send copies instead.
    for (const o of result.outputs) {
      o.buffer = o.buffer.slice(o.byteOffset, o.byteOffset + o.byteLength);
      o.byteOffset = 0;
    }
    post(
      result,
      result.outputs.map((o) => o.buffer),
    );
  }
}

function valueInfos(meta: readonly InferenceSession.ValueMetadata[]): OrtValueInfo[] {
  return meta.map((m) =>
    m.isTensor
      ? {
          name: m.name,
          datatype: datatypeFromOrtType(m.type),
          dims: m.shape.map((d) => (typeof d === 'number' && d >= 0 ? d : -1)),
        }
      : { name: m.name, datatype: undefined, dims: [] },
  );
}

const clock = systemClockFrom(init.clockOriginNs);

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** The batch's row count (Σ dim 0 of the first input's parts), or undefined when it has no batch dim. */
function batchRows(msg: RunMessage): number | undefined {
  if (msg.rows !== undefined) return msg.rows;
  const shapes = msg.inputs[0]?.shapes ?? [];
  if (shapes.length === 0 || shapes.some((s) => s.length === 0)) return undefined;
  return shapes.reduce((n, s) => n + (s[0] as number), 0);
}

/** An output of a padded run cut back to the batch's real rows (a view for numeric data). */
function realRows(tensor: OrtTensor, paddedRows: number | undefined, rows: number | undefined): OrtTensor {
  if (paddedRows === undefined || rows === undefined) return tensor;
  const cut = firstRows(tensor.data as Float32Array, tensor.dims, paddedRows, rows);
  if (cut.data === tensor.data) return tensor;
  return new OrtTensor(tensor.type as 'float32', cut.data, cut.dims);
}

/**
 * Batch inputs are gathered here. ORT keeps no reference to its inputs once `run()` returns, but the binding
 * defers the native run by a setImmediate, so the arena is reset only when no run is between gathering and
 * returning.
 */
const scratch = new ScratchArena();
const takeScratch = (bytes: number): Uint8Array => scratch.take(bytes);
let runsUsingScratch = 0;

/** A staged batch being run: its generation, when this worker claimed it, and whether the gather thread built it. */
interface StageRun {
  gen: number;
  claimedNs: number;
  gathered: boolean;
}

const gatherPort = init.gatherPort;

function toGather(message: ToGather, transfer: ArrayBuffer[] = []): void {
  gatherPort?.postMessage(message, transfer);
}

/** Gives a gathered batch's input buffers back to the gather thread (ORT keeps no reference after a run). */
function recycle(msg: RunMessage): void {
  const buffers: ArrayBuffer[] = [];
  for (const input of msg.inputs) {
    for (const b of input.buffers) {
      // An output may have left by transfer in the same buffer (never seen, but then it is gone: skip it).
      if (b.byteLength > 0 && !buffers.includes(b)) buffers.push(b);
    }
  }
  if (buffers.length === 0) return;
  try {
    toGather({ type: 'recycle', buffers }, buffers);
  } catch {
    // Not worth failing for: the gather thread allocates anew.
  }
}

/** Set by a `close` message: no new run starts, and the thread ends itself once no run is going on. */
let closing = false;
let exiting = false;

/** Ends this thread from inside between runs (a terminate() from outside during a native run aborts the process). */
async function exitWhenIdle(sessions: SessionSet): Promise<void> {
  if (!closing || exiting || runsUsingScratch > 0) return;
  flushHeld();
  exiting = true;
  await sessions.release();
  process.exit(0);
}

/** Gathered batches (or their gather failures) received while a run was going on, in generation order. */
const ready: ({ gen: number; batch: RunMessage } | { gen: number; error: string })[] = [];

/** Starts the next gathered batch when nothing runs; reports gather failures in their turn. */
function pump(sessions: SessionSet): void {
  while (!closing && runsUsingScratch === 0 && ready.length > 0) {
    const next = ready.shift() as (typeof ready)[number];
    countWaitingBatch(stageControl, -1);
    // A full batch may be waiting to be closed until this one left the queue.
    const open = openStageGen(stageControl);
    if (open !== undefined && stageRoutedToGather(stageControl, open)) toGather({ type: 'dequeued' });
    if ('error' in next) {
      post({ type: 'run-error', seq: -1, stage: next.gen, message: next.error });
      continue;
    }
    gatheredRuns += 1;
    void run(sessions, next.batch, { gen: next.gen, claimedNs: clock.nowNs(), gathered: true });
  }
}

/** Separate executions queued by the main thread (QueueMessage), oldest first; they go before staged batches. */
const queued: RunMessage[] = [];

/** A QueueMessage as one RunMessage per execution (request i's part of every input). */
function splitQueued(m: QueueMessage): RunMessage[] {
  const runs: RunMessage[] = [];
  for (let i = 0; i < m.count; i++) {
    runs.push({
      type: 'run',
      seq: m.firstSeq + i,
      queued: true,
      outputNames: m.outputNames,
      inputs: m.inputs.map((input) => ({
        name: input.name,
        datatype: input.datatype,
        shapes: [input.shapes[i] as number[]],
        buffers: [input.buffers[i] as ArrayBuffer],
        byteOffsets: [input.byteOffsets[i] as number],
        byteLengths: [input.byteLengths[i] as number],
      })),
    });
  }
  return runs;
}

/**
 * Free again: the next queued execution, else the next gathered batch, else the staged batch if one waits,
 * without asking the main thread.
 * Also after a gathered batch that failed to gather: the gather thread marked this thread busy when it
 * claimed it, and only this thread clears that (left set, the gather thread would wait for a `free` forever).
 */
function nextWhenFree(sessions: SessionSet): void {
  const next = closing ? undefined : queued.shift();
  if (next) {
    void run(sessions, next);
    return;
  }
  flushHeld();
  pump(sessions);
  if (runsUsingScratch === 0) {
    setRunnerBusy(stageControl, false);
    startStagedBatch(sessions);
  }
}

async function run(sessions: SessionSet, msg: RunMessage, stage?: StageRun): Promise<void> {
  runsUsingScratch += 1;
  setRunnerBusy(stageControl, true);
  try {
    await gatherRunAndPost(sessions, msg, stage);
  } catch (e) {
    flushHeld();
    post({ type: 'run-error', seq: msg.seq, ...(stage ? { stage: stage.gen } : {}), message: errorText(e) });
  } finally {
    if (stage?.gathered) recycle(msg);
    runsUsingScratch -= 1;
    if (closing) {
      void exitWhenIdle(sessions);
    } else if (runsUsingScratch === 0) {
      scratch.reset();
      nextWhenFree(sessions);
    }
  }
}

const stageControl = new Int32Array(init.stageControl);
/** Stage messages received, by generation, until their batch is claimed. */
const stageParts = new Map<number, StageMessage[]>();
/** Most time a claimed batch may wait for a message the main thread counted but had not yet posted. */
const STAGE_COLLECT_TIMEOUT_MS = 10_000;

function keepStagePart(m: StageMessage): void {
  const parts = stageParts.get(m.gen);
  if (parts) parts.push(m);
  else stageParts.set(m.gen, [m]);
}

/**
 * The claimed generation's requests as one RunMessage. Its messages are normally all here already (they were
 * posted while the previous batch ran); one that was counted but is still on its way is read straight off
 * the port, waiting on the posted counter.
 */
function collectStage(gen: number, count: number, deferred: ToWorker[]): RunMessage {
  const deadline = Date.now() + STAGE_COLLECT_TIMEOUT_MS;
  const have = (): number => (stageParts.get(gen) ?? []).reduce((n, m) => n + m.requests, 0);
  while (have() < count) {
    const seen = stagePostsSeen(stageControl);
    const next = receiveMessageOnPort(port as NonNullable<typeof port>);
    if (next) {
      const m = next.message as ToWorker;
      if (m.type === 'stage') keepStagePart(m);
      else deferred.push(m);
      continue;
    }
    if (Date.now() > deadline) {
      stageParts.delete(gen);
      throw new Error(`staged batch ${gen}: ${count - have()} of ${count} requests never arrived`);
    }
    waitForStagePost(stageControl, seen, 100);
  }
  const parts = stageParts.get(gen) ?? [];
  stageParts.delete(gen);
  // One message holding the whole batch (a lone request at concurrency 1, or a stage nothing was appended
  // to): it is the batch as it is.
  const only = parts.length === 1 ? parts[0] : undefined;
  if (only) return { type: 'run', seq: -1, inputs: only.inputs, outputNames: only.outputNames };
  const byName = new Map<string, WireInput>();
  for (const part of parts) {
    for (const input of part.inputs) {
      const into = byName.get(input.name);
      if (!into) {
        byName.set(input.name, { ...input });
        continue;
      }
      into.shapes = into.shapes.concat(input.shapes);
      into.buffers = into.buffers.concat(input.buffers);
      into.byteOffsets = into.byteOffsets.concat(input.byteOffsets);
      into.byteLengths = into.byteLengths.concat(input.byteLengths);
    }
  }
  return { type: 'run', seq: -1, inputs: [...byName.values()], outputNames: parts[0]?.outputNames ?? [] };
}

/**
 * Claims and starts the staged batch, when one is open and this worker runs nothing. A stage routed to the
 * gather thread is that thread's to claim: it is told this one is free, and sends the batch gathered.
 */
function startStagedBatch(sessions: SessionSet): void {
  if (closing || runsUsingScratch > 0 || ready.length > 0 || queued.length > 0) return;
  const open = openStageGen(stageControl);
  if (open === undefined) return;
  if (gatherPort !== undefined && stageRoutedToGather(stageControl, open)) {
    toGather({ type: 'free' });
    return;
  }
  const claim = claimStage(stageControl, open);
  if (!claim) return;
  const claimedNs = clock.nowNs();
  const deferred: ToWorker[] = [];
  let msg: RunMessage;
  try {
    msg = collectStage(claim.gen, claim.count, deferred);
  } catch (e) {
    post({ type: 'run-error', seq: -1, stage: claim.gen, message: errorText(e) });
    return;
  } finally {
    for (const m of deferred) setImmediate(() => onMessage(sessions, m));
  }
  void run(sessions, msg, { gen: claim.gen, claimedNs, gathered: false });
}

/** Time inside ORT's run() and runs made, for `usage` replies. */
let runNsTotal = 0;
let runsTotal = 0;
let gatheredRuns = 0;

function onMessage(sessions: SessionSet, msg: ToWorker): void {
  if (msg.type === 'close') {
    closing = true;
    void exitWhenIdle(sessions);
    return;
  }
  // Work sent before the close was already failed by the instance: start nothing new.
  if (closing && msg.type !== 'usage') return;
  if (msg.type === 'usage') {
    post({ type: 'usage', ...threadUsage(), runMs: runNsTotal / 1e6, runs: runsTotal, gatheredRuns });
    return;
  }
  if (msg.type === 'stage') {
    keepStagePart(msg);
    startStagedBatch(sessions);
    return;
  }
  if (msg.type === 'queue') {
    for (const r of splitQueued(msg)) queued.push(r);
    if (runsUsingScratch === 0) nextWhenFree(sessions);
    return;
  }
  void run(sessions, msg);
}

async function gatherRunAndPost(sessions: SessionSet, msg: RunMessage, stage?: StageRun): Promise<void> {
  const t0 = stage?.claimedNs ?? clock.nowNs();
  const rows = batchRows(msg);
  const { session, paddedRows } = sessions.choose(rows);
  const feeds: Record<string, OrtTensor> = {};
  for (const input of msg.inputs) {
    const parts = input.buffers.map((b, i) => ({
      shape: input.shapes[i] as number[],
      data: new Uint8Array(b, input.byteOffsets[i], input.byteLengths[i]),
    }));
    // Concatenation and bucket padding in one copy (none when the gather thread sent it padded already).
    const prePadded = msg.rows !== undefined && parts.length === 1 && parts[0]?.shape[0] === paddedRows;
    const pad =
      paddedRows === undefined || prePadded
        ? undefined
        : { rows: paddedRows, bytesElements: input.datatype === 'BYTES' };
    feeds[input.name] = toOrtTensor(
      input.name,
      input.datatype,
      concatBatch(input.name, parts, pad, takeScratch),
      takeScratch,
    );
  }
  const t1 = clock.nowNs();
  const fetches = msg.outputNames.length > 0 ? msg.outputNames : [...session.outputNames];
  const results = await session.run(feeds, fetches);
  sleepThreadUs(init.executionDelayUs ?? 0);
  const t2 = clock.nowNs();
  runNsTotal += t2 - t1;
  runsTotal += 1;
  const outputs: WireOutput[] = fetches.map((name) => {
    const out = fromOrtTensor(name, realRows(results[name] as OrtTensor, paddedRows, rows));
    return {
      name,
      datatype: out.datatype,
      shape: out.shape,
      buffer: out.data.buffer as ArrayBuffer,
      byteOffset: out.data.byteOffset,
      byteLength: out.data.byteLength,
    };
  });
  const t3 = clock.nowNs();
  const result: ResultMessage = {
    type: 'result',
    seq: msg.seq,
    ...(stage ? { stage: stage.gen } : {}),
    outputs,
    computeInputNs: t1 - t0,
    computeInferNs: t2 - t1,
    computeOutputNs: t3 - t2,
    receivedNs: t0,
    runStartNs: t1,
    runEndNs: t2,
    postedNs: t3,
  };
  const transfer = [...new Set(outputs.map((o) => o.buffer))];
  // A queued execution with more queued behind it, on a model that runs fast: its result may wait for theirs.
  const hold =
    msg.queued === true &&
    !closing &&
    queued.length > 0 &&
    t2 - t1 < HOLD_RUN_MAX_NS &&
    held.length < HOLD_MAX &&
    (held.length === 0 || t3 - heldSinceNs < HOLD_MAX_NS);
  if (hold) {
    if (held.length === 0) heldSinceNs = t3;
    held.push({ message: result, transfer });
    return;
  }
  flushHeld();
  postResult(result, transfer);
}

async function main(): Promise<void> {
  let sessions: SessionSet;
  try {
    sessions = await SessionSet.create(init.modelPath, init.sessionOptions, init.batchBuckets);
  } catch (e) {
    // The handle terminates this worker once it has read the message.
    post({ type: 'load-error', message: errorText(e) });
    return;
  }
  // Stage messages come in bursts (one per request while a batch runs): take them without an event each.
  onMessagesDrained<ToWorker>(port as NonNullable<typeof port>, (msg) => onMessage(sessions, msg));
  // Batches the gather thread claimed and built; run in the order they come, one at a time.
  gatherPort?.on('message', (m: FromGather) => {
    ready.push(m.type === 'gathered' ? { gen: m.gen, batch: m.batch } : { gen: m.gen, error: m.message });
    // While a run is going on, its end takes the batch.
    if (!closing && runsUsingScratch === 0) nextWhenFree(sessions);
  });
  post({
    type: 'ready',
    inputs: valueInfos(sessions.main.inputMetadata),
    outputs: valueInfos(sessions.main.outputMetadata),
    bucketSizes: [...sessions.bucketSizes],
    bucketWarmMs: sessions.warmMs,
  });
}

await main();
