/**
 * Maps the load settings onto the loops: one persistent closed loop whose concurrency changes between levels
 * without draining, or a fresh open loop per rate (the previous one drained first). With --request-count each
 * level gets a fresh loop whose sends are capped at warm-up + count.
 */
import { ClosedLoop } from '../load/closed-loop.ts';
import { OpenLoop } from '../load/open-loop.ts';
import type { RequestObserver } from '../load/request-observer.ts';
import { createPacer, type ScheduleSpec } from '../load/schedule.ts';
import type { Clock } from '../protocol/clock.ts';
import { usToNs } from '../protocol/units.ts';
import type { InferClient, PreparedRequest } from '../transport/client.ts';
import type { ProfileSettings } from './settings.ts';

export interface LoadDriver {
  /** Moves the load to `value` (concurrency or req/s). */
  apply(value: number): Promise<void>;
  /** Stops the load and waits for in-flight requests. */
  stop(): Promise<void>;
}

export interface LoadDriverDeps {
  clock: Clock;
  client: InferClient;
  requests: readonly PreparedRequest[];
  observer: RequestObserver;
}

export function createLoadDriver(settings: ProfileSettings, deps: LoadDriverDeps): LoadDriver {
  const { measurement } = settings;
  const maxSends =
    measurement.requestCount > 0 ? measurement.warmupRequestCount + measurement.requestCount : undefined;
  const load = settings.load;
  if (load.mode === 'concurrency') {
    const callMode = settings.async || settings.streaming ? 'async' : 'sync';
    const newLoop = () =>
      new ClosedLoop({ ...deps, timeoutMs: settings.requestTimeoutMs, callMode, maxSends });
    let loop: ClosedLoop | undefined;
    return {
      async apply(concurrency) {
        if (!loop || maxSends !== undefined) {
          await loop?.stop();
          loop = newLoop();
        }
        loop.setConcurrency(concurrency);
      },
      async stop() {
        await loop?.stop();
      },
    };
  }
  let loop: OpenLoop | undefined;
  return {
    async apply(value) {
      await loop?.stop();
      const spec: ScheduleSpec =
        load.mode === 'custom_intervals'
          ? { kind: 'custom', intervalsUs: load.intervalsUs }
          : load.distribution === 'poisson'
            ? { kind: 'poisson', ratePerSec: value, seed: load.seed }
            : { kind: 'constant', ratePerSec: value };
      loop = new OpenLoop({
        ...deps,
        pacer: createPacer(spec),
        timeoutMs: settings.requestTimeoutMs,
        maxInFlight: load.maxInFlight,
        delayToleranceNs: usToNs(measurement.delayToleranceUs),
        maxSends,
      });
      loop.start();
    },
    async stop() {
      await loop?.stop();
    },
  };
}
