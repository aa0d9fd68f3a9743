/**
 * The contract between the main thread and the load shards in worker threads: how the load splits (as
 * perf_analyzer splits it across its threads), the messages, and the compact event batches. Events travel
 * as transferred Float64Arrays, a few dozen per message, so the main thread does no per-request messaging;
 * each event carries its own time (ns on the main thread's clock), so the main thread can put it in the
 * window in which it happened however late the batch arrives. Responses kept for the profile export travel
 * beside the events, each in its own ArrayBuffer, transferred (not copied) with the batch.
 */
import type { LoopHealthSample } from '../measure/loop-health.ts';
import type { RequestObserver, SequenceMark } from '../measure/request-observer.ts';
import { completedRequest } from '../measure/window-rules.ts';
import type { Clock } from '../protocol/clock.ts';
import type { ClientOptions, InferOutcome, RequestSpec } from '../transport/client.ts';
import type { ResponseEncoding } from '../transport/kept-response.ts';
import type { LoadDriverSettings, LoadSettings } from './load-settings.ts';
import { createPacer, type Pacer, type ScheduleSpec } from './schedule.ts';

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
  settings: LoadDriverSettings;
  transport: ShardTransport;
  specs: RequestSpec[];
  /** How often buffered events are posted (they are also posted when the buffer fills or on `flush`). */
  flushIntervalMs: number;
  /** Start with the client keeping responses (`InferClient.keepResponses`, for the profile export). */
  keepResponses: boolean;
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
  | { type: 'stop' }
  /** From now on keep (or no longer keep) successful responses and post them with the events. */
  | { type: 'keepResponses'; on: boolean };

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
      /** Kept response bytes, one per event row with a responseEncoding, in row order (transferred). */
      responses: Uint8Array[];
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
  /** Successful completion: which of the prepared requests it was (−1 = unknown). */
  requestIndex: 7,
  /** Successful completion with a kept response: RESPONSE_ENCODINGS index + 1 (0 = none kept). */
  responseEncoding: 8,
  /** Its HTTP JSON header length (binary tensor extension); −1 = none. */
  responseHeaderLength: 9,
  /** Successful completion that ended a sequence: 1, else 0. */
  sequenceEnd: 10,
  /** Successful completion: its responses (InferOutcome.responseCount, default 1). */
  responseCount: 11,
  /** Successful completion: latency to its first response (gRPC streaming), −1 = none. */
  firstResponseNs: 12,
} as const;
export const EVENT_STRIDE = 13;

/** Kept-response encodings by code − 1 (EventField.responseEncoding). */
export const RESPONSE_ENCODINGS: readonly ResponseEncoding[] = ['http', 'grpc', 'grpc-stream'];

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
 * This shard's pacer for one open-loop level at `ratePerSec` (custom intervals ignore it): the schedule every
 * shard computes alike (same seed), of which it sends its share, its times moved onto the level's shared start
 * `startNs` (this thread's clock) when one is given.
 */
export function openLoopShardPacer(
  load: Exclude<LoadSettings, { mode: 'concurrency' }>,
  ratePerSec: number,
  shard: { index: number; count: number },
  startNs: number | undefined,
  clock: Clock,
): Pacer {
  const spec: ScheduleSpec =
    load.mode === 'custom_intervals'
      ? { kind: 'custom', intervalsUs: load.intervalsUs }
      : load.distribution === 'poisson'
        ? { kind: 'poisson', ratePerSec, seed: load.seed }
        : { kind: 'constant', ratePerSec };
  const offsetNs = startNs === undefined ? 0 : startNs - clock.nowNs();
  return shardPacer(createPacer(spec), shard.index, shard.count, offsetNs);
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
  private responses: Uint8Array[] = [];

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

  onCompleted(
    outcome: InferOutcome,
    intendedStartNs: number | undefined,
    requestIndex = -1,
    sequence?: SequenceMark,
  ): void {
    if (!outcome.ok) {
      this.push(outcome.endNs, this.kindCode(outcome.errorKind ?? 'unknown'));
      return;
    }
    const r = completedRequest(outcome, intendedStartNs, requestIndex, sequence?.end);
    const row = this.push(r.endNs, EventCode.ok);
    const e = this.events;
    e[row + EventField.latencyNs] = r.latencyNs;
    e[row + EventField.uncorrectedNs] = r.uncorrectedNs;
    e[row + EventField.clientSendNs] = r.clientSendNs;
    e[row + EventField.clientRecvNs] = r.clientRecvNs;
    e[row + EventField.responseWaitNs] = r.responseWaitNs;
    e[row + EventField.requestIndex] = r.requestIndex;
    e[row + EventField.sequenceEnd] = r.sequenceEnd ? 1 : 0;
    e[row + EventField.responseCount] = r.responseCount;
    e[row + EventField.firstResponseNs] = r.firstResponseNs ?? -1;
    const kept = r.response;
    if (kept) {
      e[row + EventField.responseEncoding] = RESPONSE_ENCODINGS.indexOf(kept.encoding) + 1;
      e[row + EventField.responseHeaderLength] = kept.headerLength ?? -1;
      this.responses.push(kept.bytes);
    } else {
      e[row + EventField.responseEncoding] = 0;
    }
  }

  /** Posts what is buffered (always, when `extra` marks a flush reply; otherwise only if there is something). */
  flush(extra?: { flushId: number; health: LoopHealthSample }): void {
    if (this.count === 0 && this.newKinds.length === 0 && !extra) return;
    const { events, responses } = this;
    // Each kept response owns its ArrayBuffer (KeptResponse): transferred as it is, never copied again.
    const transfer = [events.buffer as ArrayBuffer];
    for (const bytes of responses) transfer.push(bytes.buffer as ArrayBuffer);
    this.post(
      { type: 'batch', events, eventCount: this.count, newKinds: this.newKinds, responses, ...extra },
      transfer,
    );
    this.events = new Float64Array(this.capacity * EVENT_STRIDE);
    this.count = 0;
    this.newKinds = [];
    this.responses = [];
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
