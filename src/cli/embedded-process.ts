/**
 * The embedded server as a child process. Running it in the generator's own process would make the two share
 * one event loop (and its delays would show up as client latency), which is exactly the bias a benchmark tool
 * must not have. The child prints Triton's "Started … at host:port" lines; we read the ports from them.
 */

import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { EXIT_WITH_PARENT_ENV } from '../../embedded-server/src/process/parent-watch.ts';
import { ServerError } from '../errors.ts';
import { msToS } from '../protocol/units.ts';

export interface EmbeddedServerProcess {
  /** The server's process id (benchmarks read its CPU time). */
  pid: number;
  httpUrl: string;
  grpcUrl: string;
  metricsUrl: string;
  /** SIGTERM, then wait for the graceful exit (SIGKILL after `timeoutMs`). */
  stop(timeoutMs?: number): Promise<void>;
}

/**
 * V8 options for the server process. Under load its live heap is small (≈ 18 MB) while every request
 * allocates tens of KB that die young; V8 then keeps the old generation's limit so close to the live size that
 * it starts a full mark-compact every 100–300 ms (text_direction at ≈ 1000 infer/s: 85 mark-compacts and
 * 1.2 s of main-thread GC in 12 s). A 128 MB initial old space leaves room: 0–1 mark-compacts and 0.14 s.
 * Not settable from inside a running process, and not allowed in NODE_OPTIONS, hence here.
 */
const SERVER_NODE_OPTIONS: readonly string[] = ['--initial-old-space-size=128'];

const STARTED = /^Started (GRPCInferenceService|HTTPService|Metrics Service) at (\S+):(\d+)\s*$/;
const START_TIMEOUT_MS = 120_000;

/** The serve entry next to this build: `.ts` under tsx (then tsx must be loaded in the child too), `.js` from dist. */
function serveEntry(): { script: string; execArgv: string[] } {
  const ext = import.meta.url.endsWith('.ts') ? '.ts' : '.js';
  const script = fileURLToPath(new URL(`../../embedded-server/src/serve-main${ext}`, import.meta.url));
  return { script, execArgv: ext === '.ts' ? ['--import', 'tsx'] : [] };
}

function waitForExit(child: ChildProcess, timeoutMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
    }, timeoutMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/** Starts `inferbench serve` on 127.0.0.1 with free ports; resolves once all three services listen. */
export async function startEmbeddedServerProcess(options: {
  modelRepository?: string;
  /** Server log lines (stderr of the child), e.g. to show with -v. */
  onLog?: (line: string) => void;
  /** A program and its arguments to start the server through, e.g. `taskset -c 0,1` (benchmarks pin CPUs). */
  commandPrefix?: readonly string[];
  /**
   * More `serve` flags, e.g. `['--model-control-mode', 'explicit', '--load-model', '*']` for a caller that
   * loads or reloads models (with config overrides) over the repository API, which the default mode refuses.
   */
  serveArgs?: readonly string[];
}): Promise<EmbeddedServerProcess> {
  const { script, execArgv } = serveEntry();
  const args = [
    ...SERVER_NODE_OPTIONS,
    ...execArgv,
    script,
    '--host',
    '127.0.0.1',
    '--http-port',
    '0',
    '--grpc-port',
    '0',
    '--metrics-port',
    '0',
  ];
  if (options.modelRepository) args.push('--model-repository', options.modelRepository);
  if (options.serveArgs) args.push(...options.serveArgs);
  // detached: its own process group, so a Ctrl-C in the terminal reaches only us; we stop it ourselves.
  // stdin is a pipe we hold and never write: however this process ends (SIGTERM, SIGHUP, SIGKILL…), the
  // kernel closes it and the server, told by the environment to watch it, stops (parent-watch.ts).
  const [command, ...prefixArgs] = [...(options.commandPrefix ?? []), process.execPath];
  const child = spawn(command as string, [...prefixArgs, ...args], {
    stdio: ['pipe', 'pipe', 'pipe'],
    detached: true,
    env: { ...process.env, [EXIT_WITH_PARENT_ENV]: String(process.pid) },
  });
  const killOnExit = (): void => {
    child.kill('SIGKILL');
  };
  process.once('exit', killOnExit);
  const stderrLines: string[] = [];
  const ports = new Map<string, string>();
  let stdoutRest = '';
  let stderrRest = '';
  const lines = (chunk: string, rest: string, each: (line: string) => void): string => {
    const parts = (rest + chunk).split('\n');
    for (const line of parts.slice(0, -1)) each(line);
    return parts.at(-1) ?? '';
  };
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    stderrRest = lines(chunk, stderrRest, (line) => {
      stderrLines.push(line);
      if (stderrLines.length > 200) stderrLines.shift();
      options.onLog?.(line);
    });
  });
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () =>
          reject(new ServerError(`the embedded server did not start within ${msToS(START_TIMEOUT_MS)} s`)),
        START_TIMEOUT_MS,
      );
      child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
        stdoutRest = lines(chunk, stdoutRest, (line) => {
          const m = STARTED.exec(line.trim());
          if (m) ports.set(m[1] as string, `${m[2]}:${m[3]}`);
          if (ports.size === 3) {
            clearTimeout(timer);
            resolve();
          }
        });
      });
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(
          new ServerError(
            `the embedded server exited before it was ready (${signal ?? `exit code ${code}`}):\n${stderrLines.slice(-20).join('\n')}`,
          ),
        );
      });
      child.once('error', (e) => {
        clearTimeout(timer);
        reject(new ServerError(`cannot start the embedded server: ${e.message}`, { cause: e }));
      });
    });
  } catch (e) {
    child.kill('SIGKILL');
    process.off('exit', killOnExit);
    throw e;
  }
  return {
    pid: child.pid as number,
    httpUrl: `http://${ports.get('HTTPService')}`,
    grpcUrl: ports.get('GRPCInferenceService') as string,
    metricsUrl: `http://${ports.get('Metrics Service')}/metrics`,
    async stop(timeoutMs = 35_000) {
      child.kill('SIGTERM');
      await waitForExit(child, timeoutMs);
      process.off('exit', killOnExit);
    },
  };
}
