/**
 * Which request a sequence slot sends next (perf_analyzer's SequenceManager, §6.4): pure, seeded, no I/O.
 *
 * - A slot runs one sequence at a time. When its sequence is done it starts a new one: a new correlation ID,
 *   a data stream (uniformly at random among the streams) and a length.
 * - Length: the stream's length for `--input-data` JSON streams, unless `--sequence-length` is given; then,
 *   and for generated data, `base × (1 + r)` with r uniform in ±variation %, at least 1 (base 20, ±20 %:
 *   16…24). A stream shorter than the sequence is looped.
 * - IDs: `start + (counter mod range)`, counter shared by the slots; an ID still used by another slot is
 *   skipped by reusing the slot's previous ID (perf_analyzer's rule), so two open sequences never share one.
 * - Shards (`--worker-threads`): shard k of n draws from its own slice of the range, so shards never share an
 *   ID.
 * - The first request of a sequence carries START, the last END; a sequence of length 1 carries both.
 */
import { mulberry32 } from '../data/seeded-random.ts';

/** perf_analyzer's sequence options, resolved. */
export interface SequenceSettings {
  /** `--sequence-length`; undefined = not given (JSON streams give the length; generated data: 20). */
  length?: number;
  /** `--sequence-length-variation`, percent (default 20). */
  lengthVariationPct: number;
  /** `--sequence-id-range start[:end]`: first ID (default 1) and the number of IDs (end excluded). */
  idStart: number;
  idRange: number;
  /** `--num-of-sequences`: concurrent sequences in request-rate / custom-interval modes (default 4). */
  numSequences: number;
  /** `--serial-sequences`: at most one request in flight per sequence (open loop). */
  serial: boolean;
  /** Seed of the lengths and stream choices (perf_analyzer: a default-seeded engine). */
  seed: number;
  /** --sync was given: sequence models otherwise run async (perf_analyzer). */
  syncRequested?: boolean;
  /** Filled once the data is known: steps per data stream (generated data: [1]). */
  streamLengths?: number[];
  /** Filled once the data is known: the data came from JSON streams (they give the lengths). */
  lengthFromStreams?: boolean;
}

export const DEFAULT_SEQUENCE_LENGTH = 20;
export const DEFAULT_SEQUENCE_LENGTH_VARIATION_PCT = 20;
export const DEFAULT_NUM_OF_SEQUENCES = 4;
/** perf_analyzer's unbounded range is UINT32_MAX IDs. */
export const DEFAULT_SEQUENCE_ID_RANGE = 4294967295;

/** One request of a sequence: its correlation ID, flags and the data step it carries. */
export interface SequenceStep {
  id: number;
  start: boolean;
  end: boolean;
  stream: number;
  step: number;
}

export interface SequencePlanOptions {
  settings: SequenceSettings;
  /** Steps in each data stream (generated data: one stream of one step). */
  streamLengths: readonly number[];
  /** The data came from JSON streams: a sequence is as long as its stream unless --sequence-length is given. */
  lengthFromStreams: boolean;
  seed: number;
  /** This plan is shard `index` of `count` (worker threads): it uses its own slice of the ID range. */
  shard?: { index: number; count: number };
}

interface SlotState {
  id: number;
  stream: number;
  /** Requests sent of the current sequence. */
  sent: number;
  /** Length of the current sequence; 0 = no sequence open. */
  length: number;
}

/** The ID slice of shard `index` of `count`: [start, start + range) split into `count` equal parts. */
export function shardIdRange(
  idStart: number,
  idRange: number,
  index: number,
  count: number,
): { start: number; range: number } {
  const each = Math.floor(idRange / count);
  return { start: idStart + index * each, range: each };
}

export class SequencePlan {
  private readonly random: () => number;
  private readonly slots: SlotState[] = [];
  private readonly idStart: number;
  private readonly idRange: number;
  private counter = 0;
  /** Sequences started, and ended (END sent). */
  started = 0;

  constructor(private readonly options: SequencePlanOptions) {
    if (options.streamLengths.length === 0 || options.streamLengths.some((n) => !(n >= 1))) {
      throw new RangeError('sequences need at least one data stream with at least one step');
    }
    const { idStart, idRange } = options.settings;
    const shard = options.shard ?? { index: 0, count: 1 };
    const slice = shardIdRange(idStart, idRange, shard.index, shard.count);
    if (slice.range < 1)
      throw new RangeError(`sequence ID range ${idRange} cannot be split over ${shard.count} shards`);
    this.idStart = slice.start;
    this.idRange = slice.range;
    this.random = mulberry32(options.seed + shard.index);
  }

  /** The next request of `slot`'s sequence, opening a new sequence when none is open. */
  next(slot: number): SequenceStep {
    const s = this.slot(slot);
    if (s.length === 0) this.open(s);
    const step = this.stepOf(s, s.sent === 0, s.sent + 1 === s.length);
    s.sent += 1;
    if (s.sent === s.length) s.length = 0;
    return step;
  }

  /**
   * The request that ends `slot`'s open sequence early (END set), for when the load stops or shrinks with
   * sequences open (perf_analyzer completes ongoing sequences); undefined when the slot has none open.
   */
  finish(slot: number): SequenceStep | undefined {
    const s = this.slots[slot];
    if (!s || s.length === 0) return undefined;
    const step = this.stepOf(s, s.sent === 0, true);
    s.length = 0;
    return step;
  }

  /** Forgets `slot`'s open sequence (its request failed): the slot's next request starts a new one. */
  abandon(slot: number): void {
    const s = this.slots[slot];
    if (s) s.length = 0;
  }

  /** Whether `slot` has a sequence open. */
  isOpen(slot: number): boolean {
    return (this.slots[slot]?.length ?? 0) > 0;
  }

  private slot(index: number): SlotState {
    while (this.slots.length <= index) this.slots.push({ id: 0, stream: 0, sent: 0, length: 0 });
    return this.slots[index] as SlotState;
  }

  private stepOf(s: SlotState, start: boolean, end: boolean): SequenceStep {
    const streamLength = this.options.streamLengths[s.stream] as number;
    return { id: s.id, start, end, stream: s.stream, step: s.sent % streamLength };
  }

  private open(s: SlotState): void {
    const streams = this.options.streamLengths;
    s.stream =
      streams.length > 1 ? Math.min(streams.length - 1, Math.floor(this.random() * streams.length)) : 0;
    s.length = this.lengthFor(s.stream);
    s.sent = 0;
    s.id = this.nextId(s.id);
    this.started += 1;
  }

  private lengthFor(stream: number): number {
    const { settings, lengthFromStreams, streamLengths } = this.options;
    if (lengthFromStreams && settings.length === undefined) return streamLengths[stream] as number;
    const base = settings.length ?? DEFAULT_SEQUENCE_LENGTH;
    const ratio = (2 * this.random() - 1) * (settings.lengthVariationPct / 100);
    return Math.max(1, Math.floor(base * (1 + ratio)));
  }

  private nextId(previous: number): number {
    const candidate = this.idStart + (this.counter++ % this.idRange);
    const inUse = this.slots.some((o) => o.length > 0 && o.id === candidate);
    return inUse && previous !== 0 ? previous : candidate;
  }
}
