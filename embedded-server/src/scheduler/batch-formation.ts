/**
 * Triton's batch formation (`core:src/dynamic_batch_scheduler.cc GetDynamicBatch`) as a pure function: given
 * the waiting requests in service order and the payload that may still grow, decide how many requests to
 * move into the payload now, or how long to wait.
 *
 * The walk adds requests in order while they fit. Before adding one to a non-empty batch:
 * - if `payload + pending + this > max_preferred` and no preferred cut was recorded yet, the current pending
 *   size becomes the cut and the payload is saturated (it will not grow past this batch);
 * - if `payload + pending + this > max_batch_size` → send now;
 * - if its shape signature differs from the batch's (inputs with -1 dims, optional-input sets) → send now
 *   (a different shape always starts the next batch: no padding, no reordering).
 * After adding, reaching any preferred size records a cut. Then, with `age` measured from the **oldest
 * pending request** and `delay_exceeded = delay != 0 && age >= delay`:
 * 1. a preferred cut and the delay not exceeded → send exactly up to the largest preferred size reached;
 * 2. nothing pending → nothing to send;
 * 3. send-now, or `payload + pending >= max_preferred` → send all pending (payload saturated);
 * 4. delay exceeded or delay 0 → send all pending (so past the delay a batch can exceed every preferred size,
 *    up to max_batch_size; with delay 0 whatever is queued goes as soon as there is a slot);
 * 5. a payload already queued, non-empty and not at a preferred size → send (grow it) at once;
 * 6. otherwise wait `min(delay − age, time to the closest queue deadline)` (1 µs when one already passed).
 */

/** One waiting request, as the walk sees it. */
export interface BatchCandidate {
  /** `max(1, first dim)`; 1 for models that do not batch. */
  readonly batchSize: number;
  /** Clock ns when the request entered the batcher (Triton's `batcher_start`). */
  readonly enqueueNs: number;
  /** Shape signature ('' when the model needs no equal-shape check). */
  readonly signature: string;
}

export interface BatchFormationInput {
  /** Waiting requests in service order; iterated lazily and only as far as needed. */
  readonly candidates: Iterable<BatchCandidate>;
  /** Batch size already in the payload that is queued but not executing (0 = none). */
  readonly payloadBatchSize: number;
  /** Signature of that payload (ignored when it is empty). */
  readonly payloadSignature: string;
  /** Sorted ascending, distinct. */
  readonly preferredBatchSizes: readonly number[];
  /** `max(1, max_batch_size)`. */
  readonly maxBatchSize: number;
  /** `max_queue_delay_microseconds` in ns. */
  readonly delayNs: number;
  readonly nowNs: number;
  /** Earliest queue-policy deadline among waiting requests, 0 when none. */
  readonly closestDeadlineNs: number;
  /** Whether signatures must match (equal-shape inputs or optional inputs exist). */
  readonly checkInputs: boolean;
}

export type BatchDecision =
  /** Move the first `count` candidates into the payload (count may be 0); `saturated` closes the payload. */
  | { readonly kind: 'send'; readonly count: number; readonly saturated: boolean }
  | { readonly kind: 'wait'; readonly waitNs: number; readonly saturated: boolean };

/** 1 µs: Triton's wait when a pending request's deadline already passed. */
const EXPIRED_WAIT_NS = 1_000;

export function formDynamicBatch(input: BatchFormationInput): BatchDecision {
  const { payloadBatchSize: payload, maxBatchSize, delayNs, nowNs, checkInputs } = input;
  const preferred = new Set(input.preferredBatchSizes);
  const maxPreferred = input.preferredBatchSizes.length ? Math.max(...input.preferredBatchSizes) : 0;
  let signature = input.payloadSignature;
  let sendNow = false;
  let saturated = false;
  let pending = 0;
  let count = 0;
  let oldestNs = Number.POSITIVE_INFINITY;
  let bestPending = 0;
  let bestCount = 0;

  for (const c of input.candidates) {
    const size = Math.max(1, c.batchSize);
    if (payload + pending === 0) {
      if (checkInputs) signature = c.signature;
    } else {
      if (payload + pending + size > maxPreferred && bestPending === 0) {
        bestPending = pending;
        bestCount = count;
        saturated = true;
      }
      if (payload + pending + size > maxBatchSize) {
        sendNow = true;
        break;
      }
      if (checkInputs && c.signature !== signature) {
        saturated = true;
        sendNow = true;
        break;
      }
    }
    pending += size;
    count += 1;
    oldestNs = Math.min(oldestNs, c.enqueueNs);
    if (preferred.has(payload + pending)) {
      bestPending = pending;
      bestCount = count;
    }
  }

  const ageNs = count === 0 ? 0 : nowNs - oldestNs;
  const delayExceeded = delayNs !== 0 && ageNs >= delayNs;

  if (bestPending !== 0 && !delayExceeded) {
    // The delay is judged on the whole walk (as Triton); the cut only decides how many go.
    return { kind: 'send', count: bestCount, saturated: saturated || delayNs === 0 };
  }
  if (count === 0) return { kind: 'send', count: 0, saturated };
  if (sendNow || payload + pending >= maxPreferred) return { kind: 'send', count, saturated: true };
  if (delayExceeded || delayNs === 0) return { kind: 'send', count, saturated };
  if (!saturated && payload !== 0 && !preferred.has(payload)) return { kind: 'send', count, saturated };

  let waitNs = delayNs - ageNs;
  if (input.closestDeadlineNs !== 0) {
    waitNs =
      nowNs < input.closestDeadlineNs ? Math.min(input.closestDeadlineNs - nowNs, waitNs) : EXPIRED_WAIT_NS;
  }
  return { kind: 'wait', waitNs, saturated };
}
