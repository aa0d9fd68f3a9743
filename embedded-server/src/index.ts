/**
 * Public entry of the reference server: `startServer` loads a model repository and serves it over HTTP,
 * gRPC and Prometheus metrics. The `serve` CLI command, tests, benchmarks and the load generator's
 * "embedded default" all start the server through this one function, so they all get the same wiring.
 */
import { type Clock, systemClock } from '../../src/protocol/clock.ts';
import { type CacheConfig, parseCacheConfig, ResponseCache } from './cache/response-cache.ts';
import type { InferenceCore } from './core/api.ts';
import { createServerCore, type ServerCore } from './core/inference-core.ts';
import { DEFAULT_REPOSITORY_POLL_SECS, type ModelControlMode } from './core/model-control.ts';
import type { Logger } from './core/model-manager.ts';
import { OrtModelBackend } from './core/ort-model-backend.ts';
import { type RepositoryPoller, startRepositoryPoller } from './core/repository-poller.ts';
import { materializeEmbeddedRepository } from './embedded-repository.ts';
import { startIngressPool } from './ingress/ingress-pool.ts';
import { createHostUsage } from './metrics/host-usage.ts';
import { startMetricsServer } from './metrics/metrics-server.ts';
import { detectGpuReader } from './metrics/nvidia-smi.ts';
import { createTritonMetrics, type TritonMetrics } from './metrics/prometheus.ts';
import { StageTraceRecorder } from './stats/stage-trace.ts';
import { startGrpcServer } from './transport/grpc-server.ts';
import { startHttpServer } from './transport/http-server.ts';
import type { TransportLimits } from './transport/transport-limits.ts';

export type { InferenceCore } from './core/api.ts';
export type { ModelControlMode } from './core/model-control.ts';
export type { Logger } from './core/model-manager.ts';

export interface StartServerOptions {
  /** Triton-layout repository; default: the embedded models, materialised to a temp directory. */
  modelRepository?: string;
  /** Address to bind; default 127.0.0.1 (Triton binds 0.0.0.0). */
  host?: string;
  /** Ports; default 0 = any free port (the `serve` command passes Triton's 8000/8001/8002). */
  httpPort?: number;
  grpcPort?: number;
  metricsPort?: number;
  /** `--cache-config`: `local,size=<bytes>` or its parsed form; default no cache. */
  cacheConfig?: CacheConfig | string;
  /** Triton's `--strict-readiness`; default true. */
  strictReadiness?: boolean;
  /**
   * Triton's `--disable-auto-complete-config`: configs are not completed from the ONNX graph (a model
   * without config.pbtxt fails to load; a partial config is served as written). Default false.
   */
  disableAutoCompleteConfig?: boolean;
  /**
   * Triton's `--model-control-mode`; default `none` (every model loads at startup, the repository load/unload
   * API is refused with 503). Tests and tools that load or reload models over the API need `explicit`.
   */
  modelControlMode?: ModelControlMode;
  /** `--load-model` (explicit mode): the models loaded at startup; `['*']` = all; default none. */
  loadModels?: readonly string[];
  /** `--repository-poll-secs` (poll mode); default 15. */
  repositoryPollSecs?: number;
  /** `--max-instances-per-model` (default 64) and `--max-instances-total` (default 256): each instance is a thread. */
  maxInstancesPerModel?: number;
  maxInstancesTotal?: number;
  /** Body and message sizes, timeouts, connections (transport-limits.ts); unset ones keep their defaults. */
  limits?: Partial<TransportLimits>;
  clock?: Clock;
  /** Where server logs go; default silent. Its optional `verbose` turns on `--log-verbose` lines. */
  log?: Logger;
  /**
   * Stamp every HTTP and unary gRPC inference at each stage of its path and keep the stamps in
   * `RunningServer.stageTrace` (benchmarks: "where the time goes"). Default off.
   */
  stageTrace?: boolean;
  /**
   * Triton's `--http-thread-count`, for HTTP and gRPC alike: threads that parse, decode, encode and write
   * requests, while the main thread keeps every model's one queue. 0 (the default here) serves both
   * protocols on the main thread's event loop; `inferbench serve` defaults to the cores available. Stage
   * tracing needs 0.
   */
  httpThreadCount?: number;
}

export interface StopOptions {
  /** Time allowed for in-flight requests to finish (`--exit-timeout-secs`); default 30 s. */
  timeoutMs?: number;
}

export interface RunningServer {
  readonly host: string;
  readonly httpPort: number;
  readonly grpcPort: number;
  readonly metricsPort: number;
  /** `http://host:port` (for undici / fetch). */
  readonly httpUrl: string;
  /** `host:port` (a grpc-js target). */
  readonly grpcUrl: string;
  /** `http://host:port/metrics`. */
  readonly metricsUrl: string;
  readonly repositoryDir: string;
  readonly core: InferenceCore & Pick<ServerCore, 'state' | 'isExiting' | 'repositoryIndex'>;
  readonly metrics: TritonMetrics;
  /** The stage timestamps of recent inferences, when started with `stageTrace: true`. */
  readonly stageTrace: StageTraceRecorder | undefined;
  /** The repository poller in `poll` mode (tests call `pollNow()` instead of waiting for the interval). */
  readonly poller: RepositoryPoller | undefined;
  /** The ingress threads, when started with `httpThreadCount` ≥ 1. */
  readonly ingress: { readonly threads: number; connectionsPerThread(): number[] } | undefined;
  /**
   * Graceful stop: readiness off, new requests refused (503 / UNAVAILABLE), in-flight ones finished, models
   * unloaded, listeners closed. `drained` is false when the timeout expired before everything finished.
   */
  stop(options?: StopOptions): Promise<{ drained: boolean }>;
}

const SILENT: Logger = { info: () => undefined, warn: () => undefined, error: () => undefined };
const DEFAULT_EXIT_TIMEOUT_MS = 30_000;

/** A host usable in a URL: wildcard binds are reached through loopback, IPv6 literals get brackets. */
function urlHost(host: string): string {
  if (host === '0.0.0.0') return '127.0.0.1';
  if (host === '::') return '[::1]';
  return host.includes(':') ? `[${host}]` : host;
}

/** Loads every model of the repository, then starts the HTTP, gRPC and metrics listeners. */
export async function startServer(options: StartServerOptions = {}): Promise<RunningServer> {
  const host = options.host ?? '127.0.0.1';
  const clock = options.clock ?? systemClock;
  const log = options.log ?? SILENT;
  const repositoryDir = options.modelRepository ?? (await materializeEmbeddedRepository());
  const cacheConfig =
    typeof options.cacheConfig === 'string' ? parseCacheConfig(options.cacheConfig) : options.cacheConfig;
  const cache = cacheConfig ? new ResponseCache(cacheConfig.sizeBytes) : undefined;

  let core: ServerCore | undefined;
  const metrics = createTritonMetrics({
    pendingCounts: () => core?.pendingCounts() ?? [],
    cacheEnabled: cache !== undefined,
    host: createHostUsage(),
    gpu: await detectGpuReader(),
  });
  const backend = new OrtModelBackend({
    repositoryDir,
    clock,
    log,
    cache,
    autoCompleteConfig: !(options.disableAutoCompleteConfig ?? false),
    ...(options.maxInstancesPerModel !== undefined
      ? { maxInstancesPerModel: options.maxInstancesPerModel }
      : {}),
    ...(options.maxInstancesTotal !== undefined ? { maxInstancesTotal: options.maxInstancesTotal } : {}),
  });
  core = createServerCore({
    backend,
    clock,
    log,
    strictReadiness: options.strictReadiness,
    modelControl: { mode: options.modelControlMode ?? 'none', loadModels: options.loadModels ?? [] },
    events: {
      versionReady: (labels, loadNs) => {
        metrics.registerModel(labels);
        metrics.modelLoaded(labels, loadNs);
      },
      versionUnloaded: (labels) => metrics.removeModel(labels),
      stats: (labels, event) => metrics.observe(labels, event),
    },
  });
  const serverCore = core;
  // Poll mode: the baseline is taken before the startup load, so a change made meanwhile is seen by the first poll.
  const poller: RepositoryPoller | undefined =
    options.modelControlMode === 'poll'
      ? await startRepositoryPoller({
          repositoryDir,
          intervalSecs: options.repositoryPollSecs ?? DEFAULT_REPOSITORY_POLL_SECS,
          models: serverCore.models,
          clock,
          log,
        })
      : undefined;
  try {
    await serverCore.start();
  } catch (e) {
    await poller?.stop();
    await serverCore.shutdown(0);
    throw e;
  }

  const stageTrace = options.stageTrace ? new StageTraceRecorder() : undefined;
  const started: { close: (graceful: boolean) => Promise<void> }[] = [];
  try {
    const threads = options.httpThreadCount ?? 0;
    if (threads !== 0 && stageTrace) throw new Error('stageTrace needs httpThreadCount 0');
    const transports =
      threads !== 0
        ? await startThreadedTransports(serverCore, host, options, threads, started)
        : await startEventLoopTransports(serverCore, host, options, clock, stageTrace, started);
    const metricsServer = await startMetricsServer({ metrics, host, port: options.metricsPort ?? 0 });
    started.push({ close: () => metricsServer.close() });

    const h = urlHost(host);
    let stopping: Promise<{ drained: boolean }> | undefined;
    return {
      host,
      httpPort: transports.httpPort,
      grpcPort: transports.grpcPort,
      metricsPort: metricsServer.port,
      httpUrl: `http://${h}:${transports.httpPort}`,
      grpcUrl: `${h}:${transports.grpcPort}`,
      metricsUrl: `http://${h}:${metricsServer.port}/metrics`,
      repositoryDir,
      core: serverCore,
      metrics,
      stageTrace,
      poller,
      ingress: transports.ingress,
      stop(stopOptions = {}) {
        stopping ??= (async () => {
          await poller?.stop();
          const drained = await serverCore.shutdown(stopOptions.timeoutMs ?? DEFAULT_EXIT_TIMEOUT_MS);
          await transports.close(drained);
          await metricsServer.close();
          return { drained };
        })();
        return stopping;
      },
    };
  } catch (e) {
    await poller?.stop();
    await Promise.allSettled(started.map((s) => s.close(false)));
    await serverCore.shutdown(0);
    throw e;
  }
}

interface Transports {
  httpPort: number;
  grpcPort: number;
  ingress?: RunningServer['ingress'];
  close(graceful: boolean): Promise<void>;
}

/** HTTP and gRPC on the main thread's event loop. */
async function startEventLoopTransports(
  serverCore: ServerCore,
  host: string,
  options: StartServerOptions,
  clock: Clock,
  stageTrace: StageTraceRecorder | undefined,
  started: { close: (graceful: boolean) => Promise<void> }[],
): Promise<Transports> {
  const http = await startHttpServer({
    core: serverCore,
    host,
    port: options.httpPort ?? 0,
    clock,
    ...(options.limits ? { limits: options.limits } : {}),
    ...(stageTrace ? { stageTrace } : {}),
  });
  started.push(http);
  const grpc = await startGrpcServer({
    core: serverCore,
    host,
    port: options.grpcPort ?? 0,
    clock,
    ...(options.limits ? { limits: options.limits } : {}),
    ...(stageTrace ? { stageTrace } : {}),
  });
  started.push(grpc);
  return {
    httpPort: http.port,
    grpcPort: grpc.port,
    close: async (graceful) => {
      await http.close(graceful);
      await grpc.close(graceful);
    },
  };
}

/** HTTP and gRPC on `threads` ingress threads; the main thread accepts and schedules. */
async function startThreadedTransports(
  serverCore: ServerCore,
  host: string,
  options: StartServerOptions,
  threads: number,
  started: { close: (graceful: boolean) => Promise<void> }[],
): Promise<Transports> {
  const pool = await startIngressPool({
    core: serverCore,
    host,
    httpPort: options.httpPort ?? 0,
    grpcPort: options.grpcPort ?? 0,
    threads,
    ...(options.limits ? { limits: options.limits } : {}),
  });
  started.push(pool);
  return {
    httpPort: pool.httpPort,
    grpcPort: pool.grpcPort,
    ingress: pool,
    close: (graceful) => pool.close(graceful),
  };
}
