/**
 * The dynamic batcher's request queue (Triton's `PriorityQueue` of `PolicyQueue`s): one FIFO per priority
 * level plus, per level, the list of requests whose `DELAY` timeout expired — those are served after every
 * unexpired request of their level. Expired `REJECT` requests are taken out by {@link applyTimeouts} and
 * answered by the caller. Cancelled requests are removed by the caller through {@link remove}.
 *
 * Only levels that hold (or held) requests exist, so `priority_levels: 18446744073709551615` costs nothing.
 */
import type { LevelPolicy, QueuePolicies } from './queue-policy.ts';

/** What the queue needs to know about an entry. */
export interface QueueEntry {
  readonly level: number;
  /** Clock ns after which the queue policy applies; 0 = never. Cleared when a DELAY request expires. */
  deadlineNs: number;
}

interface Level<T> {
  readonly policy: LevelPolicy;
  readonly main: T[];
  readonly delayed: T[];
}

export class PriorityQueue<T extends QueueEntry> {
  private readonly policies: QueuePolicies;
  private readonly levels = new Map<number, Level<T>>();
  /** Level numbers, ascending (level 1 first). */
  private order: number[] = [];
  private count = 0;

  constructor(policies: QueuePolicies) {
    this.policies = policies;
  }

  size(): number {
    return this.count;
  }

  /** False when the entry's level already holds `max_queue_size` waiting requests. */
  hasRoom(level: number): boolean {
    const max = this.policies.policyOf(level).maxQueueSize;
    if (max === 0) return true;
    const l = this.levels.get(level);
    return !l || l.main.length + l.delayed.length < max;
  }

  push(entry: T): void {
    this.level(entry.level).main.push(entry);
    this.count += 1;
  }

  /** Entries in service order: level by level, unexpired before delayed, FIFO within each (lazy). */
  *inOrder(): Generator<T> {
    for (const n of this.order) {
      const l = this.levels.get(n) as Level<T>;
      yield* l.main;
      yield* l.delayed;
    }
  }

  /** Removes and returns the first `n` entries of {@link inOrder}. */
  takeFirst(n: number): T[] {
    let out: T[] = [];
    for (const k of this.order) {
      if (out.length === n) break;
      const l = this.levels.get(k) as Level<T>;
      out = out.concat(l.main.splice(0, n - out.length));
      out = out.concat(l.delayed.splice(0, n - out.length));
    }
    this.count -= out.length;
    return out;
  }

  /** Removes one entry wherever it waits; false when it is no longer queued. */
  remove(entry: T): boolean {
    const l = this.levels.get(entry.level);
    if (!l) return false;
    for (const list of [l.main, l.delayed]) {
      const i = list.indexOf(entry);
      if (i >= 0) {
        list.splice(i, 1);
        this.count -= 1;
        return true;
      }
    }
    return false;
  }

  /**
   * Applies each level's timeout action to the entries whose deadline passed (`deadline <= nowNs`):
   * REJECT entries are removed and returned, DELAY entries move behind the unexpired ones of their level.
   */
  applyTimeouts(nowNs: number): T[] {
    const rejected: T[] = [];
    if (!this.policies.hasTimeouts) return rejected;
    for (const k of this.order) {
      const l = this.levels.get(k) as Level<T>;
      if (!l.main.some((e) => e.deadlineNs !== 0 && e.deadlineNs <= nowNs)) continue;
      const keep: T[] = [];
      for (const e of l.main) {
        if (e.deadlineNs === 0 || e.deadlineNs > nowNs) keep.push(e);
        else if (l.policy.timeoutAction === 'DELAY') {
          e.deadlineNs = 0;
          l.delayed.push(e);
        } else rejected.push(e);
      }
      l.main.length = 0;
      for (const e of keep) l.main.push(e);
    }
    this.count -= rejected.length;
    return rejected;
  }

  /** The earliest deadline of a waiting entry, 0 when none has one. */
  closestDeadlineNs(): number {
    let closest = 0;
    if (!this.policies.hasTimeouts) return closest;
    for (const l of this.levels.values()) {
      for (const e of l.main) {
        if (e.deadlineNs !== 0 && (closest === 0 || e.deadlineNs < closest)) closest = e.deadlineNs;
      }
    }
    return closest;
  }

  private level(n: number): Level<T> {
    let l = this.levels.get(n);
    if (!l) {
      l = { policy: this.policies.policyOf(n), main: [], delayed: [] };
      this.levels.set(n, l);
      this.order = [...this.order, n].sort((a, b) => a - b);
    }
    return l;
  }
}
