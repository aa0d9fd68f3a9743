/**
 * `inferbench serve`: the reference server as a process. Prints Triton's three "Started …" lines on stdout
 * once every listener is up (scripts wait for them), the model status table and logs on stderr, and shuts
 * down like Triton on SIGTERM/SIGINT: readiness off, new requests refused, in-flight ones finished within
 * `--exit-timeout-secs` (exit 0), else `Exit timeout expired. Exiting immediately.` (exit 1); a second
 * signal exits at once.
 */

import { stat } from 'node:fs/promises';
import Table from 'cli-table3';
import { sToMs } from '../../src/protocol/units.ts';
import { BAD_OPTIONS_EXIT_CODE } from './bad-options-error.ts';
import type { ModelIndexEntry } from './core/api.ts';
import type { Logger } from './core/model-manager.ts';
import { type RunningServer, startServer } from './index.ts';
import { parseServeArgs, ServeOptionError, type ServeOptions } from './serve-options.ts';

/** Where the command writes and how it ends the process; injectable so tests need not spawn one. */
export interface ServeIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  /** Ends the process at once (second signal, exit timeout). Default: process.exit. */
  exit: (code: number) => void;
  /** Subscribes to shutdown signals; returns the unsubscribe function. Default: SIGTERM and SIGINT. */
  onSignal: (handler: (signal: string) => void) => () => void;
  /** Called once the server is up (tests use it to reach the server). */
  onStarted?: (server: RunningServer) => void;
}

const EXIT_FAILURE = 1;

function processSignals(handler: (signal: string) => void): () => void {
  const signals: NodeJS.Signals[] = ['SIGTERM', 'SIGINT'];
  for (const s of signals) process.on(s, handler);
  return () => {
    for (const s of signals) process.off(s, handler);
  };
}

const DEFAULT_IO: ServeIo = {
  stdout: (t) => process.stdout.write(t),
  stderr: (t) => process.stderr.write(t),
  exit: (code) => process.exit(code),
  onSignal: processSignals,
};

/** Triton's one-letter severities; `--log-verbose` ≥ 1 adds `verbose`, whose lines are `I` lines as in Triton. */
export function stderrLogger(write: (t: string) => void, logVerbose = 0): Logger {
  const log: Logger = {
    info: (m) => write(`I ${m}\n`),
    warn: (m) => write(`W ${m}\n`),
    error: (m) => write(`E ${m}\n`),
  };
  if (logVerbose >= 1) log.verbose = (m) => write(`I ${m}\n`);
  return log;
}

/** Triton's startup table of models, versions and states. */
export function modelStatusTable(index: readonly ModelIndexEntry[]): string {
  const table = new Table({ head: ['Model', 'Version', 'Status'], style: { head: [], border: [] } });
  for (const e of index) {
    const status =
      e.state === 'READY' ? 'READY' : `${e.state ?? 'UNAVAILABLE'}${e.reason ? `: ${e.reason}` : ''}`;
    table.push([e.name, e.version ?? '', status]);
  }
  return table.toString();
}

async function checkRepository(options: ServeOptions): Promise<void> {
  const dir = options.modelRepository;
  if (dir === undefined) return;
  const st = await stat(dir).catch(() => undefined);
  if (!st?.isDirectory()) {
    throw new ServeOptionError(`--model-repository '${dir}' is not a directory`);
  }
}

/**
 * Runs `serve` with the arguments after the subcommand; resolves with the process exit code once the server
 * has stopped (0 after a graceful stop, 3 for bad options, 1 when startup fails). For the two cases where
 * Triton exits immediately (second signal, exit timeout) it also calls `io.exit`.
 */
export async function runServeCommand(argv: readonly string[], io: Partial<ServeIo> = {}): Promise<number> {
  const { stdout, stderr, exit, onSignal, onStarted } = { ...DEFAULT_IO, ...io };
  let options: ServeOptions;
  try {
    const parsed = parseServeArgs(argv);
    if (parsed.kind === 'help') {
      stdout(parsed.text);
      return 0;
    }
    options = parsed.options;
    await checkRepository(options);
  } catch (e) {
    if (e instanceof ServeOptionError) {
      stderr(`error: ${e.message}\n`);
      return BAD_OPTIONS_EXIT_CODE;
    }
    throw e;
  }

  const log = stderrLogger(stderr, options.logVerbose);
  let server: RunningServer;
  try {
    server = await startServer({
      modelRepository: options.modelRepository,
      host: options.host,
      httpPort: options.httpPort,
      grpcPort: options.grpcPort,
      metricsPort: options.metricsPort,
      cacheConfig: options.cacheConfig,
      strictReadiness: options.strictReadiness,
      disableAutoCompleteConfig: options.disableAutoCompleteConfig,
      modelControlMode: options.modelControlMode,
      loadModels: options.loadModels,
      repositoryPollSecs: options.repositoryPollSecs,
      httpThreadCount: options.httpThreadCount,
      maxInstancesPerModel: options.maxInstancesPerModel,
      maxInstancesTotal: options.maxInstancesTotal,
      limits: options.limits,
      log,
    });
  } catch (e) {
    stderr(`error: failed to start the server: ${e instanceof Error ? e.message : String(e)}\n`);
    return EXIT_FAILURE;
  }

  stderr(`${modelStatusTable(server.core.repositoryIndex(false))}\n`);
  stdout(`Started GRPCInferenceService at ${options.host}:${server.grpcPort}\n`);
  stdout(`Started HTTPService at ${options.host}:${server.httpPort}\n`);
  stdout(`Started Metrics Service at ${options.host}:${server.metricsPort}\n`);
  onStarted?.(server);

  return new Promise<number>((resolve) => {
    let signalled = false;
    const unsubscribe = onSignal((signal) => {
      if (signalled) {
        stderr(`E Received ${signal} again, exiting immediately.\n`);
        unsubscribe();
        resolve(EXIT_FAILURE);
        exit(EXIT_FAILURE);
        return;
      }
      signalled = true;
      log.info(`Received ${signal}, stopping the server (exit timeout ${options.exitTimeoutSecs} s)`);
      server.stop({ timeoutMs: sToMs(options.exitTimeoutSecs) }).then(
        ({ drained }) => {
          unsubscribe();
          if (drained) {
            resolve(0);
            return;
          }
          stderr('E Exit timeout expired. Exiting immediately.\n');
          resolve(EXIT_FAILURE);
          exit(EXIT_FAILURE);
        },
        (e: unknown) => {
          unsubscribe();
          stderr(`E shutdown failed: ${e instanceof Error ? e.message : String(e)}\n`);
          resolve(EXIT_FAILURE);
          exit(EXIT_FAILURE);
        },
      );
    });
  });
}
