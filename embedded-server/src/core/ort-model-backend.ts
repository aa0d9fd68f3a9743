/**
 * The ModelBackend that serves a Triton-layout repository with ONNX Runtime: configs through the repository
 * chain (parse → autocomplete → normalise → validate), one ORT instance per `instance_group` entry × count
 * (KIND_GPU only when the CUDA probe says CUDA works, otherwise the load fails with what is missing and how
 * to fix it), statistics recorder and scheduler per version.
 */

import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Clock } from '../../../src/protocol/clock.ts';
import {
  type ModelInstanceGroup,
  ModelInstanceGroup_Kind,
} from '../../../src/protocol/gen/model_config_pb.ts';
import { modelConfigToJson } from '../../../src/protocol/model-config-json.ts';
import { nsToMs } from '../../../src/protocol/units.ts';
import type { ResponseCache } from '../cache/response-cache.ts';
import { createRepeatRuntime, REPEAT_BACKEND } from '../decoupled/repeat-backend.ts';
import {
  assertConfigLimits,
  assertUniqueTensorNames,
  DEFAULT_MAX_INSTANCES_PER_MODEL,
  DEFAULT_MAX_INSTANCES_TOTAL,
} from '../repository/config-limits.ts';
import { ENSEMBLE_PLATFORM } from '../repository/normalize.ts';
import { loadModelConfig } from '../repository/repository-scan.ts';
import { assertServable } from '../repository/servable.ts';
import { bucketPlanFor } from '../runtime/batch-buckets.ts';
import { executionDelayUs } from '../runtime/execution-delay.ts';
import { gatherThreadFor } from '../runtime/gather-thread-parameter.ts';
import { type CudaProbe, probeCuda } from '../runtime/gpu-probe.ts';
import { createOrtInstance } from '../runtime/ort-instance.ts';
import { ModelLoadError } from '../runtime/runtime-errors.ts';
import { type InstanceKind, sessionOptionsFromConfig } from '../runtime/session-options.ts';
import type { ComposingResolver } from '../scheduler/ensemble-scheduler.ts';
import { loadStateSpecs } from '../scheduler/implicit-state.ts';
import { createScheduler } from '../scheduler/model-scheduler.ts';
import { createSequenceBatcher } from '../scheduler/sequence-batcher.ts';
import { runWarmup } from '../scheduler/warmup.ts';
import { ModelStatsRecorder } from '../stats/model-stats.ts';
import { createEnsembleRuntime } from './ensemble-runtime.ts';
import type { ModelBackend, ModelSource, VersionRuntime, VersionSource } from './model-backend.ts';
import type { Logger } from './model-manager.ts';
import type { ModelInstance } from './types.ts';

export interface OrtModelBackendOptions {
  repositoryDir: string;
  clock: Clock;
  log: Logger;
  /** The server-wide response cache (`--cache-config`), if any. */
  cache?: ResponseCache;
  /** Injected in tests; default probes the machine once per process. */
  probe?: () => Promise<CudaProbe>;
  /** False = `--disable-auto-complete-config` (configs are not completed from the ONNX graph). Default true. */
  autoCompleteConfig?: boolean;
  /** `--max-instances-per-model` (default 64) and `--max-instances-total` (over all loaded models, default 256). */
  maxInstancesPerModel?: number;
  maxInstancesTotal?: number;
}

/** One instance to create: Triton's name `<group>_<k>`, its kind and device. */
export interface InstancePlan {
  name: string;
  kind: InstanceKind;
  deviceId: number;
}

/**
 * The instances a normalised config asks for: per group `count` instances, per listed GPU for KIND_GPU
 * (normalisation already resolved KIND_AUTO and filled `gpus`).
 */
export function planInstances(groups: readonly ModelInstanceGroup[]): InstancePlan[] {
  const plans: InstancePlan[] = [];
  for (const group of groups) {
    const count = Math.max(1, group.count);
    if (group.kind === ModelInstanceGroup_Kind.GPU) {
      let k = 0;
      for (const gpu of group.gpus) {
        for (let c = 0; c < count; c++)
          plans.push({ name: `${group.name}_${k++}`, kind: 'KIND_GPU', deviceId: gpu });
      }
    } else {
      for (let c = 0; c < count; c++)
        plans.push({ name: `${group.name}_${c}`, kind: 'KIND_CPU', deviceId: 0 });
    }
  }
  return plans;
}

async function isDirectory(path: string): Promise<boolean> {
  return (await stat(path).catch(() => undefined))?.isDirectory() ?? false;
}

export class OrtModelBackend implements ModelBackend {
  private readonly repositoryDir: string;
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly cache: ResponseCache | undefined;
  private readonly probe: () => Promise<CudaProbe>;
  private readonly autoCompleteConfig: boolean;
  private readonly maxInstancesPerModel: number;
  private readonly maxInstancesTotal: number;
  /** Instances created or being created, over all versions (the --max-instances-total budget). */
  private liveInstances = 0;

  constructor(options: OrtModelBackendOptions) {
    this.maxInstancesPerModel = options.maxInstancesPerModel ?? DEFAULT_MAX_INSTANCES_PER_MODEL;
    this.maxInstancesTotal = options.maxInstancesTotal ?? DEFAULT_MAX_INSTANCES_TOTAL;
    this.repositoryDir = options.repositoryDir;
    this.clock = options.clock;
    this.log = options.log;
    this.cache = options.cache;
    this.probe = options.probe ?? probeCuda;
    this.autoCompleteConfig = options.autoCompleteConfig ?? true;
  }

  async listModels(): Promise<string[]> {
    const names = await readdir(this.repositoryDir);
    const dirs: string[] = [];
    for (const n of names) {
      if (!n.startsWith('.') && (await isDirectory(join(this.repositoryDir, n)))) dirs.push(n);
    }
    return dirs;
  }

  async readModel(name: string, options?: { configJson?: string }): Promise<ModelSource> {
    const probe = await this.probe();
    const loaded = await loadModelConfig(join(this.repositoryDir, name), {
      gpuIds: probe.available ? probe.deviceIds : [],
      autoComplete: this.autoCompleteConfig,
      ...(options?.configJson !== undefined ? { configJson: options.configJson } : {}),
    });
    for (const w of loaded.warnings) this.log.warn(`model '${name}': ${w}`);
    this.log.verbose?.(
      `model '${name}': config from ${loaded.configSource ?? 'no config file'}, auto-complete ` +
        `${this.autoCompleteConfig ? 'on' : 'disabled'}; effective config: ` +
        JSON.stringify(modelConfigToJson(loaded.config)),
    );
    assertServable(loaded.config);
    assertUniqueTensorNames(loaded.config);
    assertConfigLimits(loaded.config, { maxInstancesPerModel: this.maxInstancesPerModel });
    return { name, config: loaded.config, versions: loaded.versions };
  }

  async loadVersion(
    model: ModelSource,
    version: VersionSource,
    context?: { resolveComposing: ComposingResolver },
  ): Promise<VersionRuntime> {
    const config = model.config;
    if (config.platform === ENSEMBLE_PLATFORM) {
      if (!context)
        throw new ModelLoadError(`ensemble '${model.name}' was loaded without its composing models`);
      return createEnsembleRuntime(model, version, {
        clock: this.clock,
        resolve: context.resolveComposing,
        ...(this.cache ? { cache: this.cache } : {}),
      });
    }
    const plans = planInstances(config.instanceGroup);
    if (config.backend === REPEAT_BACKEND) {
      // Built in, no ORT session and no thread: its instances are slots of its own scheduler.
      return createRepeatRuntime({
        config,
        version: version.version,
        instanceCount: plans.length,
        clock: this.clock,
        stats: new ModelStatsRecorder(this.clock),
      });
    }
    if (plans.some((p) => p.kind === 'KIND_GPU')) {
      const probe = await this.probe();
      if (!probe.available) {
        throw new ModelLoadError(
          `model '${model.name}' asks for KIND_GPU instances but CUDA is not usable here: ${probe.reason ?? 'unknown reason'}. ` +
            `${probe.fix ?? ''} Or use instance_group { kind: KIND_CPU } to run on the CPU.`.trim(),
        );
      }
    }
    // The server-wide instance budget is taken before any thread starts and given back when they close.
    if (this.liveInstances + plans.length > this.maxInstancesTotal) {
      throw new ModelLoadError(
        `model '${model.name}' version ${version.version} needs ${plans.length} instance(s), but ${this.liveInstances} of ` +
          `the server's ${this.maxInstancesTotal} are in use (raise the limit with --max-instances-total)`,
      );
    }
    this.liveInstances += plans.length;
    let released = false;
    const release = (): void => {
      if (!released) this.liveInstances -= plans.length;
      released = true;
    };
    const instances: ModelInstance[] = [];
    try {
      for (const plan of plans) {
        const session = sessionOptionsFromConfig(config, { kind: plan.kind, deviceId: plan.deviceId });
        for (const w of session.warnings) this.log.warn(`model '${model.name}' instance ${plan.name}: ${w}`);
        const batchBuckets = bucketPlanFor(config, plan.kind);
        const gatherThread = gatherThreadFor(config, plan.kind);
        const startNs = this.clock.nowNs();
        this.log.verbose?.(
          `model '${model.name}' version ${version.version}: creating instance ${plan.name} ` +
            `(${plan.kind}, device ${plan.deviceId}${gatherThread ? ', gather thread' : ''}) from ${version.modelPath}`,
        );
        const instance = await createOrtInstance({
          name: plan.name,
          modelPath: version.modelPath,
          kind: plan.kind,
          deviceId: plan.deviceId,
          sessionOptions: session.options,
          ...(batchBuckets ? { batchBuckets } : {}),
          executionDelayUs: executionDelayUs(config),
          gatherThread,
          maxBatchRows: config.maxBatchSize,
          clock: this.clock,
        });
        instances.push(instance);
        this.log.verbose?.(
          `model '${model.name}' version ${version.version}: instance ${plan.name} created in ` +
            `${nsToMs(this.clock.nowNs() - startNs).toFixed(1)} ms`,
        );
        if (instance.bucketSizes.length > 0) {
          this.log.info(
            `model '${model.name}' instance ${plan.name}: one session per batch bucket ${instance.bucketSizes.join(',')} ` +
              (batchBuckets?.warmInputs
                ? `(warmed in ${Math.round(instance.bucketWarmMs)} ms)`
                : '(not warmed: an input has variable dims; each bucket tunes on its first batch)'),
          );
        }
      }
      // Triton warms every instance before the version turns READY; a failing sample fails the load.
      for (const instance of instances) {
        await runWarmup(config, instance, join(this.repositoryDir, model.name), {
          log: (line) => this.log.info(line),
        });
      }
    } catch (e) {
      await Promise.allSettled(instances.map((i) => i.close()));
      release();
      throw e;
    }
    const stats = new ModelStatsRecorder(this.clock);
    if (config.schedulingChoice.case === 'sequenceBatching') {
      return this.sequenceRuntime(model, version, instances, stats);
    }
    const scheduler = createScheduler({
      config,
      version: version.version,
      instances,
      clock: this.clock,
      stats,
      ...(this.cache ? { cache: this.cache } : {}),
      cacheEnabled: config.responseCache?.enable ?? false,
    });
    this.log.verbose?.(
      `model '${model.name}' version ${version.version}: ${instances.length} instance(s) warmed up, ` +
        `${config.schedulingChoice.case === 'dynamicBatching' ? 'dynamic batcher' : 'default scheduler'}, ` +
        `max_batch_size ${config.maxBatchSize}`,
    );
    return {
      stats,
      infer: (request) => scheduler.enqueue(request),
      pendingCount: () => scheduler.pendingCount(),
      stopAccepting: () => scheduler.stop(),
      drain: () => scheduler.drain(),
      close: async () => {
        try {
          await Promise.all(instances.map((i) => i.close()));
        } finally {
          release();
        }
      },
    };
  }

  /** A sequence model's runtime: the sequence batcher with the model's implicit states. */
  private async sequenceRuntime(
    model: ModelSource,
    version: VersionSource,
    instances: ModelInstance[],
    stats: ModelStatsRecorder,
  ): Promise<VersionRuntime> {
    const states = await loadStateSpecs(model.config, join(this.repositoryDir, model.name)).catch(
      async (e: unknown) => {
        await Promise.allSettled(instances.map((i) => i.close()));
        throw e;
      },
    );
    const batcher = createSequenceBatcher({
      config: model.config,
      version: version.version,
      instances,
      clock: this.clock,
      stats,
      states,
      log: (line) => this.log.info(line),
    });
    this.log.verbose?.(
      `model '${model.name}' version ${version.version}: ${instances.length} instance(s) warmed up, sequence batcher`,
    );
    return {
      stats,
      infer: (request) => batcher.enqueue(request),
      pendingCount: () => batcher.pendingCount(),
      stopAccepting: () => batcher.stop(),
      drain: () => batcher.drain(),
      close: async () => {
        batcher.dispose();
        await Promise.all(instances.map((i) => i.close()));
      },
    };
  }
}
