/**
 * Maps the load settings onto the loops: one persistent closed loop whose concurrency changes between levels
 * without draining, or a fresh open loop per rate (the previous one drained first). With --request-count each
 * level gets a fresh loop whose sends are capped at warm-up + count. A shard (one of several worker threads,
 * load/shard-worker.ts) runs its perf_analyzer share of the same load: of the concurrency and the send cap, or
 * every count-th time of the one global schedule.
 */

import type { RequestObserver } from '../measure/request-observer.ts';
import type { Clock } from '../protocol/clock.ts';
import { usToNs } from '../protocol/units.ts';
import type { InferClient, PreparedRequest } from '../transport/client.ts';
import { ClosedLoop } from './closed-loop.ts';
import type { LoadDriverSettings } from './load-settings.ts';
import { OpenLoop } from './open-loop.ts';
import { createSequenceDriver } from './sequence-driver.ts';
import { openLoopShardPacer, shareOf } from './shard-protocol.ts';
import { composeShards } from './shard-share.ts';

export interface LoadDriver {
  /**
   * Moves the load to `value` (concurrency or req/s; for a shard, the whole load, of which it runs its share).
   * Open loop: `startNs` is the schedule's time 0 (default: now), so shards in several threads keep one schedule.
   */
  apply(value: number, startNs?: number): Promise<void>;
  /** Stops the load and waits for in-flight requests. */
  stop(): Promise<void>;
}

export interface LoadDriverDeps {
  clock: Clock;
  client: InferClient;
  requests: readonly PreparedRequest[];
  observer: RequestObserver;
  /** This driver runs shard `index` of `count` of the load. */
  shard?: { index: number; count: number };
}

export function createLoadDriver(settings: LoadDriverSettings, deps: LoadDriverDeps): LoadDriver {
  const { measurement } = settings;
  const maxSends =
    measurement.requestCount > 0 ? measurement.warmupRequestCount + measurement.requestCount : undefined;
  const load = settings.load;
  // A process shard of a multi-process run (--shard) composes with the worker-thread shard (shard-share.ts).
  const { index, count } = composeShards(settings.shard, deps.shard);
  if (settings.sequence)
    return createSequenceDriver(settings, settings.sequence, { ...deps, shard: { index, count } }, maxSends);
  if (load.mode === 'concurrency') {
    const callMode = settings.async || settings.streaming ? 'async' : 'sync';
    let loop: ClosedLoop | undefined;
    /** Shard loops left with no slots, finishing their last requests. */
    let retiring: Promise<unknown> = Promise.resolve();
    return {
      async apply(concurrency) {
        const slots = shareOf(concurrency, count, index);
        if (slots === 0) {
          // Fewer slots than shards: this shard sits the level out (its requests finish, as surplus slots do).
          if (loop) retiring = Promise.all([retiring, loop.stop()]);
          loop = undefined;
          return;
        }
        if (!loop || maxSends !== undefined) {
          await loop?.stop();
          // perf_analyzer spreads --request-count over the threads that have slots.
          const active = Math.min(concurrency, count);
          const sends = maxSends === undefined ? undefined : shareOf(maxSends, active, index);
          loop = new ClosedLoop({ ...deps, timeoutMs: settings.requestTimeoutMs, callMode, maxSends: sends });
        }
        loop.setConcurrency(slots);
      },
      async stop() {
        await Promise.all([loop?.stop(), retiring]);
      },
    };
  }
  const maxInFlight = shareOf(load.maxInFlight, count, index);
  if (load.maxInFlight > 0 && maxInFlight === 0) {
    throw new RangeError(`max in-flight ${load.maxInFlight} cannot be split over ${count} shards`);
  }
  let loop: OpenLoop | undefined;
  return {
    async apply(value, startNs) {
      await loop?.stop();
      loop = new OpenLoop({
        ...deps,
        pacer: openLoopShardPacer(load, value, { index, count }, startNs, deps.clock),
        timeoutMs: settings.requestTimeoutMs,
        maxInFlight,
        overflow: load.overflow ?? 'drop',
        delayToleranceNs: usToNs(measurement.delayToleranceUs),
        maxSends: maxSends === undefined ? undefined : shareOf(maxSends, count, index),
      });
      loop.start();
    },
    async stop() {
      await loop?.stop();
    },
  };
}
