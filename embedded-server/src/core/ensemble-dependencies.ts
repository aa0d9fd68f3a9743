/**
 * Which ensembles use which models (Triton's DependencyGraph in core:src/model_repository_manager.cc), and the
 * texts Triton gives when an ensemble cannot load because of them. The model manager records every ensemble
 * config it reads here, asks for cycles before an ensemble waits on its composing models, and finds the
 * ensembles to take down when a composing model is unloaded (and to bring back when it returns).
 */
import type { ModelConfig } from '../../../src/protocol/gen/model_config_pb.ts';
import { ensembleSchedulingOf } from '../repository/validate-ensemble.ts';

/** Composing model name → the versions steps ask for ('' = latest). */
export type ComposingVersions = ReadonlyMap<string, ReadonlySet<string>>;

/** What the manager knows of a composing model once its pending loads have settled. */
export interface ComposingState {
  /** In the repository at all. */
  exists: boolean;
  /** READY version strings. */
  ready: readonly string[];
  /** Why the config could not be read (model-level UNAVAILABLE), if that is the case. */
  configError?: string;
  /** Why a version failed to load, if one did (not "unloaded"). */
  loadError?: string;
}

/** The composing models of an ensemble config (empty for other models). */
export function composingVersions(config: ModelConfig): ComposingVersions {
  const out = new Map<string, Set<string>>();
  for (const step of ensembleSchedulingOf(config)?.step ?? []) {
    let versions = out.get(step.modelName);
    if (!versions) {
      versions = new Set();
      out.set(step.modelName, versions);
    }
    versions.add(step.modelVersion < 0n ? '' : String(step.modelVersion));
  }
  return out;
}

export class EnsembleDependencies {
  /** Ensemble name → its composing models, as last read from the repository. */
  private readonly graph = new Map<string, ComposingVersions>();
  /** Models loaded by name (startup or the load API), as opposed to pulled in by an ensemble. */
  private readonly explicit = new Set<string>();
  /** Ensembles taken down because these composing models were unloaded. */
  private readonly suspended = new Map<string, Set<string>>();

  /** Records (or forgets, for a non-ensemble) the config just read for `name`. */
  record(name: string, config: ModelConfig): ComposingVersions {
    const composing = composingVersions(config);
    if (composing.size > 0) this.graph.set(name, composing);
    else this.graph.delete(name);
    return composing;
  }

  composingOf(name: string): ComposingVersions | undefined {
    return this.graph.get(name);
  }

  /** Ensembles whose steps use `model` directly. */
  dependentsOf(model: string): string[] {
    const out: string[] = [];
    for (const [ensemble, composing] of this.graph) if (composing.has(model)) out.push(ensemble);
    return out.sort();
  }

  /**
   * Triton's CircularDependencyCheck from `start` over the recorded ensembles: its message, or undefined.
   * Iterative, each ensemble visited once, so long chains cost linear time and no stack.
   */
  cycleFrom(start: string): string | undefined {
    const seen = new Set<string>();
    const stack: string[] = [start];
    while (stack.length > 0) {
      const current = stack.pop() as string;
      if (seen.has(current)) continue;
      seen.add(current);
      for (const upstream of (this.graph.get(current) ?? new Map()).keys()) {
        if (upstream === start) {
          return `circular dependency between ensembles: ${start} -> ... -> ${current} -> ${start}`;
        }
        if (this.graph.has(upstream)) stack.push(upstream);
      }
    }
    return undefined;
  }

  markExplicit(name: string, explicit: boolean): void {
    if (explicit) this.explicit.add(name);
    else this.explicit.delete(name);
  }

  isExplicit(name: string): boolean {
    return this.explicit.has(name);
  }

  suspend(ensemble: string, because: string): void {
    let set = this.suspended.get(ensemble);
    if (!set) {
      set = new Set();
      this.suspended.set(ensemble, set);
    }
    set.add(because);
  }

  /** Forgets a suspension (the ensemble was loaded or unloaded by name). */
  clearSuspension(ensemble: string): void {
    this.suspended.delete(ensemble);
  }

  /** `model` is back: the ensembles that waited only for it, now to be loaded again. */
  resumable(model: string): string[] {
    const out: string[] = [];
    for (const [ensemble, waits] of this.suspended) {
      if (!waits.delete(model)) continue;
      if (waits.size === 0) {
        this.suspended.delete(ensemble);
        out.push(ensemble);
      }
    }
    return out.sort();
  }
}

/**
 * Triton's CheckNode texts for one composing model, or undefined when it can serve the ensemble. Models that
 * do not exist are reported together by {@link missingModelsMessage}.
 */
export function dependencyFailure(
  ensemble: string,
  model: string,
  versions: ReadonlySet<string>,
  state: ComposingState,
): string | undefined {
  if (state.configError !== undefined) {
    return `ensemble '${ensemble}' depends on '${model}' which is not valid. Model '${model}' failed with error: ${state.configError}`;
  }
  if (state.ready.length === 0) {
    return state.loadError !== undefined
      ? `ensemble '${ensemble}' depends on '${model}' which has no loaded version. Model '${model}' loading failed with error: ${state.loadError}`
      : `ensemble '${ensemble}' depends on '${model}' which has no loaded version.`;
  }
  for (const v of [...versions].sort()) {
    if (v !== '' && !state.ready.includes(v)) {
      return `ensemble '${ensemble}' depends on '${model}' whose required version ${v} is not loaded.`;
    }
  }
  return undefined;
}

export function missingModelsMessage(ensemble: string, models: readonly string[]): string {
  return `ensemble ${ensemble} contains models that are not available or ambiguous: ${[...models].sort().join(', ')}`;
}
