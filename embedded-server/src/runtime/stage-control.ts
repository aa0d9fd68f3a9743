/**
 * The shared word through which an instance's main-thread handle and its worker agree on the staged batch
 * (see StagedBatch in core/types.ts) without a round trip: the main thread opens a stage and appends
 * requests to it, the worker claims it when it is free, and whichever of "append" and "claim" comes first
 * decides whether the appended requests are in the batch. All updates are atomic on one Int32:
 *
 *   bits 16–30: stage generation (mod 2^15) · bit 15: claimed · bits 0–14: requests appended
 *
 * The main thread posts a stage message only after its append succeeded, so the count a claim reads is
 * exactly the number of requests the worker will find in the messages of that generation. Slot 1 counts the
 * stage messages posted, for the worker to wait on while one it has counted is still on its way.
 *
 * With a gather thread (gather-worker.ts), slot 2 says which thread the open stage's messages go to (the main
 * thread sets it before opening: `gen << 1 | 1` = the gather thread, which then also claims it), slot 3
 * is 1 while the ORT thread has a batch to run (set by the gather thread when it hands one over), and slot 4
 * counts gathered batches handed over and not yet started (the gather thread closes a full batch early only
 * while none waits: one running, at most one waiting, so the queue does not drain into the instance).
 */

const WORD = 0;
const POSTED = 1;
const ROUTE = 2;
const BUSY = 3;
const WAITING = 4;
export const STAGE_CONTROL_BYTES = 5 * Int32Array.BYTES_PER_ELEMENT;

const CLAIMED = 1 << 15;
const COUNT_MASK = CLAIMED - 1;
const GEN_SHIFT = 16;
export const GEN_MASK = (1 << 15) - 1;
/** Most requests one staged batch can hold (the count field's width). */
export const MAX_STAGE_REQUESTS = COUNT_MASK;

/** A fresh control block: no stage open (claimed, generation 0). */
export function createStageControl(): Int32Array {
  const ctl = new Int32Array(new SharedArrayBuffer(STAGE_CONTROL_BYTES));
  ctl[WORD] = CLAIMED;
  return ctl;
}

export function generationOf(word: number): number {
  return (word >>> GEN_SHIFT) & GEN_MASK;
}

/**
 * Main thread: opens generation `gen` holding `count` requests, if the previous stage was claimed. False
 * while a stage is still open (one staged batch at a time).
 */
export function openStage(ctl: Int32Array, gen: number, count: number): boolean {
  const word = Atomics.load(ctl, WORD);
  if ((word & CLAIMED) === 0 || count < 1 || count > MAX_STAGE_REQUESTS) return false;
  // Only the worker writes besides us, and its claim leaves a claimed word as it is: this exchange cannot
  // lose a race, but is checked anyway.
  return Atomics.compareExchange(ctl, WORD, word, ((gen & GEN_MASK) << GEN_SHIFT) | count) === word;
}

/** Main thread: adds `count` requests to open generation `gen`; false once it was claimed (or would overflow). */
export function appendToStage(ctl: Int32Array, gen: number, count: number): boolean {
  for (;;) {
    const word = Atomics.load(ctl, WORD);
    if ((word & CLAIMED) !== 0 || generationOf(word) !== (gen & GEN_MASK)) return false;
    if ((word & COUNT_MASK) + count > MAX_STAGE_REQUESTS) return false;
    if (Atomics.compareExchange(ctl, WORD, word, word + count) === word) return true;
  }
}

/** Whether generation `gen` was claimed (a later generation being open implies it). */
export function stageClaimed(ctl: Int32Array, gen: number): boolean {
  const word = Atomics.load(ctl, WORD);
  return (word & CLAIMED) !== 0 || generationOf(word) !== (gen & GEN_MASK);
}

/**
 * Worker: claims generation `gen` if it is the open stage; its request count, or undefined when it is not
 * (claimed already, or the main thread opened a later one since `gen` was read). A claim names its
 * generation because the thread decided on the route of the one it read: with a gather thread, an unnamed
 * claim could take the next stage, routed to the other thread, whose messages then never reach the claimer.
 */
export function claimStage(ctl: Int32Array, gen: number): { gen: number; count: number } | undefined {
  for (;;) {
    const word = Atomics.load(ctl, WORD);
    if ((word & CLAIMED) !== 0 || generationOf(word) !== (gen & GEN_MASK)) return undefined;
    // Fails only when the main thread appended in between: read the new count and try again.
    if (Atomics.compareExchange(ctl, WORD, word, word | CLAIMED) === word) {
      return { gen: generationOf(word), count: word & COUNT_MASK };
    }
  }
}

/** Main thread, after posting a stage message: counts it and wakes a worker waiting for it. */
export function notifyStagePosted(ctl: Int32Array): void {
  Atomics.add(ctl, POSTED, 1);
  Atomics.notify(ctl, POSTED);
}

/** Worker: the posted-message counter, to wait on with {@link waitForStagePost}. */
export function stagePostsSeen(ctl: Int32Array): number {
  return Atomics.load(ctl, POSTED);
}

/** Worker: blocks until a stage message is posted after `seen` was read, or `timeoutMs` passes. */
export function waitForStagePost(ctl: Int32Array, seen: number, timeoutMs: number): void {
  Atomics.wait(ctl, POSTED, seen, timeoutMs);
}

/** Main thread, before opening generation `gen`: whether its stage messages go to the gather thread. */
export function setStageRoute(ctl: Int32Array, gen: number, viaGather: boolean): void {
  Atomics.store(ctl, ROUTE, ((gen & GEN_MASK) << 1) | (viaGather ? 1 : 0));
}

/** ORT thread, after claiming generation `gen`: whether its messages went to the gather thread. */
export function stageRoutedToGather(ctl: Int32Array, gen: number): boolean {
  const route = Atomics.load(ctl, ROUTE);
  return (route & 1) === 1 && route >>> 1 === (gen & GEN_MASK);
}

/** ORT thread: marks itself running a batch (1) or free (0); the gather thread marks it busy as it hands one over. */
export function setRunnerBusy(ctl: Int32Array, busy: boolean): void {
  Atomics.store(ctl, BUSY, busy ? 1 : 0);
}

/** Gather thread: whether the ORT thread is running a batch (if not, it must be told a stage is open). */
export function runnerBusy(ctl: Int32Array): boolean {
  return Atomics.load(ctl, BUSY) === 1;
}

/** The open (unclaimed) stage's generation, or undefined when none is open. */
export function openStageGen(ctl: Int32Array): number | undefined {
  const word = Atomics.load(ctl, WORD);
  return (word & CLAIMED) !== 0 ? undefined : generationOf(word);
}

/** Gather thread: a gathered batch was handed over (+1); ORT thread: one was started (−1). */
export function countWaitingBatch(ctl: Int32Array, delta: 1 | -1): void {
  Atomics.add(ctl, WAITING, delta);
}

/** Gathered batches handed to the ORT thread and not started yet. */
export function waitingBatches(ctl: Int32Array): number {
  return Atomics.load(ctl, WAITING);
}
