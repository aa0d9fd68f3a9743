/**
 * Window data → the report's `Measurement` (pure).
 *
 * Definitions: throughput = successful requests × batch / duration; mean, sample standard deviation, min and
 * max are exact (from every recorded value). Percentiles come from the HDR histogram of integer µs with 3
 * significant digits: the value returned is the highest value equivalent to the bucket holding the
 * ⌈p/100·n⌉-th smallest sample, so it is within 0.1 % of that sample. perf_analyzer instead takes the exact
 * sample at index floor(p/100·(n−1) + 0.5) of the sorted list (nearest rank, rounded); for small n the two can
 * pick neighbouring samples (e.g. p50 of 1..100 µs: HDR 50, perf_analyzer 51).
 */
import { encodeIntoCompressedBase64 } from 'hdr-histogram-js';
import { nsToS, nsToUs } from '../protocol/units.ts';
import type { LatencySummary, Measurement } from '../report/model.ts';
import type { LatencyAccumulator } from './latency-accumulator.ts';
import { generatorHealth } from './loop-health.ts';
import { errorTotal, type WindowData } from './window-data.ts';

export const STANDARD_PERCENTILES = [50, 90, 95, 99] as const;

export interface SummarizeOptions {
  /** Batch size per request (max(-b, 1)). */
  batchSize: number;
  /** --percentile, added to the reported set. */
  percentile?: number;
  /** Open loop: the intended send rate, for the achieved/intended ratio. */
  intendedRatePerSec?: number;
  /** A sequence model: report the sequence count and rate. */
  sequences?: boolean;
  /** A decoupled model: report the responses, their rate and the latency to the first response. */
  decoupled?: boolean;
}

export function summarizeLatency(acc: LatencyAccumulator, extraPercentile?: number): LatencySummary {
  const percentiles = new Set<number>(STANDARD_PERCENTILES);
  if (extraPercentile !== undefined) percentiles.add(extraPercentile);
  const percentilesUs: Record<string, number> = {};
  for (const p of percentiles)
    percentilesUs[String(p)] = acc.count > 0 ? acc.histogram.getValueAtPercentile(p) : 0;
  return {
    count: acc.count,
    minUs: acc.count > 0 ? acc.minUs : 0,
    maxUs: acc.maxUs,
    meanUs: acc.meanUs,
    stdUs: acc.sampleStdUs(),
    percentilesUs,
  };
}

export function summarizeWindow(window: WindowData, options: SummarizeOptions): Measurement {
  const durationS = nsToS(window.durationNs);
  const perSec = (n: number) => (durationS > 0 ? n / durationS : 0);
  const batch = Math.max(1, options.batchSize);
  const latency = summarizeLatency(window.latency, options.percentile);
  const sendRatePerSec = perSec(window.sentCount);
  const achievedRateRatio =
    options.intendedRatePerSec && options.intendedRatePerSec > 0
      ? sendRatePerSec / options.intendedRatePerSec
      : undefined;
  const perOk = (ns: number) => (window.okCount > 0 ? nsToUs(ns / window.okCount) : 0);
  const measurement: Measurement = {
    durationNs: window.durationNs,
    requestCount: window.okCount,
    sentCount: window.sentCount,
    errorCount: errorTotal(window),
    errorsByKind: { ...window.errorsByKind },
    delayedCount: window.delayedCount,
    throughputPerSec: perSec(window.okCount * batch),
    sendRatePerSec,
    latency,
    latencyHistogram: encodeIntoCompressedBase64(window.latency.histogram),
    clientSendUs: perOk(window.clientSendNsSum),
    clientRecvUs: perOk(window.clientRecvNsSum),
    responseWaitUs: perOk(window.responseWaitNsSum),
    generator: generatorHealth(window.loop, {
      latencyP50Us: latency.percentilesUs['50'] ?? 0,
      delayedCount: window.delayedCount,
      sentCount: window.sentCount,
      achievedRateRatio,
    }),
  };
  if (options.sequences) {
    measurement.sequenceCount = window.sequenceEndCount;
    measurement.sequencesPerSec = perSec(window.sequenceEndCount);
  }
  if (options.decoupled) {
    measurement.responseCount = window.responseCount;
    measurement.responsesPerSec = perSec(window.responseCount);
    measurement.firstResponseLatency = summarizeLatency(window.firstResponse, options.percentile);
  }
  if (window.uncorrected) {
    measurement.uncorrectedLatency = summarizeLatency(window.uncorrected, options.percentile);
    measurement.uncorrectedLatencyHistogram = encodeIntoCompressedBase64(window.uncorrected.histogram);
  }
  if (window.server) measurement.server = window.server;
  if (window.metrics) measurement.metrics = window.metrics;
  return measurement;
}

/** The latency the stability rule and the latency limit use: pN with --percentile, else the mean (µs). */
export function stabilizingLatencyUs(latency: LatencySummary, percentile: number | undefined): number {
  if (percentile === undefined) return latency.meanUs;
  return latency.percentilesUs[String(percentile)] ?? latency.meanUs;
}
