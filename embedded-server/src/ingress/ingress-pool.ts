/**
 * The data plane on several threads (Triton's `--http-thread-count`): the main thread only accepts
 * connections and hands each one's descriptor to an ingress thread, which parses HTTP/gRPC, decodes,
 * encodes and writes; the main thread keeps the one InferenceCore (each model's one dynamic-batching queue,
 * statistics, metrics) and sees per request one small message in and one out, with the tensor bytes
 * transferred, never copied, on the way in.
 *
 * Node 20 gives no way to duplicate a descriptor or to move a socket handle between threads, and worker
 * threads cannot listen on one shared port (reusePort arrives in Node 22.12). So the main thread accepts
 * with `pauseOnConnect` (its libuv handle never reads), detaches the handle from its Socket, and leaves it
 * open and unreferenced: closing it would close the descriptor under the ingress thread, or, once the
 * ingress thread has closed it, a descriptor number the process may have reused. The cost is one inert
 * handle (a few hundred bytes) per connection accepted, until the process exits: keep-alive clients, which
 * every load generator uses, accept a handful.
 */
import net, { type AddressInfo } from 'node:net';
import { availableParallelism } from 'node:os';
import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MessageChannel, Worker } from 'node:worker_threads';
import { systemClockOrigin } from '../../../src/protocol/clock.ts';
import type { InferenceCore } from '../core/api.ts';
import { onMessagesDrained } from '../runtime/drain-port.ts';
import { type TransportLimits, transportLimits } from '../transport/transport-limits.ts';
import { type CoreHost, createCoreHost } from './core-host.ts';
import type { FromIngress, ToIngress } from './ingress-protocol.ts';
import type { IngressWorkerData } from './ingress-worker.ts';

const SOURCE_EXT = extname(fileURLToPath(import.meta.url));
const WORKER_URL = new URL(`./ingress-worker${SOURCE_EXT}`, import.meta.url);
const TS_BOOTSTRAP = `const { workerData } = require('node:worker_threads');
import(workerData.tsxApi).then((tsx) => { tsx.register(); return import(workerData.entry); });`;

/** Most ingress threads a server may start (a bound on a hostile `--http-thread-count`). */
export const MAX_INGRESS_THREADS = 256;

/** Fewest cores at which ingress threads are the default. */
export const MIN_CORES_FOR_INGRESS_THREADS = 4;

/**
 * The default thread count: half the cores this process may use, or 0 (the main thread's event loop) on fewer
 * than 4. Half, because the main thread (every request's scheduling), the model instances' threads and the
 * ingress threads share the cores: identity_fp32 over HTTP at c=64 on the H200 host (server pinned, 2026-12-04,
 * `bench-results/history/server-scaling-threads-h200-2026-12-04.md`) ran at 17,421 req/s with 2 ingress threads
 * on 4 cores against 10,591 with 4, and at 18,932 with 4 on 8 cores against 16,871 with 8. Below 4 cores the
 * threads take CPU from the model: text_direction batched on 3 pinned cores reached 74 % of the ORT ceiling with
 * 3 ingress threads against 79 % with none.
 */
export function defaultIngressThreads(cores: number = availableParallelism()): number {
  return cores >= MIN_CORES_FOR_INGRESS_THREADS ? Math.floor(cores / 2) : 0;
}

export interface IngressPoolOptions {
  core: InferenceCore;
  host: string;
  httpPort: number;
  grpcPort: number;
  threads: number;
  maxInputBytes?: number;
  /** Transport bounds; `maxConnections` is for the whole pool and is shared out evenly over the threads. */
  limits?: Partial<TransportLimits>;
}

export interface IngressPool {
  readonly httpPort: number;
  readonly grpcPort: number;
  readonly threads: number;
  /** Connections handed to each thread so far (tests: spread over threads). */
  connectionsPerThread(): number[];
  /** Stops accepting, lets the threads finish (graceful) or drop their connections, and ends the threads. */
  close(graceful: boolean): Promise<void>;
}

interface IngressThread {
  worker: Worker;
  host: CoreHost;
  port: import('node:worker_threads').MessagePort;
  connections: number;
  /** Resolves when the thread answered `closed`. */
  closed: Promise<void>;
  markClosed: () => void;
}

function startWorker(data: IngressWorkerData, transfer: import('node:worker_threads').MessagePort[]): Worker {
  const name = 'inferbench-ingress';
  if (SOURCE_EXT !== '.ts') return new Worker(WORKER_URL, { workerData: data, transferList: transfer, name });
  const bootstrap = { ...data, tsxApi: import.meta.resolve('tsx/esm/api'), entry: WORKER_URL.href };
  return new Worker(TS_BOOTSTRAP, { eval: true, workerData: bootstrap, transferList: transfer, name });
}

async function startThread(options: IngressPoolOptions): Promise<IngressThread> {
  const channel = new MessageChannel();
  const reply = new MessageChannel();
  const flag = new SharedArrayBuffer(4);
  const worker = startWorker(
    {
      port: channel.port2,
      replyPort: reply.port2,
      flag,
      clockOriginNs: systemClockOrigin(),
      host: options.host,
      ...(options.maxInputBytes !== undefined ? { maxInputBytes: options.maxInputBytes } : {}),
      limits: perThreadLimits(options),
    },
    [channel.port2, reply.port2],
  );
  const port = channel.port1;
  const host = createCoreHost(options.core, port, reply.port1, flag);
  let markClosed: () => void = () => undefined;
  const closed = new Promise<void>((resolve) => {
    markClosed = resolve;
  });
  const thread: IngressThread = { worker, host, port, connections: 0, closed, markClosed };
  await new Promise<void>((resolve, reject) => {
    const onExit = (code: number) => reject(new Error(`ingress thread exited with code ${code} at start`));
    worker.once('error', reject);
    worker.once('exit', onExit);
    onMessagesDrained<FromIngress>(port, (message) => {
      if (host.handle(message)) return;
      if (message.t === 'ready') {
        worker.off('error', reject);
        worker.off('exit', onExit);
        resolve();
      } else if (message.t === 'start-error') {
        reject(new Error(`ingress thread failed to start: ${message.message}`));
      } else if (message.t === 'closed') {
        thread.markClosed();
      }
    });
  });
  worker.on('exit', () => thread.markClosed());
  return thread;
}

/** The pool's limits as one thread applies them: its share of the connection limit (at least one). */
function perThreadLimits(options: IngressPoolOptions): TransportLimits {
  const limits = transportLimits(options.limits);
  return { ...limits, maxConnections: Math.max(1, Math.ceil(limits.maxConnections / options.threads)) };
}

function listen(server: net.Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

/** Starts `threads` ingress threads and the two accepting listeners. */
export async function startIngressPool(options: IngressPoolOptions): Promise<IngressPool> {
  if (!Number.isInteger(options.threads) || options.threads < 1 || options.threads > MAX_INGRESS_THREADS) {
    throw new RangeError(
      `ingress threads must be an integer in 1..${MAX_INGRESS_THREADS}, got ${options.threads}`,
    );
  }
  const threads: IngressThread[] = [];
  const servers: net.Server[] = [];
  try {
    const started = await Promise.allSettled(
      Array.from({ length: options.threads }, () => startThread(options)),
    );
    for (const s of started) if (s.status === 'fulfilled') threads.push(s.value);
    const failed = started.find((s) => s.status === 'rejected');
    if (failed) throw (failed as PromiseRejectedResult).reason;

    // Round robin over the threads: connections, not requests, are what a thread is given.
    let next = 0;
    const handOff = (protocol: 'http' | 'grpc') => (socket: net.Socket) => {
      const handle = (socket as unknown as { _handle: { fd: number; unref(): void } | null })._handle;
      if (!handle || handle.fd < 0) {
        socket.destroy();
        return;
      }
      const fd = handle.fd;
      handle.unref();
      // Detach the handle: destroying the Socket now only updates the server's connection count.
      (socket as unknown as { _handle: null })._handle = null;
      socket.destroy();
      const thread = threads[next] as IngressThread;
      next = (next + 1) % threads.length;
      thread.connections++;
      thread.port.postMessage({ t: 'conn', fd, protocol } satisfies ToIngress);
    };
    const httpServer = net.createServer({ pauseOnConnect: true, noDelay: true }, handOff('http'));
    servers.push(httpServer);
    const grpcServer = net.createServer({ pauseOnConnect: true, noDelay: true }, handOff('grpc'));
    servers.push(grpcServer);
    const httpPort = await listen(httpServer, options.httpPort, options.host);
    const grpcPort = await listen(grpcServer, options.grpcPort, options.host);

    let closing: Promise<void> | undefined;
    return {
      httpPort,
      grpcPort,
      threads: threads.length,
      connectionsPerThread: () => threads.map((t) => t.connections),
      close(graceful) {
        closing ??= (async () => {
          await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
          for (const t of threads) t.port.postMessage({ t: 'close', graceful } satisfies ToIngress);
          await Promise.all(threads.map((t) => t.closed));
          await Promise.all(threads.map((t) => t.worker.terminate()));
          for (const t of threads) t.port.close();
        })();
        return closing;
      },
    };
  } catch (e) {
    await Promise.allSettled(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
    await Promise.allSettled(threads.map((t) => t.worker.terminate()));
    throw e;
  }
}
