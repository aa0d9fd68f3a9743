/**
 * The run record: the boundary between measuring and reporting. The profiler produces a RunResult;
 * every renderer (stdout table, CSV, JSON export, HTML) and every gate is a pure function of it.
 * Serialised as JSON with `schemaVersion`; bump it on any incompatible change.
 */

import type { DistributedInfo } from '../distributed/shard-record.ts';
import type { ServerAccounting } from './accounting.ts';
import type { RunManifest } from './manifest.ts';

export const RUN_RESULT_SCHEMA_VERSION = 1;

export type LoadMode = 'concurrency' | 'request_rate' | 'custom_intervals';

/** A `{count, ns}` pair as the statistics extension reports it. */
export interface DurationStat {
  count: number;
  ns: number;
}

/** Server-side statistics for one model version over one window (end snapshot − start snapshot). */
export interface ServerStatsDelta {
  model: string;
  version: string;
  inferenceCount: number;
  executionCount: number;
  success: DurationStat;
  fail: DurationStat;
  queue: DurationStat;
  computeInput: DurationStat;
  computeInfer: DurationStat;
  computeOutput: DurationStat;
  cacheHit: DurationStat;
  cacheMiss: DurationStat;
  /** Composing models of an ensemble, recursively. */
  composing: ServerStatsDelta[];
}

export interface LatencySummary {
  /** Number of latencies summarised. */
  count: number;
  minUs: number;
  maxUs: number;
  meanUs: number;
  /** Sample standard deviation (n−1); 0 when count < 2. */
  stdUs: number;
  /** Percentile → µs, keys like "50", "90", "95", "99" and any extra `--percentile`. */
  percentilesUs: Record<string, number>;
}

/** Client-side measurements of one window or of a merge of windows. */
export interface Measurement {
  /** Real length of the window(s), summed for a merge. */
  durationNs: number;
  /** Requests that completed successfully inside the window (perf_analyzer's "Request count"). */
  requestCount: number;
  /** Requests that were sent inside the window. */
  sentCount: number;
  /** Requests that failed inside the window, total and by kind (e.g. "http:503", "grpc:UNAVAILABLE", "timeout"). */
  errorCount: number;
  errorsByKind: Record<string, number>;
  /** Open loop: requests sent later than the tolerance after their intended time. */
  delayedCount: number;
  /** requestCount × batch / duration. */
  throughputPerSec: number;
  /** sentCount / duration. */
  sendRatePerSec: number;
  /** Sequence models: successful requests that ended a sequence, and per second (perf_analyzer's "Sequence count"). */
  sequenceCount?: number;
  sequencesPerSec?: number;
  /**
   * Decoupled models (gRPC streaming): responses received (empty final responses not counted) and per second
   * (perf_analyzer's "Response Throughput"), and the latency to each request's first response. `latency` is
   * then to the request's last response, as perf_analyzer measures it.
   */
  responseCount?: number;
  responsesPerSec?: number;
  firstResponseLatency?: LatencySummary;
  /** In open loop measured from the intended send time; in closed loop from the actual send. */
  latency: LatencySummary;
  /** Open loop only: latency from the actual send (the coordinated-omission-uncorrected figure). */
  uncorrectedLatency?: LatencySummary;
  /** HDR histogram of `latency` (µs), compressed base64, so records can be merged later. */
  latencyHistogram: string;
  /** Open loop: HDR histogram of `uncorrectedLatency`, likewise (absent in older records). */
  uncorrectedLatencyHistogram?: string;
  /** Average client send / receive time per request (µs): time to write the request and to read the response. */
  clientSendUs: number;
  clientRecvUs: number;
  /** Average time from the request written to the first response byte (µs). */
  responseWaitUs: number;
  /** Server statistics for the model (absent when the server has no statistics extension). */
  server?: ServerStatsDelta;
  /** The generator watching itself. */
  generator: GeneratorHealth;
  /** Prometheus metrics scraped during the window(s), when --collect-metrics is on. */
  metrics?: MetricsSummary;
}

export interface GeneratorHealth {
  /** Event-loop delay of the main thread, p99 and max (µs). */
  eventLoopDelayP99Us: number;
  eventLoopDelayMaxUs: number;
  /** Event-loop utilisation 0..1 of the main thread. */
  eventLoopUtilization: number;
  /** Process CPU time / wall time (1.0 = one core busy). */
  cpuCores: number;
  /** Open loop: achieved send rate / intended rate. */
  achievedRateRatio?: number;
  /** Human-readable reasons the generator may have been the bottleneck; empty when fine. */
  bottleneckWarnings: string[];
}

/** Per-GPU Prometheus figures as perf_analyzer aggregates them (avg util & power, max used, first total). */
export interface MetricsSummary {
  gpuUtilization: Record<string, number>;
  gpuPowerUsageW: Record<string, number>;
  gpuMemoryUsedBytes: Record<string, number>;
  gpuMemoryTotalBytes: Record<string, number>;
}

export interface WindowResult extends Measurement {
  /** 1-based window index within the level. */
  index: number;
  /** Wall-clock start (ms since epoch). */
  startWallMs: number;
  /** `--repeat N`: which run of the whole measurement (1-based); absent = the only one. */
  repeat?: number;
}

export type LevelStatus =
  | 'stable'
  | 'unstable'
  | 'single' // one measurement, no stability rule (--stability off / --request-count)
  | 'over_latency_limit'
  | 'errors_over_limit'
  | 'interrupted'
  | 'no_data';

export interface LevelResult {
  mode: LoadMode;
  /** Concurrency, or request rate (req/s). */
  value: number;
  status: LevelStatus;
  /** Reported = appears in the summary table and CSV (perf_analyzer: stable and within the latency limit). */
  reported: boolean;
  windows: WindowResult[];
  /** Merge of the last ≤ 3 windows (perf_analyzer §3.3); absent when nothing was measured. */
  merged?: Measurement;
  /** Stabilising latency of the merge (µs): the pN latency when --percentile is set, else the mean. */
  stabilizingLatencyUs?: number;
  /** max/min spread over the last windows actually achieved, for throughput and latency (1.0 = identical). */
  spread?: { throughput: number; latency: number };
  /** Why the level ended ("stable", "max_trials", "latency_limit", "sigint", "error_rate", …). */
  stopReason: string;
  /**
   * failed / (failed + successful) requests over every measured window of the level (warm-up excluded), 0..1;
   * 0 when nothing was measured. Always written by this version (absent only in older records).
   */
  errorRate?: number;
  /**
   * errorRate is above --error-rate-threshold (default 5 %): most of the level's figures come from the few
   * requests that succeeded. Marked on stdout, in the CSV ("Error Rate Exceeded") and the HTML; the run exits 4.
   */
  errorRateExceeded?: boolean;
  /** `--repeat N`: how the level ended in each run (its windows are tagged with `repeat`). */
  repeats?: { repeat: number; status: LevelStatus; stopReason: string; windowCount: number }[];
  /** Client ↔ server request accounting (when the server has the statistics extension). */
  accounting?: ServerAccounting;
}

export interface ModelInfo {
  name: string;
  version: string;
  platform: string;
  maxBatchSize: number;
  inputs: { name: string; datatype: string; shape: number[] }[];
  outputs: { name: string; datatype: string; shape: number[] }[];
  dynamicBatching: boolean;
  responseCache: boolean;
  /** Composing models of an ensemble (names). */
  composingModels: string[];
  /** Server extensions advertised at GET /v2. */
  serverExtensions: string[];
}

export interface RunResult {
  schemaVersion: typeof RUN_RESULT_SCHEMA_VERSION;
  tool: { name: 'inferbench'; version: string };
  startedAtWallMs: number;
  finishedAtWallMs: number;
  environment: {
    node: string;
    platform: string;
    arch: string;
    cpus: number;
    cpuModel: string;
    totalMemoryBytes: number;
    hostname: string;
  };
  /** The effective, validated configuration the run used (flags, file and defaults merged). */
  config: Record<string, unknown>;
  model: ModelInfo;
  /** Whether server statistics were available, and why not when they were not. */
  serverStats: { available: boolean; reason?: string };
  levels: LevelResult[];
  warnings: string[];
  /** The exit code the run ended with (before gates). */
  exitCode: number;
  /** Threshold verdicts (--threshold / config `thresholds`), when any were given; checked after the run. */
  gates?: GateVerdict[];
  /** Reproducibility manifest (absent in records written before it existed). */
  manifest?: RunManifest;
  /** `--repeat N`: how many times the whole measurement ran into this record (absent = once). */
  repeatCount?: number;
  /** A sharded run (--shard): this shard's facts, or for a merged record every shard's (src/distributed/). */
  distributed?: DistributedInfo;
}

/** One threshold's verdict as recorded: the expression, whether it held, one line per level checked. */
export interface GateVerdict {
  threshold: string;
  passed: boolean;
  details: string[];
}
