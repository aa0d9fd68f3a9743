/**
 * The load part of the profile settings (profile/settings.ts builds on these): what load to apply, and the few
 * other settings the load drivers read. Declared here, in the load layer, so that load/ (and the shard workers)
 * never import the profiler's types; a ProfileSettings is a LoadDriverSettings.
 */
import type { SequenceSettings } from './sequence-schedule.ts';
import type { ShardIndex } from './shard-share.ts';

export interface Range {
  start: number;
  /** perf_analyzer: end 0 = keep going until the latency limit is hit. */
  end: number;
  step: number;
}

export type LoadSettings =
  | { mode: 'concurrency'; range: Range }
  | {
      mode: 'request_rate';
      range: Range;
      distribution: 'constant' | 'poisson';
      /** Seed of the Poisson schedule (printed and recorded so a run can be repeated). */
      seed: number;
      /** Cap on requests in flight in open loop; 0 = unbounded. */
      maxInFlight: number;
      /** What a due request over the cap does (absent = 'drop'); see OpenLoopOverflow. */
      overflow?: OpenLoopOverflow;
    }
  | { mode: 'custom_intervals'; intervalsUs: number[]; maxInFlight: number; overflow?: OpenLoopOverflow };

/**
 * Open loop over its in-flight cap. 'drop': the request is not sent and counts as an error of kind "dropped"
 * (`--max-in-flight`, k6's dropped iterations). 'queue': it waits for a free slot and goes out late, counted as
 * delayed, its latency still measured from its intended time (perf_analyzer's sync request-rate workers: a
 * busy thread sends its next request late).
 */
export type OpenLoopOverflow = 'drop' | 'queue';

/** What the load drivers read of the profile settings (the field meanings are ProfileSettings'). */
export interface LoadDriverSettings {
  load: LoadSettings;
  async: boolean;
  streaming: boolean;
  /** Load shards in worker threads (1 = all load on the main thread). */
  workerThreads: number;
  requestTimeoutMs: number;
  measurement: { requestCount: number; warmupRequestCount: number; delayToleranceUs: number };
  sequence?: SequenceSettings;
  /** This process's shard of a multi-process run. */
  shard?: ShardIndex;
}
