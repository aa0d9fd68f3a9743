/**
 * The sequence batcher end to end: the bundled `accumulate` model (real ONNX Runtime, implicit state) over
 * HTTP and gRPC, with the `direct` and `oldest` strategies; every response is checked against the running
 * sum the client computes. Hostile correlation IDs and flags get Triton's texts.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { create } from '@bufbuild/protobuf';
import { type RunningServer, startServer } from '../../../embedded-server/src/index.ts';
import {
  accumulateModel,
  sequenceControlEchoModel,
} from '../../../embedded-server/src/onnx/stateful-models.ts';
import {
  type InferParameter,
  type ModelInferRequest,
  ModelInferRequestSchema,
  type ModelInferResponse,
} from '../../../src/protocol/gen/grpc_service_pb.ts';
import { packageInfo } from '../../../src/protocol/package-info.ts';
import {
  type GrpcInferClient,
  grpcInferClient,
  http,
  postJson,
  type TempRepository,
  tempRepository,
} from '../../helpers/real-server.ts';

const OLDEST = `
name: "accumulate_oldest"
platform: "onnxruntime_onnx"
max_batch_size: 4
input [ { name: "INPUT" data_type: TYPE_INT32 dims: [ 1 ] } ]
output [ { name: "OUTPUT" data_type: TYPE_INT32 dims: [ 1 ] } ]
sequence_batching {
  max_sequence_idle_microseconds: 5000000
  oldest { max_candidate_sequences: 4 max_queue_delay_microseconds: 1000 }
  control_input [ { name: "START" control [ { kind: CONTROL_SEQUENCE_START int32_false_true: [ 0, 1 ] } ] } ]
  state [ { input_name: "STATE_IN" output_name: "STATE_OUT" data_type: TYPE_INT32 dims: [ 1 ] } ]
}
instance_group [ { count: 2 kind: KIND_CPU } ]
parameters { key: "intra_op_thread_count" value: { string_value: "1" } }
`;

const ECHO = `
name: "echo"
platform: "onnxruntime_onnx"
max_batch_size: 2
input [ { name: "INPUT" data_type: TYPE_INT32 dims: [ 1 ] } ]
output [
  { name: "OUTPUT" data_type: TYPE_INT32 dims: [ 1 ] },
  { name: "START_OUT" data_type: TYPE_INT32 dims: [ 1 ] },
  { name: "END_OUT" data_type: TYPE_INT32 dims: [ 1 ] },
  { name: "READY_OUT" data_type: TYPE_INT32 dims: [ 1 ] },
  { name: "CORRID_OUT" data_type: TYPE_UINT64 dims: [ 1 ] }
]
sequence_batching {
  control_input [
    { name: "START" control [ { kind: CONTROL_SEQUENCE_START int32_false_true: [ 0, 1 ] } ] },
    { name: "END" control [ { kind: CONTROL_SEQUENCE_END int32_false_true: [ 0, 1 ] } ] },
    { name: "READY" control [ { kind: CONTROL_SEQUENCE_READY int32_false_true: [ 0, 1 ] } ] },
    { name: "CORRID" control [ { kind: CONTROL_SEQUENCE_CORRID data_type: TYPE_UINT64 } ] }
  ]
}
instance_group [ { count: 1 kind: KIND_CPU } ]
`;

interface JsonOutput {
  name: string;
  data: (number | string)[];
}

function body(value: number, parameters: Record<string, unknown>) {
  return { inputs: [{ name: 'INPUT', datatype: 'INT32', shape: [1, 1], data: [value] }], parameters };
}

function int64Param(v: bigint): InferParameter {
  return { parameterChoice: { case: 'int64Param', value: v } } as InferParameter;
}
function stringParam(v: string): InferParameter {
  return { parameterChoice: { case: 'stringParam', value: v } } as InferParameter;
}
function boolParam(v: boolean): InferParameter {
  return { parameterChoice: { case: 'boolParam', value: v } } as InferParameter;
}

describe('sequence batcher end to end (accumulate, real ONNX Runtime)', () => {
  let repo: TempRepository;
  let server: RunningServer;
  let grpc: GrpcInferClient;
  const grpcInfer = (req: ModelInferRequest) =>
    new Promise<ModelInferResponse>((resolve, reject) =>
      grpc.ModelInfer(req, (err, res) => (err ? reject(err) : resolve(res as ModelInferResponse))),
    );

  before(async () => {
    const bundled = await readFile(
      join(packageInfo().root, 'embedded-server', 'models', 'accumulate', 'config.pbtxt'),
      'utf8',
    );
    repo = await tempRepository({
      accumulate: { config: bundled, onnx: accumulateModel() },
      accumulate_oldest: { config: OLDEST, onnx: accumulateModel() },
      echo: { config: ECHO, onnx: sequenceControlEchoModel() },
    });
    server = await startServer({ modelRepository: repo.dir });
    grpc = grpcInferClient(server.grpcUrl);
  });

  after(async () => {
    grpc?.close();
    await server?.stop({ timeoutMs: 10_000 });
    await repo?.remove();
  });

  async function httpStep(
    model: string,
    value: number,
    parameters: Record<string, unknown>,
  ): Promise<number> {
    const r = await postJson(`${server.httpUrl}/v2/models/${model}/infer`, body(value, parameters));
    assert.equal(r.status, 200, r.text);
    const out = (r.json() as { outputs: JsonOutput[] }).outputs;
    assert.deepEqual(
      out.map((o) => o.name),
      ['OUTPUT'],
    );
    return Number(out[0]?.data[0]);
  }

  async function grpcStep(model: string, value: number, id: InferParameter, start: boolean, end: boolean) {
    const res = await grpcInfer(
      create(ModelInferRequestSchema, {
        modelName: model,
        inputs: [{ name: 'INPUT', datatype: 'INT32', shape: [1n, 1n] }],
        rawInputContents: [new Uint8Array(Int32Array.of(value).buffer)],
        parameters: { sequence_id: id, sequence_start: boolParam(start), sequence_end: boolParam(end) },
      }),
    );
    const raw = Uint8Array.from(res.rawOutputContents[0] as Uint8Array);
    return new DataView(raw.buffer).getInt32(0, true);
  }

  for (const model of ['accumulate', 'accumulate_oldest']) {
    it(`${model}: 6 concurrent sequences of 12 steps over HTTP, every running sum exact`, async () => {
      const sequences = Array.from({ length: 6 }, (_, s) => s + 1);
      await Promise.all(
        sequences.map(async (s) => {
          let sum = 0;
          for (let k = 0; k < 12; k++) {
            const value = ((s * 37 + k * 11) % 23) - 7;
            sum += value;
            const parameters: Record<string, unknown> = { sequence_id: 1000 + s };
            if (k === 0) parameters.sequence_start = true;
            if (k === 11) parameters.sequence_end = true;
            assert.equal(await httpStep(model, value, parameters), sum, `sequence ${s} step ${k}`);
          }
        }),
      );
    });

    it(`${model}: gRPC with uint64 and string IDs at once, sums exact`, async () => {
      const ids = [int64Param(7n), stringParam('seven'), int64Param(-1n)];
      await Promise.all(
        ids.map(async (id, i) => {
          let sum = 0;
          for (let k = 0; k < 5; k++) {
            sum += i * 100 + k;
            assert.equal(await grpcStep(model, i * 100 + k, id, k === 0, k === 4), sum);
          }
        }),
      );
    });
  }

  it('statistics count one success per request; executions may hold several sequences', async () => {
    const stats = (await http(`${server.httpUrl}/v2/models/accumulate/stats`)).json() as {
      model_stats: {
        inference_count: number;
        execution_count: number;
        inference_stats: { success: { count: number } };
      }[];
    };
    const s = stats.model_stats[0]!;
    assert.equal(s.inference_stats.success.count, 6 * 12 + 3 * 5);
    assert.equal(s.inference_count, 6 * 12 + 3 * 5);
    assert.ok(s.execution_count <= s.inference_count && s.execution_count > 0);
  });

  it('controls reach the model: START/END/READY and CORRID of the largest uint64', async () => {
    const id = 2n ** 64n - 1n;
    const r = await http(`${server.httpUrl}/v2/models/echo/infer`, {
      method: 'POST',
      body: `{"inputs":[{"name":"INPUT","datatype":"INT32","shape":[1,1],"data":[5]}],"parameters":{"sequence_id":${id},"sequence_start":true,"sequence_end":true}}`,
    });
    assert.equal(r.status, 200, r.text);
    const out = Object.fromEntries(
      (JSON.parse(r.text) as { outputs: JsonOutput[] }).outputs.map((o) => [o.name, o.data[0]]),
    );
    assert.deepEqual([out.START_OUT, out.END_OUT, out.READY_OUT], [1, 1, 1]);
    // JSON numbers above 2^53 are written exactly; compare as text.
    assert.match(r.text, /"name":"CORRID_OUT".*"data":\[18446744073709551615\]/);
  });

  it('hostile IDs and flags over HTTP: 0, "", 2^64, missing START, END twice — Triton texts', async () => {
    const url = `${server.httpUrl}/v2/models/accumulate/infer`;
    const err = async (raw: string) => {
      const r = await http(url, { method: 'POST', body: raw });
      return { status: r.status, error: (r.json() as { error: string }).error };
    };
    const input = '"inputs":[{"name":"INPUT","datatype":"INT32","shape":[1,1],"data":[1]}]';
    for (const id of ['0', '""']) {
      assert.deepEqual(await err(`{${input},"parameters":{"sequence_id":${id},"sequence_start":true}}`), {
        status: 400,
        error: "inference request to model 'accumulate' must specify a non-zero or non-empty correlation ID",
      });
    }
    const big = await err(
      `{${input},"parameters":{"sequence_id":18446744073709551616,"sequence_start":true}}`,
    );
    assert.equal(
      big.error,
      "Unable to parse 'sequence_id': attempt to access JSON non-unsigned-integer as unsigned-integer",
    );
    assert.deepEqual(await err(`{${input},"parameters":{"sequence_id":-3}}`), big, 'negative: same refusal');
    assert.deepEqual(await err(`{${input},"parameters":{"sequence_id":99}}`), {
      status: 400,
      error:
        "inference request for sequence 99 to model 'accumulate' must specify the START flag on the first request of the sequence",
    });
    assert.deepEqual(await err(`{${input},"parameters":{"sequence_id":"abc"}}`), {
      status: 400,
      error:
        "inference request for sequence abc to model 'accumulate' must specify the START flag on the first request of the sequence",
    });
    assert.equal(await httpStep('accumulate', 2, { sequence_id: 42, sequence_start: true }), 2);
    assert.equal(await httpStep('accumulate', 2, { sequence_id: 42, sequence_end: true }), 4);
    const twice = await err(`{${input},"parameters":{"sequence_id":42,"sequence_end":true}}`);
    assert.equal(twice.status, 400);
    assert.match(twice.error, /sequence 42 to model 'accumulate' must specify the START flag/);
    // A batch of 2 is refused (sequence models take batch-size 1 only).
    const batch = await err(
      '{"inputs":[{"name":"INPUT","datatype":"INT32","shape":[2,1],"data":[1,2]}],"parameters":{"sequence_id":5,"sequence_start":true}}',
    );
    assert.deepEqual(batch, {
      status: 400,
      error:
        "inference request to model 'accumulate' must specify batch-size 1 due to requirements of sequence batcher",
    });
  });

  it('the server advertises the sequence extension', async () => {
    const meta = (await http(`${server.httpUrl}/v2`)).json() as { extensions: string[] };
    assert.ok(meta.extensions.includes('sequence'));
  });
});

describe('sequence batcher behind ingress threads (serve --http-thread-count)', () => {
  let repo: TempRepository;
  let server: RunningServer;

  before(async () => {
    const bundled = await readFile(
      join(packageInfo().root, 'embedded-server', 'models', 'accumulate', 'config.pbtxt'),
      'utf8',
    );
    repo = await tempRepository({ accumulate: { config: bundled, onnx: accumulateModel() } });
    server = await startServer({ modelRepository: repo.dir, httpThreadCount: 1 });
  });

  after(async () => {
    await server?.stop({ timeoutMs: 10_000 });
    await repo?.remove();
  });

  it('the correlation ID and flags cross to the main thread (string and uint64 IDs)', async () => {
    for (const id of [77, '"seventy-seven"']) {
      let sum = 0;
      for (let k = 0; k < 3; k++) {
        sum += k + 1;
        const flags = k === 0 ? ',"sequence_start":true' : k === 2 ? ',"sequence_end":true' : '';
        const r = await http(`${server.httpUrl}/v2/models/accumulate/infer`, {
          method: 'POST',
          body: `{"inputs":[{"name":"INPUT","datatype":"INT32","shape":[1,1],"data":[${k + 1}]}],"parameters":{"sequence_id":${id}${flags}}}`,
        });
        assert.equal(r.status, 200, r.text);
        assert.equal((r.json() as { outputs: JsonOutput[] }).outputs[0]?.data[0], sum);
      }
    }
  });
});
