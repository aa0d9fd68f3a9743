/**
 * `--profile-export-file`: perf_analyzer's export layout (§4.3), so GenAI-Perf-style readers find `experiments`,
 * `experiment.mode/value`, `requests[].timestamp`, `requests[].request_inputs`, `requests[].response_timestamps`,
 * `requests[].response_outputs` and `window_boundaries` where they expect them. Every measured window of every
 * level is in it, reported or not. `requests` lists the requests counted in the level's windows (successful
 * ones: a failed request has no response), sorted by send time; with no request trace (a record read back from
 * disk) it is `[]`. Each request is `{"timestamp", "request_inputs", "response_timestamps", "response_outputs"}`
 * in perf_analyzer's key order: `request_inputs` holds the inputs of the prepared request that was sent (one
 * value per input: export-tensor-value.ts says how each datatype is written), `response_outputs` one object of
 * output values for the one response. The responses are kept as raw bytes during the run, within a byte budget
 * (--profile-export-max-output-bytes): past it, requests are still listed with their times and inputs but
 * without `response_outputs`, and the experiment counts them in `response_outputs_omitted` (a response that
 * cannot be decoded is listed the same way and counted in `response_outputs_undecodable`). A trace without the
 * inputs or the responses (older traces, clients that keep none) leaves those keys out. Requests over the
 * request budget are not listed at all and counted in `requests_omitted`. Each experiment also carries
 * `windows`: our per-window aggregates (counts, throughput, latency percentiles).
 * Timestamps are ns since the epoch, written as exact JSON integers (they exceed 2^53, so they are built as
 * bigint and spliced into the text). Clock ns map to the epoch through the level's first window, whose start is
 * both `startWallMs` (epoch) and the trace's `startNs` (Clock); the windows follow with no gap.
 * The text is produced in chunks (`profileExportChunks`), so an export larger than V8's longest string (inputs
 * are repeated for every request, as perf_analyzer does) can still be written to a file.
 */
import type { Tensor } from '../protocol/tensor.ts';
import { keptResponseOutputs } from '../transport/kept-response.ts';
import { exportTensorValueJson } from './export-tensor-value.ts';
import type { LevelResult, RunResult } from './model.ts';
import type { LevelRequestTimes, RequestTrace } from './request-trace.ts';

const BIGINT_MARK = '__inferbench_bigint__';
const REQUESTS_MARK = '__inferbench_requests__';

/** The export document as JSON text (compact, like perf_analyzer's rapidjson writer, plus a final newline). */
export function renderProfileExport(result: RunResult, trace?: RequestTrace): string {
  let text = '';
  for (const chunk of profileExportChunks(result, trace)) text += chunk;
  return text;
}

/** The export document's text in pieces of about a MB or less, in order (their concatenation is the document). */
export function* profileExportChunks(result: RunResult, trace?: RequestTrace): Generator<string> {
  const decoded = result.levels.map((_level, i) => decodeResponses(trace?.levels[i]));
  const experiments = result.levels.map((level, i) =>
    experimentOf(level, `${REQUESTS_MARK}${i}`, omittedOf(trace?.levels[i]), decoded[i]!),
  );
  const doc = {
    experiments,
    version: `inferbench ${result.tool.version}`,
    service_kind: 'triton',
    endpoint: '',
  };
  const text = JSON.stringify(doc, (_key, value: unknown) =>
    typeof value === 'bigint' ? `${BIGINT_MARK}${value.toString()}` : value,
  ).replace(new RegExp(`"${BIGINT_MARK}(-?\\d+)"`, 'g'), '$1');
  // Odd pieces are the level indices whose requests go there.
  const pieces = text.split(new RegExp(`"${REQUESTS_MARK}(\\d+)"`));
  for (let p = 0; p < pieces.length; p++) {
    if (p % 2 === 0) {
      yield pieces[p]!;
      continue;
    }
    const i = Number(pieces[p]);
    const times = trace?.levels[i];
    if (times) yield* requestsChunks(result.levels[i]!, times, trace?.requestInputs, decoded[i]!);
    else yield '[]';
  }
  yield '\n';
}

/** A level's decoded response outputs, flattened over its windows in log order, and the failures. */
interface DecodedResponses {
  outputs: (Tensor[] | undefined)[];
  undecodable: number;
}

function decodeResponses(times: LevelRequestTimes | undefined): DecodedResponses {
  const outputs: (Tensor[] | undefined)[] = [];
  let undecodable = 0;
  for (const w of times?.windows ?? []) {
    const base = outputs.length;
    outputs.length = base + w.sendNs.length;
    const responses = w.responses ?? [];
    for (let i = 0; i < responses.length && i < w.sendNs.length; i++) {
      const kept = responses[i];
      if (!kept) continue;
      try {
        outputs[base + i] = keptResponseOutputs(kept);
      } catch {
        undecodable++;
      }
    }
  }
  return { outputs, undecodable };
}

function experimentOf(
  level: LevelResult,
  requests: string,
  omitted: { requests: number; responses: number },
  decoded: DecodedResponses,
) {
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
    ...(omitted.requests > 0 ? { requests_omitted: omitted.requests } : {}),
    ...(omitted.responses > 0 ? { response_outputs_omitted: omitted.responses } : {}),
    ...(decoded.undecodable > 0 ? { response_outputs_undecodable: decoded.undecodable } : {}),
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

function omittedOf(times: LevelRequestTimes | undefined): { requests: number; responses: number } {
  let requests = 0;
  let responses = 0;
  for (const w of times?.windows ?? []) {
    requests += w.omitted;
    responses += w.responsesOmitted ?? 0;
  }
  return { requests, responses };
}

/** Characters of request text gathered before a chunk is handed on. */
const CHUNK_CHARS = 1 << 20;

/**
 * The level's requests as JSON text, sorted by send time:
 * `{"timestamp":<ns>,"request_inputs":{…},"response_timestamps":[<ns>],"response_outputs":[{…}]}`.
 * Written by hand rather than through objects, so a million requests cost a few typed arrays and the text of
 * one chunk; each distinct request's inputs are rendered once.
 */
function* requestsChunks(
  level: LevelResult,
  times: LevelRequestTimes,
  requestInputs: RequestTrace['requestInputs'],
  decoded: DecodedResponses,
): Generator<string> {
  const first = level.windows[0];
  if (!first) {
    yield '[]';
    return;
  }
  let total = 0;
  for (const w of times.windows) total += w.sendNs.length;
  // Offsets from the level's first window start (Clock ns, exact in a double for ~104 days).
  const sendOffsets = new Float64Array(total);
  const responseOffsets = new Float64Array(total);
  const requestIndex = new Int32Array(total).fill(-1);
  let n = 0;
  for (const w of times.windows) {
    if (w.requestIndex) requestIndex.set(w.requestIndex.subarray(0, w.sendNs.length), n);
    for (let i = 0; i < w.sendNs.length; i++, n++) {
      sendOffsets[n] = w.sendNs[i]! - times.startNs;
      responseOffsets[n] = w.responseNs[i]! - times.startNs;
    }
  }
  const order = new Uint32Array(total);
  for (let i = 0; i < total; i++) order[i] = i;
  order.sort((a, b) => sendOffsets[a]! - sendOffsets[b]! || a - b);
  const base = wallMsToNs(first.startWallMs);
  const inputTexts: (string | undefined)[] = [];
  const inputsOf = (index: number): string | undefined => {
    const inputs = requestInputs?.[index];
    if (!inputs) return undefined;
    inputTexts[index] ??= tensorsJson(inputs);
    return inputTexts[index];
  };
  let parts: string[] = [];
  let chars = 0;
  let leading = '[';
  for (let k = 0; k < total; k++) {
    const i = order[k]!;
    const sent = base + BigInt(Math.round(sendOffsets[i]!));
    const answered = base + BigInt(Math.round(responseOffsets[i]!));
    const inputs = inputsOf(requestIndex[i]!);
    const outputs = decoded.outputs[i];
    const part =
      `{"timestamp":${sent}` +
      (inputs === undefined ? '' : `,"request_inputs":${inputs}`) +
      `,"response_timestamps":[${answered}]` +
      (outputs === undefined ? '' : `,"response_outputs":[${tensorsJson(outputs)}]`) +
      '}';
    parts.push(part);
    chars += part.length;
    if (chars >= CHUNK_CHARS) {
      yield leading + parts.join(',');
      leading = ',';
      parts = [];
      chars = 0;
    }
  }
  yield `${parts.length > 0 ? leading + parts.join(',') : leading === '[' ? '[' : ''}]`;
}

/** Tensors as one JSON object: `{"<name>":<value>,…}`. */
function tensorsJson(tensors: readonly Tensor[]): string {
  return `{${tensors.map((t) => `${JSON.stringify(t.name)}:${exportTensorValueJson(t)}`).join(',')}}`;
}

function wallMsToNs(wallMs: number): bigint {
  const wholeMs = Math.trunc(wallMs);
  return BigInt(wholeMs) * 1_000_000n + BigInt(Math.round((wallMs - wholeMs) * 1e6));
}
