/**
 * The server's table of models and their versions with Triton's lifecycle states (core:src/model_lifecycle.cc),
 * and the version resolution every model-scoped call goes through. Resolution lives in one place so that
 * infer, metadata, config, ready and stats all answer with the same texts (reference §1.3, §9).
 */
import type { ModelConfig } from '../../../src/protocol/gen/model_config_pb.ts';
import { InferenceError } from '../../../src/protocol/status.ts';
import type { ModelIndexEntry } from './api.ts';

/** Lifecycle of one model version: LOADING → READY | UNAVAILABLE(reason); READY → UNLOADING → UNAVAILABLE("unloaded"). */
export type VersionState = 'LOADING' | 'READY' | 'UNAVAILABLE' | 'UNLOADING';

export interface VersionEntry<R> {
  readonly version: string;
  state: VersionState;
  /** Why the version is UNAVAILABLE ('' otherwise). */
  reason: string;
  readonly config: ModelConfig;
  /** Present while LOADING finished successfully until unloaded (READY and UNLOADING). */
  runtime: R | undefined;
}

export interface ModelEntry<R> {
  readonly name: string;
  /** Keyed by version string; iteration order is irrelevant (callers sort numerically). */
  readonly versions: Map<string, VersionEntry<R>>;
  /** Model-level state when no version could even be listed (config error, no version directory). */
  modelState: VersionState | undefined;
  modelReason: string;
}

export const UNLOADED_REASON = 'unloaded';

/** "unloaded", or "unloaded: <why>" for an ensemble taken down with one of its composing models. */
export function isUnloadedReason(reason: string): boolean {
  return reason === UNLOADED_REASON || reason.startsWith(`${UNLOADED_REASON}: `);
}

function unknownModel(name: string, detail: string, code: 'NOT_FOUND' | 'UNAVAILABLE'): InferenceError {
  return new InferenceError(code, `Request for unknown model: '${name}' ${detail}`);
}

/**
 * Parses a requested version: '' = latest ready; digits = that version. Anything else is Triton's gRPC text
 * (HTTP routes only match digits, so only gRPC can send one).
 */
export function parseVersion(version: string): number | undefined {
  if (version === '') return undefined;
  if (!/^\d+$/.test(version) || Number(version) <= 0) {
    throw new InferenceError(
      'INVALID_ARG',
      `failed to get model version from specified version string '${version}' (details: stol), version should be an integral value > 0`,
    );
  }
  return Number(version);
}

/** Versions sorted numerically, ascending. */
export function sortedVersions<R>(model: ModelEntry<R>): VersionEntry<R>[] {
  return [...model.versions.values()].sort((a, b) => Number(a.version) - Number(b.version));
}

/** The table itself: a Map by model name, with Triton's look-up rules. */
export class ModelTable<R> {
  private readonly models = new Map<string, ModelEntry<R>>();

  get(name: string): ModelEntry<R> | undefined {
    return this.models.get(name);
  }

  /** Returns the model's entry, creating an empty one (no versions) if needed. */
  ensure(name: string): ModelEntry<R> {
    let entry = this.models.get(name);
    if (!entry) {
      entry = { name, versions: new Map(), modelState: undefined, modelReason: '' };
      this.models.set(name, entry);
    }
    return entry;
  }

  /** Models sorted by name. */
  all(): ModelEntry<R>[] {
    return [...this.models.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  /**
   * Triton's `ModelLifeCycle::GetModel`: the READY version asked for, or the highest-numbered READY version
   * for ''. Throws NOT_FOUND (unknown model / version / no available versions) or UNAVAILABLE (version
   * exists but is not READY).
   */
  resolveReady(name: string, version: string): VersionEntry<R> {
    const model = this.models.get(name);
    if (!model || model.versions.size === 0) throw unknownModel(name, 'is not found', 'NOT_FOUND');
    const wanted = parseVersion(version);
    if (wanted === undefined) {
      // The highest READY version, found without sorting: this runs for every request (and ensemble step).
      let latest: VersionEntry<R> | undefined;
      for (const v of model.versions.values()) {
        if (v.state === 'READY' && (!latest || Number(v.version) > Number(latest.version))) latest = v;
      }
      if (!latest) throw unknownModel(name, 'has no available versions', 'NOT_FOUND');
      return latest;
    }
    const entry = model.versions.get(String(wanted));
    if (!entry) throw unknownModel(name, `version ${wanted} is not found`, 'NOT_FOUND');
    if (entry.state !== 'READY')
      throw unknownModel(name, `version ${wanted} is not at ready state`, 'UNAVAILABLE');
    return entry;
  }

  /** Every READY version of a model, ascending. */
  readyVersions(name: string): VersionEntry<R>[] {
    const model = this.models.get(name);
    return model ? sortedVersions(model).filter((v) => v.state === 'READY') : [];
  }

  /** The repository index (§1.12): sorted by name then version; `readyOnly` keeps READY versions only. */
  index(readyOnly: boolean): ModelIndexEntry[] {
    const out: ModelIndexEntry[] = [];
    for (const model of this.all()) {
      if (model.versions.size === 0) {
        if (readyOnly) continue;
        const entry: ModelIndexEntry = { name: model.name };
        if (model.modelState) entry.state = model.modelState;
        if (model.modelReason) entry.reason = model.modelReason;
        out.push(entry);
        continue;
      }
      for (const v of sortedVersions(model)) {
        if (readyOnly && v.state !== 'READY') continue;
        const entry: ModelIndexEntry = { name: model.name, version: v.version, state: v.state };
        if (v.reason) entry.reason = v.reason;
        out.push(entry);
      }
    }
    return out;
  }

  /** Strict readiness: every listed version READY, except versions explicitly unloaded. */
  allReady(): boolean {
    for (const model of this.models.values()) {
      if (model.versions.size === 0) {
        if (model.modelState !== undefined && !isUnloadedReason(model.modelReason)) return false;
        continue;
      }
      for (const v of model.versions.values()) {
        if (v.state === 'READY') continue;
        if (v.state === 'UNAVAILABLE' && isUnloadedReason(v.reason)) continue;
        return false;
      }
    }
    return true;
  }
}
