/**
 * The figure reported for a level: the last ≤ 3 windows merged (perf_analyzer §3.3). Latency histograms and
 * moments are ADDED (pooled), never averaged; counts and durations are summed, so throughput is recomputed as
 * Σrequests × batch / Σduration; server deltas are summed; generator health is weighted by time.
 */
import { mergeLoopHealth } from './loop-health.ts';
import { addServerDeltas } from './server-stats.ts';
import { emptyWindowData, type WindowData } from './window-data.ts';

export function mergeWindows(windows: readonly WindowData[]): WindowData {
  if (windows.length === 0) throw new RangeError('mergeWindows needs at least one window');
  const first = windows[0]!;
  const merged = emptyWindowData(first.startNs, first.startWallMs, first.uncorrected !== undefined);
  merged.endNs = windows[windows.length - 1]!.endNs;
  const { latency, uncorrected, errorsByKind } = merged;
  for (const w of windows) {
    merged.durationNs += w.durationNs;
    latency.add(w.latency);
    if (uncorrected && w.uncorrected) uncorrected.add(w.uncorrected);
    merged.okCount += w.okCount;
    merged.sentCount += w.sentCount;
    merged.delayedCount += w.delayedCount;
    merged.sequenceEndCount += w.sequenceEndCount;
    merged.responseCount += w.responseCount;
    merged.firstResponse.add(w.firstResponse);
    for (const [kind, n] of Object.entries(w.errorsByKind))
      errorsByKind[kind] = (errorsByKind[kind] ?? 0) + n;
    merged.clientSendNsSum += w.clientSendNsSum;
    merged.clientRecvNsSum += w.clientRecvNsSum;
    merged.responseWaitNsSum += w.responseWaitNsSum;
    if (w.server) merged.server = merged.server ? addServerDeltas(merged.server, w.server) : w.server;
  }
  const loop = mergeLoopHealth(windows.flatMap((w) => (w.loop ? [w.loop] : [])));
  if (loop) merged.loop = loop;
  return merged;
}
