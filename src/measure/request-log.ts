/**
 * Per-request send and response times of one window, for `--profile-export-file` only (perf_analyzer's
 * `timestamp` and `response_timestamps`). Columnar: two Float64Arrays that double when full, 16 bytes per
 * request and no object per request. Times are Clock ns (monotonic); the export turns them into epoch ns.
 * A budget shared by every window of a run bounds the memory: past it, requests are only counted.
 */

/**
 * Requests a run logs by default: 16 MB of arrays, and an export of about 70 MB of JSON text (which must stay
 * well under V8's largest string).
 */
export const DEFAULT_REQUEST_LOG_BUDGET = 1_000_000;

/** The run-wide cap on recorded requests, shared by the windows' logs. */
export class RequestLogBudget {
  private used = 0;
  /** Requests not recorded because the budget was spent. */
  omitted = 0;

  constructor(readonly capacity: number = DEFAULT_REQUEST_LOG_BUDGET) {}

  /** Takes one slot; false (and counted as omitted) when none is left. */
  take(): boolean {
    if (this.used >= this.capacity) {
      this.omitted++;
      return false;
    }
    this.used++;
    return true;
  }
}

const INITIAL_CAPACITY = 256;

export class RequestLog {
  private send: Float64Array = new Float64Array(INITIAL_CAPACITY);
  private response: Float64Array = new Float64Array(INITIAL_CAPACITY);
  private size = 0;
  /** Requests of this window not recorded because the run's budget was spent. */
  omitted = 0;

  constructor(private readonly budget: RequestLogBudget) {}

  /** Records one successful request: when it was sent and when its response ended (Clock ns). */
  record(sendNs: number, responseNs: number): void {
    if (!this.budget.take()) {
      this.omitted++;
      return;
    }
    if (this.size === this.send.length) {
      this.send = grow(this.send);
      this.response = grow(this.response);
    }
    this.send[this.size] = sendNs;
    this.response[this.size] = responseNs;
    this.size++;
  }

  get count(): number {
    return this.size;
  }

  /** The recorded send times (a view, length `count`), in recording (= completion) order. */
  sendNs(): Float64Array {
    return this.send.subarray(0, this.size);
  }

  /** The recorded response-end times, index-aligned with `sendNs()`. */
  responseNs(): Float64Array {
    return this.response.subarray(0, this.size);
  }
}

function grow(array: Float64Array): Float64Array {
  const bigger = new Float64Array(array.length * 2);
  bigger.set(array);
  return bigger;
}
