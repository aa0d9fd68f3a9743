/**
 * Pools already-summarised measurements (each with its compressed HDR histogram) into one, the way
 * `mergeWindows` pools raw windows: histograms ADDED and percentiles read again, moments combined exactly
 * (pooled mean and variance), counts and durations summed, throughput recomputed over the summed time. Used
 * for a `--repeat N` level: the figure of N runs is the pool of each run's merged windows.
 */
import { decodeFromCompressedBase64, encodeIntoCompressedBase64 } from 'hdr-histogram-js';
import { NS_PER_S } from '../protocol/units.ts';
import type { GeneratorHealth, LatencySummary, Measurement } from '../report/model.ts';
import { LatencyAccumulator } from './latency-accumulator.ts';
import { addServerDeltas } from './server-stats.ts';

/** Pooled summary of `parts`; percentiles read from `histogram` (their added histograms) when given. */
export function poolSummaries(
  parts: readonly LatencySummary[],
  histogram: LatencyAccumulator | undefined,
): LatencySummary {
  const live = parts.filter((p) => p.count > 0);
  const count = live.reduce((s, p) => s + p.count, 0);
  const meanUs = count > 0 ? live.reduce((s, p) => s + p.meanUs * p.count, 0) / count : 0;
  const ss = live.reduce((s, p) => s + (p.count - 1) * p.stdUs ** 2 + p.count * (p.meanUs - meanUs) ** 2, 0);
  const keys = new Set(parts.flatMap((p) => Object.keys(p.percentilesUs)));
  const percentilesUs: Record<string, number> = {};
  for (const k of keys) {
    percentilesUs[k] =
      histogram && histogram.histogram.totalCount > 0
        ? histogram.histogram.getValueAtPercentile(Number(k))
        : // No histograms (hand-made records): the count-weighted mean of the parts' percentiles.
          count > 0
          ? live.reduce((s, p) => s + (p.percentilesUs[k] ?? 0) * p.count, 0) / count
          : 0;
  }
  return {
    count,
    minUs: live.length > 0 ? Math.min(...live.map((p) => p.minUs)) : 0,
    maxUs: Math.max(0, ...parts.map((p) => p.maxUs)),
    meanUs,
    stdUs: count > 1 ? Math.sqrt(ss / (count - 1)) : 0,
    percentilesUs,
  };
}

/** The sum of compressed histograms; undefined when one is missing (hand-made or older records). */
export function addHistograms(encoded: readonly (string | undefined)[]): LatencyAccumulator | undefined {
  if (encoded.length === 0 || encoded.some((e) => e === '' || e === undefined)) return undefined;
  const acc = new LatencyAccumulator();
  for (const e of encoded) acc.histogram.add(decodeFromCompressedBase64(e as string, 32, false));
  return acc;
}

function poolGenerator(parts: readonly Measurement[], totalNs: number): GeneratorHealth {
  const weighted = (f: (g: GeneratorHealth) => number) =>
    totalNs > 0 ? parts.reduce((s, p) => s + f(p.generator) * p.durationNs, 0) / totalNs : 0;
  const ratios = parts.map((p) => p.generator.achievedRateRatio).filter((r): r is number => r !== undefined);
  return {
    eventLoopDelayP99Us: Math.max(...parts.map((p) => p.generator.eventLoopDelayP99Us)),
    eventLoopDelayMaxUs: Math.max(...parts.map((p) => p.generator.eventLoopDelayMaxUs)),
    eventLoopUtilization: weighted((g) => g.eventLoopUtilization),
    cpuCores: weighted((g) => g.cpuCores),
    ...(ratios.length === parts.length
      ? { achievedRateRatio: weighted((g) => g.achievedRateRatio ?? 0) }
      : {}),
    bottleneckWarnings: [...new Set(parts.flatMap((p) => p.generator.bottleneckWarnings))],
  };
}

export function mergeMeasurements(parts: readonly Measurement[]): Measurement {
  if (parts.length === 0) throw new RangeError('mergeMeasurements needs at least one measurement');
  if (parts.length === 1) return parts[0] as Measurement;
  const durationNs = parts.reduce((s, p) => s + p.durationNs, 0);
  const sum = (f: (p: Measurement) => number) => parts.reduce((s, p) => s + f(p), 0);
  const requestCount = sum((p) => p.requestCount);
  const perOk = (f: (p: Measurement) => number) =>
    requestCount > 0 ? sum((p) => f(p) * p.requestCount) / requestCount : 0;
  const errorsByKind: Record<string, number> = {};
  for (const p of parts)
    for (const [k, n] of Object.entries(p.errorsByKind)) errorsByKind[k] = (errorsByKind[k] ?? 0) + n;
  const histogram = addHistograms(parts.map((p) => p.latencyHistogram));
  const merged: Measurement = {
    durationNs,
    requestCount,
    sentCount: sum((p) => p.sentCount),
    errorCount: sum((p) => p.errorCount),
    errorsByKind,
    delayedCount: sum((p) => p.delayedCount),
    throughputPerSec: durationNs > 0 ? sum((p) => p.throughputPerSec * p.durationNs) / durationNs : 0,
    sendRatePerSec: durationNs > 0 ? (sum((p) => p.sentCount) * NS_PER_S) / durationNs : 0,
    latency: poolSummaries(
      parts.map((p) => p.latency),
      histogram,
    ),
    latencyHistogram: histogram ? encodeIntoCompressedBase64(histogram.histogram) : '',
    clientSendUs: perOk((p) => p.clientSendUs),
    clientRecvUs: perOk((p) => p.clientRecvUs),
    responseWaitUs: perOk((p) => p.responseWaitUs),
    generator: poolGenerator(parts, durationNs),
  };
  if (parts.every((p) => p.uncorrectedLatency)) {
    const uncorrected = addHistograms(parts.map((p) => p.uncorrectedLatencyHistogram));
    merged.uncorrectedLatency = poolSummaries(
      parts.map((p) => p.uncorrectedLatency as LatencySummary),
      uncorrected,
    );
    if (uncorrected) merged.uncorrectedLatencyHistogram = encodeIntoCompressedBase64(uncorrected.histogram);
  }
  const servers = parts.map((p) => p.server);
  if (servers.every((s) => s !== undefined)) {
    merged.server = servers.slice(1).reduce((a, b) => addServerDeltas(a!, b!), servers[0]);
  }
  const metrics = parts.find((p) => p.metrics)?.metrics;
  if (metrics) merged.metrics = metrics;
  return merged;
}
