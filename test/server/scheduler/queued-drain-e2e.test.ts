/**
 * Requests queued on an ORT instance ahead of their turn (default scheduler, ModelInstance.queueExecution) are
 * still answered when their model is unloaded or the server stops: both drain before they close instances.
 * A 100 ms execution delay keeps ten requests waiting on the instance (1 s of work) while the unload or stop
 * arrives.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type RunningServer, startServer } from '../../../embedded-server/src/index.ts';
import { identityModel } from '../../../embedded-server/src/onnx/tiny-models.ts';
import { http, postJson, tempRepository } from '../../helpers/real-server.ts';

const CONFIG = `
name: "slowplain"
platform: "onnxruntime_onnx"
max_batch_size: 8
input [ { name: "INPUT0" data_type: TYPE_FP32 dims: [ 4 ] } ]
output [ { name: "OUTPUT0" data_type: TYPE_FP32 dims: [ 4 ] } ]
instance_group [ { count: 1 kind: KIND_CPU } ]
parameters { key: "inferbench.execution_delay_us" value: { string_value: "100000" } }
`;

const row = (k: number) => [k, k + 0.5, k + 1, 2 * k];

function infer(server: RunningServer, k: number) {
  return postJson(`${server.httpUrl}/v2/models/slowplain/infer`, {
    inputs: [{ name: 'INPUT0', datatype: 'FP32', shape: [1, 4], data: row(k) }],
  });
}

/**
 * Waits until the server reports at least `n` requests of the model pending (accepted, not executing), or
 * until `calls` have all settled; true in the first case. Bounded by the calls themselves, so it cannot hang.
 */
async function sawPending(server: RunningServer, n: number, calls: Promise<unknown>[]): Promise<boolean> {
  let settled = false;
  void Promise.allSettled(calls).then(() => {
    settled = true;
  });
  while (!settled) {
    const text = (await http(server.metricsUrl)).text;
    const line = text.split('\n').find((l) => l.startsWith('nv_inference_pending_request_count{'));
    if (line && Number(line.slice(line.lastIndexOf(' ') + 1)) >= n) return true;
    await new Promise((r) => setTimeout(r, 5));
  }
  return false;
}

describe('queued executions drain', () => {
  it('an unload answers every request queued on the instance, then the model is gone', async () => {
    const repo = await tempRepository({ slowplain: { config: CONFIG, onnx: identityModel('FP32') } });
    const server = await startServer({
      modelRepository: repo.dir,
      modelControlMode: 'explicit',
      loadModels: ['*'],
    });
    try {
      const calls = Array.from({ length: 11 }, (_, k) => infer(server, k));
      assert.ok(await sawPending(server, 10, calls), 'requests were queued when the unload came');
      const unload = await http(`${server.httpUrl}/v2/repository/models/slowplain/unload`, {
        method: 'POST',
      });
      assert.equal(unload.status, 200, unload.text);
      const results = await Promise.all(calls);
      results.forEach((r, k) => {
        assert.equal(r.status, 200, r.text);
        assert.deepEqual((r.json() as { outputs: { data: number[] }[] }).outputs[0]?.data, row(k));
      });
      const after = await infer(server, 99);
      assert.notEqual(after.status, 200, 'the model is unloaded');
    } finally {
      await server.stop({ timeoutMs: 5000 });
      await repo.remove();
    }
  });

  it('stopping the server answers every request queued on the instance first', async () => {
    const repo = await tempRepository({ slowplain: { config: CONFIG, onnx: identityModel('FP32') } });
    const server = await startServer({ modelRepository: repo.dir });
    let stopped = false;
    try {
      const calls = Array.from({ length: 11 }, (_, k) => infer(server, k));
      assert.ok(await sawPending(server, 10, calls), 'requests were queued when the stop came');
      const stopping = server.stop({ timeoutMs: 10_000 });
      const results = await Promise.all(calls);
      await stopping;
      stopped = true;
      results.forEach((r, k) => {
        assert.equal(r.status, 200, r.text);
        assert.deepEqual((r.json() as { outputs: { data: number[] }[] }).outputs[0]?.data, row(k));
      });
    } finally {
      if (!stopped) await server.stop({ timeoutMs: 5000 });
      await repo.remove();
    }
  });
});
