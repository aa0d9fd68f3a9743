/**
 * How a shard of a multi-process run takes its share, composed with the worker-thread split inside each
 * process (load/shard-protocol.ts): process shard p of P running T threads makes thread t the global load
 * shard p·T + t of P·T. Everything that splits by shard then splits over all P·T loops at once:
 * - concurrency C: floor(C / (P·T)) slots each, the first C mod (P·T) loops one more (perf_analyzer's split),
 *   so with one thread per process shard p gets floor(C/P) and the first C mod P shards one more;
 * - request rate / custom intervals: ONE global schedule (same --seed), loop g sends its every (P·T)-th
 *   arrival starting with the g-th, so the union of all shards is exactly what one generator would send;
 * - sequences: each loop draws correlation IDs from its own slice of the ID range (shardIdRange) and seeds its
 *   sequence lengths with seed + g, so no two shards ever share a correlation ID.
 */

export interface ShardIndex {
  index: number;
  count: number;
}

/** The global load shard of thread `thread` inside process shard `process` (either may be absent = 0 of 1). */
export function composeShards(process: ShardIndex | undefined, thread: ShardIndex | undefined): ShardIndex {
  const p = process ?? { index: 0, count: 1 };
  const t = thread ?? { index: 0, count: 1 };
  return { index: p.index * t.count + t.index, count: p.count * t.count };
}
