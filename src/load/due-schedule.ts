/**
 * The clock of an open loop: hands each time of the pacer's schedule to `issue` once it is due, never early;
 * after a stall (a late timer, a busy thread) every overdue time at once, each with its own intended time, so
 * the loop can measure latency from it. Up to `maxSends` times in all (undefined = unbounded).
 */
import type { Clock, TimerHandle } from '../protocol/clock.ts';
import type { Pacer } from './schedule.ts';

export class DueSchedule {
  private startNs = 0;
  private nextDueNs = 0;
  private issued = 0;
  private timer: TimerHandle | undefined;
  private active = false;

  constructor(
    private readonly clock: Clock,
    private readonly pacer: Pacer,
    private readonly issue: (intendedNs: number) => void,
    private readonly maxSends: number | undefined,
  ) {}

  /** Between `start` and `stop`. */
  get running(): boolean {
    return this.active;
  }

  /** Starts the schedule now (its time 0); a second call does nothing. */
  start(): void {
    if (this.active) return;
    this.active = true;
    this.startNs = this.clock.nowNs();
    this.nextDueNs = this.startNs + this.pacer.next();
    this.arm();
  }

  /** No time is issued after this. */
  stop(): void {
    this.active = false;
    this.timer?.cancel();
    this.timer = undefined;
  }

  private budgetSpent(): boolean {
    return this.maxSends !== undefined && this.issued >= this.maxSends;
  }

  private arm(): void {
    if (!this.active || this.budgetSpent()) return;
    const delayNs = Math.max(0, this.nextDueNs - this.clock.nowNs());
    this.timer = this.clock.setTimer(() => this.tick(), delayNs);
  }

  private tick(): void {
    this.timer = undefined;
    if (!this.active) return;
    const nowNs = this.clock.nowNs();
    while (this.nextDueNs <= nowNs && !this.budgetSpent()) {
      this.issued++;
      this.issue(this.nextDueNs);
      this.nextDueNs = this.startNs + this.pacer.next();
    }
    this.arm();
  }
}
