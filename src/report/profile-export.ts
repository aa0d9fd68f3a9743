/**
 * `--profile-export-file`: perf_analyzer's export layout (§4.3) so GenAI-Perf-style readers find `experiments`,
 * `experiment.mode/value` and `window_boundaries` where they expect them. We do not keep per-request records
 * (they would cost memory proportional to the run), so `requests` is always `[]`; instead each experiment
 * carries `windows`: the per-window aggregates we do keep (counts, throughput, latency percentiles).
 * Timestamps are ns since the epoch, written as exact JSON integers (they exceed 2^53, so they are built as
 * bigint and spliced into the text).
 */
import type { LevelResult, RunResult } from './model.ts';

const BIGINT_MARK = '__inferbench_bigint__';

/** The export document as JSON text (compact, like perf_analyzer's rapidjson writer, plus a final newline). */
export function renderProfileExport(result: RunResult): string {
  const doc = {
    experiments: result.levels.map(experimentOf),
    version: `inferbench ${result.tool.version}`,
    service_kind: 'triton',
    endpoint: '',
  };
  const text = JSON.stringify(doc, (_key, value: unknown) =>
    typeof value === 'bigint' ? `${BIGINT_MARK}${value.toString()}` : value,
  );
  return text.replace(new RegExp(`"${BIGINT_MARK}(-?\\d+)"`, 'g'), '$1') + '\n';
}

function experimentOf(level: LevelResult) {
  // perf_analyzer: mode "concurrency" for a concurrency level, "request_rate" for every other mode.
  const mode = level.mode === 'concurrency' ? 'concurrency' : 'request_rate';
  // Windows follow one another with no gap, so the edges are the first start plus running sums of durations
  // (wall-clock starts have only ms resolution; the durations are exact).
  const boundaries: bigint[] = [];
  let edge = level.windows.length > 0 ? wallMsToNs(level.windows[0]!.startWallMs) : 0n;
  if (level.windows.length > 0) boundaries.push(edge);
  const starts: bigint[] = [];
  for (const w of level.windows) {
    starts.push(edge);
    edge += BigInt(Math.round(w.durationNs));
    boundaries.push(edge);
  }
  return {
    experiment: { mode, value: level.value },
    requests: [],
    window_boundaries: boundaries,
    windows: level.windows.map((w, i) => ({
      index: w.index,
      start_ns: starts[i],
      duration_ns: BigInt(Math.round(w.durationNs)),
      request_count: w.requestCount,
      sent_count: w.sentCount,
      error_count: w.errorCount,
      delayed_count: w.delayedCount,
      throughput_per_sec: w.throughputPerSec,
      latency_us: {
        mean: w.latency.meanUs,
        std: w.latency.stdUs,
        min: w.latency.minUs,
        max: w.latency.maxUs,
        percentiles: w.latency.percentilesUs,
      },
    })),
    status: level.status,
    reported: level.reported,
  };
}

function wallMsToNs(wallMs: number): bigint {
  const wholeMs = Math.trunc(wallMs);
  return BigInt(wholeMs) * 1_000_000n + BigInt(Math.round((wallMs - wholeMs) * 1e6));
}
