/**
 * Opt-in stage timestamps of inference requests ("where the time goes"), for benchmarks: each traced
 * request carries a {@link StageStamps} through transport → core → scheduler → model instance (worker
 * thread) → transport, and the transport hands it to the {@link StageTraceRecorder} once the response is
 * written. Off by default (`startServer({ stageTrace: true })` turns it on); when off no request carries
 * stamps and every layer skips its mark with one property check.
 *
 * Every stamp is on the server's clock (the worker thread reads the same monotonic clock from the main
 * thread's origin), so the stages only make sense with the system clock. A stage a path does not have
 * (gRPC has no separate body read) stays unset and its time counts into the next stage that is set.
 */
import { nsToUs } from '../../../src/protocol/units.ts';

/** The stages of one request, in path order; the time of a stage is "previous stamp → this stamp". */
export const STAGES = [
  /** The transport's handler started (HTTP `request` event; gRPC unary handler, message already parsed). */
  'received',
  /** HTTP: the request body is complete. */
  'bodyRead',
  /** The wire request is decoded into the core's InferRequest (Triton's request_start, `receivedNs`). */
  'decoded',
  /** The core resolved the model version and validated the request. */
  'validated',
  /** The scheduler accepted it (queue_start). */
  'enqueued',
  /** Its batch is handed to a model instance (compute_start). */
  'dispatched',
  /** The instance's worker thread picked the batch up. */
  'workerReceived',
  /** Inputs gathered into ORT tensors, `session.run` called (compute_input ends). */
  'runStart',
  /** `session.run` returned (compute_infer ends). */
  'runEnd',
  /** Outputs wrapped and the result handed back to the main thread (compute_output ends). */
  'workerPosted',
  /** The main thread has the result. */
  'resultReceived',
  /** The scheduler recorded the statistics and answered the request (Triton's request_end). */
  'completed',
  /** The transport resumed with the response. */
  'responseReady',
  /** The response is serialised. */
  'encoded',
  /** The response is handed to the socket (HTTP `res.end`, gRPC callback returned). */
  'written',
] as const;

export type Stage = (typeof STAGES)[number];

const INDEX: Readonly<Record<Stage, number>> = Object.fromEntries(STAGES.map((s, i) => [s, i])) as Record<
  Stage,
  number
>;

/** Stamps of one request: clock ns per stage, NaN where not (yet) stamped. */
export class StageStamps {
  readonly ns = new Float64Array(STAGES.length).fill(Number.NaN);

  mark(stage: Stage, ns: number): void {
    this.ns[INDEX[stage]] = ns;
  }

  get(stage: Stage): number {
    return this.ns[INDEX[stage]] as number;
  }
}

/** Median of `values` (NaN when empty); does not modify `values`. */
export function medianOf(values: ArrayLike<number>): number {
  const n = values.length;
  if (n === 0) return Number.NaN;
  const sorted = Float64Array.from(values).sort();
  const mid = n >> 1;
  return n % 2 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/**
 * Per-stage durations of one request, µs: stage i's time is stamp i − the closest earlier set stamp (0 when
 * stage i is unset). `totalUs` spans the first to the last set stamp.
 */
export function stageDurationsUs(stamps: ArrayLike<number>): { stagesUs: number[]; totalUs: number } {
  const stagesUs: number[] = new Array(stamps.length).fill(0);
  let first = Number.NaN;
  let previous = Number.NaN;
  for (let i = 0; i < stamps.length; i++) {
    const ns = stamps[i] as number;
    if (Number.isNaN(ns)) continue;
    if (Number.isNaN(first)) first = ns;
    else stagesUs[i] = nsToUs(ns - previous);
    previous = ns;
  }
  return { stagesUs, totalUs: Number.isNaN(first) ? 0 : nsToUs(previous - first) };
}

export interface StageSummary {
  /** Requests summarised. */
  count: number;
  /** Median µs per stage (the time from the previous stamp), in path order. */
  stages: { stage: Stage; medianUs: number }[];
  /** Median of the per-request `received → written` span, µs (not the sum of the stage medians). */
  totalMedianUs: number;
  /** Median of `decoded → completed` (what the statistics call the request duration), µs. */
  statisticsSpanMedianUs: number;
  /**
   * Median of the per-request non-compute time, µs: `decoded → completed` minus `runStart → runEnd`, i.e.
   * the statistics' request duration minus compute_infer, request by request.
   */
  nonComputeMedianUs: number;
}

/**
 * Keeps the stamps of the last `capacity` traced requests and summarises them on demand. Tracing can be
 * paused (`enabled = false`) so that a benchmark measures the statistics without the stamps' own cost.
 */
export class StageTraceRecorder {
  enabled = true;
  private readonly capacity: number;
  private readonly rows: Float64Array;
  private next = 0;
  private filled = 0;

  constructor(capacity = 65_536) {
    this.capacity = capacity;
    this.rows = new Float64Array(capacity * STAGES.length);
  }

  /** A fresh stamp set for a request about to be traced; undefined while tracing is paused. */
  begin(receivedNs: number): StageStamps | undefined {
    if (!this.enabled) return undefined;
    const s = new StageStamps();
    s.mark('received', receivedNs);
    return s;
  }

  /** Stores a finished request's stamps (oldest dropped beyond capacity). */
  record(stamps: StageStamps): void {
    this.rows.set(stamps.ns, this.next * STAGES.length);
    this.next = (this.next + 1) % this.capacity;
    this.filled = Math.min(this.capacity, this.filled + 1);
  }

  /** Forgets everything recorded so far (e.g. after a warm-up). */
  reset(): void {
    this.next = 0;
    this.filled = 0;
  }

  count(): number {
    return this.filled;
  }

  summary(): StageSummary {
    const n = this.filled;
    const perStage = STAGES.map(() => new Float64Array(n));
    const totals = new Float64Array(n);
    const spans = new Float64Array(n);
    const nonCompute = new Float64Array(n);
    const decoded = INDEX.decoded;
    const completed = INDEX.completed;
    const runStart = INDEX.runStart;
    const runEnd = INDEX.runEnd;
    for (let r = 0; r < n; r++) {
      const row = this.rows.subarray(r * STAGES.length, (r + 1) * STAGES.length);
      const { stagesUs, totalUs } = stageDurationsUs(row);
      for (let i = 0; i < STAGES.length; i++) (perStage[i] as Float64Array)[r] = stagesUs[i] as number;
      totals[r] = totalUs;
      spans[r] = nsToUs((row[completed] as number) - (row[decoded] as number));
      nonCompute[r] = spans[r] - nsToUs((row[runEnd] as number) - (row[runStart] as number));
    }
    return {
      count: n,
      stages: STAGES.map((stage, i) => ({ stage, medianUs: medianOf(perStage[i] as Float64Array) })),
      totalMedianUs: medianOf(totals),
      statisticsSpanMedianUs: medianOf(spans),
      nonComputeMedianUs: medianOf(nonCompute),
    };
  }
}
