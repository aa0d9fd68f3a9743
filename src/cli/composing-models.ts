/**
 * The composing models of an ensemble, as perf_analyzer finds them (§5.1): the `ensemble_scheduling` steps of
 * the model's config, and, for every step model that is itself an ensemble, its steps, recursively (each
 * composing model's config is fetched). A step model listed twice counts once. A composing model whose config
 * cannot be fetched is taken as a leaf; its statistics are still looked for.
 */
import type { ComposingModel } from '../measure/server-stats.ts';
import type { ModelConfig } from '../protocol/gen/model_config_pb.ts';
import type { ServerApi } from '../transport/server-api.ts';

/** Nested ensembles deeper than this are not followed (a guard against a config that loops). */
const MAX_DEPTH = 8;

/** The steps of `config` when it is an ensemble (name, version '' for the step's -1 = latest); else []. */
export function ensembleSteps(config: ModelConfig | undefined): { name: string; version: string }[] {
  if (config?.schedulingChoice.case !== 'ensembleScheduling') return [];
  const steps: { name: string; version: string }[] = [];
  for (const step of config.schedulingChoice.value.step) {
    const version = step.modelVersion < 0n ? '' : String(step.modelVersion);
    if (!steps.some((s) => s.name === step.modelName && s.version === version)) {
      steps.push({ name: step.modelName, version });
    }
  }
  return steps;
}

/** The composing-model tree of `config` (empty when it is not an ensemble). */
export async function resolveComposingModels(
  api: Pick<ServerApi, 'modelConfig'>,
  config: ModelConfig | undefined,
  path: readonly string[] = [],
): Promise<ComposingModel[]> {
  const models: ComposingModel[] = [];
  for (const step of ensembleSteps(config)) {
    let composing: ComposingModel[] = [];
    if (path.length < MAX_DEPTH && !path.includes(step.name)) {
      const inner = await api.modelConfig(step.name, step.version).catch(() => undefined);
      composing = await resolveComposingModels(api, inner, [...path, step.name]);
    }
    models.push({ name: step.name, version: step.version, composing });
  }
  return models;
}
