/**
 * Worker-thread entry of a model instance's gather thread. The main thread sends it the requests of a batch
 * staged behind the one the ORT thread is running (ort-instance.ts routes them here); it copies each
 * message's tensors into one buffer per input as they arrive (batch-gather.ts), in parallel with the run.
 * It also claims these stages (stage-control.ts): when the ORT thread says it is free, when a message comes
 * while the ORT thread is free, or at once when the batch holds max_batch_size rows (it cannot grow, so
 * closing it early changes nothing) — and sends the batch, every input one transferred buffer, to the ORT
 * thread, which runs it as it comes. The ORT thread never waits for this one: the receipt of one message
 * per request, the transfer bookkeeping of every request buffer and the gather copy all leave the thread
 * that runs the model, which only runs it.
 */
import { parentPort, receiveMessageOnPort, workerData } from 'node:worker_threads';
import { BatchGatherer, BufferPool } from './batch-gather.ts';
import { onMessagesDrained } from './drain-port.ts';
import {
  claimStage,
  countWaitingBatch,
  openStageGen,
  runnerBusy,
  setRunnerBusy,
  stagePostsSeen,
  stageRoutedToGather,
  waitForStagePost,
  waitingBatches,
} from './stage-control.ts';
import { threadUsage } from './thread-usage.ts';
import type { FromGather, GatherWorkerData, StageMessage, ToGather, ToWorker } from './worker-protocol.ts';

const mainPort = parentPort;
if (!mainPort) throw new Error('gather-worker.ts must run in a worker thread');
const init = workerData as GatherWorkerData;
const control = new Int32Array(init.stageControl);
const runner = init.runnerPort;
const pool = new BufferPool();
const options = { bucketSizes: init.bucketSizes, capacityRows: init.capacityRows };
/** Batches being gathered, by stage generation. */
const gathering = new Map<number, BatchGatherer>();
/** Most time a claimed batch may wait for a message the main thread counted but had not yet posted. */
const COLLECT_TIMEOUT_MS = 10_000;

function toRunner(message: FromGather, transfer: ArrayBuffer[] = []): void {
  runner.postMessage(message, transfer);
}

function gathererOf(gen: number): BatchGatherer {
  let g = gathering.get(gen);
  if (!g) {
    g = new BatchGatherer(pool, options);
    gathering.set(gen, g);
  }
  return g;
}

function onStage(m: StageMessage): void {
  gathererOf(m.gen).add(m.inputs, m.outputNames, m.requests);
  maybeClaim();
}

/**
 * Claims the open stage when it is this thread's and either the ORT thread is free, or the batch holds
 * max_batch_size rows (it cannot grow: closed now, it waits at the ORT thread) and no other batch waits there.
 */
function maybeClaim(): void {
  const open = openStageGen(control);
  if (open === undefined || !stageRoutedToGather(control, open)) return;
  const rows = gathering.get(open)?.rows() ?? 0;
  const full = init.capacityRows > 0 && rows >= init.capacityRows && waitingBatches(control) === 0;
  if (full || !runnerBusy(control)) claimAndSend();
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** Claims the open stage if it is this thread's, and sends it gathered. */
function claimAndSend(): void {
  const open = openStageGen(control);
  if (open === undefined || !stageRoutedToGather(control, open)) return;
  const claim = claimStage(control, open);
  if (!claim) return;
  // The ORT thread has a batch to run from now on: later messages must not close the next one early.
  setRunnerBusy(control, true);
  handOver(claim.gen, claim.count);
}

/** Sends claimed generation `gen` once its `count` requests are all here (reading late ones off the port). */
function handOver(gen: number, count: number): void {
  const deadline = Date.now() + COLLECT_TIMEOUT_MS;
  try {
    while (gathererOf(gen).count() < count) {
      const seen = stagePostsSeen(control);
      const next = receiveMessageOnPort(mainPort as NonNullable<typeof mainPort>);
      if (next) {
        const m = next.message as ToWorker;
        // A later generation's message cannot come first: the next stage opens only after this claim.
        if (m.type === 'stage') gathererOf(m.gen).add(m.inputs, m.outputNames, m.requests);
        else if (m.type === 'usage') reportUsage();
        continue;
      }
      if (Date.now() > deadline) {
        throw new Error(
          `staged batch ${gen}: ${count - gathererOf(gen).count()} of ${count} requests never arrived`,
        );
      }
      waitForStagePost(control, seen, 100);
    }
    const g = gathererOf(gen);
    gathering.delete(gen);
    const batch = g.finish();
    countWaitingBatch(control, 1);
    toRunner(
      {
        type: 'gathered',
        gen,
        batch: {
          type: 'run',
          seq: -1,
          inputs: batch.inputs,
          outputNames: batch.outputNames,
          ...(batch.rows === undefined ? {} : { rows: batch.rows }),
        },
      },
      batch.transfer,
    );
  } catch (e) {
    gathering.get(gen)?.discard();
    gathering.delete(gen);
    countWaitingBatch(control, 1);
    toRunner({ type: 'gather-error', gen, message: errorText(e) });
  }
}

function reportUsage(): void {
  (mainPort as NonNullable<typeof mainPort>).postMessage({
    type: 'usage',
    ...threadUsage(),
    runMs: 0,
    runs: 0,
  });
}

onMessagesDrained<ToWorker>(mainPort, (m) => {
  if (m.type === 'stage') onStage(m);
  else if (m.type === 'usage') reportUsage();
});
runner.on('message', (m: ToGather) => {
  // Stale news is harmless: maybeClaim reads the state as it is now.
  if (m.type === 'free' || m.type === 'dequeued') maybeClaim();
  else if (m.type === 'recycle') for (const b of m.buffers) pool.give(b);
});
runner.unref();
