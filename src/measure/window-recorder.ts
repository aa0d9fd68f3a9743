/**
 * Sorts request events into windows. A completion counts in the window that is open when it is delivered
 * (its end lies in that window, up to the few µs between the response and the callback: perf_analyzer's
 * "counted where its response arrived"); a send counts in the window it happens in. While no window is open
 * (warm-up, between levels) completions are discarded but counted, so warm-up can wait for them. The level's
 * first window opens the moment the warm-up is complete, not later at `begin` (which adopts it): with
 * --request-count the sends are capped, so a completion discarded in between would leave the window short
 * forever. With `recordRequestsTo`, each window also logs its requests (times, request index, kept response).
 */

import type { Clock } from '../protocol/clock.ts';
import type { InferOutcome } from '../transport/client.ts';
import { ConditionWaiters } from './condition-waiters.ts';
import type { RequestLogBudget } from './request-log.ts';
import type { RequestObserver, SequenceMark } from './request-observer.ts';
import { DROPPED_ERROR_KIND } from './request-observer.ts';
import type { WindowData } from './window-data.ts';
import {
  completedRequest,
  countCompleted,
  countFailed,
  countSent,
  openWindow,
  windowHolds,
} from './window-rules.ts';

export class WindowRecorder implements RequestObserver {
  private current: WindowData | undefined;
  private discarded = 0;
  /** Set by a warm-up wait: the first window opens once `discarded` reaches it. */
  private warmupTarget: number | undefined;
  private requestBudget: RequestLogBudget | undefined;
  private readonly waiters = new ConditionWaiters();

  constructor(
    private readonly clock: Clock,
    /** Open loop keeps the uncorrected (from actual send) latency too. */
    private readonly openLoop: boolean,
  ) {}

  onSent(delayed: boolean): void {
    if (this.current) countSent(this.current, delayed);
  }

  onDropped(): void {
    if (!this.current) return;
    countFailed(this.current, DROPPED_ERROR_KIND);
    this.waiters.wake();
  }

  onCompleted(
    outcome: InferOutcome,
    intendedStartNs: number | undefined,
    requestIndex?: number,
    sequence?: SequenceMark,
  ): void {
    const w = this.current;
    if (!w) {
      this.discarded++;
      this.openAfterWarmup();
    } else if (outcome.ok) {
      countCompleted(w, completedRequest(outcome, intendedStartNs, requestIndex, sequence?.end));
    } else {
      countFailed(w, outcome.errorKind ?? 'unknown');
    }
    this.waiters.wake();
  }

  /** True while a window is open. */
  get recording(): boolean {
    return this.current !== undefined;
  }

  /** From now on, every window logs its requests' times, within `budget` (for the profile export). */
  recordRequestsTo(budget: RequestLogBudget): void {
    this.requestBudget = budget;
  }

  /** Opens the first window of a level now, or keeps the one the end of the warm-up opened. */
  begin(): void {
    this.warmupTarget = undefined;
    this.current ??= this.emptyWindow(this.clock.nowNs());
  }

  /** Closes the open window now and opens the next one at the same instant (windows follow with no gap). */
  cut(): WindowData {
    const closed = this.close();
    this.current = this.emptyWindow(closed.endNs);
    return closed;
  }

  /** Closes the open window now and stops recording (completions are discarded until the next `begin`). */
  end(): WindowData {
    const closed = this.close();
    this.current = undefined;
    return closed;
  }

  /**
   * Resolves once `count` completions have been discarded from now on (warm-up), or when `signal` aborts. The
   * level's first window opens at that moment (at once for a count of 0).
   */
  waitForDiscarded(count: number, signal?: AbortSignal): Promise<void> {
    const target = this.discarded + count;
    this.warmupTarget = target;
    this.openAfterWarmup();
    return this.waiters.waitUntil(() => this.discarded >= target, signal);
  }

  /** Resolves once the open window holds `count` completions (ok + failed), or when `signal` aborts. */
  waitForWindowCount(count: number, signal?: AbortSignal): Promise<void> {
    return this.waiters.waitUntil(() => windowHolds(this.current, count), signal);
  }

  private openAfterWarmup(): void {
    if (this.current || this.warmupTarget === undefined || this.discarded < this.warmupTarget) return;
    this.warmupTarget = undefined;
    this.current = this.emptyWindow(this.clock.nowNs());
  }

  private emptyWindow(startNs: number): WindowData {
    return openWindow(startNs, this.clock.wallMs(), this.openLoop, this.requestBudget);
  }

  private close(): WindowData {
    const w = this.current;
    if (!w) throw new Error('WindowRecorder: no window is open');
    w.endNs = this.clock.nowNs();
    w.durationNs = w.endNs - w.startNs;
    return w;
  }
}
