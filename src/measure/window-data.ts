/**
 * The raw contents of one measurement window (or of a merge of windows) before summarising: mergeable
 * accumulators and counters. Kept separate from the report's `Measurement`, which is derived from it.
 */
import type { MetricsSummary, ServerStatsDelta } from '../report/model.ts';
import { LatencyAccumulator } from './latency-accumulator.ts';
import type { LoopHealthSample } from './loop-health.ts';
import type { RequestLog } from './request-log.ts';

export interface WindowData {
  /** Clock time of the window's start and end (for a merge: first start, last end). */
  startNs: number;
  endNs: number;
  /** Real measured time: endNs − startNs for one window, the sum of the windows' lengths for a merge. */
  durationNs: number;
  startWallMs: number;
  /** Latency of successful requests: from the intended send time in open loop, from the actual send in closed loop. */
  latency: LatencyAccumulator;
  /** Open loop only: latency from the actual send. */
  uncorrected?: LatencyAccumulator;
  okCount: number;
  sentCount: number;
  delayedCount: number;
  errorsByKind: Record<string, number>;
  /** Successful requests that ended a sequence (sequence models: perf_analyzer's "Sequence count"). */
  sequenceEndCount: number;
  /**
   * Responses of the successful requests (gRPC streaming counts each; otherwise one per request; a decoupled
   * model's empty final response is not one): perf_analyzer's response count.
   */
  responseCount: number;
  /** Latency to the first response (gRPC streaming; from the intended send in open loop). */
  firstResponse: LatencyAccumulator;
  /** Sums over successful requests (ns): write time, read time, time from written to first response byte. */
  clientSendNsSum: number;
  clientRecvNsSum: number;
  responseWaitNsSum: number;
  server?: ServerStatsDelta;
  /** Per-request records (only when the profile export asks for them; never merged). */
  requests?: RequestLog;
  loop?: LoopHealthSample;
  metrics?: MetricsSummary;
}

export function emptyWindowData(startNs: number, startWallMs: number, openLoop: boolean): WindowData {
  return {
    startNs,
    endNs: startNs,
    durationNs: 0,
    startWallMs,
    latency: new LatencyAccumulator(),
    uncorrected: openLoop ? new LatencyAccumulator() : undefined,
    okCount: 0,
    sentCount: 0,
    delayedCount: 0,
    errorsByKind: {},
    sequenceEndCount: 0,
    responseCount: 0,
    firstResponse: new LatencyAccumulator(),
    clientSendNsSum: 0,
    clientRecvNsSum: 0,
    responseWaitNsSum: 0,
  };
}

export function errorTotal(window: WindowData): number {
  let total = 0;
  for (const n of Object.values(window.errorsByKind)) total += n;
  return total;
}
