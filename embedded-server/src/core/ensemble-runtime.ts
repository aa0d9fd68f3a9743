/**
 * An ensemble version as the core serves it: the ensemble scheduler behind the VersionRuntime interface. It
 * owns no model instance; its statistics recorder holds the ensemble's own entry.
 */
import type { Clock } from '../../../src/protocol/clock.ts';
import type { ResponseCache } from '../cache/response-cache.ts';
import { type ComposingResolver, createEnsembleScheduler } from '../scheduler/ensemble-scheduler.ts';
import { ModelStatsRecorder } from '../stats/model-stats.ts';
import type { ModelSource, VersionRuntime, VersionSource } from './model-backend.ts';

export interface EnsembleRuntimeOptions {
  clock: Clock;
  resolve: ComposingResolver;
  cache?: ResponseCache;
}

export function createEnsembleRuntime(
  model: ModelSource,
  version: VersionSource,
  options: EnsembleRuntimeOptions,
): VersionRuntime {
  const stats = new ModelStatsRecorder(options.clock);
  const scheduler = createEnsembleScheduler({
    config: model.config,
    version: version.version,
    clock: options.clock,
    stats,
    resolve: options.resolve,
    ...(options.cache ? { cache: options.cache } : {}),
    cacheEnabled: model.config.responseCache?.enable ?? false,
  });
  return {
    stats,
    infer: (request) => scheduler.enqueue(request),
    // Ensemble requests never wait in a queue of their own: their steps queue in the composing models.
    pendingCount: () => 0,
    stopAccepting: () => scheduler.stop(),
    drain: () => scheduler.drain(),
    close: async () => undefined,
  };
}
