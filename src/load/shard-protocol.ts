/**
 * The contract between the main thread and the load shards in worker threads: how the load splits (as
 * perf_analyzer splits it across its threads), the messages, and the compact event batches. Events travel
 * as transferred Float64Arrays, a few dozen per message, so the main thread does no per-request messaging;
 * each event carries its own time (ns on the main thread's clock), so the main thread can put it in the
 * window in which it happened however late the batch arrives.
 */
import type { LoopHealthSample } from '../measure/loop-health.ts';
import type { ProfileSettings } from '../profile/settings.ts';
import type { Clock } from '../protocol/clock.ts';
import type { ClientOptions, InferOutcome, RequestSpec } from '../transport/client.ts';
import type { RequestObserver } from './request-observer.ts';
import type { Pacer } from './schedule.ts';

/** What a worker needs to build its own client (prepared requests do not cross threads; specs do). */
export interface ShardTransport {
  protocol: 'http' | 'grpc';
  /** The clock is the worker's own; `connections` is split across the shards. */
  options: Omit<ClientOptions, 'clock'>;
}

/** workerData of a shard worker. */
export interface ShardInit {
  index: number;
  count: number;
  /** The main thread's `systemClockOrigin()`, so event times agree across threads. */
  originHrtimeNs: bigint;
  settings: ProfileSettings;
  transport: ShardTransport;
  specs: RequestSpec[];
  /** How often buffered events are posted (they are also posted when the buffer fills or on `flush`). */
  flushIntervalMs: number;
}

export type ToShard =
  /** Move to load `value` (the whole load; the shard takes its share); open loop: schedule time 0 = `startNs`. */
  | { type: 'apply'; value: number; startNs: number }
  /** Open loop, between rates: stop sending and drain, so that the next rate's schedule starts after it. */
  | { type: 'drain' }
  /** A window opens: restart the event-loop health sample. */
  | { type: 'mark' }
  /** Post every event recorded so far now, with the health sample since the last mark/flush. */
  | { type: 'flush'; id: number }
  /** Stop the load, drain, post the remaining events, close the client. */
  | { type: 'stop' };

export type FromShard =
  | { type: 'ready' }
  | { type: 'applied' }
  | { type: 'drained' }
  | {
      type: 'batch';
      /** `eventCount` rows of EVENT_STRIDE numbers (see EventField). */
      events: Float64Array;
      eventCount: number;
      /** Error kinds first seen since the previous batch, appended to this shard's kind table. */
      newKinds: string[];
      /** Set on the reply to a `flush`. */
      flushId?: number;
      health?: LoopHealthSample;
    }
  | { type: 'stopped' }
  | { type: 'failed'; message: string };

/** Columns of one event row. */
export const EventField = {
  /** Completion: its end; send/drop: when it happened (ns, main-thread clock). */
  timeNs: 0,
  /** EventCode, or ≥ 1: a failed completion whose kind is newKinds-table entry (code − 1). */
  code: 1,
  /** Successful completion only: latency (from the intended start in open loop). */
  latencyNs: 2,
  /** From the actual send. */
  uncorrectedNs: 3,
  clientSendNs: 4,
  clientRecvNs: 5,
  responseWaitNs: 6,
} as const;
export const EVENT_STRIDE = 7;

export const EventCode = { ok: 0, sent: -1, sentDelayed: -2, dropped: -3 } as const;

/** perf_analyzer's split of `total` over `parts` threads: floor(total/parts) each, the first total % parts one more. */
export function shareOf(total: number, parts: number, index: number): number {
  return Math.floor(total / parts) + (index < total % parts ? 1 : 0);
}

/**
 * Shard `index` of `count` of a global schedule: every count-th send time starting with the index-th, so the
 * union over the shards is the single-thread schedule. `offsetNs` moves the times (the worker's loop starts a
 * little after the main thread's schedule start; the offset puts its sends back on the global times).
 */
export function shardPacer(pacer: Pacer, index: number, count: number, offsetNs = 0): Pacer {
  let skip = index;
  return {
    next() {
      for (; skip > 0; skip--) pacer.next();
      skip = count - 1;
      return pacer.next() + offsetNs;
    },
  };
}

/**
 * The shard's RequestObserver: appends one row per event to a Float64Array and hands full (or flushed)
 * arrays to `post`, which transfers them. Error kinds become small integer codes, each kind's name sent once.
 */
export class ShardEventBuffer implements RequestObserver {
  private events: Float64Array;
  private count = 0;
  private readonly kindCodes = new Map<string, number>();
  private newKinds: string[] = [];

  constructor(
    private readonly clock: Clock,
    private readonly post: (batch: Extract<FromShard, { type: 'batch' }>, transfer: ArrayBuffer[]) => void,
    private readonly capacity = 2048,
  ) {
    this.events = new Float64Array(capacity * EVENT_STRIDE);
  }

  onSent(delayed: boolean): void {
    this.push(this.clock.nowNs(), delayed ? EventCode.sentDelayed : EventCode.sent);
  }

  onDropped(): void {
    this.push(this.clock.nowNs(), EventCode.dropped);
  }

  onCompleted(outcome: InferOutcome, intendedStartNs: number | undefined): void {
    if (!outcome.ok) {
      this.push(outcome.endNs, this.kindCode(outcome.errorKind ?? 'unknown'));
      return;
    }
    const row = this.push(outcome.endNs, EventCode.ok);
    const e = this.events;
    e[row + EventField.latencyNs] = outcome.endNs - (intendedStartNs ?? outcome.sendStartNs);
    e[row + EventField.uncorrectedNs] = outcome.endNs - outcome.sendStartNs;
    e[row + EventField.clientSendNs] = outcome.sendEndNs - outcome.sendStartNs;
    e[row + EventField.clientRecvNs] = outcome.endNs - outcome.responseStartNs;
    e[row + EventField.responseWaitNs] = Math.max(0, outcome.responseStartNs - outcome.sendEndNs);
  }

  /** Posts what is buffered (always, when `extra` marks a flush reply; otherwise only if there is something). */
  flush(extra?: { flushId: number; health: LoopHealthSample }): void {
    if (this.count === 0 && this.newKinds.length === 0 && !extra) return;
    const events = this.events;
    this.post({ type: 'batch', events, eventCount: this.count, newKinds: this.newKinds, ...extra }, [
      events.buffer as ArrayBuffer,
    ]);
    this.events = new Float64Array(this.capacity * EVENT_STRIDE);
    this.count = 0;
    this.newKinds = [];
  }

  /** Appends a row with its time and code (posting a full buffer first) and returns its offset. */
  private push(timeNs: number, code: number): number {
    if (this.count === this.capacity) this.flush();
    const row = this.count * EVENT_STRIDE;
    this.events[row + EventField.timeNs] = timeNs;
    this.events[row + EventField.code] = code;
    this.count++;
    return row;
  }

  private kindCode(kind: string): number {
    let code = this.kindCodes.get(kind);
    if (code === undefined) {
      code = this.kindCodes.size + 1;
      this.kindCodes.set(kind, code);
      this.newKinds.push(kind);
    }
    return code;
  }
}
