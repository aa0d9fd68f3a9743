/**
 * The validated, frozen settings the profiler runs with. The CLI (flags, config file, defaults) builds one of
 * these; the profiler never looks at flags. Names follow perf_analyzer's options, with units in the names.
 */
import type { ShardSettings } from '../distributed/shard-spec.ts';
import type { LoadSettings } from '../load/load-settings.ts';
import type { SequenceSettings } from '../load/sequence-schedule.ts';
import type { LoadMode } from '../report/model.ts';

export interface MeasurementSettings {
  mode: 'time_windows' | 'count_windows';
  /** time_windows: real window length (we do NOT apply perf_analyzer's hidden 1.2×). */
  windowMs: number;
  /** count_windows: minimum completed requests per window. */
  windowRequestCount: number;
  /** Allowed max/min spread, as a fraction (perf_analyzer -s 10 → 0.10). */
  stabilityThreshold: number;
  /** Windows considered by the stability rule (perf_analyzer: 3). */
  stabilityWindows: number;
  /** -r: max windows per level. */
  maxTrials: number;
  /** --percentile: the stabilising/summary latency is pN; undefined = the average. */
  percentile?: number;
  /** -l in ms; 0 = no limit. */
  latencyThresholdMs: number;
  /** --warmup-request-count, sent before the first window of each level and discarded. */
  warmupRequestCount: number;
  /** --request-count: exactly this many requests in one window, no stability rule; 0 = off. */
  requestCount: number;
  /** One window per level, reported as measured (our `--single-measurement`). */
  singleMeasurement: boolean;
  /** Open loop: a send later than this after its intended time counts as delayed (perf_analyzer: 1 ms). */
  delayToleranceUs: number;
}

export interface ProfileSettings {
  modelName: string;
  modelVersion: string;
  protocol: 'http' | 'grpc';
  url: string;
  batchSize: number;
  load: LoadSettings;
  search: 'linear' | 'binary';
  /** Async client calls (perf_analyzer --async); sync = one blocking loop per in-flight request. */
  async: boolean;
  streaming: boolean;
  /** Load shards in worker threads (1 = all load on the main thread). */
  workerThreads: number;
  measurement: MeasurementSettings;
  /** Per-request timeout (ms); 0 = none. A timed-out request counts as an error of kind "timeout". */
  requestTimeoutMs: number;
  /** Abort the level (and the sweep) when errors / (errors + successes) in a window exceeds this; 1 = never. */
  maxErrorRate: number;
  /**
   * A level whose error rate (over its windows) is above this fraction is marked unhealthy (`errorRateExceeded`)
   * and the run exits 4; absent = DEFAULT_ERROR_RATE_THRESHOLD (0.05). --error-rate-threshold.
   */
  errorRateThreshold?: number;
  /** Prometheus scraping during windows (--collect-metrics). */
  metrics?: { url: string; intervalMs: number };
  /** Sequence options; present only when the model is a sequence model (the run turns them on). */
  sequence?: SequenceSettings;
  /** One shard of a run spread over several generator processes (--shard / --shards, src/distributed/). */
  shard?: ShardSettings;
  /**
   * The model is decoupled (0..n responses per request, gRPC streaming only): responses, their rate and the
   * first-response latency are reported (the run turns it on from the model config).
   */
  decoupled?: boolean;
}

export type { LoadSettings, OpenLoopOverflow, Range } from '../load/load-settings.ts';
export type { LoadMode };
