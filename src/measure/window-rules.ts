/**
 * What one request event adds to a measurement window (pure): the rule shared by the single-process
 * WindowRecorder and the shards' windows (load/shard-windows.ts). Which window an event belongs to is each
 * caller's business (delivery time on the main thread, event time for shard batches); what it adds is
 * decided here, once. A completion's measures are derived from its outcome here too, so a shard's event row
 * carries exactly what the main thread would have counted.
 */
import type { InferOutcome } from '../transport/client.ts';
import type { KeptResponse } from '../transport/kept-response.ts';
import { RequestLog, type RequestLogBudget } from './request-log.ts';
import { emptyWindowData, errorTotal, type WindowData } from './window-data.ts';

/** A successful request's measures (ns). */
export interface CompletedRequest {
  /** When it ended. */
  endNs: number;
  /** From the intended send in open loop, from the actual send in closed loop. */
  latencyNs: number;
  /** From the actual send. */
  uncorrectedNs: number;
  /** Latency to its first response (gRPC streaming), from the same origin as `latencyNs`; undefined = none. */
  firstResponseNs: number | undefined;
  /** Time spent writing the request, reading the response, and between the two. */
  clientSendNs: number;
  clientRecvNs: number;
  responseWaitNs: number;
  /** Its responses (a decoupled model's may be 0 or several). */
  responseCount: number;
  /** It carried a sequence's END. */
  sequenceEnd: boolean;
  /** Which of the prepared requests it was (−1 = unknown). */
  requestIndex: number;
  /** The response bytes kept for the profile export. */
  response?: KeptResponse;
}

/**
 * The measures of a successful outcome: latency counts from `intendedStartNs` when given (open loop: a late
 * send does not hide the queueing it caused), else from the actual send.
 */
export function completedRequest(
  outcome: InferOutcome,
  intendedStartNs: number | undefined,
  requestIndex = -1,
  sequenceEnd = false,
): CompletedRequest {
  const originNs = intendedStartNs ?? outcome.sendStartNs;
  return {
    endNs: outcome.endNs,
    latencyNs: outcome.endNs - originNs,
    uncorrectedNs: outcome.endNs - outcome.sendStartNs,
    firstResponseNs: outcome.firstResponseNs === undefined ? undefined : outcome.firstResponseNs - originNs,
    clientSendNs: outcome.sendEndNs - outcome.sendStartNs,
    clientRecvNs: outcome.endNs - outcome.responseStartNs,
    responseWaitNs: Math.max(0, outcome.responseStartNs - outcome.sendEndNs),
    responseCount: outcome.responseCount ?? 1,
    sequenceEnd,
    requestIndex,
    response: outcome.response,
  };
}

/** A new window from `startNs`; it logs its requests when a budget is given. */
export function openWindow(
  startNs: number,
  startWallMs: number,
  openLoop: boolean,
  requestBudget: RequestLogBudget | undefined,
): WindowData {
  const w = emptyWindowData(startNs, startWallMs, openLoop);
  if (requestBudget) w.requests = new RequestLog(requestBudget);
  return w;
}

/** A request was sent (`delayed`: later than the tolerance after its intended time). */
export function countSent(w: WindowData, delayed: boolean): void {
  w.sentCount++;
  if (delayed) w.delayedCount++;
}

/** A request failed (or, open loop, was dropped), counted by kind. */
export function countFailed(w: WindowData, kind: string): void {
  w.errorsByKind[kind] = (w.errorsByKind[kind] ?? 0) + 1;
}

/** A request succeeded. */
export function countCompleted(w: WindowData, r: CompletedRequest): void {
  w.okCount++;
  if (r.sequenceEnd) w.sequenceEndCount++;
  w.responseCount += r.responseCount;
  if (r.firstResponseNs !== undefined) w.firstResponse.recordNs(r.firstResponseNs);
  w.requests?.record(r.endNs - r.uncorrectedNs, r.endNs, r.requestIndex, r.response);
  w.latency.recordNs(r.latencyNs);
  w.uncorrected?.recordNs(r.uncorrectedNs);
  w.clientSendNsSum += r.clientSendNs;
  w.clientRecvNsSum += r.clientRecvNs;
  w.responseWaitNsSum += r.responseWaitNs;
}

/** A count window is full once it holds `count` completions, ok or failed (no open window: nothing to wait for). */
export function windowHolds(w: WindowData | undefined, count: number): boolean {
  return !w || w.okCount + errorTotal(w) >= count;
}
