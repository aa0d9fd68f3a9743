/**
 * The server core behind both transports (implements `InferenceCore`): server state (starting → ready →
 * exiting), version resolution, request validation, scheduling, statistics, the repository API and graceful
 * shutdown. Which models load at startup and whether the load/unload API is allowed follow Triton's
 * `--model-control-mode` (model-control.ts; default `none`: all load, the API is refused).
 */
import type { Clock } from '../../../src/protocol/clock.ts';
import type { ModelConfig } from '../../../src/protocol/gen/model_config_pb.ts';
import { packageVersion } from '../../../src/protocol/package-info.ts';
import { InferenceError } from '../../../src/protocol/status.ts';
import { msToNs, NS_PER_S } from '../../../src/protocol/units.ts';
import type {
  InferenceCore,
  ModelIndexEntry,
  ModelMetadata,
  ModelStatisticsJson,
  ServerMetadata,
} from './api.ts';
import { assertCanAnswer } from './decoupled-model.ts';
import type { ModelBackend } from './model-backend.ts';
import {
  assertLoadApiAllowed,
  DEFAULT_MODEL_CONTROL,
  type ModelControl,
  startupModels,
} from './model-control.ts';
import { type LoadedVersion, type Logger, type ModelEvents, ModelManager } from './model-manager.ts';
import { modelMetadataFromConfig } from './model-metadata.ts';
import { parseVersion, type VersionEntry } from './model-table.ts';
import type { InferRequest, InferResponse } from './types.ts';

/** The extensions this server really implements (reference §1.4: list only what is implemented). */
export const SERVER_EXTENSIONS: readonly string[] = [
  'sequence',
  'model_repository',
  'model_repository(unload_dependents)',
  'schedule_policy',
  'model_configuration',
  'binary_tensor_data',
  'parameters',
  'statistics',
];

export const SERVER_NAME = 'inferbench';

/** Our package version (what `GET /v2` reports as `version`). */

export type ServerState = 'STARTING' | 'READY' | 'EXITING' | 'STOPPED';

export interface ServerCoreOptions {
  backend: ModelBackend;
  clock: Clock;
  log: Logger;
  /** Triton's `--strict-readiness` (default true): ready only when every model version is READY. */
  strictReadiness?: boolean;
  events?: ModelEvents;
  /** `--model-control-mode` and `--load-model`; default mode `none`. */
  modelControl?: ModelControl;
}

/** The core plus what the process around it needs (startup, shutdown, metrics). */
export interface ServerCore extends InferenceCore {
  readonly state: ServerState;
  readonly models: ModelManager;
  /** Loads every repository model; the server is READY afterwards even when some failed. */
  start(): Promise<void>;
  /** Flips to EXITING: health answers "Server exiting", schedulers refuse new requests. Idempotent. */
  beginShutdown(): void;
  /**
   * Drains in-flight requests (up to `timeoutMs`), then unloads every model. Resolves true when everything
   * drained in time, false when the timeout expired first (models are closed anyway).
   */
  shutdown(timeoutMs: number): Promise<boolean>;
  /** Queued requests per live model version (`nv_inference_pending_request_count`). */
  pendingCounts(): { model: string; version: string; count: number }[];
}

function notAvailable(name: string): InferenceError {
  return new InferenceError('INVALID_ARG', `requested model '${name}' is not available`);
}

class Core implements ServerCore {
  readonly models: ModelManager;
  private currentState: ServerState = 'STARTING';
  private readonly strictReadiness: boolean;
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly version = packageVersion();
  private readonly modelControl: ModelControl;

  constructor(options: ServerCoreOptions) {
    this.models = new ModelManager(options);
    this.modelControl = options.modelControl ?? DEFAULT_MODEL_CONTROL;
    this.strictReadiness = options.strictReadiness ?? true;
    this.clock = options.clock;
    this.log = options.log;
  }

  get state(): ServerState {
    return this.currentState;
  }

  async start(): Promise<void> {
    await this.models.loadAll((names) => startupModels(this.modelControl, names));
    if (this.currentState === 'STARTING') this.currentState = 'READY';
  }

  isLive(): boolean {
    return this.currentState === 'READY';
  }

  isReady(): boolean {
    return this.currentState === 'READY' && (!this.strictReadiness || this.models.table.allReady());
  }

  isExiting(): boolean {
    return this.currentState === 'EXITING' || this.currentState === 'STOPPED';
  }

  serverMetadata(): ServerMetadata {
    return { name: SERVER_NAME, version: this.version, extensions: [...SERVER_EXTENSIONS] };
  }

  modelMetadata(name: string, version: string): ModelMetadata {
    const entry = this.models.table.resolveReady(name, version);
    const versions =
      version === '' ? this.models.table.readyVersions(name).map((v) => v.version) : [entry.version];
    return modelMetadataFromConfig(entry.config, versions);
  }

  modelReady(name: string, version: string): boolean {
    const model = this.models.table.get(name);
    if (!model || model.versions.size === 0) {
      throw new InferenceError('NOT_FOUND', `Request for unknown model: '${name}' is not found`);
    }
    const wanted = parseVersion(version);
    if (wanted === undefined) {
      this.models.table.resolveReady(name, version);
      return true;
    }
    const entry = model.versions.get(String(wanted));
    if (!entry) {
      throw new InferenceError(
        'NOT_FOUND',
        `Request for unknown model: '${name}' version ${wanted} is not found`,
      );
    }
    if (entry.state === 'LOADING' || entry.state === 'UNLOADING') {
      throw new InferenceError(
        'UNAVAILABLE',
        `Request for unknown model: '${name}' version ${wanted} is not at ready state`,
      );
    }
    return entry.state === 'READY';
  }

  modelConfig(name: string, version: string): ModelConfig {
    return this.models.table.resolveReady(name, version).config;
  }

  modelStatistics(name: string, version: string): ModelStatisticsJson[] {
    const table = this.models.table;
    const json = (model: string, v: VersionEntry<LoadedVersion>): ModelStatisticsJson[] =>
      v.runtime ? [v.runtime.runtime.stats.toJson(model, v.version)] : [];
    if (name === '') {
      return table.all().flatMap((m) => table.readyVersions(m.name).flatMap((v) => json(m.name, v)));
    }
    const ready = table.readyVersions(name);
    if (ready.length === 0) throw notAvailable(name);
    const wanted = parseVersion(version);
    if (wanted === undefined) return ready.flatMap((v) => json(name, v));
    const entry = ready.find((v) => v.version === String(wanted));
    if (!entry) {
      throw new InferenceError('INVALID_ARG', `requested model version is not available for model '${name}'`);
    }
    return json(name, entry);
  }

  infer(request: InferRequest): Promise<InferResponse> {
    if (this.log.verbose === undefined) return this.inferNow(request, undefined);
    // --log-verbose: one line per request once it is answered (model, version, id, batch, status).
    const seen: { version?: string; batchSize?: number } = {};
    return this.inferNow(request, seen).then(
      (response) => {
        this.logRequest(request, seen, 'OK');
        return response;
      },
      (e: unknown) => {
        this.logRequest(request, seen, e instanceof InferenceError ? e.code : 'INTERNAL');
        throw e;
      },
    );
  }

  private inferNow(
    request: InferRequest,
    seen: { version?: string; batchSize?: number } | undefined,
  ): Promise<InferResponse> {
    try {
      if (this.currentState === 'STARTING') throw new InferenceError('UNAVAILABLE', 'Server not ready');
      // Like Triton, a request while exiting still reaches its model's scheduler (which refuses it with
      // "Server is stopping…"); once the model is unloaded it is 503 / UNAVAILABLE, never "unknown model" 404.
      let entry: ReturnType<typeof this.models.table.resolveReady>;
      try {
        entry = this.models.table.resolveReady(request.modelName, request.modelVersion);
      } catch (e) {
        if (this.currentState !== 'READY') throw new InferenceError('UNAVAILABLE', 'Server is exiting');
        throw e;
      }
      const loaded = entry.runtime;
      if (!loaded) {
        throw new InferenceError(
          'UNAVAILABLE',
          `Request for unknown model: '${request.modelName}' version ${entry.version} is not at ready state`,
        );
      }
      if (seen) seen.version = entry.version;
      assertCanAnswer(entry.config, request);
      const { batchSize } = loaded.validate(request);
      if (seen) seen.batchSize = batchSize;
      // Triton's request_start is taken in InferAsync, after parsing and Normalize (validation): the
      // statistics' request time starts here, not when the transport finished decoding.
      request.receivedNs = this.clock.nowNs();
      request.stamps?.mark('validated', request.receivedNs);
      return loaded.runtime.infer(request);
    } catch (e) {
      return Promise.reject(e);
    }
  }

  private logRequest(
    request: InferRequest,
    seen: { version?: string; batchSize?: number },
    status: string,
  ): void {
    this.log.verbose?.(
      `infer model '${request.modelName}' version ${seen.version ?? (request.modelVersion || '-')} ` +
        `id '${request.id}' batch ${seen.batchSize ?? '-'}: ${status}`,
    );
  }

  repositoryIndex(readyOnly: boolean): ModelIndexEntry[] {
    return this.models.table.index(readyOnly);
  }

  loadModel(name: string, options?: { configJson?: string }): Promise<void> {
    try {
      assertLoadApiAllowed(this.modelControl);
    } catch (e) {
      return Promise.reject(e);
    }
    return this.models.loadModel(name, options);
  }

  async unloadModel(name: string, options?: { unloadDependents?: boolean }): Promise<void> {
    assertLoadApiAllowed(this.modelControl);
    await this.models.unloadModel(name, options);
  }

  beginShutdown(): void {
    if (this.isExiting()) return;
    this.currentState = 'EXITING';
    for (const v of this.models.liveVersions()) v.runtime.stopAccepting();
  }

  async shutdown(timeoutMs: number): Promise<boolean> {
    this.beginShutdown();
    this.log.info('Waiting for in-flight requests to complete.');
    const pending = new Set<string>();
    const drains = [...this.models.liveVersions()].map(({ model, version, runtime }) => {
      const key = `${model}:${version}`;
      pending.add(key);
      return runtime.drain().then(() => pending.delete(key));
    });
    const deadlineNs = this.clock.nowNs() + msToNs(timeoutMs);
    let drained = false;
    const all = Promise.all(drains).then(() => {
      drained = true;
    });
    while (!drained) {
      const leftNs = deadlineNs - this.clock.nowNs();
      if (leftNs <= 0) break;
      const tick = new Promise<void>((resolve) => {
        const timer = this.clock.setTimer(resolve, Math.min(leftNs, NS_PER_S));
        void all.then(() => {
          timer.cancel();
          resolve();
        });
      });
      await tick;
      if (!drained && pending.size > 0) {
        const secondsLeft = Math.max(0, Math.ceil((deadlineNs - this.clock.nowNs()) / NS_PER_S));
        this.log.info(
          `Timeout ${secondsLeft}: Found ${pending.size} model versions that have in-flight inferences`,
        );
      }
    }
    if (drained) this.log.info('All models are stopped, unloading models');
    // After a timeout the stuck requests are abandoned: instances are closed without waiting for them.
    await this.models
      .unloadAll({ force: !drained })
      .catch((e: unknown) => this.log.warn(`unloading models failed: ${String(e)}`));
    this.currentState = 'STOPPED';
    return drained;
  }

  pendingCounts(): { model: string; version: string; count: number }[] {
    return [...this.models.liveVersions()].map(({ model, version, runtime }) => ({
      model,
      version,
      count: runtime.pendingCount(),
    }));
  }
}

/** Creates the core; call `start()` before serving. */
export function createServerCore(options: ServerCoreOptions): ServerCore {
  return new Core(options);
}
