/** model_warmup end to end: runs on every instance before READY, is not counted, and a failing sample fails the load. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type RunningServer, startServer } from '../../../embedded-server/src/index.ts';
import { failingModel, simpleAddSubModel } from '../../../embedded-server/src/onnx/tiny-models.ts';
import { http, SIMPLE_CONFIG, type TempRepository, tempRepository } from '../../helpers/real-server.ts';

const WARM_SIMPLE = SIMPLE_CONFIG.replace('name: "simple"', 'name: "warm"').replace(
  'instance_group [ { count: 1 kind: KIND_CPU } ]',
  `instance_group [ { count: 2 kind: KIND_CPU } ]
model_warmup [ { name: "zeros" batch_size: 2 count: 3 inputs { key: "INPUT0" value: { data_type: TYPE_INT32 dims: [ 16 ] zero_data: true } } inputs { key: "INPUT1" value: { data_type: TYPE_INT32 dims: [ 16 ] random_data: true } } } ]`,
);

// failingModel() runs for n = 4 and fails inside ONNX Runtime for any other n: warm it up with n = 3.
const FAILING_WARMUP = `
name: "cold"
platform: "onnxruntime_onnx"
max_batch_size: 4
input [ { name: "INPUT0" data_type: TYPE_FP32 dims: [ -1 ] } ]
output [ { name: "OUTPUT0" data_type: TYPE_FP32 dims: [ 4 ] } ]
instance_group [ { count: 1 kind: KIND_CPU } ]
model_warmup [ { name: "bad_width" batch_size: 1 inputs { key: "INPUT0" value: { data_type: TYPE_FP32 dims: [ 3 ] zero_data: true } } } ]
`;

describe('model warmup (end to end)', () => {
  let repo: TempRepository;
  let server: RunningServer;
  before(async () => {
    repo = await tempRepository({
      warm: { config: WARM_SIMPLE, onnx: simpleAddSubModel() },
      cold: { config: FAILING_WARMUP, onnx: failingModel() },
    });
    server = await startServer({ modelRepository: repo.dir });
  });
  after(async () => {
    await server?.stop({ timeoutMs: 5000 });
    await repo?.remove();
  });

  it('a model with warmup samples becomes READY and warmup is not counted in statistics', async () => {
    assert.equal((await http(`${server.httpUrl}/v2/models/warm/ready`)).status, 200);
    const stats = await http(`${server.httpUrl}/v2/models/warm/stats`);
    const entry = (stats.json() as { model_stats: { inference_count: number; execution_count: number }[] })
      .model_stats[0];
    assert.equal(entry?.inference_count, 0);
    assert.equal(entry?.execution_count, 0);
  });

  it("a failing warmup sample fails the load with Triton's message", async () => {
    const ready = await http(`${server.httpUrl}/v2/models/cold/ready`);
    assert.notEqual(ready.status, 200);
    const index = await http(`${server.httpUrl}/v2/repository/index`, { method: 'POST' });
    const cold = (index.json() as { name: string; state?: string; reason?: string }[]).find(
      (m) => m.name === 'cold',
    );
    assert.equal(cold?.state, 'UNAVAILABLE');
    assert.match(cold?.reason ?? '', /failed to run warmup sample 'bad_width': /);
  });
});
