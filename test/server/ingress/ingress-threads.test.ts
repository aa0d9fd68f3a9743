/**
 * The data plane on several ingress threads (`httpThreadCount`): connections spread over the threads, while
 * each model keeps one dynamic-batching queue on the main thread. Proves that requests from different
 * connections (HTTP and gRPC, handled on different threads) still form one batch, that statistics and
 * metrics count every request exactly once, that errors and control calls cross the threads with Triton's
 * codes and texts, and that SIGTERM still answers every request in flight.
 */
import assert from 'node:assert/strict';
import nodeHttp from 'node:http';
import { after, before, describe, it } from 'node:test';
import { create } from '@bufbuild/protobuf';
import { credentials, makeGenericClientConstructor } from '@grpc/grpc-js';
import { type RunningServer, startServer } from '../../../embedded-server/src/index.ts';
import { identityModel } from '../../../embedded-server/src/onnx/tiny-models.ts';
import { runServeCommand } from '../../../embedded-server/src/serve.ts';
import {
  type ModelInferRequest,
  ModelInferRequestSchema,
} from '../../../src/protocol/gen/grpc_service_pb.ts';
import { inferenceServiceDefinition } from '../../../src/protocol/grpc-service.ts';
import type { GrpcInferClient } from '../../helpers/real-server.ts';
import { http, type TempRepository, tempRepository } from '../../helpers/real-server.ts';

const ROW = 4;

/** An FP32 identity of rows of ROW with max_batch_size 8, on `count` CPU instances, plus `extra` config text. */
const modelConfig = (name: string, count: number, extra = '') => `
name: "${name}"
platform: "onnxruntime_onnx"
max_batch_size: 8
input [ { name: "INPUT0" data_type: TYPE_FP32 dims: [ ${ROW} ] } ]
output [ { name: "OUTPUT0" data_type: TYPE_FP32 dims: [ ${ROW} ] } ]
instance_group [ { count: ${count} kind: KIND_CPU } ]
parameters { key: "intra_op_thread_count" value: { string_value: "1" } }
${extra}
`;

/** One batch forms only once max_batch_size requests are queued (the delay is far longer than the test). */
const batchingConfig = (name: string, delayUs: number) =>
  modelConfig(name, 1, `dynamic_batching { max_queue_delay_microseconds: ${delayUs} }`);

/** No dynamic batcher, two instances: each request is its own execution, queued on the ORT instances. */
const plainConfig = (name: string) => modelConfig(name, 2);

const rowOf = (k: number) => Array.from({ length: ROW }, (_, i) => k * 10 + i);

/** One HTTP JSON inference on a connection of its own (agent: false), so each lands on an ingress thread. */
function httpInferOwnConnection(
  port: number,
  model: string,
  k: number,
): Promise<{ status: number; data: number[] }> {
  const body = JSON.stringify({
    inputs: [{ name: 'INPUT0', datatype: 'FP32', shape: [1, ROW], data: rowOf(k) }],
  });
  return new Promise((resolve, reject) => {
    const req = nodeHttp.request(
      {
        host: '127.0.0.1',
        port,
        path: `/v2/models/${model}/infer`,
        method: 'POST',
        agent: false,
        headers: { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => {
          text += c;
        });
        res.on('end', () => {
          const json = JSON.parse(text) as { outputs?: { data: number[] }[] };
          resolve({ status: res.statusCode ?? 0, data: json.outputs?.[0]?.data ?? [] });
        });
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** A gRPC client on a connection of its own (no shared subchannel pool). */
function ownGrpcClient(url: string): GrpcInferClient {
  const Ctor = makeGenericClientConstructor(inferenceServiceDefinition, 'GRPCInferenceService');
  return new Ctor(url, credentials.createInsecure(), {
    'grpc.use_local_subchannel_pool': 1,
  }) as unknown as GrpcInferClient;
}

function grpcInfer(client: GrpcInferClient, model: string, k: number): Promise<number[]> {
  const raw = Buffer.from(new Float32Array(rowOf(k)).buffer);
  const req: ModelInferRequest = create(ModelInferRequestSchema, {
    modelName: model,
    inputs: [{ name: 'INPUT0', datatype: 'FP32', shape: [1n, BigInt(ROW)] }],
    rawInputContents: [raw],
  });
  return new Promise((resolve, reject) => {
    client.ModelInfer(req, (err, res) => {
      if (err || !res) {
        reject(err ?? new Error('no response'));
        return;
      }
      const bytes = res.rawOutputContents[0] as Uint8Array;
      resolve([
        ...new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength)),
      ]);
    });
  });
}

function metricValue(text: string, name: string, model: string): number | undefined {
  const line = text
    .split('\n')
    .find((l) => l.startsWith(`${name}{`) && l.includes(`model="${model}"`) && l.includes('version="1"'));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
}

interface Stats {
  inference_count: number;
  execution_count: number;
  inference_stats: { success: { count: number } };
  batch_stats: { batch_size: number; compute_infer: { count: number } }[];
}

async function statsOf(server: RunningServer, model: string): Promise<Stats> {
  const r = await http(`${server.httpUrl}/v2/models/${model}/stats`);
  assert.equal(r.status, 200, r.text);
  return (r.json() as { model_stats: Stats[] }).model_stats[0] as Stats;
}

describe('ingress threads (httpThreadCount 3)', () => {
  let repo: TempRepository;
  let server: RunningServer;

  before(async () => {
    repo = await tempRepository({
      ident: { config: batchingConfig('ident', 30_000_000), onnx: identityModel('FP32') },
      plain: { config: plainConfig('plain'), onnx: identityModel('FP32') },
    });
    server = await startServer({ modelRepository: repo.dir, httpThreadCount: 3 });
  });

  after(async () => {
    await server?.stop({ timeoutMs: 5000 });
    await repo?.remove();
  });

  it('forms one batch from 8 requests on 8 connections over HTTP and gRPC, spread over the threads', async () => {
    const grpcClients = [0, 1, 2, 3].map(() => ownGrpcClient(server.grpcUrl));
    try {
      const httpCalls = [0, 1, 2, 3].map((k) => httpInferOwnConnection(server.httpPort, 'ident', k));
      const grpcCalls = grpcClients.map((c, i) => grpcInfer(c, 'ident', 4 + i));
      const httpResults = await Promise.all(httpCalls);
      const grpcResults = await Promise.all(grpcCalls);
      // Each answer carries its own request's values: nothing crossed between requests or threads.
      httpResults.forEach((r, k) => {
        assert.equal(r.status, 200);
        assert.deepEqual(r.data, rowOf(k));
      });
      for (const [i, data] of grpcResults.entries()) assert.deepEqual(data, rowOf(4 + i));
    } finally {
      for (const c of grpcClients) c.close();
    }
    const perThread = server.ingress?.connectionsPerThread() ?? [];
    assert.equal(perThread.length, 3);
    assert.ok(
      perThread.filter((n) => n > 0).length === 3,
      `every thread got connections: ${perThread.join(',')}`,
    );
    const stats = await statsOf(server, 'ident');
    // The batch could only form at 8 (30 s delay): one queue saw the requests of every thread.
    assert.deepEqual(
      stats.batch_stats.map((b) => [b.batch_size, b.compute_infer.count]),
      [[8, 1]],
    );
    assert.equal(stats.inference_count, 8);
    assert.equal(stats.execution_count, 1);
    assert.equal(stats.inference_stats.success.count, 8);
  });

  it('counts every request exactly once in statistics and metrics after another 16 requests', async () => {
    const calls = Array.from({ length: 16 }, (_, k) => httpInferOwnConnection(server.httpPort, 'ident', k));
    const results = await Promise.all(calls);
    for (const [k, r] of results.entries()) assert.deepEqual(r.data, rowOf(k));
    const stats = await statsOf(server, 'ident');
    assert.equal(stats.inference_count, 24);
    assert.equal(stats.execution_count, 3);
    assert.equal(stats.inference_stats.success.count, 24);
    const metrics = (await http(server.metricsUrl)).text;
    assert.equal(metricValue(metrics, 'nv_inference_request_success', 'ident'), 24);
    assert.equal(metricValue(metrics, 'nv_inference_count', 'ident'), 24);
    assert.equal(metricValue(metrics, 'nv_inference_exec_count', 'ident'), 3);
    assert.equal(metricValue(metrics, 'nv_inference_pending_request_count', 'ident'), 0);
  });

  it('default scheduler: 96 requests from every thread, queued on two instances, each answered with its own data and counted once as an execution of 1', async () => {
    const grpcClients = [0, 1, 2, 3].map(() => ownGrpcClient(server.grpcUrl));
    try {
      const httpCalls = Array.from({ length: 64 }, (_, k) =>
        httpInferOwnConnection(server.httpPort, 'plain', k),
      );
      const grpcCalls = Array.from({ length: 32 }, (_, k) =>
        grpcInfer(grpcClients[k % 4] as GrpcInferClient, 'plain', 100 + k),
      );
      const [httpResults, grpcResults] = await Promise.all([Promise.all(httpCalls), Promise.all(grpcCalls)]);
      httpResults.forEach((r, k) => {
        assert.equal(r.status, 200);
        assert.deepEqual(r.data, rowOf(k));
      });
      grpcResults.forEach((data, k) => {
        assert.deepEqual(data, rowOf(100 + k));
      });
    } finally {
      for (const c of grpcClients) c.close();
    }
    const stats = await statsOf(server, 'plain');
    assert.equal(stats.inference_count, 96);
    assert.equal(stats.execution_count, 96);
    assert.equal(stats.inference_stats.success.count, 96);
    assert.deepEqual(
      stats.batch_stats.map((b) => [b.batch_size, b.compute_infer.count]),
      [[1, 96]],
    );
    const metrics = (await http(server.metricsUrl)).text;
    assert.equal(metricValue(metrics, 'nv_inference_request_success', 'plain'), 96);
    assert.equal(metricValue(metrics, 'nv_inference_exec_count', 'plain'), 96);
    assert.equal(metricValue(metrics, 'nv_inference_pending_request_count', 'plain'), 0);
  });

  it("answers control calls and errors through the threads with Triton's codes and texts", async () => {
    assert.equal((await http(`${server.httpUrl}/v2/health/ready`)).status, 200);
    const meta = await http(`${server.httpUrl}/v2/models/ident`);
    assert.equal(meta.status, 200);
    assert.equal((meta.json() as { name: string }).name, 'ident');
    const config = await http(`${server.httpUrl}/v2/models/ident/config`);
    assert.equal((config.json() as { max_batch_size: number }).max_batch_size, 8);
    const unknown = await http(`${server.httpUrl}/v2/models/nope/infer`, {
      method: 'POST',
      body: JSON.stringify({ inputs: [] }),
    });
    assert.equal(unknown.status, 404);
    assert.equal(
      (unknown.json() as { error: string }).error,
      "Request for unknown model: 'nope' is not found",
    );
    const badShape = await http(`${server.httpUrl}/v2/models/ident/infer`, {
      method: 'POST',
      body: JSON.stringify({
        inputs: [{ name: 'INPUT0', datatype: 'FP32', shape: [1, 3], data: [1, 2, 3] }],
      }),
    });
    assert.equal(badShape.status, 400, badShape.text);
    const grpc = ownGrpcClient(server.grpcUrl);
    try {
      await assert.rejects(grpcInfer(grpc, 'nope', 0), (e: { code?: number; details?: string }) => {
        assert.equal(e.code, 5, 'NOT_FOUND');
        assert.equal(e.details, "Request for unknown model: 'nope' is not found");
        return true;
      });
    } finally {
      grpc.close();
    }
    const stats = await statsOf(server, 'ident');
    assert.equal(stats.inference_count, 24, 'refused requests are not counted as inferences');
  });

  it('refuses a hostile thread count with a clear error', async () => {
    for (const bad of [-1, 1.5, 257, Number.NaN]) {
      await assert.rejects(
        startServer({ modelRepository: repo.dir, httpThreadCount: bad, httpPort: 0 }),
        /ingress threads must be an integer in 1\.\.256/,
        String(bad),
      );
    }
  });
});

describe('SIGTERM with ingress threads', () => {
  it('answers every request in flight, then exits 0 and refuses new connections', async () => {
    const repo = await tempRepository({
      slowq: { config: batchingConfig('slowq', 1_500_000), onnx: identityModel('FP32') },
    });
    let signal: ((s: string) => void) | undefined;
    let started: (s: RunningServer) => void = () => undefined;
    const up = new Promise<RunningServer>((resolve) => {
      started = resolve;
    });
    let err = '';
    const exitCode = runServeCommand(
      [
        '--model-repository',
        repo.dir,
        '--http-thread-count',
        '2',
        '--http-port',
        '0',
        '--grpc-port',
        '0',
        '--metrics-port',
        '0',
        '--exit-timeout-secs',
        '20',
      ],
      {
        stdout: () => undefined,
        stderr: (t) => {
          err += t;
        },
        exit: () => undefined,
        onSignal: (h) => {
          signal = h;
          return () => {
            signal = undefined;
          };
        },
        onStarted: started,
      },
    );
    try {
      const server = await Promise.race([
        up,
        exitCode.then((c) => {
          throw new Error(`serve exited with ${c}: ${err}`);
        }),
      ]);
      assert.equal(server.ingress?.threads, 2);
      // Three requests wait in the queue (the batch needs 8 or the 1.5 s delay).
      const calls = [0, 1, 2].map((k) => httpInferOwnConnection(server.httpPort, 'slowq', k));
      const deadline = Date.now() + 10_000;
      let pending = 0;
      while (pending < 3 && Date.now() < deadline) {
        const text = (await http(server.metricsUrl)).text;
        pending = metricValue(text, 'nv_inference_pending_request_count', 'slowq') ?? 0;
        if (pending < 3) await new Promise((r) => setTimeout(r, 20));
      }
      assert.equal(pending, 3, 'the three requests are queued before the signal');
      signal?.('SIGTERM');
      const results = await Promise.all(calls);
      for (const [k, r] of results.entries()) {
        assert.equal(r.status, 200);
        assert.deepEqual(r.data, rowOf(k));
      }
      assert.equal(await exitCode, 0, err);
      await assert.rejects(httpInferOwnConnection(server.httpPort, 'slowq', 9), /ECONNREFUSED/);
    } finally {
      signal?.('SIGTERM');
      await exitCode;
      await repo.remove();
    }
  });
});
