/**
 * Model lifecycle per version (Triton's ModelRepositoryManager + ModelLifeCycle): loading every model at
 * startup, explicit load/reload/unload, and unloading everything at shutdown. Reloads load the new versions
 * while the old ones keep serving and swap only when they are READY, so a reload never drops traffic; a
 * failed reload keeps the old versions. Texts follow Triton (reference §1.12) so client error handling works.
 */

import type { Clock } from '../../../src/protocol/clock.ts';
import { InferenceError, isInferenceError } from '../../../src/protocol/status.ts';
import { nsToMs } from '../../../src/protocol/units.ts';
import { ENSEMBLE_PLATFORM } from '../repository/normalize.ts';
import { validateEnsembleComposition } from '../repository/validate-ensemble.ts';
import type { ComposingModel, ComposingResolver } from '../scheduler/ensemble-scheduler.ts';
import type { StatsEvent } from '../stats/model-stats.ts';
import {
  type ComposingState,
  dependencyFailure,
  EnsembleDependencies,
  missingModelsMessage,
} from './ensemble-dependencies.ts';
import type { ModelBackend, ModelSource, VersionRuntime, VersionSource } from './model-backend.ts';
import { isUnloadedReason, ModelTable, UNLOADED_REASON, type VersionEntry } from './model-table.ts';
import { createRequestValidator, type RequestValidator } from './validate-request.ts';

/** What the table holds for a loaded version. */
export interface LoadedVersion {
  readonly runtime: VersionRuntime;
  readonly validate: RequestValidator;
  /** Stops mirroring this version's statistics into the metrics. */
  readonly unsubscribe: () => void;
}

export interface Logger {
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
  /**
   * Present only when `--log-verbose` ≥ 1: model load/unload steps and one line per request. Call it as
   * `log.verbose?.(\`…\`)`: when it is absent the optional call short-circuits before the template string is
   * built, so verbose logging costs nothing when it is off.
   */
  verbose?(message: string): void;
}

/** Hooks the metrics exporter hangs on (kept abstract so the manager does not depend on prom-client). */
export interface ModelEvents {
  versionReady(labels: { model: string; version: string }, loadNs: number): void;
  versionUnloaded(labels: { model: string; version: string }): void;
  stats(labels: { model: string; version: string }, event: StatsEvent): void;
}

export interface ModelManagerOptions {
  backend: ModelBackend;
  clock: Clock;
  log: Logger;
  events?: ModelEvents;
}

/** The reason shown for a model whose repository directory has no usable version. */
export const NO_VERSION_REASON = 'Not loaded: No model version was found';

function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

export class ModelManager {
  readonly table = new ModelTable<LoadedVersion>();
  private readonly backend: ModelBackend;
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly events: ModelEvents | undefined;
  /** Per-model chain so that loads and unloads of one model never interleave. */
  private readonly locks = new Map<string, Promise<unknown>>();
  /** Which ensembles use which models (load order, cycles, unloading dependents). */
  readonly ensembles = new EnsembleDependencies();
  private readonly composingViews = new WeakMap<LoadedVersion, ComposingModel>();

  constructor(options: ModelManagerOptions) {
    this.backend = options.backend;
    this.clock = options.clock;
    this.log = options.log;
    this.events = options.events;
  }

  /**
   * Startup: loads the repository's models that `select` picks (default all; `--model-control-mode explicit`
   * picks the `--load-model` names, and may throw for unknown ones). Every model is listed in the table, so
   * the repository index shows the ones not loaded by name. Load failures are logged and recorded, never thrown.
   */
  async loadAll(select: (names: string[]) => string[] = (n) => n): Promise<void> {
    const all = (await this.backend.listModels()).sort();
    const names = select(all);
    for (const name of all) this.table.ensure(name);
    await Promise.all(
      names.map((name) =>
        this.loadModel(name).catch((e: unknown) => {
          this.log.error(`failed to load '${name}': ${messageOf(e)}`);
        }),
      ),
    );
  }

  /** Load or reload (the repository API's load). Throws Triton's texts on failure. */
  async loadModel(name: string, options?: { configJson?: string }): Promise<void> {
    this.ensembles.markExplicit(name, true);
    this.ensembles.clearSuspension(name);
    await this.serialized(name, () => this.loadNow(name, options));
    await this.resumeEnsembles(name);
  }

  /**
   * Unload every version of a model: stop accepting, drain, close instances. Unknown names are a no-op.
   * Ensembles using the model are unloaded first (and come back when it is loaded again); with
   * `unloadDependents` an ensemble's composing models that only it pulled in are unloaded too (Triton).
   */
  async unloadModel(name: string, options?: { unloadDependents?: boolean }): Promise<void> {
    this.ensembles.markExplicit(name, false);
    this.ensembles.clearSuspension(name);
    await this.suspendDependents(name, new Set([name]));
    await this.serialized(name, () => this.unloadNow(name));
    if (options?.unloadDependents) await this.unloadComposing(name);
  }

  /** How an ensemble step reaches a composing model: its READY version's validator and runtime. */
  readonly resolveComposing: ComposingResolver = (name, version) => {
    const entry = this.table.resolveReady(name, version);
    const loaded = entry.runtime;
    if (!loaded) {
      throw new InferenceError(
        'UNAVAILABLE',
        `Request for unknown model: '${name}' version ${entry.version} is not at ready state`,
      );
    }
    let view = this.composingViews.get(loaded);
    if (!view) {
      view = {
        version: entry.version,
        config: entry.config,
        validate: loaded.validate,
        infer: (request) => loaded.runtime.infer(request),
      };
      this.composingViews.set(loaded, view);
    }
    return view;
  };

  /**
   * Shutdown: unload every model. `force` closes instances without draining (the exit timeout expired) and
   * does not wait for loads or unloads in progress.
   */
  async unloadAll(options: { force?: boolean } = {}): Promise<void> {
    const force = options.force ?? false;
    await Promise.all(
      this.table
        .all()
        .map((m) =>
          force
            ? this.unloadVersions(m.name, [...m.versions.values()], true)
            : this.serialized(m.name, () => this.unloadNow(m.name)),
        ),
    );
  }

  /** Every version that holds a runtime (READY or UNLOADING). */
  *liveVersions(): Iterable<{ model: string; version: string; runtime: VersionRuntime }> {
    for (const model of this.table.all()) {
      for (const v of model.versions.values()) {
        if (v.runtime) yield { model: model.name, version: v.version, runtime: v.runtime.runtime };
      }
    }
  }

  private serialized(name: string, op: () => Promise<void>): Promise<void> {
    const previous = this.locks.get(name) ?? Promise.resolve();
    const next = previous.then(op, op);
    const settled = next.catch(() => undefined);
    this.locks.set(name, settled);
    void settled.then(() => {
      if (this.locks.get(name) === settled) this.locks.delete(name);
    });
    return next;
  }

  private async loadNow(name: string, options?: { configJson?: string }): Promise<void> {
    this.log.verbose?.(
      `loading model '${name}'${options?.configJson !== undefined ? ' with the config given to the load API' : ''}`,
    );
    const known = await this.backend.listModels();
    if (!known.includes(name)) {
      throw new InferenceError('INTERNAL', `failed to load '${name}', failed to poll from model repository`);
    }
    let source: ModelSource;
    try {
      source = await this.backend.readModel(name, options);
      if (source.config.platform === ENSEMBLE_PLATFORM) await this.prepareEnsemble(source);
      else this.ensembles.record(name, source.config);
    } catch (e) {
      const model = this.table.ensure(name);
      const reason = messageOf(e);
      if (this.table.readyVersions(name).length === 0) {
        model.modelState = 'UNAVAILABLE';
        model.modelReason = reason;
      }
      this.log.error(`Poll failed for model directory '${name}': ${reason}`);
      throw isInferenceError(e) ? e : new InferenceError('INTERNAL', reason, { cause: e });
    }

    const model = this.table.ensure(name);
    model.modelState = undefined;
    model.modelReason = '';
    if (source.versions.length === 0) {
      await this.unloadVersions(name, [...model.versions.values()]);
      model.versions.clear();
      model.modelState = 'UNAVAILABLE';
      model.modelReason = NO_VERSION_REASON;
      throw new InferenceError('INTERNAL', `failed to load '${name}', no version is available`);
    }

    const wanted = new Set(source.versions.map((v) => v.version));
    const stale = [...model.versions.values()].filter((v) => !wanted.has(v.version));
    this.log.verbose?.(
      `model '${name}': loading version(s) ${source.versions.map((v) => v.version).join(', ')}` +
        (stale.length > 0 ? `; version(s) ${stale.map((v) => v.version).join(', ')} to unload` : ''),
    );
    for (const v of source.versions) {
      if (!model.versions.has(v.version)) {
        model.versions.set(v.version, {
          version: v.version,
          state: 'LOADING',
          reason: '',
          config: source.config,
          runtime: undefined,
        });
      }
    }

    const failures: string[] = [];
    await Promise.all(
      source.versions.map(async (v) => {
        const failure = await this.loadVersion(source, v);
        if (failure) failures.push(failure);
      }),
    );
    await this.unloadVersions(name, stale);
    for (const v of stale) model.versions.delete(v.version);

    if (failures.length > 0) {
      throw new InferenceError(
        'INVALID_ARG',
        `load failed for model '${name}': ${failures.sort().join('')}\n`,
      );
    }
  }

  /** Loads one version and swaps it in; returns Triton's failure line when it could not be loaded. */
  private async loadVersion(source: ModelSource, v: VersionSource): Promise<string | undefined> {
    const name = source.name;
    const labels = { model: name, version: v.version };
    const startNs = this.clock.nowNs();
    this.log.verbose?.(`loading '${name}' version ${v.version} from ${v.modelPath}`);
    let runtime: VersionRuntime;
    try {
      runtime = await this.backend.loadVersion(source, v, { resolveComposing: this.resolveComposing });
    } catch (e) {
      const reason = messageOf(e);
      const entry = this.table.get(name)?.versions.get(v.version);
      if (entry && entry.state !== 'READY') {
        entry.state = 'UNAVAILABLE';
        entry.reason = reason;
      }
      this.log.error(`failed to load '${name}' version ${v.version}: ${reason}`);
      return `version ${v.version} is at UNAVAILABLE state: ${reason};`;
    }
    const loadNs = this.clock.nowNs() - startNs;
    const model = this.table.ensure(name);
    const previous = model.versions.get(v.version);
    const events = this.events;
    const loaded: LoadedVersion = {
      runtime,
      validate: createRequestValidator(source.config),
      unsubscribe: events ? runtime.stats.onEvent((e) => events.stats(labels, e)) : () => undefined,
    };
    model.versions.set(v.version, {
      version: v.version,
      state: 'READY',
      reason: '',
      config: source.config,
      runtime: loaded,
    });
    if (previous?.runtime) await this.retire(name, previous.runtime, { removeMetrics: false, force: false });
    events?.versionReady(labels, loadNs);
    this.log.verbose?.(
      `'${name}' version ${v.version} is READY after ${nsToMs(loadNs).toFixed(1)} ms` +
        (previous?.runtime ? ' (replaced the previous instance of this version)' : ''),
    );
    this.log.info(`successfully loaded '${name}' version ${v.version}`);
    return undefined;
  }

  /**
   * Before an ensemble loads (Triton's CheckNode + ValidateEnsembleConfig): no circular dependency, every
   * composing model's pending load settled (models no one loaded yet, or unloaded, are loaded now), each one
   * READY in the versions the steps ask for, and the data flow consistent with their configs.
   */
  private async prepareEnsemble(source: ModelSource): Promise<void> {
    const name = source.name;
    const composing = this.ensembles.record(name, source.config);
    const fail = (message: string): never => {
      throw new InferenceError('INVALID_ARG', message);
    };
    const cycle = this.ensembles.cycleFrom(name);
    if (cycle) fail(cycle);
    const known = new Set(await this.backend.listModels());
    const missing = [...composing.keys()].filter((m) => !known.has(m));
    if (missing.length > 0) fail(missingModelsMessage(name, missing));
    for (const m of composing.keys()) {
      await this.locks.get(m);
      if (this.table.readyVersions(m).length === 0 && this.neverLoadedOrUnloaded(m)) {
        this.log.verbose?.(`ensemble '${name}': loading its composing model '${m}'`);
        await this.serialized(m, () => this.loadNow(m)).catch(() => undefined);
      }
    }
    // A composing ensemble read meanwhile may close a cycle through this one.
    const lateCycle = this.ensembles.cycleFrom(name);
    if (lateCycle) fail(lateCycle);
    for (const [m, versions] of composing) {
      const failure = dependencyFailure(name, m, versions, this.composingState(m));
      if (failure) fail(failure);
    }
    validateEnsembleComposition(source.config, (m) => {
      const wanted = [...(composing.get(m) ?? [])][0] ?? '';
      return this.table.resolveReady(m, wanted).config;
    });
  }

  private neverLoadedOrUnloaded(name: string): boolean {
    const model = this.table.get(name);
    if (!model) return true;
    if (model.versions.size === 0)
      return model.modelState === undefined || isUnloadedReason(model.modelReason);
    return [...model.versions.values()].every((v) => v.state === 'UNAVAILABLE' && isUnloadedReason(v.reason));
  }

  private composingState(name: string): ComposingState {
    const model = this.table.get(name);
    const ready = this.table.readyVersions(name).map((v) => v.version);
    const state: ComposingState = { exists: model !== undefined, ready };
    if (
      model?.modelState === 'UNAVAILABLE' &&
      !isUnloadedReason(model.modelReason) &&
      model.modelReason !== ''
    ) {
      state.configError = model.modelReason;
    }
    const failed = [...(model?.versions.values() ?? [])].find(
      (v) => v.state === 'UNAVAILABLE' && !isUnloadedReason(v.reason),
    );
    if (failed) state.loadError = failed.reason;
    return state;
  }

  /** Takes down the READY ensembles that use `name` (nested ones first); they return when it is loaded again. */
  private async suspendDependents(name: string, visiting: Set<string>): Promise<void> {
    for (const ensemble of this.ensembles.dependentsOf(name)) {
      if (visiting.has(ensemble) || this.table.readyVersions(ensemble).length === 0) continue;
      visiting.add(ensemble);
      await this.suspendDependents(ensemble, visiting);
      const model = this.table.get(ensemble);
      if (!model) continue;
      this.log.info(`unloading ensemble '${ensemble}': its composing model '${name}' is being unloaded`);
      this.ensembles.suspend(ensemble, name);
      // Not through the ensemble's lock: a load of it may be waiting on this very model.
      await this.unloadVersions(ensemble, [...model.versions.values()]);
      for (const v of model.versions.values()) {
        v.reason = `${UNLOADED_REASON}: composing model '${name}' was unloaded`;
      }
    }
  }

  /** Loads again the ensembles that were taken down only because `name` was unloaded. */
  private async resumeEnsembles(name: string): Promise<void> {
    if (this.table.readyVersions(name).length === 0) return;
    for (const ensemble of this.ensembles.resumable(name)) {
      this.log.info(`loading ensemble '${ensemble}' again: its composing model '${name}' is back`);
      await this.serialized(ensemble, () => this.loadNow(ensemble)).catch((e: unknown) => {
        this.log.error(`failed to load '${ensemble}': ${messageOf(e)}`);
      });
      await this.resumeEnsembles(ensemble);
    }
  }

  /** `unload_dependents`: the composing models only this ensemble pulled in, recursively. */
  private async unloadComposing(ensemble: string): Promise<void> {
    for (const m of this.ensembles.composingOf(ensemble)?.keys() ?? []) {
      if (this.ensembles.isExplicit(m)) continue;
      const stillUsed = this.ensembles
        .dependentsOf(m)
        .some((other) => other !== ensemble && this.table.readyVersions(other).length > 0);
      if (stillUsed || this.table.readyVersions(m).length === 0) continue;
      await this.serialized(m, () => this.unloadNow(m));
      await this.unloadComposing(m);
    }
  }

  private async unloadNow(name: string): Promise<void> {
    const model = this.table.get(name);
    if (!model) return;
    if (model.versions.size > 0) {
      this.log.verbose?.(`unloading model '${name}': version(s) ${[...model.versions.keys()].join(', ')}`);
    }
    await this.unloadVersions(name, [...model.versions.values()]);
    if (model.versions.size === 0) {
      model.modelState = 'UNAVAILABLE';
      model.modelReason = UNLOADED_REASON;
    }
  }

  /** READY → UNLOADING → UNAVAILABLE("unloaded") for each version, in parallel. */
  private async unloadVersions(
    name: string,
    versions: VersionEntry<LoadedVersion>[],
    force = false,
  ): Promise<void> {
    await Promise.all(
      versions.map(async (v) => {
        const loaded = v.runtime;
        if (loaded) {
          v.state = 'UNLOADING';
          v.runtime = undefined;
          await this.retire(name, loaded, { removeMetrics: true, force, version: v.version });
        }
        v.state = 'UNAVAILABLE';
        v.reason = UNLOADED_REASON;
      }),
    );
  }

  /**
   * Stops, drains (unless `force`) and closes a runtime; `removeMetrics` drops the version's series (not on a
   * reload swap, where the new runtime continues them).
   */
  private async retire(
    name: string,
    loaded: LoadedVersion,
    options: { removeMetrics: boolean; force: boolean; version?: string },
  ): Promise<void> {
    const { removeMetrics, force, version } = options;
    const label = `'${name}'${version === undefined ? '' : ` version ${version}`}`;
    loaded.runtime.stopAccepting();
    this.log.verbose?.(
      force
        ? `unloading ${label}: stopped accepting requests, closing instances without draining`
        : `unloading ${label}: stopped accepting requests, draining (${loaded.runtime.pendingCount()} queued)`,
    );
    if (!force) await loaded.runtime.drain();
    loaded.unsubscribe();
    this.log.verbose?.(`unloading ${label}: closing instances`);
    try {
      await loaded.runtime.close();
    } catch (e) {
      this.log.warn(`closing '${name}' instances failed: ${messageOf(e)}`);
    }
    if (removeMetrics && version !== undefined) this.events?.versionUnloaded({ model: name, version });
    this.log.info(`successfully unloaded ${label}`);
  }
}
