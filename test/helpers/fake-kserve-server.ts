/**
 * A scriptable KServe-v2 HTTP server (node:http on 127.0.0.1, port 0) for end-to-end tests of the load
 * generator: server and model metadata, optionally Triton's /config and /stats extensions, and /infer answered
 * when the test says (a fixed delay, a stall, …). The answer time is kept exactly: a timer that fires early
 * is re-armed, so a response never leaves before its due time.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { Worker } from 'node:worker_threads';

export interface FakeTensor {
  name: string;
  datatype: string;
  shape: number[];
}

export interface FakeModel {
  name: string;
  /** Default ['1']. */
  versions?: string[];
  platform?: string;
  inputs: FakeTensor[];
  outputs: FakeTensor[];
  /** Triton's JSON model config served at /config; undefined = 404 (no configuration extension). */
  config?: Record<string, unknown>;
}

export interface InferArrival {
  model: string;
  /** 0-based index of this infer request among all the server received. */
  index: number;
  /** performance.now() when the request body was read. */
  arrivalMs: number;
}

export interface FakeServerOptions {
  models: FakeModel[];
  /** When to answer an infer request, in ms after its arrival. Default 0. */
  answerAfterMs?: (arrival: InferArrival) => number;
  /** Called when an infer request is answered (e.g. to update statistics the test serves). */
  onAnswered?: (arrival: InferArrival, answeredMs: number) => void;
  /**
   * The statistics extension: the `model_stats` list for a model name ('' = all models). Without it, /stats
   * answers 404 and `statistics` is not among the advertised extensions.
   */
  stats?: (name: string) => unknown[];
}

export interface FakeServer {
  /** `127.0.0.1:<port>` (for -u). */
  readonly url: string;
  /** Infer requests received so far, per model. */
  inferCount(model: string): number;
  /** GET requests received so far, by path. */
  readonly gets: string[];
  close(): Promise<void>;
}

const MODEL_PATH = /^\/v2\/models\/([^/]+)(?:\/versions\/([^/]+))?(\/config|\/stats|\/infer|\/ready)?$/;

export async function startFakeKServe(options: FakeServerOptions): Promise<FakeServer> {
  const inferCounts = new Map<string, number>();
  const gets: string[] = [];
  const pending = new Set<ServerResponse>();
  let received = 0;

  const json = (res: ServerResponse, status: number, body: unknown): void => {
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  };

  const answerInfer = (res: ServerResponse, arrival: InferArrival): void => {
    const dueMs = arrival.arrivalMs + Math.max(0, options.answerAfterMs?.(arrival) ?? 0);
    pending.add(res);
    const attempt = (): void => {
      const leftMs = dueMs - performance.now();
      if (leftMs > 2) {
        setTimeout(attempt, leftMs - 2);
      } else if (leftMs > 0) {
        setImmediate(attempt);
      } else {
        pending.delete(res);
        options.onAnswered?.(arrival, performance.now());
        json(res, 200, { model_name: arrival.model, model_version: '1', outputs: [] });
      }
    };
    attempt();
  };

  const handle = (req: IncomingMessage, res: ServerResponse, arrivalMs: number): void => {
    const path = (req.url ?? '').split('?')[0]!;
    if (req.method === 'GET') gets.push(path);
    if (path === '/v2') {
      const extensions = options.stats ? ['model_configuration', 'statistics'] : [];
      json(res, 200, { name: 'fake-kserve', version: '0.0.1', extensions });
      return;
    }
    if (path === '/v2/models/stats' && options.stats) {
      json(res, 200, { model_stats: options.stats('') });
      return;
    }
    const match = MODEL_PATH.exec(path);
    const model = match ? options.models.find((m) => m.name === match[1]) : undefined;
    if (!match || !model) {
      json(res, 404, { error: `Request for unknown model: '${match?.[1] ?? path}' is not found` });
      return;
    }
    switch (match[3]) {
      case undefined:
        json(res, 200, {
          name: model.name,
          versions: model.versions ?? ['1'],
          platform: model.platform ?? 'fake',
          inputs: model.inputs,
          outputs: model.outputs,
        });
        return;
      case '/ready':
        res.writeHead(200).end();
        return;
      case '/config':
        if (model.config) json(res, 200, model.config);
        else json(res, 404, { error: 'Not Found' });
        return;
      case '/stats':
        if (options.stats) json(res, 200, { model_stats: options.stats(model.name) });
        else json(res, 404, { error: 'Not Found' });
        return;
      case '/infer': {
        const index = received++;
        inferCounts.set(model.name, (inferCounts.get(model.name) ?? 0) + 1);
        answerInfer(res, { model: model.name, index, arrivalMs });
        return;
      }
    }
  };

  const server = createServer((req, res) => {
    req.on('data', () => undefined);
    req.on('end', () => handle(req, res, performance.now()));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `127.0.0.1:${port}`,
    inferCount: (model) => inferCounts.get(model) ?? 0,
    gets,
    async close() {
      for (const res of pending) res.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A `model_stats` entry in Triton's JSON shape, every duration given as {count, ns}. */
export function tritonStatsEntry(
  name: string,
  version: string,
  figures: {
    inferenceCount: number;
    executionCount: number;
    success: { count: number; ns: number };
    fail?: { count: number; ns: number };
    queue: { count: number; ns: number };
    computeInput: { count: number; ns: number };
    computeInfer: { count: number; ns: number };
    computeOutput: { count: number; ns: number };
  },
): unknown {
  const zero = { count: 0, ns: 0 };
  return {
    name,
    version,
    last_inference: 0,
    inference_count: figures.inferenceCount,
    execution_count: figures.executionCount,
    inference_stats: {
      success: figures.success,
      fail: figures.fail ?? zero,
      queue: figures.queue,
      compute_input: figures.computeInput,
      compute_infer: figures.computeInfer,
      compute_output: figures.computeOutput,
      cache_hit: zero,
      cache_miss: zero,
    },
    batch_stats: [],
  };
}

/** What a fake server in a worker thread does (functions cannot cross threads): a fixed delay, maybe a stall. */
export interface TimedPolicy {
  models: FakeModel[];
  /** Every infer request is answered this long after it arrived. */
  delayMs: number;
  /** Once the infer request with this 0-based index arrives, nothing is answered before `forMs` later. */
  stall?: { atIndex: number; forMs: number };
}

export interface WorkerFakeServer {
  readonly url: string;
  close(): Promise<void>;
}

/**
 * The fake server in its own worker thread, so its timers are not delayed by the load generator's work on the
 * test's thread (an accuracy test must not measure the two sharing one event loop).
 */
export async function startFakeKServeInWorker(policy: TimedPolicy): Promise<WorkerFakeServer> {
  const entry = new URL('./fake-kserve-worker.ts', import.meta.url).href;
  const tsxApi = import.meta.resolve('tsx/esm/api');
  // Node 20 workers do not inherit `--import tsx`: register it in the worker before importing the entry.
  const code = `import(${JSON.stringify(tsxApi)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(entry)}); })`;
  const worker = new Worker(code, { eval: true, workerData: policy });
  const url = await new Promise<string>((resolve, reject) => {
    worker.once('message', (m: { url: string }) => resolve(m.url));
    worker.once('error', reject);
  });
  return {
    url,
    async close() {
      const closed = new Promise<void>((resolve) => worker.once('message', () => resolve()));
      worker.postMessage('close');
      await closed;
      await worker.terminate();
    },
  };
}
