/**
 * Merges the same window of every shard (pure). The shards measured the same interval side by side, so this
 * is a PARALLEL merge, unlike mergeMeasurements (windows one after another): counts, errors and rates are
 * summed (merged throughput = Σ shard throughputs), the latency histograms are ADDED and percentiles read
 * from the sum (exact: integer-µs HDR buckets, so adding the shards' buckets gives the buckets of all
 * samples), mean and standard deviation pooled exactly, durations averaged (they cover one interval), and the
 * window starts on the reference clock (local start + the shard's clock offset). Server statistics are not
 * summed: every shard asked the same server, so shard 0's (the first that has them) stand for the window.
 */
import { encodeIntoCompressedBase64 } from 'hdr-histogram-js';
import { addHistograms, poolSummaries } from '../measure/merge-measurements.ts';
import type { GeneratorHealth, LatencySummary, WindowResult } from '../report/model.ts';

export interface ShardWindow {
  shardIndex: number;
  clockOffsetMs: number;
  window: WindowResult;
}

function sum(parts: readonly ShardWindow[], f: (w: WindowResult) => number): number {
  return parts.reduce((s, p) => s + f(p.window), 0);
}

function generatorOf(parts: readonly ShardWindow[]): GeneratorHealth {
  const gens = parts.map((p) => p.window.generator);
  const ratios = gens.map((g) => g.achievedRateRatio);
  return {
    eventLoopDelayP99Us: Math.max(...gens.map((g) => g.eventLoopDelayP99Us)),
    eventLoopDelayMaxUs: Math.max(...gens.map((g) => g.eventLoopDelayMaxUs)),
    eventLoopUtilization: Math.max(...gens.map((g) => g.eventLoopUtilization)),
    // CPU of all generator processes together.
    cpuCores: gens.reduce((s, g) => s + g.cpuCores, 0),
    // Each shard's ratio is its send rate over the WHOLE intended rate, so the ratios add up.
    ...(ratios.every((r) => r !== undefined)
      ? { achievedRateRatio: ratios.reduce((s: number, r) => s + (r as number), 0) }
      : {}),
    bottleneckWarnings: [
      ...new Set(
        parts.flatMap((p) => p.window.generator.bottleneckWarnings.map((w) => `shard ${p.shardIndex}: ${w}`)),
      ),
    ],
  };
}

export function mergeParallelWindows(parts: readonly ShardWindow[]): WindowResult {
  if (parts.length === 0) throw new RangeError('mergeParallelWindows needs at least one shard window');
  const first = parts[0]!.window;
  const requestCount = sum(parts, (w) => w.requestCount);
  const perOk = (f: (w: WindowResult) => number) =>
    requestCount > 0 ? sum(parts, (w) => f(w) * w.requestCount) / requestCount : 0;
  const errorsByKind: Record<string, number> = {};
  for (const p of parts)
    for (const [k, n] of Object.entries(p.window.errorsByKind)) errorsByKind[k] = (errorsByKind[k] ?? 0) + n;
  const latencyHistogram = addHistograms(parts.map((p) => p.window.latencyHistogram));
  const merged: WindowResult = {
    index: first.index,
    startWallMs: Math.min(...parts.map((p) => p.window.startWallMs + p.clockOffsetMs)),
    durationNs: sum(parts, (w) => w.durationNs) / parts.length,
    requestCount,
    sentCount: sum(parts, (w) => w.sentCount),
    errorCount: sum(parts, (w) => w.errorCount),
    errorsByKind,
    delayedCount: sum(parts, (w) => w.delayedCount),
    throughputPerSec: sum(parts, (w) => w.throughputPerSec),
    sendRatePerSec: sum(parts, (w) => w.sendRatePerSec),
    latency: poolSummaries(
      parts.map((p) => p.window.latency),
      latencyHistogram,
    ),
    latencyHistogram: latencyHistogram ? encodeIntoCompressedBase64(latencyHistogram.histogram) : '',
    clientSendUs: perOk((w) => w.clientSendUs),
    clientRecvUs: perOk((w) => w.clientRecvUs),
    responseWaitUs: perOk((w) => w.responseWaitUs),
    generator: generatorOf(parts),
  };
  if (parts.every((p) => p.window.sequenceCount !== undefined)) {
    merged.sequenceCount = sum(parts, (w) => w.sequenceCount ?? 0);
    merged.sequencesPerSec = sum(parts, (w) => w.sequencesPerSec ?? 0);
  }
  // Decoupled models: responses add up; the first-response latency is pooled (no histogram: weighted percentiles).
  if (parts.every((p) => p.window.responseCount !== undefined)) {
    merged.responseCount = sum(parts, (w) => w.responseCount ?? 0);
    merged.responsesPerSec = sum(parts, (w) => w.responsesPerSec ?? 0);
  }
  if (parts.every((p) => p.window.firstResponseLatency)) {
    merged.firstResponseLatency = poolSummaries(
      parts.map((p) => p.window.firstResponseLatency as LatencySummary),
      undefined,
    );
  }
  if (parts.every((p) => p.window.uncorrectedLatency)) {
    const histogram = addHistograms(parts.map((p) => p.window.uncorrectedLatencyHistogram));
    merged.uncorrectedLatency = poolSummaries(
      parts.map((p) => p.window.uncorrectedLatency as LatencySummary),
      histogram,
    );
    if (histogram) merged.uncorrectedLatencyHistogram = encodeIntoCompressedBase64(histogram.histogram);
  }
  const server = parts.find((p) => p.window.server)?.window.server;
  if (server) merged.server = server;
  const metrics = parts.find((p) => p.window.metrics)?.window.metrics;
  if (metrics) merged.metrics = metrics;
  return merged;
}
