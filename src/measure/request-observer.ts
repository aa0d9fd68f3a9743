/**
 * What a load loop tells the measurement side about each request. The loops know nothing about windows;
 * the window recorder (window-recorder.ts) decides where each event counts.
 */
import type { InferOutcome } from '../transport/client.ts';

export interface RequestObserver {
  /** A request was handed to the client; `delayed` = open loop, sent later than the tolerance after its intended time. */
  onSent(delayed: boolean): void;
  /** Open loop: a due request was not sent because `maxInFlight` requests were already outstanding. */
  onDropped(): void;
  /**
   * A request ended. `intendedStartNs` is set in open loop (latency is measured from it), undefined in closed
   * loop. `requestIndex`: which of the loop's prepared requests it was (its data step; undefined if unknown).
   */
  onCompleted(
    outcome: InferOutcome,
    intendedStartNs: number | undefined,
    requestIndex?: number,
    sequence?: SequenceMark,
  ): void;
}

/** The sequence a request belonged to (sequence models): its correlation ID, and whether it carried END. */
export interface SequenceMark {
  id: number;
  end: boolean;
}

/** Error kind under which open-loop sends refused by the `maxInFlight` cap are counted. */
export const DROPPED_ERROR_KIND = 'dropped';
