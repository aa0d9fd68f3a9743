/**
 * One benchmark configuration over one protocol: start the reference server on its repository (127.0.0.1,
 * free ports), drive it with inferbench's own load generator (`runProfile`, one level per concurrency),
 * read the server's statistics at exactly the window boundaries the profiler uses, and stop everything.
 */

import { loadavg } from 'node:os';
import type { ModelStatisticsJson } from '../../embedded-server/src/core/api.ts';
import { type EmbeddedServerProcess, startEmbeddedServerProcess } from '../../src/cli/embedded-process.ts';
import { createRequestSpecs } from '../../src/data/input-data.ts';
import { runProfile } from '../../src/profile/profiler.ts';
import type { ProfileSettings } from '../../src/profile/settings.ts';
import { systemClock } from '../../src/protocol/clock.ts';
import type { LevelResult, LevelStatus } from '../../src/report/model.ts';
import { ensembleFigures, serverFigures } from '../../src/report/server-figures.ts';
import { createTransport } from '../../src/transport/create.ts';
import type { ModelStatsSnapshot, ServerApi } from '../../src/transport/server-api.ts';
import type { BenchProtocol } from './bench-options.ts';
import type { BenchConfigName } from './bench-repository.ts';
import {
  coresBetween,
  type ProcessCpuSample,
  sampleProcessCpu,
  type ThreadCores,
  threadCoresBetween,
  threadCoresSummary,
} from './proc-cpu.ts';

export interface ConfigRunOptions {
  config: BenchConfigName;
  protocol: BenchProtocol;
  repositoryDir: string;
  model: string;
  concurrency: readonly number[];
  windowMs: number;
  maxTrials: number;
  stability: number;
  /** Shapes for variable dims (without the batch dim), e.g. text_recognition's width. */
  shapes: Record<string, number[]>;
  /** Load-generator worker threads (profile --worker-threads); 1 = the main thread only. */
  clientThreads: number;
  /** Warm-up requests per level: max(32, this × concurrency). */
  warmupPerConcurrency: number;
  /** Start the server through this command (e.g. `taskset -c 0,1`), or directly when absent. */
  serverCommandPrefix?: readonly string[];
  /** The server's `--http-thread-count`; absent = serve's default (the cores available). */
  serverThreads?: number;
  signal: AbortSignal;
  log: (line: string) => void;
}

/** Server-side view of the measured windows (merged like the client figures: the last ≤ 3 windows). */
export interface ServerFigures {
  inferenceCount: number;
  executionCount: number;
  /** inference_count / execution_count: the batch size the batcher formed on average. */
  meanBatch: number;
  /** Per request (µs): total on the server, waiting in the queue (batcher + for an instance), compute. */
  avgRequestUs: number;
  queueUs: number;
  computeInputUs: number;
  computeInferUs: number;
  computeOutputUs: number;
  /** ORT `run` time per execution (µs): compute_infer ns summed over batch_stats / executions. */
  inferPerExecutionUs: number;
  /** Executions by total batch size, e.g. {"16": 410, "15": 3}. */
  batchHistogram: Record<string, number>;
}

export interface LevelFigures {
  config: BenchConfigName;
  /** With --rounds > 1: which round (1-based) measured it. */
  round?: number;
  protocol: BenchProtocol;
  concurrency: number;
  status: LevelStatus;
  windows: number;
  requestCount: number;
  errorCount: number;
  errorsByKind: Record<string, number>;
  inferPerSec: number;
  latencyMs: { mean: number; p50: number; p90: number; p95: number; p99: number };
  server?: ServerFigures;
  /** The server process's CPU over the same windows (Linux /proc; absent elsewhere). */
  serverCpu?: {
    totalCores: number;
    mainThreadCores: number;
    /** Cores per server thread, busiest first, and the one-line summary (main thread first). */
    threads?: ThreadCores[];
    threadSummary?: string;
  };
  generator: {
    eventLoopUtilization: number;
    eventLoopDelayP99Us: number;
    cpuCores: number;
    warnings: string[];
  };
  /** 1-minute load average of the machine when the level ended (other processes slow every figure). */
  loadAverage: number;
}

export interface ConfigRun {
  config: BenchConfigName;
  protocol: BenchProtocol;
  levels: LevelFigures[];
  warnings: string[];
  /** Set when the run stopped early (error or SIGINT). */
  aborted?: string;
}

type BatchStats = ModelStatisticsJson['batch_stats'];

/** Per-batch-size execution counts and ORT run time between two cumulative batch_stats snapshots. */
export function batchStatsDelta(
  start: BatchStats,
  end: BatchStats,
): { histogram: Record<string, number>; executions: number; inferNs: number } {
  const before = new Map(start.map((b) => [b.batch_size, b]));
  const histogram: Record<string, number> = {};
  let executions = 0;
  let inferNs = 0;
  for (const b of [...end].sort((x, y) => x.batch_size - y.batch_size)) {
    const s = before.get(b.batch_size);
    const count = b.compute_infer.count - (s?.compute_infer.count ?? 0);
    if (count <= 0) continue;
    histogram[String(b.batch_size)] = count;
    executions += count;
    inferNs += b.compute_infer.ns - (s?.compute_infer.ns ?? 0);
  }
  return { histogram, executions, inferNs };
}

/**
 * Delegates to the real statistics API and, at the same moment, records the in-process batch_stats (which
 * the load generator's snapshot type does not carry), so the batch histogram covers exactly the windows the
 * profiler measures.
 */
interface WindowEdge {
  batchStats: BatchStats;
  cpu: ProcessCpuSample | undefined;
}

function recordingApi(
  api: ServerApi,
  batchStats: () => Promise<BatchStats>,
  serverPid: number,
  snapshots: WindowEdge[],
): ServerApi {
  return {
    serverLive: () => api.serverLive(),
    serverMetadata: () => api.serverMetadata(),
    modelMetadata: (n, v) => api.modelMetadata(n, v),
    modelReady: (n, v) => api.modelReady(n, v),
    modelConfig: (n, v) => api.modelConfig(n, v),
    async modelStatistics(n, v): Promise<ModelStatsSnapshot[]> {
      const result = await api.modelStatistics(n, v);
      const cpu = sampleProcessCpu(serverPid, systemClock.nowNs());
      snapshots.push({ batchStats: await batchStats(), cpu });
      return result;
    },
    close: () => api.close(),
  };
}

function settingsFor(options: ConfigRunOptions, url: string, concurrency: number): ProfileSettings {
  return {
    modelName: options.model,
    modelVersion: '',
    protocol: options.protocol,
    url,
    batchSize: 1,
    load: { mode: 'concurrency', range: { start: concurrency, end: concurrency, step: 1 } },
    search: 'linear',
    async: false,
    streaming: false,
    workerThreads: Math.min(options.clientThreads, concurrency),
    measurement: {
      mode: 'time_windows',
      windowMs: options.windowMs,
      windowRequestCount: 0,
      stabilityThreshold: options.stability,
      stabilityWindows: 3,
      maxTrials: options.maxTrials,
      latencyThresholdMs: 0,
      // At 4 per unit of concurrency (the default): enough to fill the batcher and the instances' first runs.
      warmupRequestCount: Math.max(32, options.warmupPerConcurrency * concurrency),
      requestCount: 0,
      singleMeasurement: false,
      delayToleranceUs: 1000,
    },
    requestTimeoutMs: 30_000,
    maxErrorRate: 0.05,
  };
}

function levelFigures(
  options: ConfigRunOptions,
  level: LevelResult,
  snapshots: readonly WindowEdge[],
  serverPid: number,
): LevelFigures {
  const merged = level.merged;
  const ms = (us: number | undefined) => (us ?? Number.NaN) / 1000;
  const figures: LevelFigures = {
    config: options.config,
    protocol: options.protocol,
    concurrency: level.value,
    status: level.status,
    windows: level.windows.length,
    requestCount: merged?.requestCount ?? 0,
    errorCount: merged?.errorCount ?? 0,
    errorsByKind: merged?.errorsByKind ?? {},
    inferPerSec: merged?.throughputPerSec ?? 0,
    latencyMs: {
      mean: ms(merged?.latency.meanUs),
      p50: ms(merged?.latency.percentilesUs['50']),
      p90: ms(merged?.latency.percentilesUs['90']),
      p95: ms(merged?.latency.percentilesUs['95']),
      p99: ms(merged?.latency.percentilesUs['99']),
    },
    generator: {
      eventLoopUtilization: merged?.generator.eventLoopUtilization ?? 0,
      eventLoopDelayP99Us: merged?.generator.eventLoopDelayP99Us ?? 0,
      cpuCores: merged?.generator.cpuCores ?? 0,
      warnings: merged?.generator.bottleneckWarnings ?? [],
    },
    loadAverage: loadavg()[0] ?? 0,
  };
  const delta = merged?.server;
  // Snapshot i is taken at window boundary i (0 = start of window 1); the merge covers the last ≤ 3 windows.
  const n = level.windows.length;
  const first = snapshots[Math.max(0, n - 3)];
  const last = snapshots[n];
  if (delta && delta.executionCount > 0) {
    // The bench models have no response cache; an ensemble's queue is the sum over its leaf models.
    const f = serverFigures(delta, false);
    const avg = {
      avgRequestUs: f.requestUs,
      queueUs: delta.composing.length > 0 ? ensembleFigures(delta).queueUs : f.queueUs,
      computeInputUs: f.computeInputUs,
      computeInferUs: f.computeInferUs,
      computeOutputUs: f.computeOutputUs,
    };
    const batches = first && last ? batchStatsDelta(first.batchStats, last.batchStats) : undefined;
    figures.server = {
      inferenceCount: delta.inferenceCount,
      executionCount: delta.executionCount,
      meanBatch: delta.inferenceCount / delta.executionCount,
      avgRequestUs: avg.avgRequestUs,
      queueUs: avg.queueUs,
      computeInputUs: avg.computeInputUs,
      computeInferUs: avg.computeInferUs,
      computeOutputUs: avg.computeOutputUs,
      inferPerExecutionUs:
        batches && batches.executions > 0 ? batches.inferNs / batches.executions / 1000 : 0,
      batchHistogram: batches?.histogram ?? {},
    };
  }
  const cpu = first?.cpu && last?.cpu ? coresBetween(first.cpu, last.cpu) : undefined;
  if (cpu && first?.cpu && last?.cpu) {
    const threads = threadCoresBetween(first.cpu, last.cpu);
    figures.serverCpu = { ...cpu, threads, threadSummary: threadCoresSummary(threads, serverPid) };
  }
  return figures;
}

/** Runs every concurrency level of one configuration; the server and clients are stopped whatever happens. */
export async function runConfig(options: ConfigRunOptions): Promise<ConfigRun> {
  const run: ConfigRun = { config: options.config, protocol: options.protocol, levels: [], warnings: [] };
  // The server runs in its own process, as it would in production: sharing the load generator's event loop
  // made the loop, not the model, the bottleneck at high request rates (event-loop utilisation 1.0).
  let server: EmbeddedServerProcess;
  try {
    server = await startEmbeddedServerProcess({
      modelRepository: options.repositoryDir,
      commandPrefix: options.serverCommandPrefix,
      ...(options.serverThreads !== undefined
        ? { serveArgs: ['--http-thread-count', String(options.serverThreads)] }
        : {}),
    });
  } catch (e) {
    run.aborted = `the server did not start: ${e instanceof Error ? e.message : String(e)}`;
    return run;
  }
  const url = options.protocol === 'grpc' ? server.grpcUrl : server.httpUrl;
  const transportOptions = { url, connections: Math.max(...options.concurrency), headers: {} };
  const { client, api } = createTransport(options.protocol, { ...transportOptions, clock: systemClock });
  try {
    const metadata = await api.modelMetadata(options.model, '');
    const config = await api.modelConfig(options.model, '');
    const { specs } = createRequestSpecs(
      { metadata, maxBatchSize: config.maxBatchSize },
      { source: 'random', shapes: options.shapes, stringLength: 128, batchSize: 1, seed: 1 },
      { modelVersion: '', outputs: [], binaryInputs: true, binaryOutputs: true, parameters: {} },
    );
    const requests = specs.map((s) => client.prepare(s));
    const statsUrl = `${server.httpUrl}/v2/models/${encodeURIComponent(options.model)}/stats`;
    const batchStats = async (): Promise<BatchStats> => {
      const reply = (await (await fetch(statsUrl)).json()) as { model_stats?: ModelStatisticsJson[] };
      return reply.model_stats?.[0]?.batch_stats ?? [];
    };
    for (const concurrency of options.concurrency) {
      if (options.signal.aborted) {
        run.aborted = 'interrupted';
        break;
      }
      const snapshots: WindowEdge[] = [];
      const outcome = await runProfile(settingsFor(options, url, concurrency), {
        clock: systemClock,
        client,
        requests,
        serverApi: recordingApi(api, batchStats, server.pid, snapshots),
        statsAvailable: true,
        signal: options.signal,
        shards: { transport: { protocol: options.protocol, options: transportOptions }, specs },
        onEvent: (e) => {
          if (e.type === 'window_end') {
            options.log(
              `  ${options.config}/${options.protocol} c=${e.value} window ${e.windowIndex}/${e.maxWindows}: ` +
                `${e.throughputPerSec.toFixed(1)} infer/s, ${e.errorCount} errors`,
            );
          }
        },
      });
      for (const w of outcome.warnings) if (!run.warnings.includes(w)) run.warnings.push(w);
      const level = outcome.levels[0];
      if (level) run.levels.push(levelFigures(options, level, snapshots, server.pid));
      if (level?.status === 'errors_over_limit') {
        run.aborted = `error rate over the limit at concurrency ${concurrency}`;
        break;
      }
    }
  } catch (e) {
    run.aborted = e instanceof Error ? e.message : String(e);
  } finally {
    await client.close().catch(() => undefined);
    await api.close().catch(() => undefined);
    await server.stop(10_000);
  }
  return run;
}
