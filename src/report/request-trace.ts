/**
 * Per-request records of a run, kept only for `--profile-export-file` (perf_analyzer's per-request
 * `timestamp`, `request_inputs`, `response_timestamps` and `response_outputs`). It lives beside the RunResult,
 * never in it: the versioned JSON record stays small, the times stay typed arrays (20 bytes a request with the
 * request index) and the responses stay raw bytes until the export is written.
 */
import type { Tensor } from '../protocol/tensor.ts';
import type { KeptResponse } from '../transport/kept-response.ts';

/** The requests counted in one window, in completion order. Times are Clock ns (monotonic). */
export interface WindowRequestTimes {
  sendNs: Float64Array;
  /** Index-aligned with `sendNs`: when each response ended. */
  responseNs: Float64Array;
  /** Requests counted in the window but not logged, because the run's log budget was spent. */
  omitted: number;
  /** Index-aligned with `sendNs`: which of `RequestTrace.requestInputs` each sent (−1 = unknown). */
  requestIndex?: Int32Array;
  /** Index-aligned with `sendNs` (may be shorter): the response kept for each, if any. */
  responses?: readonly (KeptResponse | undefined)[];
  /** Logged requests whose response was not kept, because the run's response-byte budget was spent. */
  responsesOmitted?: number;
}

/** One level's windows, index-aligned with `LevelResult.windows`. */
export interface LevelRequestTimes {
  /** Clock ns of the first window's start: the instant `windows[0].startWallMs` stands for. */
  startNs: number;
  windows: WindowRequestTimes[];
}

export interface RequestTrace {
  /** Index-aligned with `RunResult.levels`. */
  levels: LevelRequestTimes[];
  /** The input tensors of each prepared request, by request index (what `requestIndex` points at). */
  requestInputs?: readonly (readonly Tensor[])[];
}
