/**
 * `inferbench serve` options: Triton's flag names where Triton has the flag (so scripts written for
 * tritonserver mostly carry over), validated once into a frozen `ServeOptions`. Pure apart from commander's
 * own output, which is redirected by the caller.
 */

import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { msToS, sToMs } from '../../src/protocol/units.ts';
import { BadOptionsError } from './bad-options-error.ts';
import { type CacheConfig, CacheConfigError, parseCacheConfig } from './cache/response-cache.ts';
import {
  DEFAULT_REPOSITORY_POLL_SECS,
  LOAD_ALL_MODELS,
  MAX_REPOSITORY_POLL_SECS,
  MODEL_CONTROL_MODES,
  type ModelControlMode,
} from './core/model-control.ts';
import { defaultIngressThreads, MAX_INGRESS_THREADS } from './ingress/ingress-pool.ts';
import {
  DEFAULT_MAX_INSTANCES_PER_MODEL,
  DEFAULT_MAX_INSTANCES_TOTAL,
  MAX_INSTANCES_FLAG,
} from './repository/config-limits.ts';
import {
  DEFAULT_TRANSPORT_LIMITS,
  MAX_CONNECTIONS_FLAG,
  MAX_SIZE_FLAG_BYTES,
  MAX_TIMEOUT_FLAG_SECS,
  type TransportLimits,
} from './transport/transport-limits.ts';

/** A bad `serve` flag or flag value (exit 3); the message says which and why. */
export class ServeOptionError extends BadOptionsError {
  readonly code = 'ERR_SERVE_OPTION';
  constructor(message: string, options?: { cause?: unknown }) {
    super('ServeOptionError', message, options);
  }
}

export interface ServeOptions {
  /** Undefined = serve the embedded repository (materialised to a temp directory). */
  readonly modelRepository: string | undefined;
  readonly host: string;
  readonly httpPort: number;
  readonly grpcPort: number;
  readonly metricsPort: number;
  readonly exitTimeoutSecs: number;
  readonly cacheConfig: CacheConfig | undefined;
  readonly disableAutoCompleteConfig: boolean;
  readonly strictReadiness: boolean;
  readonly logVerbose: number;
  readonly modelControlMode: ModelControlMode;
  /** `--load-model` names (explicit mode); `['*']` = all. */
  readonly loadModels: readonly string[];
  readonly repositoryPollSecs: number;
  /** `--http-thread-count`: ingress threads for HTTP and gRPC; 0 = the main thread's event loop. */
  readonly httpThreadCount: number;
  readonly maxInstancesPerModel: number;
  readonly maxInstancesTotal: number;
  /** Body and message sizes, timeouts, connections. */
  readonly limits: TransportLimits;
}

export const SERVE_DEFAULTS = {
  host: '127.0.0.1',
  httpPort: 8000,
  grpcPort: 8001,
  metricsPort: 8002,
  exitTimeoutSecs: 30,
} as const;

function port(value: string): number {
  if (!/^\d+$/.test(value) || Number(value) > 65535) {
    throw new InvalidArgumentError('expected a port number 0-65535 (0 picks a free port)');
  }
  return Number(value);
}

function nonNegativeInt(value: string): number {
  if (!/^\d+$/.test(value)) throw new InvalidArgumentError('expected a non-negative integer');
  return Number(value);
}

function pollSecs(value: string): number {
  if (!/^\d+$/.test(value) || Number(value) < 1 || Number(value) > MAX_REPOSITORY_POLL_SECS) {
    throw new InvalidArgumentError(`expected whole seconds 1-${MAX_REPOSITORY_POLL_SECS}`);
  }
  return Number(value);
}

function threadCount(value: string): number {
  if (!/^\d+$/.test(value) || Number(value) > MAX_INGRESS_THREADS) {
    throw new InvalidArgumentError(`expected an integer 0-${MAX_INGRESS_THREADS}`);
  }
  return Number(value);
}

/** A model directory name as `--load-model` accepts it (the repository API's model names are the same). */
function modelName(value: string, previous: string[] | undefined): string[] {
  if (value === '' || value.length > 255 || /[/\\\0]/.test(value) || value === '.' || value === '..') {
    throw new InvalidArgumentError('expected a model directory name (or * for all models)');
  }
  return [...(previous ?? []), value];
}

function instances(value: string): number {
  if (!/^\d+$/.test(value) || Number(value) < 1 || Number(value) > MAX_INSTANCES_FLAG) {
    throw new InvalidArgumentError(`expected a whole number 1-${MAX_INSTANCES_FLAG}`);
  }
  return Number(value);
}

function sizeBytes(value: string): number {
  if (!/^\d+$/.test(value) || Number(value) < 1 || Number(value) > MAX_SIZE_FLAG_BYTES) {
    throw new InvalidArgumentError(`expected a size in bytes 1-${MAX_SIZE_FLAG_BYTES}`);
  }
  return Number(value);
}

function timeoutSecs(value: string): number {
  if (!/^\d+(\.\d+)?$/.test(value) || Number(value) <= 0 || Number(value) > MAX_TIMEOUT_FLAG_SECS) {
    throw new InvalidArgumentError(`expected seconds > 0 and <= ${MAX_TIMEOUT_FLAG_SECS}`);
  }
  return Number(value);
}

function connections(value: string): number {
  if (!/^\d+$/.test(value) || Number(value) < 1 || Number(value) > MAX_CONNECTIONS_FLAG) {
    throw new InvalidArgumentError(`expected a whole number 1-${MAX_CONNECTIONS_FLAG}`);
  }
  return Number(value);
}

function bool(value: string): boolean {
  const v = value.toLowerCase();
  if (v === 'true' || v === '1' || v === 'on') return true;
  if (v === 'false' || v === '0' || v === 'off') return false;
  throw new InvalidArgumentError('expected true or false');
}

function cache(value: string): CacheConfig {
  try {
    return parseCacheConfig(value);
  } catch (e) {
    if (e instanceof CacheConfigError) throw new InvalidArgumentError(e.message);
    throw e;
  }
}

/** The commander definition (exported so the CLI can mount it and `--help` stays in one place). */
export function serveCommand(): Command {
  return new Command('serve')
    .description(
      'Run the bundled KServe-v2 reference server (ONNX Runtime, Triton config.pbtxt, dynamic batching).\n' +
        'Without --model-repository it serves the embedded example models.',
    )
    .addOption(new Option('--model-repository <dir>', 'model repository directory (Triton layout)'))
    .addOption(
      new Option(
        '--host <address>',
        'address to bind; Triton binds 0.0.0.0, this server defaults to 127.0.0.1 for safety: use --host 0.0.0.0 to expose it',
      ).default(SERVE_DEFAULTS.host),
    )
    .addOption(
      new Option('--http-port <port>', 'HTTP/REST port (0 = any free port)').argParser(port).default(8000),
    )
    .addOption(
      new Option('--grpc-port <port>', 'gRPC port (0 = any free port)').argParser(port).default(8001),
    )
    .addOption(
      new Option('--metrics-port <port>', 'Prometheus metrics port (0 = any free port)')
        .argParser(port)
        .default(8002),
    )
    .addOption(
      new Option('--exit-timeout-secs <secs>', 'on SIGTERM/SIGINT, time allowed to finish in-flight requests')
        .argParser(nonNegativeInt)
        .default(30),
    )
    .addOption(
      new Option(
        '--cache-config <spec>',
        "response cache, 'local,size=<bytes>' (models opt in with response_cache)",
      ).argParser(cache),
    )
    .addOption(
      new Option(
        '--model-control-mode <mode>',
        'none: load every model at startup, refuse the repository load/unload API; poll: as none, and re-read ' +
          'the repository every --repository-poll-secs; explicit: load the --load-model models, allow the API',
      )
        .choices(MODEL_CONTROL_MODES)
        .default('none'),
    )
    .addOption(
      new Option(
        '--repository-poll-secs <secs>',
        `poll mode: seconds between repository polls (default ${DEFAULT_REPOSITORY_POLL_SECS})`,
      ).argParser(pollSecs),
    )
    .addOption(
      new Option(
        '--load-model <name>',
        "explicit mode: a model to load at startup (repeatable; '*' alone = every model)",
      ).argParser(modelName),
    )
    .addOption(
      new Option(
        '--max-instances-per-model <n>',
        'most instances (threads) one model version may create over all its instance groups',
      )
        .argParser(instances)
        .default(DEFAULT_MAX_INSTANCES_PER_MODEL),
    )
    .addOption(
      new Option('--max-instances-total <n>', 'most instances (threads) of all loaded models together')
        .argParser(instances)
        .default(DEFAULT_MAX_INSTANCES_TOTAL),
    )
    .addOption(
      new Option(
        '--http-max-input-size <bytes>',
        'largest HTTP request body, also once decompressed (Triton: 64 MiB)',
      )
        .argParser(sizeBytes)
        .default(DEFAULT_TRANSPORT_LIMITS.httpMaxInputBytes),
    )
    .addOption(
      new Option(
        '--http-max-json-size <bytes>',
        'largest JSON part of an HTTP body (JSON tensors cost the parsing thread ~0.25 s per MiB; use binary tensors)',
      )
        .argParser(sizeBytes)
        .default(DEFAULT_TRANSPORT_LIMITS.httpMaxJsonBytes),
    )
    .addOption(
      new Option('--grpc-max-message-size <bytes>', 'largest gRPC message received, also once decompressed')
        .argParser(sizeBytes)
        .default(DEFAULT_TRANSPORT_LIMITS.grpcMaxMessageBytes),
    )
    .addOption(
      new Option(
        '--http-headers-timeout-secs <secs>',
        "time allowed for a request's headers to arrive (then 408)",
      )
        .argParser(timeoutSecs)
        .default(msToS(DEFAULT_TRANSPORT_LIMITS.headersTimeoutMs)),
    )
    .addOption(
      new Option(
        '--http-request-timeout-secs <secs>',
        'time allowed for a whole request, headers and body, to arrive (then 408)',
      )
        .argParser(timeoutSecs)
        .default(msToS(DEFAULT_TRANSPORT_LIMITS.requestTimeoutMs)),
    )
    .addOption(
      new Option(
        '--idle-timeout-secs <secs>',
        'an idle keep-alive HTTP or gRPC connection is closed after this',
      )
        .argParser(timeoutSecs)
        .default(msToS(DEFAULT_TRANSPORT_LIMITS.idleTimeoutMs)),
    )
    .addOption(
      new Option(
        '--max-connections <n>',
        'most open connections per protocol (HTTP, gRPC); more are closed on accept',
      )
        .argParser(connections)
        .default(DEFAULT_TRANSPORT_LIMITS.maxConnections),
    )
    .addOption(
      new Option(
        '--disable-auto-complete-config',
        'do not complete config.pbtxt from the ONNX model: every model needs a config.pbtxt, served as written',
      ),
    )
    .addOption(
      new Option('--strict-readiness <bool>', 'ready only when every model version is READY')
        .argParser(bool)
        .default(true),
    )
    .addOption(
      new Option(
        '--log-verbose <level>',
        'verbose logging level (0 = off; >= 1 logs model load/unload steps and one line per request to stderr)',
      )
        .argParser(nonNegativeInt)
        .default(0),
    )
    .addOption(
      new Option(
        '--http-thread-count <n>',
        'threads that parse, decode and answer HTTP and gRPC requests while the main thread keeps each ' +
          "model's one batching queue (0 = all on the main thread's event loop; default: half the cores available, 0 below 4 cores)",
      ).argParser(threadCount),
    )
    .helpOption('-h, --help', 'show this help')
    .allowExcessArguments(false);
}

interface RawOptions {
  modelRepository?: string;
  host: string;
  httpPort: number;
  grpcPort: number;
  metricsPort: number;
  exitTimeoutSecs: number;
  cacheConfig?: CacheConfig;
  disableAutoCompleteConfig?: boolean;
  strictReadiness: boolean;
  logVerbose: number;
  modelControlMode: ModelControlMode;
  repositoryPollSecs?: number;
  loadModel?: string[];
  httpThreadCount?: number;
  maxInstancesPerModel: number;
  maxInstancesTotal: number;
  httpMaxInputSize: number;
  httpMaxJsonSize: number;
  grpcMaxMessageSize: number;
  httpHeadersTimeoutSecs: number;
  httpRequestTimeoutSecs: number;
  idleTimeoutSecs: number;
  maxConnections: number;
}

/** Result of parsing: options to run with, or help text that was requested. */
export type ParsedServeArgs = { kind: 'run'; options: ServeOptions } | { kind: 'help'; text: string };

/**
 * Parses the arguments after `serve`. Throws ServeOptionError (exit code 3) with commander's message for bad
 * options.
 */
export function parseServeArgs(argv: readonly string[]): ParsedServeArgs {
  const command = serveCommand();
  // Mounted under its program so the help says `Usage: inferbench serve [options]`.
  new Command('inferbench').addCommand(command);
  let helpText = '';
  command.exitOverride().configureOutput({
    writeOut: (s) => {
      helpText += s;
    },
    writeErr: () => undefined,
    outputError: () => undefined,
  });
  try {
    command.parse([...argv], { from: 'user' });
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.code === 'commander.helpDisplayed' || e.code === 'commander.help')
        return { kind: 'help', text: helpText };
      // One line whatever the value held: control characters (a newline in a value) written escaped.
      const message = Array.from(e.message.replace(/^error: /, ''), (c) =>
        c < ' ' || c === '\u007f' ? JSON.stringify(c).slice(1, -1) : c,
      ).join('');
      throw new ServeOptionError(message, { cause: e });
    }
    throw e;
  }
  const raw = command.opts<RawOptions>();
  if (raw.host.trim() === '') throw new ServeOptionError("option '--host <address>' must not be empty");
  const loadModels = raw.loadModel ?? [];
  if (loadModels.length > 0 && raw.modelControlMode !== 'explicit') {
    throw new ServeOptionError(
      `option '--load-model' needs --model-control-mode explicit (the mode is '${raw.modelControlMode}', which loads every model)`,
    );
  }
  if (loadModels.includes(LOAD_ALL_MODELS) && loadModels.length > 1) {
    throw new ServeOptionError(`option '--load-model ${LOAD_ALL_MODELS}' must be the only --load-model`);
  }
  if (raw.repositoryPollSecs !== undefined && raw.modelControlMode !== 'poll') {
    throw new ServeOptionError(
      `option '--repository-poll-secs' needs --model-control-mode poll (the mode is '${raw.modelControlMode}')`,
    );
  }
  return {
    kind: 'run',
    options: Object.freeze({
      modelRepository: raw.modelRepository,
      host: raw.host,
      httpPort: raw.httpPort,
      grpcPort: raw.grpcPort,
      metricsPort: raw.metricsPort,
      exitTimeoutSecs: raw.exitTimeoutSecs,
      cacheConfig: raw.cacheConfig,
      disableAutoCompleteConfig: raw.disableAutoCompleteConfig ?? false,
      strictReadiness: raw.strictReadiness,
      logVerbose: raw.logVerbose,
      modelControlMode: raw.modelControlMode,
      loadModels,
      repositoryPollSecs: raw.repositoryPollSecs ?? DEFAULT_REPOSITORY_POLL_SECS,
      httpThreadCount: raw.httpThreadCount ?? defaultIngressThreads(),
      maxInstancesPerModel: raw.maxInstancesPerModel,
      maxInstancesTotal: raw.maxInstancesTotal,
      limits: Object.freeze({
        httpMaxInputBytes: raw.httpMaxInputSize,
        httpMaxJsonBytes: raw.httpMaxJsonSize,
        grpcMaxMessageBytes: raw.grpcMaxMessageSize,
        headersTimeoutMs: Math.round(sToMs(raw.httpHeadersTimeoutSecs)),
        requestTimeoutMs: Math.round(sToMs(raw.httpRequestTimeoutSecs)),
        idleTimeoutMs: Math.round(sToMs(raw.idleTimeoutSecs)),
        maxConnections: raw.maxConnections,
      }),
    }),
  };
}
