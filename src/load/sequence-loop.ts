/**
 * Concurrency mode for sequence models (perf_analyzer: in concurrency mode, sequences = concurrency): each of
 * the N slots runs one sequence at a time, one request in flight, and opens the next sequence when its
 * sequence ends (sequence-schedule.ts decides IDs, lengths and data). Every request carries `sequence_id`,
 * and `sequence_start` / `sequence_end` on the first and last request.
 *
 * Shrinking the concurrency or stopping completes the open sequences of the slots that go (one request with
 * END, as perf_analyzer's CompleteOngoingSequences), so no sequence is left holding a server slot until the
 * idle timeout. A failed request abandons its sequence: the slot's next request starts a new one.
 */

import type { RequestObserver } from '../measure/request-observer.ts';
import type { InferClient, PreparedRequest, RequestSpec } from '../transport/client.ts';
import type { SequencePlan, SequenceStep } from './sequence-schedule.ts';
import { resizeSlots } from './slot-resize.ts';

export interface SequenceLoopOptions {
  client: InferClient;
  /** Per data stream, one batch-1 request spec per step. */
  stepSpecs: readonly (readonly RequestSpec[])[];
  plan: SequencePlan;
  observer: RequestObserver;
  /** Per-request timeout (ms); 0 = none. */
  timeoutMs: number;
  /**
   * Total sends allowed (--request-count, warm-up included); undefined = unbounded. The requests that end the
   * open sequences when the loop stops come on top.
   */
  maxSends?: number;
}

interface Slot {
  readonly index: number;
  active: boolean;
}

/** The wire parameters of one sequence request (gRPC int64_param / bool_param, HTTP JSON numbers / booleans). */
export function sequenceParameters(step: SequenceStep): Record<string, number | boolean> {
  const parameters: Record<string, number | boolean> = { sequence_id: step.id };
  if (step.start) parameters.sequence_start = true;
  if (step.end) parameters.sequence_end = true;
  return parameters;
}

export class SequenceLoop {
  private readonly offsets: number[] = [];
  private slots: Slot[] = [];
  private sends = 0;
  private outstanding = 0;
  private stopped = false;
  private drainWaiters: (() => void)[] = [];
  /** Slot indexes free for reuse (a slot index names a sequence status in the plan). */
  private freeIndexes: number[] = [];
  private nextIndex = 0;

  constructor(private readonly options: SequenceLoopOptions) {
    let offset = 0;
    for (const stream of options.stepSpecs) {
      this.offsets.push(offset);
      offset += stream.length;
    }
  }

  /** Target concurrency (= open sequences); surplus slots end their sequence and stop. */
  setConcurrency(concurrency: number): void {
    if (this.stopped) throw new Error('SequenceLoop: already stopped');
    const resized = resizeSlots(this.slots, concurrency, () => ({
      index: this.freeIndexes.shift() ?? this.nextIndex++,
      active: true,
    }));
    this.slots = resized.slots;
    for (const slot of resized.opened) void this.run(slot);
  }

  /** Stops sending, ends the open sequences, and resolves when every outstanding request has completed. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const slot of this.slots) slot.active = false;
    if (this.outstanding === 0) return;
    await new Promise<void>((resolve) => this.drainWaiters.push(resolve));
  }

  private budgetLeft(): boolean {
    return this.options.maxSends === undefined || this.sends < this.options.maxSends;
  }

  private async run(slot: Slot): Promise<void> {
    const { plan } = this.options;
    this.outstanding++;
    try {
      while (slot.active && !this.stopped && this.budgetLeft()) {
        this.sends++;
        await this.send(slot.index, plan.next(slot.index));
      }
      // Leaving (shrunk, stopped or out of budget): end the sequence this slot still has open.
      const last = plan.finish(slot.index);
      if (last) await this.send(slot.index, last);
    } finally {
      this.freeIndexes.push(slot.index);
      this.outstanding--;
      if (this.outstanding === 0 && this.drainWaiters.length > 0) {
        const waiters = this.drainWaiters;
        this.drainWaiters = [];
        for (const w of waiters) w();
      }
    }
  }

  private async send(slotIndex: number, step: SequenceStep): Promise<void> {
    const { client, stepSpecs, observer, timeoutMs, plan } = this.options;
    const spec = stepSpecs[step.stream]?.[step.step] as RequestSpec;
    const prepared: PreparedRequest = client.prepare({
      ...spec,
      parameters: { ...spec.parameters, ...sequenceParameters(step) },
    });
    observer.onSent(false);
    const outcome = await client.infer(prepared, timeoutMs);
    if (!outcome.ok) plan.abandon(slotIndex);
    const index = (this.offsets[step.stream] ?? 0) + step.step;
    observer.onCompleted(outcome, undefined, index, { id: step.id, end: step.end });
  }
}
