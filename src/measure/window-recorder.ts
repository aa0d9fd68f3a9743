/**
 * Sorts request events into windows. A completion counts in the window that is open when it is delivered
 * (its end lies in that window, up to the few µs between the response and the callback: perf_analyzer's
 * "counted where its response arrived"); a send counts in the window it happens in. While no window is open
 * (warm-up, between levels) completions are discarded but counted, so warm-up can wait for them.
 */
import type { RequestObserver } from '../load/request-observer.ts';
import { DROPPED_ERROR_KIND } from '../load/request-observer.ts';
import type { Clock } from '../protocol/clock.ts';
import type { InferOutcome } from '../transport/client.ts';
import { ConditionWaiters } from './condition-waiters.ts';
import { emptyWindowData, errorTotal, type WindowData } from './window-data.ts';

export class WindowRecorder implements RequestObserver {
  private current: WindowData | undefined;
  private discarded = 0;
  private readonly waiters = new ConditionWaiters();

  constructor(
    private readonly clock: Clock,
    /** Open loop keeps the uncorrected (from actual send) latency too. */
    private readonly openLoop: boolean,
  ) {}

  onSent(delayed: boolean): void {
    const w = this.current;
    if (!w) return;
    w.sentCount++;
    if (delayed) w.delayedCount++;
  }

  onDropped(): void {
    const w = this.current;
    if (!w) return;
    w.errorsByKind[DROPPED_ERROR_KIND] = (w.errorsByKind[DROPPED_ERROR_KIND] ?? 0) + 1;
    this.waiters.wake();
  }

  onCompleted(outcome: InferOutcome, intendedStartNs: number | undefined): void {
    const w = this.current;
    if (!w) {
      this.discarded++;
    } else if (outcome.ok) {
      w.okCount++;
      w.latency.recordNs(outcome.endNs - (intendedStartNs ?? outcome.sendStartNs));
      w.uncorrected?.recordNs(outcome.endNs - outcome.sendStartNs);
      w.clientSendNsSum += outcome.sendEndNs - outcome.sendStartNs;
      w.clientRecvNsSum += outcome.endNs - outcome.responseStartNs;
      w.responseWaitNsSum += Math.max(0, outcome.responseStartNs - outcome.sendEndNs);
    } else {
      const kind = outcome.errorKind ?? 'unknown';
      w.errorsByKind[kind] = (w.errorsByKind[kind] ?? 0) + 1;
    }
    this.waiters.wake();
  }

  /** True while a window is open. */
  get recording(): boolean {
    return this.current !== undefined;
  }

  /** Opens the first window of a level now. */
  begin(): void {
    this.current = emptyWindowData(this.clock.nowNs(), this.clock.wallMs(), this.openLoop);
  }

  /** Closes the open window now and opens the next one at the same instant (windows follow with no gap). */
  cut(): WindowData {
    const closed = this.close();
    this.current = emptyWindowData(closed.endNs, this.clock.wallMs(), this.openLoop);
    return closed;
  }

  /** Closes the open window now and stops recording (completions are discarded until the next `begin`). */
  end(): WindowData {
    const closed = this.close();
    this.current = undefined;
    return closed;
  }

  /** Resolves once `count` completions have been discarded from now on (warm-up), or when `signal` aborts. */
  waitForDiscarded(count: number, signal?: AbortSignal): Promise<void> {
    const target = this.discarded + count;
    return this.waiters.waitUntil(() => this.discarded >= target, signal);
  }

  /** Resolves once the open window holds `count` completions (ok + failed), or when `signal` aborts. */
  waitForWindowCount(count: number, signal?: AbortSignal): Promise<void> {
    return this.waiters.waitUntil(() => {
      const w = this.current;
      return !w || w.okCount + errorTotal(w) >= count;
    }, signal);
  }

  private close(): WindowData {
    const w = this.current;
    if (!w) throw new Error('WindowRecorder: no window is open');
    w.endNs = this.clock.nowNs();
    w.durationNs = w.endNs - w.startNs;
    return w;
  }
}
