/**
 * `--profile-export-file`: perf_analyzer's export layout (§4.3), so GenAI-Perf-style readers find `experiments`,
 * `experiment.mode/value`, `requests[].timestamp`, `requests[].response_timestamps` and `window_boundaries`
 * where they expect them. Every measured window of every level is in it, reported or not. `requests` lists the
 * requests counted in the level's windows (successful ones: a failed request has no response), sorted by send
 * time; with no request trace (a record read back from disk) it is `[]`. We do not export the tensors
 * (`request_inputs` / `response_outputs`). Each experiment also carries `windows`: our per-window aggregates
 * (counts, throughput, latency percentiles).
 * Timestamps are ns since the epoch, written as exact JSON integers (they exceed 2^53, so they are built as
 * bigint and spliced into the text). Clock ns map to the epoch through the level's first window, whose start is
 * both `startWallMs` (epoch) and the trace's `startNs` (Clock); the windows follow with no gap.
 */
import type { LevelResult, RunResult } from './model.ts';
import type { LevelRequestTimes, RequestTrace } from './request-trace.ts';

const BIGINT_MARK = '__inferbench_bigint__';
const REQUESTS_MARK = '__inferbench_requests__';

/** The export document as JSON text (compact, like perf_analyzer's rapidjson writer, plus a final newline). */
export function renderProfileExport(result: RunResult, trace?: RequestTrace): string {
  const requestTexts: string[] = [];
  const experiments = result.levels.map((level, i) => {
    const times = trace?.levels[i];
    requestTexts.push(times ? requestsJson(level, times) : '[]');
    return experimentOf(level, `${REQUESTS_MARK}${i}`, omittedOf(times));
  });
  const doc = {
    experiments,
    version: `inferbench ${result.tool.version}`,
    service_kind: 'triton',
    endpoint: '',
  };
  const text = JSON.stringify(doc, (_key, value: unknown) =>
    typeof value === 'bigint' ? `${BIGINT_MARK}${value.toString()}` : value,
  );
  return (
    text
      .replace(new RegExp(`"${BIGINT_MARK}(-?\\d+)"`, 'g'), '$1')
      .replace(new RegExp(`"${REQUESTS_MARK}(\\d+)"`, 'g'), (_m, i: string) => requestTexts[Number(i)]!) +
    '\n'
  );
}

function experimentOf(level: LevelResult, requests: string, omitted: number) {
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
    requests,
    ...(omitted > 0 ? { requests_omitted: omitted } : {}),
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

function omittedOf(times: LevelRequestTimes | undefined): number {
  return times ? times.windows.reduce((sum, w) => sum + w.omitted, 0) : 0;
}

/**
 * The level's requests as JSON text, sorted by send time: `{"timestamp":<ns>,"response_timestamps":[<ns>]}`.
 * Written by hand rather than through objects, so a million requests cost two typed arrays and the text.
 */
function requestsJson(level: LevelResult, times: LevelRequestTimes): string {
  const first = level.windows[0];
  if (!first) return '[]';
  let total = 0;
  for (const w of times.windows) total += w.sendNs.length;
  // Offsets from the level's first window start (Clock ns, exact in a double for ~104 days).
  const sendOffsets = new Float64Array(total);
  const responseOffsets = new Float64Array(total);
  let n = 0;
  for (const w of times.windows) {
    for (let i = 0; i < w.sendNs.length; i++, n++) {
      sendOffsets[n] = w.sendNs[i]! - times.startNs;
      responseOffsets[n] = w.responseNs[i]! - times.startNs;
    }
  }
  const order = new Uint32Array(total);
  for (let i = 0; i < total; i++) order[i] = i;
  order.sort((a, b) => sendOffsets[a]! - sendOffsets[b]! || a - b);
  const base = wallMsToNs(first.startWallMs);
  const parts: string[] = new Array(total);
  for (let k = 0; k < total; k++) {
    const i = order[k]!;
    const sent = base + BigInt(Math.round(sendOffsets[i]!));
    const answered = base + BigInt(Math.round(responseOffsets[i]!));
    parts[k] = `{"timestamp":${sent},"response_timestamps":[${answered}]}`;
  }
  return `[${parts.join(',')}]`;
}

function wallMsToNs(wallMs: number): bigint {
  const wholeMs = Math.trunc(wallMs);
  return BigInt(wholeMs) * 1_000_000n + BigInt(Math.round((wallMs - wholeMs) * 1e6));
}
