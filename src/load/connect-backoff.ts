/**
 * Back-off of a closed-loop slot while the server cannot be reached (pure policy). A refused connection fails
 * in microseconds, so without it a slot would retry ≈ 10,000 times a second, flooding the host and the log;
 * with it a slot retries after 10, 20, 40 … ms, at most once a second, until a request goes through.
 */
/** Failure kinds that mean the server could not be reached (no answer was read). */
const UNREACHABLE_KIND =
  /^(transport:(ECONNREFUSED|EHOSTUNREACH|ENETUNREACH|ENOTFOUND|EAI_AGAIN|ECONNRESET|EPIPE|ETIMEDOUT|UND_ERR_CONNECT_TIMEOUT|UND_ERR_SOCKET|EOF)|grpc:UNAVAILABLE)$/;

export const FIRST_BACKOFF_MS = 10;
export const MAX_BACKOFF_MS = 1_000;

/** Delay before the next send after `consecutive` (≥ 1) connection failures in a row; 0 for none. */
export function backoffDelayMs(consecutive: number): number {
  if (consecutive <= 0) return 0;
  return Math.min(MAX_BACKOFF_MS, FIRST_BACKOFF_MS * 2 ** Math.min(consecutive - 1, 20));
}

/** Whether a failed request's kind means "no connection" (back off) rather than an answer from the server. */
export function isConnectionFailure(errorKind: string | undefined): boolean {
  return errorKind !== undefined && UNREACHABLE_KIND.test(errorKind);
}
