/**
 * Triton's per-model-version statistics (the statistics extension, `core:src/infer_stats.cc`), kept exactly
 * as Triton keeps them so that perf_analyzer's server-side breakdown (queue / compute input / infer / output)
 * reads the same numbers from this server as from Triton:
 *
 * - `success` / `fail` / `queue` / `compute_*` are per request; a request of a batched execution is charged
 *   the **whole batch's** compute durations (so `compute_infer.ns / compute_infer.count` is the average
 *   execution time a request sat through, not a share of it).
 * - `inference_count` adds each request's batch size, `execution_count` and `batch_stats` count executions
 *   (durations added once per execution). Cache hits count as successes only.
 * - Requests rejected before they entered the scheduler are never recorded; warmup never reaches here.
 *
 * Every update is also published as one typed {@link StatsEvent}, so the Prometheus exporter mirrors the
 * same deltas into `nv_inference_*` counters instead of re-deriving them.
 */
import type { Clock } from '../../../src/protocol/clock.ts';
import type { DurationStatJson, ModelStatisticsJson } from '../core/api.ts';
import type { ExecutionTimings } from '../core/types.ts';

/** Triton's `FailureReason` (the `reason` label of `nv_inference_request_failure`). */
export type FailureReason = 'REJECTED' | 'CANCELED' | 'BACKEND' | 'OTHER';

export const FAILURE_REASONS: readonly FailureReason[] = ['REJECTED', 'CANCELED', 'BACKEND', 'OTHER'];

/** One successful, executed (non-cached) request. */
export interface SuccessRecord extends ExecutionTimings {
  /** The request's batch size (`max(1, first dim)`, 1 for models that do not batch). */
  batchSize: number;
  /** `request_end − request_start`. */
  requestNs: number;
  /** `compute_start − queue_start`. */
  queueNs: number;
  /** Cache lookup + insert time when the model caches (a cache miss); added to the success duration too. */
  cacheMissNs?: number;
}

/** One request answered from the response cache. */
export interface CacheHitRecord {
  requestNs: number;
  /** `cache_lookup_start − queue_start`. */
  queueNs: number;
  /** Lookup duration. */
  cacheHitNs: number;
}

/** One backend execution (a batch) whose requests did not all fail. */
export interface ExecutionRecord extends ExecutionTimings {
  /** Sum of the requests' batch sizes. */
  batchSize: number;
}

/**
 * What changed, as deltas: `request-success` (executed or cached), `request-failure`, `execution`,
 * `cache-hit`, `cache-miss`. Durations are nanoseconds.
 */
export type StatsEvent =
  | {
      kind: 'request-success';
      /** Inferences added to `inference_count` (0 for a cache hit). */
      inferenceCount: number;
      cached: boolean;
      requestNs: number;
      queueNs: number;
      computeInputNs: number;
      computeInferNs: number;
      computeOutputNs: number;
    }
  | { kind: 'request-failure'; reason: FailureReason; requestNs: number }
  | ({ kind: 'execution' } & ExecutionRecord)
  | { kind: 'cache-hit'; durationNs: number }
  | { kind: 'cache-miss'; durationNs: number };

export type StatsListener = (event: StatsEvent) => void;

interface Duration {
  count: number;
  ns: number;
}

interface BatchStat {
  computeInput: Duration;
  computeInfer: Duration;
  computeOutput: Duration;
}

/** Triton's per-response-index statistics of a decoupled model (`response_stats`). */
interface ResponseStat {
  computeInfer: Duration;
  computeOutput: Duration;
  success: Duration;
  fail: Duration;
  emptyResponse: Duration;
  cancel: Duration;
}

function zero(): Duration {
  return { count: 0, ns: 0 };
}

function add(d: Duration, ns: number): void {
  d.count += 1;
  d.ns += ns;
}

function json(d: Duration): DurationStatJson {
  return { count: d.count, ns: d.ns };
}

/** Counters of one model version; the scheduler records, `/stats` and ModelStatistics read `toJson`. */
export class ModelStatsRecorder {
  private readonly clock: Clock;
  private readonly listeners = new Set<StatsListener>();
  private lastInferenceMs = 0;
  private inferenceCount = 0;
  private executionCount = 0;
  private readonly success = zero();
  private readonly fail = zero();
  private readonly queue = zero();
  private readonly computeInput = zero();
  private readonly computeInfer = zero();
  private readonly computeOutput = zero();
  private readonly cacheHit = zero();
  private readonly cacheMiss = zero();
  private readonly failuresByReason = new Map<FailureReason, number>(FAILURE_REASONS.map((r) => [r, 0]));
  private readonly batches = new Map<number, BatchStat>();
  private readonly responses = new Map<number, ResponseStat>();

  constructor(clock: Clock) {
    this.clock = clock;
  }

  /** Subscribes to every update; returns the unsubscribe function. */
  onEvent(listener: StatsListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  recordSuccess(r: SuccessRecord): void {
    const cacheMissNs = r.cacheMissNs ?? 0;
    add(this.success, r.requestNs + cacheMissNs);
    add(this.queue, r.queueNs);
    add(this.computeInput, r.computeInputNs);
    add(this.computeInfer, r.computeInferNs);
    add(this.computeOutput, r.computeOutputNs);
    const inferenceCount = Math.max(1, r.batchSize);
    this.inferenceCount += inferenceCount;
    this.emit({
      kind: 'request-success',
      inferenceCount,
      cached: false,
      requestNs: r.requestNs + cacheMissNs,
      queueNs: r.queueNs,
      computeInputNs: r.computeInputNs,
      computeInferNs: r.computeInferNs,
      computeOutputNs: r.computeOutputNs,
    });
    if (r.cacheMissNs !== undefined) {
      add(this.cacheMiss, r.cacheMissNs);
      this.emit({ kind: 'cache-miss', durationNs: r.cacheMissNs });
    }
  }

  recordCacheHit(r: CacheHitRecord): void {
    add(this.success, r.requestNs);
    add(this.queue, r.queueNs);
    add(this.cacheHit, r.cacheHitNs);
    this.emit({
      kind: 'request-success',
      inferenceCount: 0,
      cached: true,
      requestNs: r.requestNs,
      queueNs: r.queueNs,
      computeInputNs: 0,
      computeInferNs: 0,
      computeOutputNs: 0,
    });
    this.emit({ kind: 'cache-hit', durationNs: r.cacheHitNs });
  }

  /** A request answered with an error after it entered the scheduler. */
  recordFailure(reason: FailureReason, requestNs: number): void {
    add(this.fail, requestNs);
    this.failuresByReason.set(reason, (this.failuresByReason.get(reason) ?? 0) + 1);
    this.emit({ kind: 'request-failure', reason, requestNs });
  }

  /** One execution of `batchSize` total; also stamps `last_inference` with the wall clock. */
  recordExecution(r: ExecutionRecord): void {
    this.executionCount += 1;
    let b = this.batches.get(r.batchSize);
    if (!b) {
      b = { computeInput: zero(), computeInfer: zero(), computeOutput: zero() };
      this.batches.set(r.batchSize, b);
    }
    add(b.computeInput, r.computeInputNs);
    add(b.computeInfer, r.computeInferNs);
    add(b.computeOutput, r.computeOutputNs);
    this.lastInferenceMs = Math.max(this.lastInferenceMs, this.clock.wallMs());
    this.emit({ kind: 'execution', ...r });
  }

  private responseStat(index: number): ResponseStat {
    let r = this.responses.get(index);
    if (!r) {
      r = {
        computeInfer: zero(),
        computeOutput: zero(),
        success: zero(),
        fail: zero(),
        emptyResponse: zero(),
        cancel: zero(),
      };
      this.responses.set(index, r);
    }
    return r;
  }

  /**
   * Response `index` (0-based) of a decoupled request was sent: `computeInferNs` since the previous response
   * (or the execution start), `computeOutputNs` to hand it to the transport; success is their sum (Triton's
   * InferenceStatsAggregator::UpdateResponseSuccess).
   */
  recordResponse(index: number, r: { computeInferNs: number; computeOutputNs: number }): void {
    const stat = this.responseStat(index);
    add(stat.computeInfer, r.computeInferNs);
    add(stat.computeOutput, r.computeOutputNs);
    add(stat.success, r.computeInferNs + r.computeOutputNs);
  }

  /** The FINAL flag without a response, as response `index` (Triton's UpdateResponseEmpty). */
  recordEmptyResponse(index: number, durationNs: number): void {
    add(this.responseStat(index).emptyResponse, durationNs);
  }

  /** A decoupled request cancelled before its response `index` (Triton's UpdateResponseCancel). */
  recordResponseCancel(index: number, durationNs: number): void {
    add(this.responseStat(index).cancel, durationNs);
  }

  /** Failed requests by reason (for the metrics exporter's initial values and for tests). */
  failureCount(reason: FailureReason): number {
    return this.failuresByReason.get(reason) ?? 0;
  }

  /** One `model_stats` entry, members in Triton's order; `batch_stats` sorted by batch size as Triton's map. */
  toJson(name: string, version: string): ModelStatisticsJson {
    return {
      name,
      version,
      last_inference: this.lastInferenceMs,
      inference_count: this.inferenceCount,
      execution_count: this.executionCount,
      inference_stats: {
        success: json(this.success),
        fail: json(this.fail),
        queue: json(this.queue),
        compute_input: json(this.computeInput),
        compute_infer: json(this.computeInfer),
        compute_output: json(this.computeOutput),
        cache_hit: json(this.cacheHit),
        cache_miss: json(this.cacheMiss),
      },
      response_stats: Object.fromEntries(
        [...this.responses.entries()]
          .sort(([a], [b]) => a - b)
          .map(([index, r]) => [
            String(index),
            {
              compute_infer: json(r.computeInfer),
              compute_output: json(r.computeOutput),
              success: json(r.success),
              fail: json(r.fail),
              empty_response: json(r.emptyResponse),
              cancel: json(r.cancel),
            },
          ]),
      ),
      batch_stats: [...this.batches.entries()]
        .sort(([a], [b]) => a - b)
        .map(([batchSize, b]) => ({
          batch_size: batchSize,
          compute_input: json(b.computeInput),
          compute_infer: json(b.computeInfer),
          compute_output: json(b.computeOutput),
        })),
      memory_usage: [],
    };
  }

  private emit(event: StatsEvent): void {
    for (const listener of this.listeners) listener(event);
  }
}
