/**
 * Request-rate / custom-interval mode (open loop): sends follow a schedule, not responses. The loop sleeps
 * until the next due time and then issues EVERY request whose intended time has passed (timers fire late under
 * load; a backlog goes out at once, as in perf_analyzer), stamping each with its intended time so latency is
 * measured from it (coordinated-omission corrected; the recorder keeps the from-actual-send figure too). A send
 * more than `delayToleranceNs` late counts as delayed. With `maxInFlight` > 0, a due request that would exceed
 * the cap either waits for a free slot and is sent late (overflow 'queue', perf_analyzer's sync workers) or is
 * not sent and counted as an error of kind "dropped" (overflow 'drop', k6's dropped_iterations), visible in
 * errorsByKind and in the error rate. A new rate needs a new OpenLoop; `stop()` drains in-flight requests first
 * (perf_analyzer drains between rates) and discards requests still waiting for a slot.
 */

import type { RequestObserver } from '../measure/request-observer.ts';
import type { Clock } from '../protocol/clock.ts';
import type { InferClient, PreparedRequest } from '../transport/client.ts';
import { DueSchedule } from './due-schedule.ts';
import type { OpenLoopOverflow } from './load-settings.ts';
import { requestCycle } from './request-cycle.ts';
import type { Pacer } from './schedule.ts';

export interface OpenLoopOptions {
  clock: Clock;
  client: InferClient;
  requests: readonly PreparedRequest[];
  observer: RequestObserver;
  pacer: Pacer;
  /** Per-request timeout (ms); 0 = none. */
  timeoutMs: number;
  /** Cap on outstanding requests; 0 = unbounded. */
  maxInFlight: number;
  /** Over the cap: wait for a slot ('queue') or drop (default). */
  overflow?: OpenLoopOverflow;
  /** A send later than this after its intended time is "delayed" (perf_analyzer: 1 ms). */
  delayToleranceNs: number;
  /** Total due requests to issue (sent or dropped), warm-up included; undefined = unbounded. */
  maxSends?: number;
}

export class OpenLoop {
  private readonly nextRequest: () => number;
  private outstanding = 0;
  private drainWaiters: (() => void)[] = [];
  /** Intended send times of due requests waiting for a slot (overflow 'queue'), oldest first from `waitingHead`. */
  private waiting: number[] = [];
  private waitingHead = 0;

  private readonly schedule: DueSchedule;

  constructor(private readonly options: OpenLoopOptions) {
    this.nextRequest = requestCycle(options.requests);
    this.schedule = new DueSchedule(options.clock, options.pacer, (t) => this.issue(t), options.maxSends);
  }

  /** Starts the schedule now (the schedule's time 0). */
  start(): void {
    this.schedule.start();
  }

  /** Stops issuing and resolves when every outstanding request has completed. */
  stop(): Promise<void> {
    this.schedule.stop();
    this.waiting = [];
    this.waitingHead = 0;
    if (this.outstanding === 0) return Promise.resolve();
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }

  private issue(intendedNs: number): void {
    const { observer, maxInFlight } = this.options;
    if (maxInFlight > 0 && this.outstanding >= maxInFlight) {
      if (this.options.overflow === 'queue') this.waiting.push(intendedNs);
      else observer.onDropped();
      return;
    }
    this.send(intendedNs);
  }

  private send(intendedNs: number): void {
    const { clock, client, requests, observer, timeoutMs, delayToleranceNs } = this.options;
    const index = this.nextRequest();
    this.outstanding++;
    observer.onSent(clock.nowNs() - intendedNs > delayToleranceNs);
    void client.infer(requests[index]!, timeoutMs).then((outcome) => {
      this.outstanding--;
      observer.onCompleted(outcome, intendedNs, index);
      if (this.schedule.running && this.waitingHead < this.waiting.length) {
        const next = this.waiting[this.waitingHead++] as number;
        if (this.waitingHead > 1024 && this.waitingHead * 2 > this.waiting.length) {
          this.waiting = this.waiting.slice(this.waitingHead);
          this.waitingHead = 0;
        }
        this.send(next);
      }
      if (this.outstanding === 0 && !this.schedule.running && this.drainWaiters.length > 0) {
        const waiters = this.drainWaiters;
        this.drainWaiters = [];
        for (const w of waiters) w();
      }
    });
  }
}
