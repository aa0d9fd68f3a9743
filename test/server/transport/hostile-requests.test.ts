/**
 * Hostile-input suite (property tests, bounded in count): random and mutated inference bodies (HTTP JSON and
 * gRPC, as messages and as raw bytes) and random load-API configs against a real server. Every case gets a 4xx
 * (or a gRPC client-error code) with a message, or a 200 / OK when the random input happens to be valid; the
 * server stays up and answers a valid request afterwards, and its memory stays bounded. Plus the reserved
 * parameters at and past their range (2^64, negative) on both protocols.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { create, toBinary } from '@bufbuild/protobuf';
import { type Client, Metadata, type ServiceError, status } from '@grpc/grpc-js';
import fc from 'fast-check';
import { type RunningServer, startServer } from '../../../embedded-server/src/index.ts';
import { simpleAddSubModel } from '../../../embedded-server/src/onnx/tiny-models.ts';
import {
  type InferParameter,
  InferParameterSchema,
  InferTensorContentsSchema,
  type ModelInferRequest,
  ModelInferRequest_InferRequestedOutputTensorSchema,
  ModelInferRequestSchema,
} from '../../../src/protocol/gen/grpc_service_pb.ts';
import { preencodedModelInfer } from '../../../src/protocol/grpc-service.ts';
import {
  grpcInferClient,
  http,
  range,
  SIMPLE_CONFIG,
  type TempRepository,
  tempRepository,
} from '../../helpers/real-server.ts';

const VALID = {
  inputs: [
    { name: 'INPUT0', datatype: 'INT32', shape: [1, 16], data: range(16) },
    { name: 'INPUT1', datatype: 'INT32', shape: [1, 16], data: range(16) },
  ],
};

/** A field of the valid body replaced by an arbitrary JSON value (or removed). */
const mutatedBody = fc
  .record({
    path: fc.constantFrom(
      'inputs',
      'outputs',
      'parameters',
      'id',
      'in.name',
      'in.datatype',
      'in.shape',
      'in.data',
      'in.parameters',
    ),
    value: fc.oneof(
      fc.jsonValue(),
      fc.constant(undefined),
      fc.constantFrom(-1, 2 ** 64, '../../etc/passwd', '\u0000', 1e308),
    ),
  })
  .map(({ path, value }) => {
    const body = structuredClone(VALID) as Record<string, unknown> & { inputs: Record<string, unknown>[] };
    if (path.startsWith('in.')) (body.inputs[0] as Record<string, unknown>)[path.slice(3)] = value;
    else (body as Record<string, unknown>)[path] = value;
    return JSON.stringify(body) ?? '';
  });

const anyBody = fc.oneof(
  mutatedBody,
  fc.jsonValue().map((v) => JSON.stringify(v) ?? ''),
  fc.string({ maxLength: 200 }),
  fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b).toString('latin1')),
);

async function assertHealthy(server: RunningServer): Promise<void> {
  assert.equal((await http(`${server.httpUrl}/v2/health/live`)).status, 200);
  const ok = await http(`${server.httpUrl}/v2/models/simple/infer`, {
    method: 'POST',
    body: JSON.stringify(VALID),
  });
  assert.equal(ok.status, 200, ok.text);
}

function assertAnswered(status: number, text: string): void {
  if (status === 200) return;
  assert.ok(status >= 400 && status < 500, `status ${status}: ${text}`);
  const body = JSON.parse(text) as { error?: unknown };
  assert.equal(typeof body.error, 'string');
  assert.ok((body.error as string).length > 0);
}

/** RSS growth allowed over a property run (the server runs in this process): a leak or an unbounded
 * allocation of one hostile body would show as far more. */
const RSS_GROWTH_BOUND = 256 * 1024 * 1024;

/** A valid gRPC request for `simple` (INT32 [1,16] twice, raw contents). */
function validGrpcRequest(): ModelInferRequest {
  const raw = Buffer.from(new Int32Array(range(16)).buffer);
  return create(ModelInferRequestSchema, {
    modelName: 'simple',
    inputs: [
      { name: 'INPUT0', datatype: 'INT32', shape: [1n, 16n] },
      { name: 'INPUT1', datatype: 'INT32', shape: [1n, 16n] },
    ],
    rawInputContents: [raw, raw],
  });
}

const int64 = fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n });
const grpcParameter: fc.Arbitrary<InferParameter> = fc
  .oneof(
    int64.map((value) => ({ case: 'int64Param' as const, value })),
    fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }).map((value) => ({ case: 'uint64Param' as const, value })),
    fc.boolean().map((value) => ({ case: 'boolParam' as const, value })),
    fc.string({ maxLength: 20 }).map((value) => ({ case: 'stringParam' as const, value })),
    fc.double().map((value) => ({ case: 'doubleParam' as const, value })),
    fc.constant({ case: undefined }),
  )
  .map((parameterChoice) => create(InferParameterSchema, { parameterChoice } as never));

/** One field of a valid gRPC request replaced by an arbitrary value of its type. */
const mutatedGrpcRequest: fc.Arbitrary<ModelInferRequest> = fc
  .oneof(
    fc.string({ maxLength: 30 }).map((v) => (r: ModelInferRequest) => {
      r.modelName = v;
    }),
    fc.string({ maxLength: 10 }).map((v) => (r: ModelInferRequest) => {
      r.modelVersion = v;
    }),
    fc.string({ maxLength: 10 }).map((v) => (r: ModelInferRequest) => {
      r.inputs[0]!.name = v;
    }),
    fc
      .constantFrom('INT32', 'FP32', 'BYTES', 'BOOL', '', 'int32', 'FP8', '\u0000')
      .map((v) => (r: ModelInferRequest) => {
        r.inputs[0]!.datatype = v;
      }),
    fc
      .array(fc.oneof(int64, fc.constantFrom(0n, -1n, 2n ** 62n, 16n)), { maxLength: 6 })
      .map((v) => (r: ModelInferRequest) => {
        r.inputs[0]!.shape = v;
      }),
    fc.uint8Array({ maxLength: 200 }).map((v) => (r: ModelInferRequest) => {
      r.rawInputContents[0] = v;
    }),
    fc.constant((r: ModelInferRequest) => void r.rawInputContents.pop()),
    fc.constant((r: ModelInferRequest) => void r.rawInputContents.push(new Uint8Array(64))),
    fc.array(fc.integer(), { maxLength: 40 }).map((v) => (r: ModelInferRequest) => {
      // Contents as well as raw contents (or instead of them): both are refused, or the typed ones used.
      r.inputs[0]!.contents = create(InferTensorContentsSchema, { intContents: v });
      if (v.length % 2 === 0) r.rawInputContents = [];
    }),
    fc
      .dictionary(
        fc.constantFrom(
          'priority',
          'timeout',
          'sequence_id',
          'sequence_start',
          'binary_data_output',
          'triton_x',
          'k',
        ),
        grpcParameter,
        { maxKeys: 3 },
      )
      .map((v) => (r: ModelInferRequest) => {
        r.parameters = v;
      }),
    fc
      .dictionary(fc.string({ maxLength: 8 }), grpcParameter, { maxKeys: 2 })
      .map((v) => (r: ModelInferRequest) => {
        r.inputs[0]!.parameters = v;
      }),
    fc
      .array(
        fc.record({
          name: fc.constantFrom('OUTPUT0', 'OUTPUT1', 'NOPE', ''),
          parameters: fc.dictionary(
            fc.constantFrom('classification', 'shared_memory_region', 'binary_data'),
            grpcParameter,
            { maxKeys: 2 },
          ),
        }),
        { maxLength: 3 },
      )
      .map((v) => (r: ModelInferRequest) => {
        r.outputs = v.map((o) => create(ModelInferRequest_InferRequestedOutputTensorSchema, o));
      }),
  )
  .map((mutate) => {
    const request = validGrpcRequest();
    mutate(request);
    return request;
  });

/** Raw request bytes: random bytes, or a valid encoding with bytes flipped, cut or appended. */
const rawGrpcBytes: fc.Arbitrary<Uint8Array> = fc.oneof(
  fc.uint8Array({ maxLength: 300 }),
  fc
    .record({
      at: fc.nat(),
      byte: fc.integer({ min: 0, max: 255 }),
      cut: fc.boolean(),
      tail: fc.uint8Array({ maxLength: 20 }),
    })
    .map(({ at, byte, cut, tail }) => {
      const valid = toBinary(ModelInferRequestSchema, validGrpcRequest());
      const i = at % valid.length;
      if (cut) return valid.subarray(0, i);
      const bytes = Uint8Array.from(valid);
      bytes[i] = byte;
      return Buffer.concat([bytes, tail]);
    }),
  // A varint of 11 bytes (> 2^64) as the value of the request's `priority` (uint64_param, field 2 of
  // InferParameter) under parameters (field 4).
  fc.constant(
    Buffer.from([
      0x22,
      0x16,
      0x0a,
      0x08,
      ...Buffer.from('priority'),
      0x12,
      0x0c,
      0x10,
      ...Array(10).fill(0xff),
      0x01,
    ]),
  ),
);

/** gRPC codes that say "your request was wrong" (the 4xx family); INTERNAL only for an unparsable message. */
const CLIENT_ERROR_CODES = new Set<number>([
  status.INVALID_ARGUMENT,
  status.NOT_FOUND,
  status.UNAVAILABLE,
  status.RESOURCE_EXHAUSTED,
  status.UNIMPLEMENTED,
  status.FAILED_PRECONDITION,
  status.OUT_OF_RANGE,
]);

/** `wellFormed`: the message is valid protobuf, so no answer may be INTERNAL. */
function assertGrpcAnswered(err: ServiceError | null, wellFormed: boolean): void {
  if (process.env.HOSTILE_TRACE) console.log(err ? `${err.code} ${err.details.slice(0, 100)}` : 'OK');
  if (err === null) return;
  const where = `code ${err.code}: ${err.details}`;
  assert.ok(err.details.length > 0, `no message: ${where}`);
  // grpc-js answers a message that is not valid protobuf with INTERNAL 'Error deserializing request' before
  // any handler runs (the gRPC libraries' standard answer, Triton's C++ server included).
  if (err.code === status.INTERNAL && !wellFormed)
    assert.match(err.details, /^Error deserializing request/, where);
  else assert.ok(CLIENT_ERROR_CODES.has(err.code), where);
}

function grpcRaw(client: Client, bytes: Uint8Array): Promise<ServiceError | null> {
  const m = preencodedModelInfer;
  return new Promise((resolve) => {
    client.makeUnaryRequest(
      m.path,
      m.requestSerialize,
      m.responseDeserialize,
      bytes,
      new Metadata(),
      {},
      (err) => resolve(err ?? null),
    );
  });
}

describe('hostile requests (property tests)', () => {
  let repo: TempRepository;
  let server: RunningServer;
  before(async () => {
    repo = await tempRepository({ simple: { config: SIMPLE_CONFIG, onnx: simpleAddSubModel() } });
    server = await startServer({
      modelRepository: repo.dir,
      modelControlMode: 'explicit',
      loadModels: ['*'],
    });
  });
  after(async () => {
    await server?.stop({ timeoutMs: 5000 });
    await repo?.remove();
  });

  it('inference bodies: every case is a 4xx with a message (or a valid 200), the server stays up, memory bounded', async () => {
    const rssBefore = process.memoryUsage().rss;
    await fc.assert(
      fc.asyncProperty(anyBody, fc.boolean(), async (body, gzipHeader) => {
        const r = await http(`${server.httpUrl}/v2/models/simple/infer`, {
          method: 'POST',
          body,
          headers: gzipHeader ? { 'Content-Encoding': 'gzip' } : {},
        });
        assertAnswered(r.status, r.text);
      }),
      { numRuns: 150, seed: 13 },
    );
    await assertHealthy(server);
    assert.ok(process.memoryUsage().rss - rssBefore < RSS_GROWTH_BOUND);
  });

  it('gRPC requests: mutated messages get a client-error code with a message (or OK), the server stays up', async () => {
    const client = grpcInferClient(server.grpcUrl);
    try {
      const rssBefore = process.memoryUsage().rss;
      await fc.assert(
        fc.asyncProperty(mutatedGrpcRequest, async (request) => {
          const err = await new Promise<ServiceError | null>((resolve) =>
            client.ModelInfer(request, (e) => resolve(e)),
          );
          assertGrpcAnswered(err, true);
        }),
        { numRuns: 150, seed: 13 },
      );
      const ok = await new Promise<ServiceError | null>((resolve) =>
        client.ModelInfer(validGrpcRequest(), (e) => resolve(e)),
      );
      assert.equal(ok, null);
      assert.ok(process.memoryUsage().rss - rssBefore < RSS_GROWTH_BOUND);
    } finally {
      client.close();
    }
    await assertHealthy(server);
  });

  it('gRPC raw bytes: random, cut and bit-flipped encodings, an 11-byte varint: answered, the server stays up', async () => {
    const client = grpcInferClient(server.grpcUrl);
    try {
      await fc.assert(
        fc.asyncProperty(rawGrpcBytes, async (bytes) =>
          assertGrpcAnswered(await grpcRaw(client, bytes), false),
        ),
        { numRuns: 150, seed: 13 },
      );
      // The connection that carried them still serves a valid request.
      assert.equal(await grpcRaw(client, toBinary(ModelInferRequestSchema, validGrpcRequest())), null);
    } finally {
      client.close();
    }
    await assertHealthy(server);
  });

  it('load-API configs: random and hostile configs are refused with a message; the model keeps serving', async () => {
    const config = fc.oneof(
      fc.jsonValue().map((v) => JSON.stringify(v) ?? ''),
      fc
        .record({
          default_model_filename: fc.constantFrom('/etc/shadow', '../x', 'a/b', '', 'model.onnx'),
          instance_group: fc.constantFrom(
            [{ count: 100000 }],
            [{ count: -1 }],
            [{ kind: 'KIND_GPU', gpus: [99] }],
          ),
          max_batch_size: fc.integer({ min: -10, max: 2 ** 31 }),
        })
        .map((c) => JSON.stringify({ name: 'simple', ...c })),
    );
    await fc.assert(
      fc.asyncProperty(config, async (text) => {
        const r = await http(`${server.httpUrl}/v2/repository/models/simple/load`, {
          method: 'POST',
          body: JSON.stringify({ parameters: { config: text } }),
        });
        assertAnswered(r.status, r.text);
      }),
      { numRuns: 40, seed: 13 },
    );
    // A refused reload keeps the old version; a successful one (a valid random config) may have replaced it.
    const reload = await http(`${server.httpUrl}/v2/repository/models/simple/load`, { method: 'POST' });
    assert.equal(reload.status, 200, reload.text);
    await assertHealthy(server);
  });
});
