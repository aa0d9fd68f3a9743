/**
 * Decoupled models end to end: the bundled `repeat` model (built-in backend, Triton's repeat) over gRPC
 * ModelStreamInfer — exact response counts (0, 1, many), OUT/IDX values, `triton_final_response`, the empty
 * final response only on request, statistics as Triton counts them — and its refusals: HTTP and unary
 * ModelInfer with Triton's texts, hostile DELAY/WAIT/IN sizes. Also (#13) a message that is not a
 * ModelInferRequest in the middle of a stream is answered in-band and the responses already due still arrive.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { create, toBinary } from '@bufbuild/protobuf';
import * as grpc from '@grpc/grpc-js';
import { type RunningServer, startServer } from '../../../embedded-server/src/index.ts';
import { identityModel } from '../../../embedded-server/src/onnx/tiny-models.ts';
import {
  type InferParameter,
  InferParameterSchema,
  type ModelInferRequest,
  ModelInferRequestSchema,
  type ModelStreamInferResponse,
} from '../../../src/protocol/gen/grpc_service_pb.ts';
import {
  decodeModelStreamInferResponse,
  preencodedModelStreamInfer,
} from '../../../src/protocol/grpc-service.ts';
import { packageInfo } from '../../../src/protocol/package-info.ts';
import { grpcInferClient, postJson, type TempRepository, tempRepository } from '../../helpers/real-server.ts';

const IDENTITY = `
name: "identity_int32"
platform: "onnxruntime_onnx"
max_batch_size: 0
input [ { name: "INPUT0" data_type: TYPE_INT32 dims: [ -1 ] } ]
output [ { name: "OUTPUT0" data_type: TYPE_INT32 dims: [ -1 ] } ]
`;

function int32(values: number[]): Uint8Array {
  return new Uint8Array(Int32Array.from(values).buffer);
}
function uint32(values: number[]): Uint8Array {
  return new Uint8Array(Uint32Array.from(values).buffer);
}

const boolParam = (value: boolean): InferParameter =>
  create(InferParameterSchema, { parameterChoice: { case: 'boolParam', value } });

function repeatRequest(
  id: string,
  values: number[],
  options: { delaysMs?: number[]; waitMs?: number; emptyFinal?: boolean } = {},
): ModelInferRequest {
  const delays = options.delaysMs ?? values.map(() => 0);
  return create(ModelInferRequestSchema, {
    modelName: 'repeat',
    id,
    inputs: [
      { name: 'IN', datatype: 'INT32', shape: [BigInt(values.length)] },
      { name: 'DELAY', datatype: 'UINT32', shape: [BigInt(delays.length)] },
      { name: 'WAIT', datatype: 'UINT32', shape: [1n] },
    ],
    rawInputContents: [int32(values), uint32(delays), uint32([options.waitMs ?? 0])],
    parameters: options.emptyFinal === false ? {} : { triton_enable_empty_final_response: boolParam(true) },
  });
}

/**
 * Opens a raw ModelStreamInfer stream, writes `messages` (bytes) in order, half-closes, and resolves with every
 * response once the server ends the stream (and its status).
 */
function stream(
  url: string,
  messages: Uint8Array[],
): Promise<{ responses: ModelStreamInferResponse[]; status: grpc.StatusObject }> {
  const client = new grpc.Client(url, grpc.credentials.createInsecure());
  const m = preencodedModelStreamInfer;
  const call = client.makeBidiStreamRequest(m.path, m.requestSerialize, m.responseDeserialize);
  const responses: ModelStreamInferResponse[] = [];
  return new Promise((resolve) => {
    call.on('data', (bytes: Buffer) => responses.push(decodeModelStreamInferResponse(bytes)));
    call.on('error', () => {});
    call.on('status', (status: grpc.StatusObject) => {
      client.close();
      resolve({ responses, status });
    });
    for (const b of messages) call.write(b);
    call.end();
  });
}

const encode = (r: ModelInferRequest) => toBinary(ModelInferRequestSchema, r);

function finalFlag(r: ModelStreamInferResponse): boolean | undefined {
  const p = r.inferResponse?.parameters.triton_final_response?.parameterChoice;
  return p?.case === 'boolParam' ? p.value : undefined;
}

function outputsOf(r: ModelStreamInferResponse): { out: number; idx: number } {
  const res = r.inferResponse;
  assert.ok(res);
  const at = (name: string) => res.outputs.findIndex((o) => o.name === name);
  // A copy: the decoded bytes may be a Buffer view into a shared pool.
  const raw = (i: number) => Uint8Array.from(res.rawOutputContents[i] as Uint8Array).buffer;
  const out = new DataView(raw(at('OUT'))).getInt32(0, true);
  const idx = new DataView(raw(at('IDX'))).getUint32(0, true);
  return { out, idx };
}

function byId(responses: ModelStreamInferResponse[], id: string): ModelStreamInferResponse[] {
  return responses.filter((r) => r.inferResponse?.id === id);
}

for (const httpThreadCount of [0, 2]) {
  describe(`decoupled repeat model over gRPC streaming (${httpThreadCount} ingress threads)`, () => {
    let repo: TempRepository;
    let server: RunningServer;

    before(async () => {
      repo = await tempRepository({
        identity_int32: { config: IDENTITY, onnx: identityModel('INT32', [-1]) },
      });
      const config = await readFile(
        join(packageInfo().root, 'embedded-server', 'models', 'repeat', 'config.pbtxt'),
        'utf8',
      );
      await repo.addModel('repeat', { config, onnx: new Uint8Array(0) });
      server = await startServer({ modelRepository: repo.dir, httpThreadCount });
    });
    after(async () => {
      await server?.stop({ timeoutMs: 5000 });
      await repo?.remove();
    });

    it('sends exactly n responses (0, 1, many) with OUT = IN[i], IDX = i, then the empty final response', async () => {
      const { responses, status } = await stream(server.grpcUrl, [
        encode(repeatRequest('zero', [])),
        encode(repeatRequest('one', [42])),
        encode(repeatRequest('many', [5, -6, 7, 8, 9], { delaysMs: [1, 0, 2, 0, 1] })),
      ]);
      assert.equal(status.code, grpc.status.OK);
      for (const [id, values] of [
        ['zero', []],
        ['one', [42]],
        ['many', [5, -6, 7, 8, 9]],
      ] as const) {
        const mine = byId(responses, id);
        assert.equal(mine.length, values.length + 1, `${id}: n responses and the empty final`);
        const data = mine.slice(0, -1);
        assert.deepEqual(
          data.map(outputsOf),
          values.map((out, idx) => ({ out, idx })),
        );
        assert.ok(data.every((r) => finalFlag(r) === false && r.errorMessage === ''));
        const last = mine.at(-1) as ModelStreamInferResponse;
        assert.equal(finalFlag(last), true);
        assert.equal(last.inferResponse?.outputs.length, 0);
        assert.equal(last.inferResponse?.modelName, 'repeat');
      }
    });

    it('writes no empty final response unless the request asks for it', async () => {
      const { responses } = await stream(server.grpcUrl, [
        encode(repeatRequest('quiet-zero', [], { emptyFinal: false })),
        encode(repeatRequest('quiet-two', [1, 2], { emptyFinal: false })),
      ]);
      assert.equal(byId(responses, 'quiet-zero').length, 0);
      const two = byId(responses, 'quiet-two');
      assert.deepEqual(two.map(finalFlag), [false, false]);
    });

    it('keeps answering after a message that is not a ModelInferRequest (responses already due arrive)', async () => {
      const garbage = Uint8Array.of(0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f); // a length prefix far past the end
      const identity = create(ModelInferRequestSchema, {
        modelName: 'identity_int32',
        id: 'plain',
        inputs: [{ name: 'INPUT0', datatype: 'INT32', shape: [2n] }],
        rawInputContents: [int32([3, 4])],
      });
      const { responses, status } = await stream(server.grpcUrl, [
        encode(repeatRequest('before', [1, 2, 3], { delaysMs: [5, 5, 5] })),
        encode(identity),
        garbage,
        encode(repeatRequest('after', [9])),
      ]);
      assert.equal(status.code, grpc.status.OK);
      assert.equal(byId(responses, 'before').length, 4);
      assert.equal(byId(responses, 'after').length, 2);
      const plain = byId(responses, 'plain');
      assert.equal(plain.length, 1);
      assert.equal(finalFlag(plain[0] as ModelStreamInferResponse), true);
      const errors = responses.filter((r) => r.errorMessage !== '');
      assert.equal(errors.length, 1);
      assert.match(errors[0]?.errorMessage ?? '', /^failed to parse the ModelInferRequest message: /);
      assert.equal(finalFlag(errors[0] as ModelStreamInferResponse), true);
    });

    it('refuses hostile inputs in-band with a clear message and keeps the stream', async () => {
      const mismatch = repeatRequest('mismatch', [1, 2], { delaysMs: [0] });
      const badFlag = repeatRequest('bad-flag', [1]);
      badFlag.parameters.triton_enable_empty_final_response = create(InferParameterSchema, {
        parameterChoice: { case: 'stringParam', value: 'yes' },
      });
      const { responses, status } = await stream(server.grpcUrl, [
        encode(repeatRequest('huge-delay', [1], { delaysMs: [60_001] })),
        encode(repeatRequest('wrapped-negative-delay', [1], { delaysMs: [2 ** 32 - 1] })),
        encode(repeatRequest('huge-wait', [1], { waitMs: 4_000_000_000 })),
        encode(repeatRequest('total-delay', range(11), { delaysMs: range(11).map(() => 60_000) })),
        encode(repeatRequest('huge-n', range(10_001))),
        encode(mismatch),
        encode(badFlag),
        encode(repeatRequest('fine', [7])),
      ]);
      assert.equal(status.code, grpc.status.OK);
      const error = (id: string) => {
        const mine = byId(responses, id);
        assert.equal(mine.length, 1, id);
        return mine[0]?.errorMessage;
      };
      assert.equal(
        error('huge-delay'),
        "DELAY[0] of model 'repeat' is 60001 ms: at most 60000 ms per response",
      );
      assert.equal(
        error('wrapped-negative-delay'),
        "DELAY[0] of model 'repeat' is 4294967295 ms: at most 60000 ms per response",
      );
      assert.equal(error('huge-wait'), "WAIT of model 'repeat' is 4000000000 ms: at most 60000 ms");
      assert.equal(
        error('total-delay'),
        "the DELAYs of one request to model 'repeat' add up to 660000 ms: at most 600000 ms",
      );
      assert.equal(
        error('huge-n'),
        "input 'IN' of model 'repeat' has 10001 elements: the repeat backend sends at most 10000 responses per request",
      );
      assert.match(error('mismatch') ?? '', /DELAY/);
      assert.equal(
        error('bad-flag'),
        "invalid value type for 'triton_enable_empty_final_response' parameter, expected bool_param.",
      );
      assert.equal(byId(responses, 'fine').length, 2);
    });

    it('is refused over HTTP and unary ModelInfer with Triton texts', async () => {
      const res = await postJson(`${server.httpUrl}/v2/models/repeat/infer`, {
        inputs: [
          { name: 'IN', datatype: 'INT32', shape: [1], data: [1] },
          { name: 'DELAY', datatype: 'UINT32', shape: [1], data: [0] },
          { name: 'WAIT', datatype: 'UINT32', shape: [1], data: [0] },
        ],
      });
      assert.equal(res.status, 501);
      assert.deepEqual(res.json(), {
        error: "HTTP end point doesn't support models with decoupled transaction policy",
      });
      const client = grpcInferClient(server.grpcUrl);
      try {
        const err = await new Promise<grpc.ServiceError | null>((resolve) =>
          client.ModelInfer(repeatRequest('unary', [1]), (e) => resolve(e)),
        );
        assert.equal(err?.code, grpc.status.UNIMPLEMENTED);
        assert.equal(err?.details, "ModelInfer RPC doesn't support models with decoupled transaction policy");
      } finally {
        client.close();
      }
    });
  });
}

function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}

describe('decoupled statistics (Triton: one execution per request, response_stats per response index)', () => {
  let repo: TempRepository;
  let server: RunningServer;
  before(async () => {
    repo = await tempRepository({});
    const config = await readFile(
      join(packageInfo().root, 'embedded-server', 'models', 'repeat', 'config.pbtxt'),
      'utf8',
    );
    await repo.addModel('repeat', { config, onnx: new Uint8Array(0) });
    server = await startServer({ modelRepository: repo.dir });
  });
  after(async () => {
    await server?.stop({ timeoutMs: 5000 });
    await repo?.remove();
  });

  it('counts requests, executions and each response index', async () => {
    await stream(server.grpcUrl, [
      encode(repeatRequest('a', [1, 2, 3], { waitMs: 1 })),
      encode(repeatRequest('b', [4], { waitMs: 1 })),
    ]);
    const res = await fetch(`${server.httpUrl}/v2/models/repeat/stats`);
    const stats = ((await res.json()) as { model_stats: Record<string, unknown>[] }).model_stats[0] as {
      inference_count: number;
      execution_count: number;
      inference_stats: Record<string, { count: number; ns: number }>;
      response_stats: Record<string, Record<string, { count: number; ns: number }>>;
    };
    assert.equal(stats.inference_count, 2);
    assert.equal(stats.execution_count, 2);
    assert.equal(stats.inference_stats.success?.count, 2);
    assert.equal(stats.inference_stats.compute_infer?.count, 2);
    const counts = Object.fromEntries(
      Object.entries(stats.response_stats).map(([k, v]) => [
        k,
        [v.success?.count, v.empty_response?.count, v.compute_infer?.count],
      ]),
    );
    // 'a' sends responses 0, 1, 2 then the empty final as index 3; 'b' sends response 0 then the final as 1.
    assert.deepEqual(counts, { '0': [2, 0, 2], '1': [1, 1, 1], '2': [1, 0, 1], '3': [0, 1, 0] });
  });
});
