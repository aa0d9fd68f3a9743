import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { InferRequest } from '../../../embedded-server/src/core/types.ts';
import { type RunningServer, startServer } from '../../../embedded-server/src/index.ts';
import { slowIdentityModel } from '../../../embedded-server/src/onnx/tiny-models.ts';
import { InferenceError } from '../../../src/protocol/status.ts';
import { http, postJson, type TempRepository, tempRepository } from '../../helpers/real-server.ts';

/** ≈ 150 ms of CPU per execution whatever the batch size (256×256 MatMul chain, one ORT thread). */
const SLOW = slowIdentityModel({ iterations: 150, matrixSize: 256 });

function slowConfig(name: string, extra: string): string {
  return `
name: "${name}"
platform: "onnxruntime_onnx"
input [ { name: "INPUT0" data_type: TYPE_FP32 dims: [ 4 ] } ]
output [ { name: "OUTPUT0" data_type: TYPE_FP32 dims: [ -1 ] } ]
parameters { key: "intra_op_thread_count" value: { string_value: "1" } }
${extra}`;
}

const BATCHED = slowConfig(
  'batched',
  `max_batch_size: 8
   dynamic_batching { max_queue_delay_microseconds: 400000 }
   instance_group [ { count: 1 kind: KIND_CPU } ]`,
);
const BOUNDED = slowConfig(
  'bounded',
  `max_batch_size: 4
   dynamic_batching { default_queue_policy { max_queue_size: 2 } }
   instance_group [ { count: 1 kind: KIND_CPU } ]`,
);
const PAIR = slowConfig('pair', `max_batch_size: 1\ninstance_group [ { count: 2 kind: KIND_CPU } ]`);

function body(value: number) {
  return {
    inputs: [{ name: 'INPUT0', datatype: 'FP32', shape: [1, 4], data: [value, value, value, value] }],
  };
}

function coreRequest(modelName: string, value: number): InferRequest {
  return {
    id: '',
    modelName,
    modelVersion: '',
    inputs: [
      {
        name: 'INPUT0',
        datatype: 'FP32',
        shape: [1, 4],
        data: new Uint8Array(Float32Array.of(value, value, value, value).buffer),
      },
    ],
    outputs: [],
    parameters: {},
    priority: 0,
    timeoutUs: 0,
    binaryDataOutput: false,
    receivedNs: 0,
  };
}

interface Stats {
  execution_count: number;
  inference_count: number;
  batch_stats: { batch_size: number; compute_infer: { count: number } }[];
}

describe('dynamic batching and instances with real ONNX Runtime', () => {
  let repo: TempRepository;
  let server: RunningServer;
  const stats = async (model: string) =>
    ((await http(`${server.httpUrl}/v2/models/${model}/stats`)).json() as { model_stats: Stats[] })
      .model_stats[0]!;

  before(async () => {
    repo = await tempRepository({
      batched: { config: BATCHED, onnx: SLOW },
      bounded: { config: BOUNDED, onnx: SLOW },
      pair: { config: PAIR, onnx: SLOW },
    });
    server = await startServer({ modelRepository: repo.dir });
  });

  after(async () => {
    await server?.stop({ timeoutMs: 10_000 });
    await repo?.remove();
  });

  it('N concurrent requests within max_queue_delay form one batch of N', async () => {
    const replies = await Promise.all(
      [1, 2, 3, 4].map((v) => postJson(`${server.httpUrl}/v2/models/batched/infer`, body(v))),
    );
    replies.forEach((r, i) => {
      assert.equal(r.status, 200);
      const out = (r.json() as { outputs: { data: number[]; shape: number[] }[] }).outputs[0];
      assert.deepEqual(out?.shape, [1, 4]);
      assert.deepEqual(out?.data, [i + 1, i + 1, i + 1, i + 1], 'each request gets its own rows back');
    });
    const s = await stats('batched');
    assert.equal(s.inference_count, 4);
    assert.equal(s.execution_count, 1);
    assert.deepEqual(
      s.batch_stats.map((b) => [b.batch_size, b.compute_infer.count]),
      [[4, 1]],
    );
  });

  it('a full queue (max_queue_size) rejects exactly the overflow, uncounted', async () => {
    // One synchronous burst: the batcher only runs after it, so the queue holds exactly max_queue_size.
    const outcomes = await Promise.allSettled(
      [1, 2, 3, 4, 5, 6].map((v) => server.core.infer(coreRequest('bounded', v))),
    );
    const rejected = outcomes.filter((o) => o.status === 'rejected');
    assert.equal(outcomes.filter((o) => o.status === 'fulfilled').length, 2);
    assert.equal(rejected.length, 4);
    for (const r of rejected) {
      const e = (r as PromiseRejectedResult).reason as InferenceError;
      assert.ok(e instanceof InferenceError);
      assert.equal(e.code, 'UNAVAILABLE');
      assert.equal(e.message, '[request id: <id_unknown>] Exceeds maximum queue size');
    }
    const s = (await http(`${server.httpUrl}/v2/models/bounded/stats`)).json() as {
      model_stats: { inference_stats: { success: { count: number }; fail: { count: number } } }[];
    };
    assert.equal(s.model_stats[0]?.inference_stats.success.count, 2);
    assert.equal(s.model_stats[0]?.inference_stats.fail.count, 0);
  });

  it('two instances execute two requests at the same time (nothing left pending)', async () => {
    const inFlight = [1, 2].map((v) => server.core.infer(coreRequest('pair', v)));
    await new Promise((resolve) => setTimeout(resolve, 40));
    const metrics = (await http(server.metricsUrl)).text;
    assert.ok(
      metrics.includes('nv_inference_pending_request_count{model="pair",version="1"} 0\n'),
      'both requests were taken by an instance while the other was still executing',
    );
    const responses = await Promise.all(inFlight);
    assert.deepEqual(
      responses.map((r) => new Float32Array(Uint8Array.from(r.outputs[0]!.data).buffer)[0]),
      [1, 2],
    );
    const s = await stats('pair');
    assert.equal(s.execution_count, 2);
  });

  it('graceful shutdown: an in-flight request completes, new ones get 503 "Server is stopping"', async () => {
    const inFlight = postJson(`${server.httpUrl}/v2/models/batched/infer`, body(7));
    // Wait (bounded) until the server has accepted it: it then sits in the batcher for max_queue_delay.
    for (let i = 0; i < 200; i++) {
      if (
        (await http(server.metricsUrl)).text.includes(
          'nv_inference_pending_request_count{model="batched",version="1"} 1\n',
        )
      )
        break;
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    const stopping = server.stop({ timeoutMs: 10_000 });
    const refused = await postJson(`${server.httpUrl}/v2/models/batched/infer`, body(8));
    assert.equal(refused.status, 503);
    assert.deepEqual(refused.json(), {
      error:
        '[request id: <id_unknown>] Server is stopping, scheduler for model has stopped accepting new inference requests',
    });
    const ready = await http(`${server.httpUrl}/v2/health/ready`);
    assert.equal(ready.status, 503);
    const done = await inFlight;
    assert.equal(done.status, 200);
    assert.deepEqual((await stopping).drained, true);
  });
});
