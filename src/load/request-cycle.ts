/**
 * Round-robin over the prepared requests, shared by every slot of a loop, so successive sends walk the data
 * set in order (perf_analyzer §6.4: data step advances by one per request across threads).
 */
import type { PreparedRequest } from '../transport/client.ts';

export function requestCycle(requests: readonly PreparedRequest[]): () => PreparedRequest {
  if (requests.length === 0) throw new RangeError('the load needs at least one prepared request');
  let next = 0;
  return () => {
    const request = requests[next]!;
    next = (next + 1) % requests.length;
    return request;
  };
}
