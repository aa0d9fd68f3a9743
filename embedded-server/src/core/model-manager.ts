/**
 * Model lifecycle per version (Triton's ModelRepositoryManager + ModelLifeCycle): loading every model at
 * startup, explicit load/reload/unload, and unloading everything at shutdown. Reloads load the new versions
 * while the old ones keep serving and swap only when they are READY, so a reload never drops traffic; a
 * failed reload keeps the old versions. Texts follow Triton (reference §1.12) so client error handling works.
 */
import type { Clock } from '../../../src/protocol/clock.ts';
import { InferenceError, isInferenceError } from '../../../src/protocol/status.ts';
import type { StatsEvent } from '../stats/model-stats.ts';
import type { ModelBackend, ModelSource, VersionRuntime, VersionSource } from './model-backend.ts';
import { ModelTable, UNLOADED_REASON, type VersionEntry } from './model-table.ts';
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
  loadModel(name: string, options?: { configJson?: string }): Promise<void> {
    return this.serialized(name, () => this.loadNow(name, options));
  }

  /** Unload every version of a model: stop accepting, drain, close instances. Unknown names are a no-op. */
  unloadModel(name: string): Promise<void> {
    return this.serialized(name, () => this.unloadNow(name));
  }

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
          force ? this.unloadVersions(m.name, [...m.versions.values()], true) : this.unloadModel(m.name),
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
      runtime = await this.backend.loadVersion(source, v);
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
      `'${name}' version ${v.version} is READY after ${(loadNs / 1e6).toFixed(1)} ms` +
        (previous?.runtime ? ' (replaced the previous instance of this version)' : ''),
    );
    this.log.info(`successfully loaded '${name}' version ${v.version}`);
    return undefined;
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
