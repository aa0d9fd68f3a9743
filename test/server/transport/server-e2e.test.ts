import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { create } from '@bufbuild/protobuf';
import type { ServiceError } from '@grpc/grpc-js';
import { type RunningServer, startServer } from '../../../embedded-server/src/index.ts';
import { simpleAddSubModel } from '../../../embedded-server/src/onnx/tiny-models.ts';
import {
  type ModelInferRequest,
  ModelInferRequestSchema,
  type ModelInferResponse,
} from '../../../src/protocol/gen/grpc_service_pb.ts';
import { GrpcCode } from '../../../src/protocol/status.ts';
import {
  type GrpcInferClient,
  grpcInferClient,
  http,
  postJson,
  range,
  SIMPLE_CONFIG,
  type TempRepository,
  tempRepository,
} from '../../helpers/real-server.ts';

const BROKEN_CONFIG = SIMPLE_CONFIG.replace('name: "simple"', 'name: "broken"');

function simpleInputs(a: number[], b: number[], batch = 1) {
  return [
    { name: 'INPUT0', datatype: 'INT32', shape: [batch, 16], data: a },
    { name: 'INPUT1', datatype: 'INT32', shape: [batch, 16], data: b },
  ];
}

function int32Bytes(values: number[]): Uint8Array {
  return new Uint8Array(Int32Array.from(values).buffer);
}

describe('reference server end to end (HTTP, gRPC, metrics)', () => {
  let repo: TempRepository;
  let server: RunningServer;
  let grpc: GrpcInferClient;
  const grpcInfer = (req: ModelInferRequest) =>
    new Promise<ModelInferResponse>((resolve, reject) =>
      grpc.ModelInfer(req, (err, res) => (err ? reject(err) : resolve(res as ModelInferResponse))),
    );

  before(async () => {
    repo = await tempRepository({
      simple: { config: SIMPLE_CONFIG, onnx: simpleAddSubModel() },
      broken: { config: BROKEN_CONFIG, onnx: new TextEncoder().encode('this is not an ONNX file') },
    });
    // explicit mode: the tests load and unload over the repository API, which the default mode refuses.
    server = await startServer({
      modelRepository: repo.dir,
      modelControlMode: 'explicit',
      loadModels: ['*'],
    });
    grpc = grpcInferClient(server.grpcUrl);
  });

  after(async () => {
    grpc?.close();
    await server?.stop({ timeoutMs: 5000 });
    await repo?.remove();
  });

  it('HTTP JSON inference returns sum and difference', async () => {
    const r = await postJson(`${server.httpUrl}/v2/models/simple/infer`, {
      id: 'r1',
      inputs: simpleInputs(
        range(16),
        range(16, () => 2),
      ),
    });
    assert.equal(r.status, 200);
    const body = r.json() as {
      id: string;
      model_version: string;
      outputs: { name: string; data: number[] }[];
    };
    assert.equal(body.id, 'r1');
    assert.equal(body.model_version, '1');
    assert.deepEqual(
      body.outputs[0]?.data,
      range(16, (i) => i + 2),
    );
    assert.deepEqual(
      body.outputs[1]?.data,
      range(16, (i) => i - 2),
    );
  });

  it('HTTP binary tensor extension: binary inputs and outputs', async () => {
    const header = Buffer.from(
      JSON.stringify({
        inputs: [
          { name: 'INPUT0', datatype: 'INT32', shape: [1, 16], parameters: { binary_data_size: 64 } },
          { name: 'INPUT1', datatype: 'INT32', shape: [1, 16], parameters: { binary_data_size: 64 } },
        ],
        outputs: [{ name: 'OUTPUT0', parameters: { binary_data: true } }],
      }),
    );
    const body = Buffer.concat([header, int32Bytes(range(16, () => 5)), int32Bytes(range(16))]);
    const res = await fetch(`${server.httpUrl}/v2/models/simple/infer`, {
      method: 'POST',
      headers: { 'Inference-Header-Content-Length': String(header.byteLength) },
      body,
    });
    assert.equal(res.status, 200);
    const jsonLength = Number(res.headers.get('inference-header-content-length'));
    const bytes = new Uint8Array(await res.arrayBuffer());
    const json = JSON.parse(Buffer.from(bytes.subarray(0, jsonLength)).toString()) as {
      outputs: { name: string; parameters: { binary_data_size: number } }[];
    };
    assert.deepEqual(
      json.outputs.map((o) => [o.name, o.parameters.binary_data_size]),
      [['OUTPUT0', 64]],
    );
    const out = new Int32Array(bytes.slice(jsonLength).buffer);
    assert.deepEqual(
      [...out],
      range(16, (i) => i + 5),
    );
  });

  it('gRPC ModelInfer with raw contents', async () => {
    const res = await grpcInfer(
      create(ModelInferRequestSchema, {
        modelName: 'simple',
        id: 'g1',
        inputs: [
          { name: 'INPUT0', datatype: 'INT32', shape: [1n, 16n] },
          { name: 'INPUT1', datatype: 'INT32', shape: [1n, 16n] },
        ],
        rawInputContents: [int32Bytes(range(16, (i) => 10 * i)), int32Bytes(range(16, () => 1))],
      }),
    );
    assert.equal(res.id, 'g1');
    assert.deepEqual(
      res.outputs.map((o) => o.name),
      ['OUTPUT0', 'OUTPUT1'],
    );
    const raw = res.rawOutputContents[1] as Uint8Array;
    assert.deepEqual(
      [...new Int32Array(Uint8Array.from(raw).buffer)],
      range(16, (i) => 10 * i - 1),
    );
  });

  it('gRPC: unknown model is NOT_FOUND, -1 in a shape is INVALID_ARGUMENT with Triton texts', async () => {
    await assert.rejects(
      grpcInfer(create(ModelInferRequestSchema, { modelName: 'nope' })),
      (e: ServiceError) => {
        assert.equal(e.code, GrpcCode.NOT_FOUND);
        assert.equal(e.details, "Request for unknown model: 'nope' is not found");
        return true;
      },
    );
    const bad = create(ModelInferRequestSchema, {
      modelName: 'simple',
      inputs: [
        { name: 'INPUT0', datatype: 'INT32', shape: [1n, -1n] },
        { name: 'INPUT1', datatype: 'INT32', shape: [1n, 16n] },
      ],
      rawInputContents: [int32Bytes(range(16)), int32Bytes(range(16))],
    });
    await assert.rejects(grpcInfer(bad), (e: ServiceError) => {
      assert.equal(e.code, GrpcCode.INVALID_ARGUMENT);
      assert.equal(
        e.details,
        "[request id: <id_unknown>] All input dimensions should be specified for input 'INPUT0' for model 'simple', got [1,-1]",
      );
      return true;
    });
  });

  it('server metadata, model metadata, config and readiness', async () => {
    const meta = (await http(`${server.httpUrl}/v2`)).json() as { name: string; extensions: string[] };
    assert.equal(meta.name, 'inferbench');
    assert.ok(meta.extensions.includes('binary_tensor_data'));
    assert.ok(!meta.extensions.includes('cuda_shared_memory'));
    const model = (await http(`${server.httpUrl}/v2/models/simple`)).json();
    assert.deepEqual(model, {
      name: 'simple',
      versions: ['1'],
      platform: 'onnxruntime_onnx',
      inputs: [
        { name: 'INPUT0', datatype: 'INT32', shape: [-1, 16] },
        { name: 'INPUT1', datatype: 'INT32', shape: [-1, 16] },
      ],
      outputs: [
        { name: 'OUTPUT0', datatype: 'INT32', shape: [-1, 16] },
        { name: 'OUTPUT1', datatype: 'INT32', shape: [-1, 16] },
      ],
    });
    const config = (await http(`${server.httpUrl}/v2/models/simple/config`)).json() as {
      max_batch_size: number;
      instance_group: { name: string; count: number; kind: string }[];
    };
    assert.equal(config.max_batch_size, 8);
    assert.equal(config.instance_group[0]?.kind, 'KIND_CPU');
    assert.equal((await http(`${server.httpUrl}/v2/models/simple/ready`)).status, 200);
    assert.equal((await http(`${server.httpUrl}/v2/health/live`)).status, 200);
    // strict readiness: the broken model keeps the server not ready
    assert.equal((await http(`${server.httpUrl}/v2/health/ready`)).status, 400);
  });

  it('unknown model and version: 404 with Triton texts', async () => {
    const r = await http(`${server.httpUrl}/v2/models/nope`);
    assert.equal(r.status, 404);
    assert.deepEqual(r.json(), { error: "Request for unknown model: 'nope' is not found" });
    const v = await postJson(`${server.httpUrl}/v2/models/simple/versions/7/infer`, {
      inputs: simpleInputs(range(16), range(16)),
    });
    assert.equal(v.status, 404);
    assert.deepEqual(v.json(), { error: "Request for unknown model: 'simple' version 7 is not found" });
  });

  it('a model that fails to load is UNAVAILABLE with its reason; the others still serve', async () => {
    const index = (await http(`${server.httpUrl}/v2/repository/index`, { method: 'POST' })).json() as {
      name: string;
      state?: string;
      reason?: string;
    }[];
    const broken = index.find((e) => e.name === 'broken');
    assert.equal(broken?.state, 'UNAVAILABLE');
    assert.ok(broken?.reason && broken.reason.length > 0, 'the reason says why');
    assert.equal(index.find((e) => e.name === 'simple')?.state, 'READY');
    const r = await postJson(`${server.httpUrl}/v2/models/broken/infer`, {
      inputs: simpleInputs(range(16), range(16)),
    });
    assert.equal(r.status, 404);
  });

  describe('validation errors (reference §9): HTTP 400 with the exact text, not counted in stats', () => {
    const cases: [string, unknown, string][] = [
      [
        'unknown input',
        {
          inputs: [
            ...simpleInputs(range(16), range(16)).slice(0, 1),
            { name: 'X', datatype: 'INT32', shape: [1, 16], data: range(16) },
          ],
        },
        "unexpected inference input 'X' for model 'simple'",
      ],
      [
        'missing input',
        { id: 'm', inputs: simpleInputs(range(16), range(16)).slice(0, 1) },
        "[request id: m] expected 2 inputs but got 1 inputs for model 'simple'. Got input(s) ['INPUT0'], but missing required input(s) ['INPUT1']. Please provide all required input(s).",
      ],
      [
        'datatype mismatch',
        {
          inputs: [
            { ...simpleInputs(range(16), range(16))[0], datatype: 'FP32' },
            simpleInputs(range(16), range(16))[1],
          ],
        },
        "[request id: <id_unknown>] inference input 'INPUT0' data-type is 'FP32', but model 'simple' expects 'INT32'",
      ],
      [
        'shape mismatch',
        {
          inputs: [
            { name: 'INPUT0', datatype: 'INT32', shape: [1, 15], data: range(15) },
            simpleInputs(range(16), range(16))[1],
          ],
        },
        "[request id: <id_unknown>] unexpected shape for input 'INPUT0' for model 'simple'. Expected [-1,16], got [1,15]. NOTE: Setting a non-zero max_batch_size in the model config requires a batch dimension to be prepended to each input shape. If you want to specify the full shape including the batch dim in your input dims config, try setting max_batch_size to zero. See the model configuration docs for more info on max_batch_size.",
      ],
      [
        'scalar input to a batching model',
        {
          inputs: [
            { name: 'INPUT0', datatype: 'INT32', shape: [], data: [1] },
            simpleInputs(range(16), range(16))[1],
          ],
        },
        "[request id: <id_unknown>] input 'INPUT0' has no shape but model requires batch dimension for 'simple'",
      ],
      [
        'batch dims disagree',
        { inputs: [simpleInputs(range(32), range(32), 2)[0], simpleInputs(range(16), range(16))[1]] },
        "[request id: <id_unknown>] input 'INPUT1' batch size does not match other inputs for 'simple'",
      ],
      [
        'batch too large',
        { inputs: simpleInputs(range(16 * 9), range(16 * 9), 9) },
        "[request id: <id_unknown>] inference request batch-size must be <= 8 for 'simple'",
      ],
      [
        'unknown requested output',
        { inputs: simpleInputs(range(16), range(16)), outputs: [{ name: 'OUT9' }] },
        "unexpected inference output 'OUT9' for model 'simple'",
      ],
    ];
    for (const [title, body, message] of cases) {
      it(title, async () => {
        const r = await postJson(`${server.httpUrl}/v2/models/simple/infer`, body);
        assert.equal(r.status, 400);
        assert.deepEqual(r.json(), { error: message });
      });
    }

    it('byte size mismatch (binary input shorter than its shape)', async () => {
      const header = Buffer.from(
        JSON.stringify({
          inputs: [
            { name: 'INPUT0', datatype: 'INT32', shape: [1, 16], parameters: { binary_data_size: 60 } },
            { name: 'INPUT1', datatype: 'INT32', shape: [1, 16], parameters: { binary_data_size: 64 } },
          ],
        }),
      );
      const res = await http(`${server.httpUrl}/v2/models/simple/infer`, {
        method: 'POST',
        headers: { 'Inference-Header-Content-Length': String(header.byteLength) },
        body: Buffer.concat([header, new Uint8Array(124)]),
      });
      assert.equal(res.status, 400);
      assert.deepEqual(res.json(), {
        error:
          "[request id: <id_unknown>] input byte size mismatch for input 'INPUT0' for model 'simple'. Expected 64, got 60",
      });
    });
  });

  it('statistics and /metrics count successful requests and inferences (batch 1 + batch 3)', async () => {
    const statsOf = async () =>
      (
        (await http(`${server.httpUrl}/v2/models/simple/stats`)).json() as {
          model_stats: {
            inference_count: number;
            execution_count: number;
            inference_stats: { success: { count: number }; fail: { count: number } };
          }[];
        }
      ).model_stats[0]!;
    const before = await statsOf();
    for (let i = 0; i < 3; i++) {
      const r = await postJson(`${server.httpUrl}/v2/models/simple/infer`, {
        inputs: simpleInputs(range(16), range(16)),
      });
      assert.equal(r.status, 200);
    }
    const r3 = await postJson(`${server.httpUrl}/v2/models/simple/infer`, {
      inputs: simpleInputs(range(48), range(48), 3),
    });
    assert.equal(r3.status, 200);
    const invalid = await postJson(`${server.httpUrl}/v2/models/simple/infer`, {
      inputs: simpleInputs(range(16), range(16)).slice(0, 1),
    });
    assert.equal(invalid.status, 400);
    const afterStats = await statsOf();
    assert.equal(afterStats.inference_stats.success.count - before.inference_stats.success.count, 4);
    assert.equal(afterStats.inference_count - before.inference_count, 6);
    assert.equal(
      afterStats.inference_stats.fail.count,
      before.inference_stats.fail.count,
      'validation errors are not failures',
    );
    const metrics = await http(server.metricsUrl);
    assert.equal(metrics.status, 200);
    assert.match(metrics.headers.get('content-type') ?? '', /^text\/plain/);
    const total = afterStats.inference_stats.success.count;
    assert.ok(metrics.text.includes(`nv_inference_request_success{model="simple",version="1"} ${total}\n`));
    assert.ok(
      metrics.text.includes(`nv_inference_count{model="simple",version="1"} ${afterStats.inference_count}\n`),
    );
    assert.ok(
      metrics.text.includes(
        '# HELP nv_inference_request_success Number of successful inference requests, all batch sizes',
      ),
    );
    assert.equal((await http(`${server.metricsUrl.replace('/metrics', '/other')}`)).status, 404);
  });

  it('repository API: unload makes the model unavailable, load brings it back', async () => {
    const unload = await http(`${server.httpUrl}/v2/repository/models/simple/unload`, { method: 'POST' });
    assert.equal(unload.status, 200);
    const index = (await http(`${server.httpUrl}/v2/repository/index`, { method: 'POST' })).json() as {
      name: string;
      version?: string;
      state?: string;
      reason?: string;
    }[];
    assert.deepEqual(
      index.find((e) => e.name === 'simple'),
      { name: 'simple', version: '1', state: 'UNAVAILABLE', reason: 'unloaded' },
    );
    const gone = await postJson(`${server.httpUrl}/v2/models/simple/infer`, {
      inputs: simpleInputs(range(16), range(16)),
    });
    assert.equal(gone.status, 404);
    assert.deepEqual(gone.json(), { error: "Request for unknown model: 'simple' has no available versions" });

    const load = await http(`${server.httpUrl}/v2/repository/models/simple/load`, { method: 'POST' });
    assert.equal(load.status, 200);
    const back = await postJson(`${server.httpUrl}/v2/models/simple/infer`, {
      inputs: simpleInputs(range(16), range(16)),
    });
    assert.equal(back.status, 200);

    const unknown = await http(`${server.httpUrl}/v2/repository/models/nothere/load`, { method: 'POST' });
    assert.equal(unknown.status, 500);
    assert.deepEqual(unknown.json(), {
      error: "failed to load 'nothere', failed to poll from model repository",
    });
  });
});
