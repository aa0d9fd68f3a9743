/**
 * Time, injected. Measurement and batching code take a Clock so that tests can run on a FakeClock with
 * no sleeps. Only this file reads the real monotonic clock or arms real timers for that code.
 * Times are numbers of nanoseconds from an arbitrary origin (exact as integers up to ~104 days of uptime).
 */
import { nsToMs } from './units.ts';

export interface TimerHandle {
  cancel(): void;
}

export interface Clock {
  /** Monotonic time in nanoseconds. */
  nowNs(): number;
  /** Wall-clock milliseconds since the Unix epoch (only for reports and `last_inference`). */
  wallMs(): number;
  /** Runs `fn` once after `delayNs` (rounded up to the timer resolution of the implementation). */
  setTimer(fn: () => void, delayNs: number): TimerHandle;
}

/** Captured at module load, i.e. once per thread: worker threads must be handed the main thread's origin. */
const ORIGIN = process.hrtime.bigint();

/** The real clock: process.hrtime for time, setTimeout for timers (millisecond resolution; referenced, so a pending window keeps the process alive). */
export const systemClock: Clock = systemClockFrom(ORIGIN);

/**
 * The hrtime value `systemClock` counts from. process.hrtime is process-wide, so a worker thread that builds
 * its clock with `systemClockFrom(systemClockOrigin())` of the main thread reads the same ns values.
 */
export function systemClockOrigin(): bigint {
  return ORIGIN;
}

/** A real clock counting ns from `originHrtimeNs` (another thread's `systemClockOrigin()`). */
export function systemClockFrom(originHrtimeNs: bigint): Clock {
  return {
    nowNs(): number {
      return Number(process.hrtime.bigint() - originHrtimeNs);
    },
    wallMs(): number {
      return Date.now();
    },
    setTimer(fn: () => void, delayNs: number): TimerHandle {
      const t = setTimeout(fn, Math.max(0, Math.ceil(nsToMs(delayNs))));
      return { cancel: () => clearTimeout(t) };
    },
  };
}

interface PendingTimer {
  dueNs: number;
  seq: number;
  fn: () => void;
  cancelled: boolean;
}

/**
 * A clock that moves only when told to. Timers fire in due order (ties in creation order) while
 * `advanceNs`/`advanceToNs` passes their due time; a timer armed by a firing timer fires in the same
 * advance if it falls due within it.
 */
export class FakeClock implements Clock {
  private now: number;
  private readonly wallOriginMs: number;
  private seq = 0;
  private timers: PendingTimer[] = [];

  constructor(startNs = 0, wallOriginMs = 1_700_000_000_000) {
    this.now = startNs;
    this.wallOriginMs = wallOriginMs;
  }

  nowNs(): number {
    return this.now;
  }

  wallMs(): number {
    return this.wallOriginMs + Math.floor(nsToMs(this.now));
  }

  setTimer(fn: () => void, delayNs: number): TimerHandle {
    const timer: PendingTimer = {
      dueNs: this.now + Math.max(0, delayNs),
      seq: this.seq++,
      fn,
      cancelled: false,
    };
    this.timers.push(timer);
    return {
      cancel: () => {
        timer.cancelled = true;
      },
    };
  }

  /** Number of armed, not yet fired or cancelled timers. */
  pendingTimers(): number {
    return this.timers.filter((t) => !t.cancelled).length;
  }

  advanceNs(deltaNs: number): void {
    this.advanceToNs(this.now + deltaNs);
  }

  advanceToNs(targetNs: number): void {
    for (;;) {
      this.timers = this.timers.filter((t) => !t.cancelled);
      let next: PendingTimer | undefined;
      for (const t of this.timers) {
        if (
          t.dueNs <= targetNs &&
          (!next || t.dueNs < next.dueNs || (t.dueNs === next.dueNs && t.seq < next.seq))
        ) {
          next = t;
        }
      }
      if (!next) break;
      this.now = Math.max(this.now, next.dueNs);
      next.cancelled = true;
      next.fn();
    }
    this.now = Math.max(this.now, targetNs);
  }
}
