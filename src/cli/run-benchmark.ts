/**
 * The run itself: (start the embedded server when asked) → transport → model facts → input data → profiler →
 * RunResult. The CLI shell (main.ts) stays free of I/O decisions; this is the one place that wires the
 * load generator's modules together, so the programmatic API (src/index.ts) uses it too.
 */
import { cpus, hostname, totalmem } from 'node:os';
import { materializeConfigOverrides } from '../config/materialize-overrides.ts';
import { createRequestSpecs } from '../data/input-data.ts';
import { prepareShard } from '../distributed/shard-run.ts';
import { ServerError } from '../errors.ts';
import { createMetricsSampler } from '../measure/metrics-scrape.ts';
import { DEFAULT_REQUEST_LOG_BUDGET, RequestLogBudget } from '../measure/request-log.ts';
import { type ProfileOutcome, runProfile } from '../profile/profiler.ts';
import { combineRepeats } from '../profile/repeat.ts';
import { systemClock } from '../protocol/clock.ts';
import type { ModelConfig } from '../protocol/gen/model_config_pb.ts';
import { type ModelInfo, RUN_RESULT_SCHEMA_VERSION, type RunResult } from '../report/model.ts';
import type { ClientOptions } from '../transport/client.ts';
import { createTransport } from '../transport/create.ts';
import { type ServerApi, ServerApiError, type ServerMetadataInfo } from '../transport/server-api.ts';
import { resolveComposingModels } from './composing-models.ts';
import { decoupledRunOf } from './decoupled-run.ts';
import { startEmbeddedServerProcess } from './embedded-process.ts';
import { captureManifest } from './manifest.ts';
import { explainModelFailure } from './model-availability.ts';
import { bindEmbeddedUrl } from './resolve-settings.ts';
import type { MeasuredRun, ResolvedRun, RunBenchmark, RunContext } from './run-types.ts';
import { isSequenceModel, sequenceRunOf } from './sequence-run.ts';
import { DEFAULT_INPUT_DATA_PARAMETER, suggestedInputData } from './suggested-input-data.ts';
import { packageVersion } from './version.ts';

interface EmbeddedHandle {
  stop(): Promise<unknown>;
}

/**
 * Starts inferbench's own server on 127.0.0.1 with free ports, in a child process (see embedded-process.ts).
 * With `embedded.configOverrides`, it serves a private copy of the repository with those models' configs merged.
 */
export async function startEmbedded(run: ResolvedRun): Promise<{ run: ResolvedRun; server: EmbeddedHandle }> {
  const { target } = run;
  if (target.kind !== 'embedded') return { run, server: { stop: async () => undefined } };
  let modelRepository = target.modelRepository;
  let dispose = async (): Promise<void> => undefined;
  if (target.configOverrides) {
    const { materializeEmbeddedRepository } = await import(
      '../../embedded-server/src/embedded-repository.ts'
    );
    const copy = await materializeConfigOverrides(
      modelRepository ?? (await materializeEmbeddedRepository()),
      target.configOverrides,
    );
    modelRepository = copy.dir;
    dispose = copy.dispose;
  }
  try {
    const server = await startEmbeddedServerProcess({
      modelRepository,
      onLog: run.output.verbose ? (line) => process.stderr.write(`[server] ${line}\n`) : undefined,
    });
    const inferUrl = run.settings.protocol === 'grpc' ? server.grpcUrl : server.httpUrl;
    const stop = async (): Promise<void> => {
      try {
        await server.stop();
      } finally {
        await dispose();
      }
    };
    return { run: bindEmbeddedUrl(run, { inferUrl, metricsUrl: server.metricsUrl }), server: { stop } };
  } catch (error) {
    await dispose();
    throw error;
  }
}

function asServerError(error: unknown, what: string, url: string): never {
  if (error instanceof ServerApiError) {
    throw new ServerError(`failed to get ${what} from ${url}: ${error.message}`, { cause: error });
  }
  throw error;
}

/** Model facts from metadata + (when the server has the extension) config. */
async function describeModel(
  api: ServerApi,
  run: ResolvedRun,
  warnings: string[],
): Promise<{ info: ModelInfo; config?: ModelConfig; server: ServerMetadataInfo }> {
  const { settings } = run;
  const server = await api.serverMetadata().catch((e) => asServerError(e, 'server metadata', settings.url));
  const metadata = await api.modelMetadata(settings.modelName, settings.modelVersion).catch((e) => {
    if (e instanceof ServerApiError) return explainModelFailure(api, settings.modelName, e, settings.url);
    throw e;
  });
  let config: ModelConfig | undefined;
  try {
    config = await api.modelConfig(settings.modelName, settings.modelVersion);
  } catch (e) {
    if (!(e instanceof ServerApiError && e.kind === 'not_supported'))
      asServerError(e, 'model config', settings.url);
    warnings.push(
      'The server has no model-configuration extension (/config): max_batch_size is inferred from the metadata shapes, and dynamic batching / response cache cannot be shown.',
    );
  }
  const batchingFromShapes = metadata.inputs.every((i) => i.shape[0] === -1);
  const maxBatchSize = config
    ? config.maxBatchSize
    : batchingFromShapes
      ? Math.max(1, settings.batchSize)
      : 0;
  const info: ModelInfo = {
    name: metadata.name,
    version: settings.modelVersion || (metadata.versions.at(-1) ?? ''),
    platform: metadata.platform,
    maxBatchSize,
    inputs: metadata.inputs,
    outputs: metadata.outputs,
    dynamicBatching: config?.schedulingChoice.case === 'dynamicBatching',
    responseCache: config?.responseCache?.enable ?? false,
    composingModels:
      config?.schedulingChoice.case === 'ensembleScheduling'
        ? config.schedulingChoice.value.step.map((s) => s.modelName)
        : [],
    serverExtensions: server.extensions,
  };
  return { info, config, server };
}

async function statsAvailability(
  api: ServerApi,
  info: ModelInfo,
  run: ResolvedRun,
): Promise<RunResult['serverStats']> {
  if (!info.serverExtensions.includes('statistics')) {
    return { available: false, reason: 'the server does not advertise the statistics extension' };
  }
  try {
    await api.modelStatistics(run.settings.modelName, run.settings.modelVersion);
    return { available: true };
  } catch (e) {
    return { available: false, reason: e instanceof Error ? e.message : String(e) };
  }
}

/** Client options as a worker thread can receive them (the clock is per thread). */
function shardOptions(options: ClientOptions): Omit<ClientOptions, 'clock'> {
  const { clock: _clock, ...rest } = options;
  return rest;
}

function environment(): RunResult['environment'] {
  const cpuList = cpus();
  return {
    node: process.version,
    platform: process.platform,
    arch: process.arch,
    cpus: cpuList.length,
    cpuModel: cpuList[0]?.model.trim() ?? 'unknown',
    totalMemoryBytes: totalmem(),
    hostname: hostname(),
  };
}

function maxConcurrency(run: ResolvedRun): number {
  const load = run.settings.load;
  if (load.mode !== 'concurrency') return 16;
  return Math.max(load.range.start, load.range.end, 1);
}

/** The real RunBenchmark. */
export const runBenchmark: RunBenchmark = async (
  resolved: ResolvedRun,
  context: RunContext,
): Promise<MeasuredRun> => {
  const startedAtWallMs = Date.now();
  const warnings: string[] = [];
  const { run, server } = await startEmbedded(resolved);
  const { settings } = run;
  const clientOptions: ClientOptions = {
    url: settings.url,
    clock: systemClock,
    connections: maxConcurrency(run),
    headers: run.transport.headers,
    streaming: settings.streaming,
    tls: run.transport.tls,
    grpcCompression: run.transport.grpcCompression,
  };
  const { client, api } = createTransport(settings.protocol, clientOptions);
  try {
    const { info, config, server: serverMetadata } = await describeModel(api, run, warnings);
    const repeat = run.repeat ?? 1;
    const manifest = captureManifest(run, serverMetadata, config, repeat);
    context.onModel?.(info);
    const serverStats = await statsAvailability(api, info, run);
    const composingModels = serverStats.available ? await resolveComposingModels(api, config) : [];
    if (!serverStats.available)
      warnings.push(`Server-side statistics are not available: ${serverStats.reason}`);
    const modelInputs = {
      metadata: {
        name: info.name,
        versions: [info.version],
        platform: info.platform,
        inputs: info.inputs,
        outputs: info.outputs,
      },
      maxBatchSize: info.maxBatchSize,
      optionalInputs: config?.input.filter((i) => i.optional).map((i) => i.name),
      shapeTensors: config?.input.filter((i) => i.isShapeTensor).map((i) => i.name),
    };
    const template = {
      modelVersion: settings.modelVersion,
      outputs: [],
      binaryInputs: run.transport.binaryInputs,
      binaryOutputs: run.transport.binaryOutputs,
      parameters: run.transport.requestParameters,
    };
    // A model's own default data when the run chose none (suggested-input-data.ts; the bundled repeat model).
    const suggested = await suggestedInputData(config, run.input);
    if (suggested) {
      warnings.push(
        `input data: the model's suggested default (config parameter '${DEFAULT_INPUT_DATA_PARAMETER}'); --input-data or --shape replaces it`,
      );
    }
    const created = createRequestSpecs(
      modelInputs,
      {
        source: suggested
          ? suggested.path
          : run.input.additionalFiles.length
            ? [run.input.source, ...run.input.additionalFiles]
            : run.input.source,
        shapes: run.input.shapes,
        stringLength: run.input.stringLength,
        stringData: run.input.stringData,
        batchSize: settings.batchSize,
        seed: run.input.seed,
        ...(run.input.maxRequestBytes === undefined ? {} : { maxRequestBytes: run.input.maxRequestBytes }),
      },
      template,
    );
    // The data is read by now.
    await suggested?.remove();
    // A sequence model: the sequence options apply and every data step is its own request (sequence-run.ts).
    const { settings: modelSettings, specs } =
      isSequenceModel(config) && run.sequence
        ? sequenceRunOf({
            settings,
            sequence: run.sequence,
            model: modelInputs,
            dataSet: created.dataSet,
            template,
          })
        : { settings, specs: created.specs };
    // A decoupled model: gRPC streaming only, responses counted (decoupled-run.ts).
    const runSettings = decoupledRunOf(modelSettings, config);
    const metricsSampler = settings.metrics
      ? createMetricsSampler({
          url: settings.metrics.url,
          intervalMs: settings.metrics.intervalMs,
          clock: systemClock,
          warn: (m) => warnings.push(m),
        })
      : undefined;
    context.onSettings?.(runSettings);
    // --shard: the clock offset and the shared timetable (src/distributed/shard-run.ts).
    const shardRun = runSettings.shard
      ? await prepareShard(runSettings, runSettings.shard, systemClock, manifest.seed)
      : undefined;
    if (shardRun) warnings.push(...shardRun.warnings);
    const measure = (runClient: typeof client, runApi: ServerApi): Promise<ProfileOutcome> =>
      runProfile(runSettings, {
        clock: systemClock,
        client: runClient,
        requests: specs.map((s) => runClient.prepare(s)),
        serverApi: serverStats.available ? runApi : undefined,
        statsAvailable: serverStats.available,
        composingModels,
        recordRequests:
          run.output.profileExportFile !== undefined
            ? new RequestLogBudget(DEFAULT_REQUEST_LOG_BUDGET, run.output.profileExportMaxOutputBytes)
            : undefined,
        metricsSampler,
        signal: context.signal,
        onEvent: context.onEvent,
        // With --worker-threads > 1 each shard builds its own client from this description.
        shards: { transport: { protocol: settings.protocol, options: shardOptions(clientOptions) }, specs },
        ...(shardRun ? { aligned: shardRun.aligned } : {}),
      });
    // --repeat N: the whole measurement again on fresh connections (same settings, so the same seed schedule).
    const outcomes: ProfileOutcome[] = [await measure(client, api)];
    while (outcomes.length < repeat && outcomes.at(-1)?.exitCode === 0 && !context.signal.aborted) {
      const fresh = createTransport(runSettings.protocol, clientOptions);
      try {
        outcomes.push(await measure(fresh.client, fresh.api));
      } finally {
        await fresh.client.close().catch(() => undefined);
        await fresh.api.close().catch(() => undefined);
      }
    }
    const outcome = combineRepeats(outcomes, runSettings.measurement.percentile);
    if (outcomes.length < repeat) {
      outcome.warnings.push(
        `--repeat ${repeat}: stopped after run ${outcomes.length} (it ended with exit code ${outcomes.at(-1)?.exitCode}${context.signal.aborted ? ', interrupted' : ''}).`,
      );
    }
    return {
      schemaVersion: RUN_RESULT_SCHEMA_VERSION,
      tool: { name: 'inferbench', version: packageVersion() },
      startedAtWallMs,
      finishedAtWallMs: Date.now(),
      environment: environment(),
      config: runSettings as unknown as Record<string, unknown>,
      model: info,
      serverStats,
      levels: outcome.levels,
      warnings: [...run.warnings.filter(() => false), ...warnings, ...outcome.warnings],
      exitCode: outcome.exitCode,
      requestTrace: outcome.requestTrace,
      manifest,
      ...(outcomes.length > 1 ? { repeatCount: outcomes.length } : {}),
      ...(shardRun ? { distributed: shardRun.info } : {}),
    };
  } finally {
    await client.close().catch(() => undefined);
    await api.close().catch(() => undefined);
    await server.stop();
  }
};
