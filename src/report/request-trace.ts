/**
 * Per-request send and response times of a run, kept only for `--profile-export-file` (perf_analyzer's
 * per-request `timestamp` / `response_timestamps`). It lives beside the RunResult, never in it: the versioned
 * JSON record stays small, and the arrays stay typed arrays (16 bytes a request) until the export is written.
 */

/** The requests counted in one window, in completion order. Times are Clock ns (monotonic). */
export interface WindowRequestTimes {
  sendNs: Float64Array;
  /** Index-aligned with `sendNs`: when each response ended. */
  responseNs: Float64Array;
  /** Requests counted in the window but not logged, because the run's log budget was spent. */
  omitted: number;
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
}
