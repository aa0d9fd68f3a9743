/**
 * The main thread's windows when the load runs in shards: the WindowRecorder's rules, applied by event time
 * instead of delivery time, because shard events arrive in batches. A completion counts in the window in
 * which it ended, a send in the window in which it happened, whatever the batch's delay; a window closes at
 * the instant `cut`/`end` is called, and they resolve once every shard has posted everything up to then
 * (a flush round trip), so no event of the closed window can still be on its way. The warm-up is exactly the
 * number of completions waited for, as on the main thread, and by event time: the level's earliest ones
 * (WarmupRows), so the first window starts where they end and holds every later completion, even one whose
 * batch arrived late (discarding it would make a --request-count window, whose sends are capped, never fill;
 * counting it while the warm-up kept a later one would stretch the window over completions it does not
 * hold). For the same reason, events that arrive between `levelStart` and the warm-up wait (one shard's
 * batch can overtake another shard's reply to `apply`) are held and replayed once the wait's target is known.
 */

import { ConditionWaiters } from '../measure/condition-waiters.ts';
import type { LoopHealthSample } from '../measure/loop-health.ts';
import type { RequestLogBudget } from '../measure/request-log.ts';
import { DROPPED_ERROR_KIND } from '../measure/request-observer.ts';
import type { WindowData } from '../measure/window-data.ts';
import {
  type CompletedRequest,
  countCompleted,
  countFailed,
  countSent,
  openWindow,
  windowHolds,
} from '../measure/window-rules.ts';
import type { Clock } from '../protocol/clock.ts';
import { nsToMs } from '../protocol/units.ts';
import type { KeptResponse } from '../transport/kept-response.ts';
import { EVENT_STRIDE, EventCode, EventField, RESPONSE_ENCODINGS } from './shard-protocol.ts';
import { WarmupRows } from './warmup-rows.ts';

/** What the windows need from the shards. */
export interface ShardLink {
  /** A window opened: the shards restart their health samples. */
  mark(): void;
  /** Resolves when every shard has posted all its events so far; one health sample per shard. */
  flush(): Promise<LoopHealthSample[]>;
}

export class ShardWindows {
  private current: WindowData | undefined;
  /** A window whose end is fixed while its last events are still being collected. */
  private closing: WindowData | undefined;
  private discarded = 0;
  /** The level's warm-up completions, from the warm-up wait until the first window closes. */
  private warmup: WarmupRows | undefined;
  /** Sends and drops (row copies) outside any window during the warm-up: the first window's if after its start. */
  private earlyOthers: Float64Array[] = [];
  /** `discarded` when the current level's load was applied; the warm-up counts from there. */
  private levelBase: number | undefined;
  /** The level's first window after a warm-up (held before `begin`, then open, then closing). */
  private first: WindowData | undefined;
  /** Batches received since `levelStart` while no warm-up target is known yet (copied rows, kind table). */
  private held:
    | { events: Float64Array; eventCount: number; kinds: string[]; responses: readonly Uint8Array[] }[]
    | undefined;
  private requestBudget: RequestLogBudget | undefined;
  private readonly waiters = new ConditionWaiters();

  constructor(
    private readonly clock: Clock,
    private readonly openLoop: boolean,
    private readonly link: ShardLink,
  ) {}

  /** True while a window is open. */
  get recording(): boolean {
    return this.current !== undefined;
  }

  begin(): void {
    this.releaseHeld();
    const nowNs = this.clock.nowNs();
    const held = this.first;
    if (held) held.startWallMs = this.clock.wallMs() - nsToMs(nowNs - held.startNs);
    this.current = held ?? this.emptyWindow(nowNs, this.clock.wallMs());
    if (this.warmup) this.first = this.current;
    this.link.mark();
  }

  /** Closes the open window now and opens the next at the same instant. */
  cut(): Promise<WindowData> {
    return this.close(true);
  }

  /** Closes the open window now and stops recording. */
  end(): Promise<WindowData> {
    return this.close(false);
  }

  /**
   * Adds one batch of a shard's events; `kinds` is that shard's error-kind table, `responses` the batch's kept
   * response bytes (one per row with a responseEncoding, in row order).
   */
  ingest(
    events: Float64Array,
    eventCount: number,
    kinds: readonly string[],
    responses: readonly Uint8Array[] = [],
  ): void {
    if (this.held && !this.current && !this.closing) {
      this.held.push({
        events: events.slice(0, eventCount * EVENT_STRIDE),
        eventCount,
        kinds: [...kinds],
        responses,
      });
      return;
    }
    let nextResponse = 0;
    for (let row = 0; row < eventCount * EVENT_STRIDE; row += EVENT_STRIDE) {
      const code = events[row + EventField.code]!;
      const timeNs = events[row + EventField.timeNs]!;
      // A kept response belongs to its row whether the row counts or not.
      const encoding = code === EventCode.ok ? events[row + EventField.responseEncoding]! : 0;
      const bytes = encoding > 0 ? responses[nextResponse++] : undefined;
      const kind = code > EventCode.ok ? (kinds[code - 1] ?? 'unknown') : undefined;
      const w = this.windowAt(timeNs);
      if (w) countRow(w, events, row, kind, bytes);
      else if (code >= EventCode.ok) this.completedOutside(events, row, timeNs, kind, bytes);
      else this.otherOutside(events, row, timeNs);
    }
    this.waiters.wake();
  }

  /** A new load level is being applied: its warm-up counts completions from here (batches may come early). */
  levelStart(): void {
    this.releaseHeld();
    this.levelBase = this.discarded;
    this.held = [];
  }

  /**
   * Resolves once `count` completions outside any window have arrived since `levelStart` (or since now
   * without one): the warm-up. Or on abort.
   */
  waitForDiscarded(count: number, signal?: AbortSignal): Promise<void> {
    const target = (this.levelBase ?? this.discarded) + count;
    this.levelBase = undefined;
    this.warmup = new WarmupRows(count);
    this.earlyOthers = [];
    this.first = undefined;
    // Replay what arrived since levelStart: its first `count` completions are the warm-up, the rest count.
    const held = this.held ?? [];
    this.held = undefined;
    for (const batch of held) this.ingest(batch.events, batch.eventCount, batch.kinds, batch.responses);
    return this.waiters.waitUntil(() => this.discarded >= target, signal);
  }

  /** Resolves once the open window holds `count` completions (ok + failed), or on abort. */
  waitForWindowCount(count: number, signal?: AbortSignal): Promise<void> {
    return this.waiters.waitUntil(() => windowHolds(this.current, count), signal);
  }

  /**
   * From now on, every window logs its requests (send = end − uncorrected latency, request index, kept
   * response), within `budget`.
   */
  recordRequestsTo(budget: RequestLogBudget): void {
    this.requestBudget = budget;
  }

  /** Resolves every wait now (the shards failed: nothing more will arrive). */
  release(): void {
    this.waiters.releaseAll();
  }

  private emptyWindow(startNs: number, startWallMs: number): WindowData {
    return openWindow(startNs, startWallMs, this.openLoop, this.requestBudget);
  }

  /** No warm-up wait came: the held batches are ingested as they are (completions outside windows discarded). */
  private releaseHeld(): void {
    const held = this.held ?? [];
    this.held = undefined;
    for (const batch of held) this.ingest(batch.events, batch.eventCount, batch.kinds, batch.responses);
  }

  private windowAt(timeNs: number): WindowData | undefined {
    const closing = this.closing;
    if (closing && timeNs <= closing.endNs) return timeNs >= closing.startNs ? closing : undefined;
    const current = this.current;
    return current && timeNs >= current.startNs ? current : undefined;
  }

  /**
   * A completion outside every open window: part of the warm-up (which may push its latest completion out,
   * into the first window), or the first window's once the warm-up is full, or discarded.
   */
  private completedOutside(
    events: Float64Array,
    row: number,
    timeNs: number,
    kind: string | undefined,
    bytes: Uint8Array | undefined,
  ): void {
    this.discarded++;
    const warmup = this.warmup;
    if (!warmup) return;
    const copy = events.slice(row, row + EVENT_STRIDE);
    const out = warmup.add({ timeNs, row: copy, kind, bytes });
    if (!out) return;
    // `out` is after the warm-up: the first window holds it, and starts where the warm-up now ends.
    const first = this.firstWindow(warmup.size === 0 ? timeNs : warmup.latestNs);
    countRow(first, out.row, 0, out.kind, out.bytes);
  }

  /** A send or drop outside every open window: the first window's if after the warm-up, kept until then. */
  private otherOutside(events: Float64Array, row: number, timeNs: number): void {
    const warmup = this.warmup;
    if (!warmup) return;
    const copy = events.slice(row, row + EVENT_STRIDE);
    if (warmup.size === 0 && warmup.full) {
      countRow(this.firstWindow(timeNs), copy, 0, undefined, undefined);
    } else if (this.first && timeNs >= this.first.startNs) {
      countRow(this.first, copy, 0, undefined, undefined);
    } else {
      this.earlyOthers.push(copy);
    }
  }

  /**
   * The level's first window, created or moved back to `startNs` (the warm-up's end moves back when an
   * earlier completion arrives late); the sends and drops between the new and the old start join it.
   */
  private firstWindow(startNs: number): WindowData {
    let first = this.first;
    if (first && startNs >= first.startNs) return first;
    if (!first) {
      first = this.first = this.emptyWindow(startNs, 0);
    } else {
      if (first.startWallMs > 0) first.startWallMs -= nsToMs(first.startNs - startNs);
      first.startNs = startNs;
    }
    const keep: Float64Array[] = [];
    for (const other of this.earlyOthers) {
      if (other[EventField.timeNs]! >= first.startNs) countRow(first, other, 0, undefined, undefined);
      else keep.push(other);
    }
    this.earlyOthers = keep;
    return first;
  }

  private async close(reopen: boolean): Promise<WindowData> {
    const w = this.current;
    if (!w) throw new Error('ShardWindows: no window is open');
    if (this.closing) throw new Error('ShardWindows: a window is already closing');
    w.endNs = this.clock.nowNs();
    this.closing = w;
    this.current = reopen ? this.emptyWindow(w.endNs, this.clock.wallMs()) : undefined;
    try {
      const loop = busiestThread(await this.link.flush());
      if (loop) w.loop = loop;
    } catch (error) {
      this.current = undefined;
      throw error;
    } finally {
      this.closing = undefined;
    }
    w.durationNs = w.endNs - w.startNs;
    if (w === this.first) {
      this.first = undefined;
      this.warmup = undefined;
      this.earlyOthers = [];
    }
    return w;
  }
}

/** Counts one event row into `w` (`kind`: a failed completion's error kind). */
function countRow(
  w: WindowData,
  events: Float64Array,
  row: number,
  kind: string | undefined,
  bytes: Uint8Array | undefined,
): void {
  const code = events[row + EventField.code]!;
  if (code === EventCode.ok) {
    countCompleted(w, completedRow(events, row, w.requests ? keptResponse(events, row, bytes) : undefined));
  } else if (code === EventCode.sent || code === EventCode.sentDelayed) {
    countSent(w, code === EventCode.sentDelayed);
  } else {
    countFailed(w, code === EventCode.dropped ? DROPPED_ERROR_KIND : (kind ?? 'unknown'));
  }
}

/** A successful completion's row, as the main thread would have measured it (ShardEventBuffer wrote it). */
function completedRow(
  events: Float64Array,
  row: number,
  response: KeptResponse | undefined,
): CompletedRequest {
  const firstResponseNs = events[row + EventField.firstResponseNs]!;
  return {
    endNs: events[row + EventField.timeNs]!,
    latencyNs: events[row + EventField.latencyNs]!,
    uncorrectedNs: events[row + EventField.uncorrectedNs]!,
    firstResponseNs: firstResponseNs >= 0 ? firstResponseNs : undefined,
    clientSendNs: events[row + EventField.clientSendNs]!,
    clientRecvNs: events[row + EventField.clientRecvNs]!,
    responseWaitNs: events[row + EventField.responseWaitNs]!,
    responseCount: events[row + EventField.responseCount]!,
    sequenceEnd: events[row + EventField.sequenceEnd] === 1,
    requestIndex: events[row + EventField.requestIndex]!,
    response,
  };
}

/** The kept response of a row, rebuilt from its transferred bytes and the row's encoding columns. */
function keptResponse(
  events: Float64Array,
  row: number,
  bytes: Uint8Array | undefined,
): KeptResponse | undefined {
  if (bytes === undefined) return undefined;
  const encoding = RESPONSE_ENCODINGS[events[row + EventField.responseEncoding]! - 1]!;
  const headerLength = events[row + EventField.responseHeaderLength]!;
  return headerLength >= 0 ? { encoding, bytes, headerLength } : { encoding, bytes };
}

/**
 * The health of the busiest of several threads of this process: event-loop utilisation and delay are the
 * worst thread's (one saturated shard is the bottleneck; an average would hide it). CPU is process-wide in
 * every thread's sample, so the largest reading is kept.
 */
export function busiestThread(samples: readonly LoopHealthSample[]): LoopHealthSample | undefined {
  if (samples.length === 0) return undefined;
  return {
    eventLoopDelayP99Us: Math.max(...samples.map((s) => s.eventLoopDelayP99Us)),
    eventLoopDelayMaxUs: Math.max(...samples.map((s) => s.eventLoopDelayMaxUs)),
    eventLoopUtilization: Math.max(...samples.map((s) => s.eventLoopUtilization)),
    cpuCores: Math.max(...samples.map((s) => s.cpuCores)),
    wallMs: Math.max(...samples.map((s) => s.wallMs)),
  };
}
