/**
 * Concurrency mode (closed loop): exactly N requests outstanding; each slot sends its next request when its
 * previous one completes. perf_analyzer's sync mode (one blocking thread per request) and async mode (a worker
 * re-sending from completion callbacks) behave the same under Node's single event loop — both are promise
 * loops here — so `callMode` only labels the run ("Using synchronous/asynchronous calls") and selects the
 * async stability relaxation. Changing N does not drain (perf_analyzer): extra slots start at once; surplus slots
 * finish their current request and stop.
 */

import type { RequestObserver } from '../measure/request-observer.ts';
import type { InferClient, PreparedRequest } from '../transport/client.ts';
import { backoffDelayMs, isConnectionFailure } from './connect-backoff.ts';
import { requestCycle } from './request-cycle.ts';
import { resizeSlots } from './slot-resize.ts';

export type CallMode = 'sync' | 'async';

export interface ClosedLoopOptions {
  client: InferClient;
  requests: readonly PreparedRequest[];
  observer: RequestObserver;
  /** Per-request timeout (ms); 0 = none. */
  timeoutMs: number;
  callMode: CallMode;
  /** Total sends allowed (perf_analyzer --request-count, warm-up included); undefined = unbounded. */
  maxSends?: number;
  /** Waits `ms` (the back-off after connection failures, connect-backoff.ts); default: an unref'd timer. */
  sleep?: (ms: number) => Promise<void>;
}

const timerSleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms).unref());

interface Slot {
  active: boolean;
}

export class ClosedLoop {
  readonly callMode: CallMode;
  private readonly nextRequest: () => number;
  private slots: Slot[] = [];
  private sends = 0;
  private outstanding = 0;
  private stopped = false;
  private drainWaiters: (() => void)[] = [];

  constructor(private readonly options: ClosedLoopOptions) {
    this.callMode = options.callMode;
    this.nextRequest = requestCycle(options.requests);
  }

  /** Target concurrency; takes effect at once for new slots, at the next completion for surplus ones. */
  setConcurrency(concurrency: number): void {
    if (this.stopped) throw new Error('ClosedLoop: already stopped');
    const resized = resizeSlots(this.slots, concurrency, () => ({ active: true }));
    this.slots = resized.slots;
    for (const slot of resized.opened) void this.run(slot);
  }

  /** Stops sending and resolves when every outstanding request has completed. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const slot of this.slots) slot.active = false;
    await this.drained();
  }

  private drained(): Promise<void> {
    if (this.outstanding === 0) return Promise.resolve();
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }

  private async run(slot: Slot): Promise<void> {
    const { client, requests, observer, timeoutMs, maxSends } = this.options;
    const sleep = this.options.sleep ?? timerSleep;
    let connectFailures = 0;
    while (slot.active && !this.stopped && (maxSends === undefined || this.sends < maxSends)) {
      if (connectFailures > 0) {
        await sleep(backoffDelayMs(connectFailures));
        if (!slot.active || this.stopped) break;
      }
      const index = this.nextRequest();
      this.sends++;
      this.outstanding++;
      observer.onSent(false);
      const outcome = await client.infer(requests[index]!, timeoutMs);
      this.outstanding--;
      observer.onCompleted(outcome, undefined, index);
      connectFailures = !outcome.ok && isConnectionFailure(outcome.errorKind) ? connectFailures + 1 : 0;
      if (this.outstanding === 0 && this.drainWaiters.length > 0) {
        const waiters = this.drainWaiters;
        this.drainWaiters = [];
        for (const w of waiters) w();
      }
    }
  }
}
