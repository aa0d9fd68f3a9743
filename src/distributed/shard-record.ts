/**
 * What a record of a sharded run carries beyond a one-process record (`RunResult.distributed`): which shard
 * it is, the shared start, the seed, and the clock offset the shard measured; a merged record lists every
 * shard it was made from. The per-window HDR histograms and counts an exact merge needs are in every record
 * already (`WindowResult.latencyHistogram`, requestCount, sentCount, errorsByKind, durationNs).
 */
import { z } from 'zod';

export interface ShardRecordInfo {
  index: number;
  hostname: string;
  /** Reference clock − this host's clock (ms), 0 when not measured (clockSource 'none'). */
  clockOffsetMs: number;
  clockOffsetUncertaintyMs: number;
  /** The URL whose `Date` header was the reference, or 'none'. */
  clockSource: string;
  /** Seed of the schedule and of random input data (the same on every shard; sequences add the shard index). */
  seed: number;
}

export interface DistributedInfo {
  /** Shards in the run. */
  count: number;
  /** The shared start (epoch ms, reference clock). */
  startAtMs: number;
  /** false: one shard's record (shards has one entry); true: the merge of all of them. */
  merged: boolean;
  shards: ShardRecordInfo[];
}

export const distributedInfoSchema = z.object({
  count: z.number(),
  startAtMs: z.number(),
  merged: z.boolean(),
  shards: z.array(
    z.object({
      index: z.number(),
      hostname: z.string(),
      clockOffsetMs: z.number(),
      clockOffsetUncertaintyMs: z.number(),
      clockSource: z.string(),
      seed: z.number(),
    }),
  ),
});
