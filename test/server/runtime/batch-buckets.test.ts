import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type RunningServer, startServer } from '../../../embedded-server/src/index.ts';
import { buildOnnxModel, OnnxDataType } from '../../../embedded-server/src/onnx/onnx-builder.ts';
import { parseModelConfigText } from '../../../embedded-server/src/repository/model-config.ts';
import {
  BATCH_BUCKETS_PARAMETER,
  bucketFor,
  bucketPlanFor,
  firstRows,
  resolveBatchBuckets,
} from '../../../embedded-server/src/runtime/batch-buckets.ts';
import { RuntimeConfigError } from '../../../embedded-server/src/runtime/runtime-errors.ts';
import { concatBatch } from '../../../embedded-server/src/runtime/tensor-map.ts';
import { http, postJson, type TempRepository, tempRepository } from '../../helpers/real-server.ts';

describe('batch buckets (pure)', () => {
  it('auto: powers of two below max_batch_size plus max_batch_size on the GPU, none on the CPU', () => {
    assert.deepEqual(resolveBatchBuckets(undefined, 64, 'KIND_GPU'), [1, 2, 4, 8, 16, 32, 64]);
    assert.deepEqual(resolveBatchBuckets('auto', 48, 'KIND_GPU'), [1, 2, 4, 8, 16, 32, 48]);
    assert.deepEqual(resolveBatchBuckets(undefined, 1, 'KIND_GPU'), [1]);
    assert.equal(resolveBatchBuckets(undefined, 64, 'KIND_CPU'), undefined);
    assert.equal(resolveBatchBuckets(undefined, 0, 'KIND_GPU'), undefined, 'a model that does not batch');
    assert.equal(resolveBatchBuckets('off', 64, 'KIND_GPU'), undefined);
  });

  it('an explicit list is sorted, deduplicated and always ends at max_batch_size', () => {
    assert.deepEqual(resolveBatchBuckets('32, 8,8,1', 64, 'KIND_CPU'), [1, 8, 32, 64]);
    assert.deepEqual(resolveBatchBuckets('16', 16, 'KIND_GPU'), [16]);
  });

  it('refuses a bad list naming the parameter, the bound and the value', () => {
    for (const bad of ['0', '65', '4,x', '2.5', '']) {
      assert.throws(
        () => resolveBatchBuckets(bad, 64, 'KIND_GPU'),
        (e: Error) =>
          e instanceof RuntimeConfigError &&
          e.message.includes(BATCH_BUCKETS_PARAMETER) &&
          e.message.includes('(64)') &&
          e.message.includes(`'${bad}'`),
      );
    }
    assert.throws(() => resolveBatchBuckets('4', 0, 'KIND_GPU'), /max_batch_size > 0/);
  });

  it('bucketFor picks the smallest bucket that holds the rows', () => {
    const b = [1, 2, 4, 8];
    assert.deepEqual(
      [1, 2, 3, 4, 5, 8, 9].map((r) => bucketFor(b, r)),
      [1, 2, 4, 4, 8, 8, undefined],
    );
  });

  it('concatBatch pads with zero rows in the same copy (BYTES: zero-length elements)', () => {
    const t = { shape: [2, 3], data: Uint8Array.from({ length: 24 }, (_, i) => i + 1) };
    const p = concatBatch('x', [t], { rows: 4, bytesElements: false });
    assert.deepEqual(p.shape, [4, 3]);
    assert.equal(p.data.byteLength, 48);
    assert.deepEqual([...p.data.subarray(0, 24)], [...t.data]);
    assert.ok(p.data.subarray(24).every((x) => x === 0));
    assert.equal(concatBatch('x', [t]), t, 'one part, no padding: no copy');
    const two = concatBatch('x', [t, t], { rows: 5, bytesElements: false });
    assert.deepEqual(two.shape, [5, 3]);
    assert.deepEqual([...two.data.subarray(24, 48)], [...t.data]);
    assert.ok(two.data.subarray(48).every((x) => x === 0));
    const bytes = { shape: [1, 2], data: Uint8Array.of(1, 0, 0, 0, 65, 1, 0, 0, 0, 66) };
    const pb = concatBatch('s', [bytes], { rows: 3, bytesElements: true });
    assert.deepEqual(pb.shape, [3, 2]);
    assert.equal(pb.data.byteLength, 10 + 2 * 2 * 4);
  });

  it('firstRows cuts dim 0 back to the real rows as a view, and leaves other outputs alone', () => {
    const data = Float32Array.from({ length: 8 * 2 }, (_, i) => i);
    const cut = firstRows(data, [8, 2], 8, 3);
    assert.deepEqual(cut.dims, [3, 2]);
    assert.deepEqual([...cut.data], [0, 1, 2, 3, 4, 5]);
    assert.equal(cut.data.buffer, data.buffer, 'a view, not a copy');
    assert.deepEqual(firstRows(['a', 'b', 'c', 'd'], [4], 4, 1).data, ['a']);
    assert.deepEqual(firstRows(data, [16], 8, 3).dims, [16], 'dim 0 is not the batch');
  });

  it('bucketPlanFor warms only when every input dim is fixed', () => {
    const fixed = parseModelConfigText(
      'name: "m" max_batch_size: 8 input [ { name: "x" data_type: TYPE_FP32 dims: [ 3, 4 ] } ]',
      'fixed.pbtxt',
    );
    assert.deepEqual(bucketPlanFor(fixed, 'KIND_GPU'), {
      sizes: [1, 2, 4, 8],
      warmInputs: [{ name: 'x', datatype: 'FP32', dims: [3, 4] }],
    });
    const variable = parseModelConfigText(
      'name: "m" max_batch_size: 8 input [ { name: "x" data_type: TYPE_FP32 dims: [ 3, -1 ] } ]',
      'variable.pbtxt',
    );
    assert.deepEqual(bucketPlanFor(variable, 'KIND_GPU'), { sizes: [1, 2, 4, 8], warmInputs: undefined });
    assert.equal(bucketPlanFor(fixed, 'KIND_CPU'), undefined);
  });
});

/**
 * INPUT0 [batch, 4] → OUTPUT0 = INPUT0, OUTPUT1 = INPUT0 − mean over the batch. OUTPUT1 tells how many rows
 * the session really ran: with all-ones inputs it is 0 unpadded, and 1 − rows/padded when zero-padded.
 */
function batchMeanModel(): Uint8Array {
  const f = OnnxDataType.FLOAT;
  return buildOnnxModel({
    inputs: [{ name: 'INPUT0', elemType: f, dims: ['batch', 4] }],
    outputs: [
      { name: 'OUTPUT0', elemType: f, dims: ['batch', 4] },
      { name: 'OUTPUT1', elemType: f, dims: ['batch', 4] },
    ],
    nodes: [
      { opType: 'Identity', inputs: ['INPUT0'], outputs: ['OUTPUT0'] },
      {
        opType: 'ReduceMean',
        inputs: ['INPUT0'],
        outputs: ['MEAN'],
        attributes: { axes: { kind: 'ints', value: [0] }, keepdims: { kind: 'int', value: 1 } },
      },
      { opType: 'Sub', inputs: ['INPUT0', 'MEAN'], outputs: ['OUTPUT1'] },
    ],
  });
}

function config(name: string, buckets: string | undefined): string {
  return `
name: "${name}"
platform: "onnxruntime_onnx"
max_batch_size: 8
input [ { name: "INPUT0" data_type: TYPE_FP32 dims: [ 4 ] } ]
output [ { name: "OUTPUT0" data_type: TYPE_FP32 dims: [ 4 ] }, { name: "OUTPUT1" data_type: TYPE_FP32 dims: [ 4 ] } ]
dynamic_batching { max_queue_delay_microseconds: 300000 }
instance_group [ { count: 1 kind: KIND_CPU } ]
parameters { key: "intra_op_thread_count" value: { string_value: "1" } }
${buckets === undefined ? '' : `parameters { key: "${BATCH_BUCKETS_PARAMETER}" value: { string_value: "${buckets}" } }`}`;
}

interface Reply {
  outputs: { name: string; shape: number[]; data: number[] }[];
}

describe('batch buckets in the server (CPU, real ONNX Runtime)', () => {
  let repo: TempRepository;
  let server: RunningServer;

  before(async () => {
    repo = await tempRepository({
      bucketed: { config: config('bucketed', '2,8'), onnx: batchMeanModel() },
      exact: { config: config('exact', undefined), onnx: batchMeanModel() },
    });
    // explicit mode: the tests load and unload over the repository API, which the default mode refuses.
    server = await startServer({
      modelRepository: repo.dir,
      modelControlMode: 'explicit',
      loadModels: ['*'],
    });
  });

  after(async () => {
    await server?.stop({ timeoutMs: 10_000 });
    await repo?.remove();
  });

  async function burst(model: string, n: number): Promise<Reply[]> {
    const replies = await Promise.all(
      Array.from({ length: n }, (_, i) =>
        postJson(`${server.httpUrl}/v2/models/${model}/infer`, {
          inputs: [{ name: 'INPUT0', datatype: 'FP32', shape: [1, 4], data: [1, 1, 1, 1] }],
          id: String(i),
        }),
      ),
    );
    for (const r of replies) assert.equal(r.status, 200, JSON.stringify(r.json()));
    return replies.map((r) => r.json() as Reply);
  }

  it('a batch of 3 runs padded to the bucket of 8, and each request gets only its own row', async () => {
    const replies = await burst('bucketed', 3);
    for (const reply of replies) {
      const out0 = reply.outputs.find((o) => o.name === 'OUTPUT0');
      const out1 = reply.outputs.find((o) => o.name === 'OUTPUT1');
      assert.deepEqual(out0?.shape, [1, 4]);
      assert.deepEqual(out0?.data, [1, 1, 1, 1]);
      // mean over 8 rows of which 3 are ones = 0.375 → 1 − 0.375.
      assert.deepEqual(out1?.data, [0.625, 0.625, 0.625, 0.625]);
    }
    const stats = (
      (await http(`${server.httpUrl}/v2/models/bucketed/stats`)).json() as {
        model_stats: {
          inference_count: number;
          execution_count: number;
          batch_stats: { batch_size: number }[];
        }[];
      }
    ).model_stats[0];
    assert.equal(stats?.inference_count, 3, 'padding rows are not inferences');
    assert.equal(stats?.execution_count, 1);
    assert.deepEqual(
      stats?.batch_stats.map((b) => b.batch_size),
      [3],
      'batch_stats count the batch formed, not the bucket',
    );
  });

  it('a batch that fills a bucket exactly is not padded; without buckets nothing is', async () => {
    for (const reply of await burst('bucketed', 2)) {
      assert.deepEqual(reply.outputs.find((o) => o.name === 'OUTPUT1')?.data, [0, 0, 0, 0]);
    }
    for (const reply of await burst('exact', 3)) {
      assert.deepEqual(reply.outputs.find((o) => o.name === 'OUTPUT1')?.data, [0, 0, 0, 0]);
    }
  });

  it('a bad bucket list fails the model load with a message naming the parameter', async () => {
    await repo.addModel('badbuckets', { config: config('badbuckets', '4,99'), onnx: batchMeanModel() });
    const r = await postJson(`${server.httpUrl}/v2/repository/models/badbuckets/load`, {});
    assert.equal(r.status, 400);
    const error = (r.json() as { error: string }).error;
    assert.match(error, new RegExp(BATCH_BUCKETS_PARAMETER.replace('.', '\\.')));
    assert.match(error, /'4,99'/);
  });
});
