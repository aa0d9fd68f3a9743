/**
 * Round-robin over the prepared requests, shared by every slot of a loop, so successive sends walk the data
 * set in order (perf_analyzer §6.4: data step advances by one per request across threads). It hands out the
 * request's index, which the observer records with the request (the profile export's `request_inputs`).
 */
import type { PreparedRequest } from '../transport/client.ts';

export function requestCycle(requests: readonly PreparedRequest[]): () => number {
  if (requests.length === 0) throw new RangeError('the load needs at least one prepared request');
  const count = requests.length;
  let next = 0;
  return () => {
    const index = next;
    next = (next + 1) % count;
    return index;
  };
}
