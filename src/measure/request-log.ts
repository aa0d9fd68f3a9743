/**
 * Per-request records of one window, for `--profile-export-file` only (perf_analyzer's `timestamp`,
 * `request_inputs`, `response_timestamps` and `response_outputs`). Columnar: two Float64Arrays of times and an
 * Int32Array of request indices (which prepared request was sent: its inputs are rendered at export time)
 * that double when full, 20 bytes per request and no object per request. Times are Clock ns (monotonic); the
 * export turns them into epoch ns. The kept response bytes (decoded at export time) sit beside them.
 * A budget shared by every window of a run bounds the memory: past its request cap, requests are only
 * counted; past its byte cap for responses, requests are logged without their response.
 */
import type { KeptResponse } from '../transport/kept-response.ts';

/**
 * Requests a run logs by default: 20 MB of arrays, and an export of about 70 MB of JSON text for the times
 * alone.
 */
export const DEFAULT_REQUEST_LOG_BUDGET = 1_000_000;

/** Response bytes a run keeps by default for the export's `response_outputs` (64 MiB). */
export const DEFAULT_RESPONSE_BYTES_BUDGET = 64 * 1024 * 1024;

/** The run-wide caps on recorded requests and kept response bytes, shared by the windows' logs. */
export class RequestLogBudget {
  private used = 0;
  private responseBytesUsed = 0;
  private spent: boolean;
  private readonly spentListeners: (() => void)[] = [];
  /** Requests not recorded because the request cap was reached. */
  omitted = 0;
  /** Recorded requests whose response was not kept because the byte cap was reached. */
  responsesOmitted = 0;
  /** Recorded requests whose response was kept. */
  responsesKept = 0;

  constructor(
    readonly capacity: number = DEFAULT_REQUEST_LOG_BUDGET,
    /** Cap on kept response bytes (raw HTTP bodies / gRPC messages); 0 = keep none. */
    readonly responseBytesCapacity: number = DEFAULT_RESPONSE_BYTES_BUDGET,
  ) {
    this.spent = responseBytesCapacity <= 0;
  }

  /** Takes one slot; false (and counted as omitted) when none is left. */
  take(): boolean {
    if (this.used >= this.capacity) {
      this.omitted++;
      return false;
    }
    this.used++;
    return true;
  }

  /** True once the response-byte cap was reached (from the start with a cap of 0): no more are kept. */
  get responsesSpent(): boolean {
    return this.spent;
  }

  /**
   * Takes `byteLength` bytes of the response cap; false when they do not fit. The first response that does not
   * fit spends the cap for the rest of the run (so the responses kept are those of the first requests).
   */
  takeResponse(byteLength: number): boolean {
    if (this.spent) return false;
    if (this.responseBytesUsed + byteLength > this.responseBytesCapacity) {
      this.spent = true;
      for (const listener of this.spentListeners.splice(0)) listener();
      return false;
    }
    this.responseBytesUsed += byteLength;
    return true;
  }

  /** Calls `listener` once when the response cap is spent (the clients can stop copying responses). */
  onResponsesSpent(listener: () => void): void {
    this.spentListeners.push(listener);
  }
}

const INITIAL_CAPACITY = 256;

export class RequestLog {
  private send: Float64Array = new Float64Array(INITIAL_CAPACITY);
  private response: Float64Array = new Float64Array(INITIAL_CAPACITY);
  private index: Int32Array = new Int32Array(INITIAL_CAPACITY);
  /** Kept responses, index-aligned with the columns; shorter (or with holes) where none was kept. */
  private readonly kept: (KeptResponse | undefined)[] = [];
  private size = 0;
  /** Requests of this window not recorded because the run's request cap was reached. */
  omitted = 0;
  /** Recorded requests of this window whose response was not kept because the run's byte cap was reached. */
  responsesOmitted = 0;

  constructor(private readonly budget: RequestLogBudget) {}

  /**
   * Records one successful request: when it was sent and when its response ended (Clock ns), which prepared
   * request it was (−1 = unknown) and its response bytes when the client kept them.
   */
  record(sendNs: number, responseNs: number, requestIndex = -1, response?: KeptResponse): void {
    if (!this.budget.take()) {
      this.omitted++;
      return;
    }
    if (this.size === this.send.length) {
      this.send = grow(this.send);
      this.response = grow(this.response);
      this.index = growInt(this.index);
    }
    this.send[this.size] = sendNs;
    this.response[this.size] = responseNs;
    this.index[this.size] = requestIndex;
    if (response !== undefined && this.budget.takeResponse(response.bytes.byteLength)) {
      while (this.kept.length < this.size) this.kept.push(undefined);
      this.kept.push(response);
      this.budget.responsesKept++;
    } else if (response !== undefined || this.budget.responsesSpent) {
      // Not kept for the budget (a client told to stop keeping sends none): exported without its outputs.
      this.responsesOmitted++;
      this.budget.responsesOmitted++;
    }
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

  /** Which prepared request each was (−1 = unknown), index-aligned with `sendNs()`. */
  requestIndex(): Int32Array {
    return this.index.subarray(0, this.size);
  }

  /** The kept responses, index-aligned with `sendNs()` (may be shorter: the rest kept none). */
  responses(): readonly (KeptResponse | undefined)[] {
    return this.kept;
  }
}

function grow(array: Float64Array): Float64Array {
  const bigger = new Float64Array(array.length * 2);
  bigger.set(array);
  return bigger;
}

function growInt(array: Int32Array): Int32Array {
  const bigger = new Int32Array(array.length * 2);
  bigger.set(array);
  return bigger;
}
