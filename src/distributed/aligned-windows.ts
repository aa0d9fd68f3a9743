/**
 * The profiler's timing in a sharded run: waits for the shared timetable's instants (shard-schedule.ts) on
 * the reference clock (this host's wall clock + the measured offset), through the injected Clock, so tests
 * drive it with a FakeClock. The wall clock is read once, at construction; after that the monotonic clock
 * counts, so a wall-clock step during the run does not move the windows.
 */
import type { Clock } from '../protocol/clock.ts';
import { levelStartMs, type ShardTimetable, windowEndMs } from './shard-schedule.ts';

export class AlignedWindows {
  private readonly anchorNs: number;
  private readonly anchorReferenceMs: number;

  constructor(
    private readonly clock: Clock,
    private readonly timetable: ShardTimetable,
    offsetMs: number,
  ) {
    this.anchorNs = clock.nowNs();
    this.anchorReferenceMs = clock.wallMs() + offsetMs;
  }

  /** The monotonic time (ns) at which the reference clock shows `referenceMs`. */
  monoNsAt(referenceMs: number): number {
    return this.anchorNs + (referenceMs - this.anchorReferenceMs) * 1e6;
  }

  /** Waits for level `levelIndex`'s start; resolves with its monotonic time (the open-loop schedule's time 0). */
  async levelStart(levelIndex: number, signal?: AbortSignal): Promise<number> {
    const atNs = this.monoNsAt(levelStartMs(this.timetable, levelIndex));
    await this.waitUntil(atNs, signal);
    return atNs;
  }

  /** Waits until window `windowIndex` (1-based) of level `levelIndex` ends. */
  windowEnd(levelIndex: number, windowIndex: number, signal?: AbortSignal): Promise<void> {
    return this.waitUntil(this.monoNsAt(windowEndMs(this.timetable, levelIndex, windowIndex)), signal);
  }

  private waitUntil(atNs: number, signal?: AbortSignal): Promise<void> {
    const delayNs = atNs - this.clock.nowNs();
    if (delayNs <= 0 || signal?.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = this.clock.setTimer(() => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      }, delayNs);
      const onAbort = (): void => {
        timer.cancel();
        resolve();
      };
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }
}
