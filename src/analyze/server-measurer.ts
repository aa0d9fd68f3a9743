/**
 * The real Measurer: applies a candidate through the repository load API (never a file) and measures a load
 * level with the same run `profile` makes (src/cli/run-benchmark.ts as a library call: same windows,
 * stability rule and histograms), one level per call so that the search decides when to stop.
 */
import type { ResolvedRun, RunBenchmark, RunContext } from '../cli/run-types.ts';
import type { LoadSettings } from '../profile/settings.ts';
import type { ModelConfig } from '../protocol/gen/model_config_pb.ts';
import { readAnalyzeMetrics } from './analyze-metrics.ts';
import { applyCandidate, configJsonText } from './model-config-edit.ts';
import { LoadRefusedError, type RepositoryClient } from './repository-client.ts';
import { ConfigRejectedError, type Measurer } from './search.ts';
import type { Candidate } from './search-space.ts';
import type { LevelSample, LoadPoint } from './trial.ts';

export interface ServerMeasurerOptions {
  /** The run every level starts from: a remote target whose URL is the server under test. */
  run: ResolvedRun;
  model: string;
  /** The model's config as the server reported it before the search. */
  base: ModelConfig;
  repository: RepositoryClient;
  runBenchmark: RunBenchmark;
  context: RunContext;
}

/** The load settings of one level, keeping the run's open-loop options (distribution, seed, cap). */
export function levelLoad(base: LoadSettings, load: LoadPoint): LoadSettings {
  const range = { start: load.value, end: load.value, step: 1 };
  if (load.mode === 'concurrency') return { mode: 'concurrency', range };
  if (base.mode === 'request_rate') return { ...base, range };
  return { mode: 'request_rate', range, distribution: 'constant', seed: 0, maxInFlight: 0 };
}

export function serverMeasurer(options: ServerMeasurerOptions): Measurer {
  const { run, model, base, repository } = options;
  return {
    async apply(candidate: Candidate) {
      const wanted = applyCandidate(base, candidate);
      try {
        await repository.load(model, configJsonText(wanted));
      } catch (error) {
        if (error instanceof LoadRefusedError) throw new ConfigRejectedError(error.message);
        throw error;
      }
      // A server that ignores the `config` parameter would have us measure the same config over and over.
      const now = await repository.config(model);
      if (now.maxBatchSize !== wanted.maxBatchSize) {
        throw new ConfigRejectedError(
          `after the load the server reports max_batch_size ${now.maxBatchSize}, not ${wanted.maxBatchSize}: it did not apply the config`,
        );
      }
    },
    async measure(_candidate: Candidate, load: LoadPoint): Promise<LevelSample> {
      const settings = Object.freeze({ ...run.settings, load: levelLoad(run.settings.load, load) });
      const measured = await options.runBenchmark({ ...run, settings }, options.context);
      const level = measured.levels[0];
      if (!level) return { ...load, status: 'no_data', figures: {} };
      return { ...load, status: level.status, figures: level.merged ? readAnalyzeMetrics(level.merged) : {} };
    },
  };
}
