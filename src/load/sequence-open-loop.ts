/**
 * Request-rate and custom-interval modes for sequence models (perf_analyzer: `--num-of-sequences` sequences
 * share the schedule). Each due request goes to the next of the sequences in turn; that sequence's plan
 * (sequence-schedule.ts) gives its ID, flags and data, and a finished sequence is replaced by a new one.
 *
 * Without `--serial-sequences` a request is sent when due even if its sequence still has one in flight (as
 * perf_analyzer does; over HTTP two requests of one sequence may then reach the server out of order). With it,
 * a due request goes to the next sequence with nothing in flight, and waits when every sequence is busy; it is
 * sent as soon as one frees, late (counted as delayed past the tolerance), its latency measured from its
 * intended time. `stop()` discards waiting requests, ends the open sequences (one END request each, as
 * perf_analyzer completes ongoing sequences) and resolves once nothing is in flight.
 */

import type { RequestObserver } from '../measure/request-observer.ts';
import type { Clock } from '../protocol/clock.ts';
import type { InferClient, RequestSpec } from '../transport/client.ts';
import { DueSchedule } from './due-schedule.ts';
import type { Pacer } from './schedule.ts';
import { sequenceParameters } from './sequence-loop.ts';
import type { SequencePlan, SequenceStep } from './sequence-schedule.ts';

export interface SequenceOpenLoopOptions {
  clock: Clock;
  client: InferClient;
  stepSpecs: readonly (readonly RequestSpec[])[];
  plan: SequencePlan;
  /** Concurrent sequences (--num-of-sequences, this shard's share). */
  sequences: number;
  serial: boolean;
  observer: RequestObserver;
  pacer: Pacer;
  timeoutMs: number;
  delayToleranceNs: number;
  /** Due requests to issue, warm-up included; undefined = unbounded. */
  maxSends?: number;
}

export class SequenceOpenLoop {
  private readonly offsets: number[] = [];
  private readonly inFlight: number[];
  private outstanding = 0;
  private turn = 0;
  private waiting: number[] = [];
  private drainWaiters: (() => void)[] = [];

  private readonly schedule: DueSchedule;

  constructor(private readonly options: SequenceOpenLoopOptions) {
    this.schedule = new DueSchedule(options.clock, options.pacer, (t) => this.issue(t), options.maxSends);
    if (!Number.isInteger(options.sequences) || options.sequences < 1) {
      throw new RangeError(`the number of sequences must be >= 1, got ${options.sequences}`);
    }
    this.inFlight = new Array<number>(options.sequences).fill(0);
    let offset = 0;
    for (const stream of options.stepSpecs) {
      this.offsets.push(offset);
      offset += stream.length;
    }
  }

  start(): void {
    this.schedule.start();
  }

  async stop(): Promise<void> {
    this.schedule.stop();
    this.waiting = [];
    await this.idle();
    // Every sequence left open gets its END, so none keeps a server slot until the idle timeout.
    const ends: Promise<void>[] = [];
    for (let slot = 0; slot < this.options.sequences; slot++) {
      const last = this.options.plan.finish(slot);
      if (last) ends.push(this.send(slot, last, undefined));
    }
    await Promise.all(ends);
  }

  private idle(): Promise<void> {
    if (this.outstanding === 0) return Promise.resolve();
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }

  /** The sequence the next request goes to: the next in turn, or with serial the next with nothing in flight. */
  private pickSlot(): number | undefined {
    const n = this.options.sequences;
    for (let k = 0; k < n; k++) {
      const slot = (this.turn + k) % n;
      if (!this.options.serial || this.inFlight[slot] === 0) {
        this.turn = (slot + 1) % n;
        return slot;
      }
    }
    return undefined;
  }

  private issue(intendedNs: number): void {
    const slot = this.pickSlot();
    if (slot === undefined) {
      this.waiting.push(intendedNs);
      return;
    }
    const { clock, observer, delayToleranceNs, plan } = this.options;
    observer.onSent(clock.nowNs() - intendedNs > delayToleranceNs);
    void this.send(slot, plan.next(slot), intendedNs);
  }

  private async send(slot: number, step: SequenceStep, intendedNs: number | undefined): Promise<void> {
    const { client, stepSpecs, observer, timeoutMs, plan } = this.options;
    const spec = stepSpecs[step.stream]?.[step.step] as RequestSpec;
    const prepared = client.prepare({
      ...spec,
      parameters: { ...spec.parameters, ...sequenceParameters(step) },
    });
    this.outstanding++;
    this.inFlight[slot] = (this.inFlight[slot] ?? 0) + 1;
    const outcome = await client.infer(prepared, timeoutMs);
    this.outstanding--;
    this.inFlight[slot] = (this.inFlight[slot] ?? 1) - 1;
    if (!outcome.ok) plan.abandon(slot);
    const index = (this.offsets[step.stream] ?? 0) + step.step;
    observer.onCompleted(outcome, intendedNs, index, { id: step.id, end: step.end });
    if (this.schedule.running && this.waiting.length > 0) {
      const next = this.waiting.shift() as number;
      this.issue(next);
    }
    if (this.outstanding === 0 && this.drainWaiters.length > 0) {
      const waiters = this.drainWaiters;
      this.drainWaiters = [];
      for (const w of waiters) w();
    }
  }
}
