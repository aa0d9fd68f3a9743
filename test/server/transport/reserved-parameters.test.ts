/**
 * The reserved request parameters at and past their range, against a real server over HTTP JSON and gRPC,
 * parsed on an ingress thread (serve's default) as in production (issue 13: `priority`, `timeout` and
 * `sequence_id` ≥ 2^64, and a negative gRPC `timeout`, were accepted). 2^64 − 1 is the largest value accepted;
 * 2^64, negatives, fractions and exponents are 400 with Triton's accessor text; over gRPC, where the wire type
 * caps the value at 64 bits, a negative int64 `priority` or `timeout` and a `uint64_param` sequence ID are
 * INVALID_ARGUMENT with Triton's texts.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { create } from '@bufbuild/protobuf';
import { type ServiceError, status } from '@grpc/grpc-js';
import { type RunningServer, startServer } from '../../../embedded-server/src/index.ts';
import { simpleAddSubModel } from '../../../embedded-server/src/onnx/tiny-models.ts';
import {
  type InferParameter,
  InferParameterSchema,
  ModelInferRequestSchema,
} from '../../../src/protocol/gen/grpc_service_pb.ts';
import {
  type GrpcInferClient,
  grpcInferClient,
  http,
  range,
  SIMPLE_CONFIG,
  type TempRepository,
  tempRepository,
} from '../../helpers/real-server.ts';

const INPUTS = `"inputs":[${['INPUT0', 'INPUT1']
  .map((n) => `{"name":"${n}","datatype":"INT32","shape":[1,16],"data":[${range(16).join(',')}]}`)
  .join(',')}]`;

const unsignedText = (key: string) =>
  `Unable to parse '${key}': attempt to access JSON non-unsigned-integer as unsigned-integer`;

describe('reserved request parameters at and past their range', () => {
  let repo: TempRepository;
  let server: RunningServer;
  let client: GrpcInferClient;
  before(async () => {
    repo = await tempRepository({ simple: { config: SIMPLE_CONFIG, onnx: simpleAddSubModel() } });
    server = await startServer({ modelRepository: repo.dir, httpThreadCount: 1 });
    client = grpcInferClient(server.grpcUrl);
  });
  after(async () => {
    client?.close();
    await server?.stop({ timeoutMs: 5000 });
    await repo?.remove();
  });

  /** POSTs a JSON body with `parameters` written verbatim (so 2^64 reaches the server as digits). */
  const postParameters = (rawParameters: string) =>
    http(`${server.httpUrl}/v2/models/simple/infer`, {
      method: 'POST',
      body: `{${INPUTS},"parameters":{${rawParameters}}}`,
    });

  it('HTTP JSON: 2^64 - 1 accepted, 2^64 and beyond, negatives, fractions refused with 400', async () => {
    for (const key of ['priority', 'timeout']) {
      const max = await postParameters(`"${key}":18446744073709551615`);
      assert.equal(max.status, 200, `${key} 2^64-1: ${max.text}`);
      for (const value of ['18446744073709551616', '36893488147419103232', '1e30', '-1', '1.5', '"5"']) {
        const r = await postParameters(`"${key}":${value}`);
        assert.equal(r.status, 400, `${key} ${value}: ${r.text}`);
        assert.deepEqual(r.json(), { error: unsignedText(key) });
      }
    }
    for (const value of ['18446744073709551616', '-1', '1e30']) {
      const r = await postParameters(`"sequence_id":${value}`);
      assert.equal(r.status, 400, `sequence_id ${value}: ${r.text}`);
      assert.deepEqual(r.json(), { error: unsignedText('sequence_id') });
    }
  });

  const grpcInfer = (parameters: Record<string, InferParameter>) => {
    const raw = Buffer.from(new Int32Array(range(16)).buffer);
    const request = create(ModelInferRequestSchema, {
      modelName: 'simple',
      inputs: ['INPUT0', 'INPUT1'].map((name) => ({ name, datatype: 'INT32', shape: [1n, 16n] })),
      rawInputContents: [raw, raw],
      parameters,
    });
    return new Promise<ServiceError | null>((resolve) => client.ModelInfer(request, (e) => resolve(e)));
  };
  const p = (parameterChoice: InferParameter['parameterChoice']) =>
    create(InferParameterSchema, { parameterChoice });

  it('gRPC: a negative timeout or priority is INVALID_ARGUMENT; uint64 2^64 - 1 priority and int64 max timeout pass', async () => {
    const refused: [Record<string, InferParameter>, string][] = [
      [
        { timeout: p({ case: 'int64Param', value: -1n }) },
        "invalid value for 'timeout', expected value >= 0.",
      ],
      [
        { timeout: p({ case: 'int64Param', value: -(2n ** 63n) }) },
        "invalid value for 'timeout', expected value >= 0.",
      ],
      [
        { timeout: p({ case: 'uint64Param', value: 2n ** 64n - 1n }) },
        "invalid value type for 'timeout' parameter, expected int64_param.",
      ],
      [
        { priority: p({ case: 'int64Param', value: -1n }) },
        "invalid value for 'priority', expected value >= 0.",
      ],
      [
        { sequence_id: p({ case: 'uint64Param', value: 2n ** 64n - 1n }) },
        "invalid value type for 'sequence_id' parameter, expected int64_param or string_param.",
      ],
    ];
    for (const [parameters, details] of refused) {
      const err = await grpcInfer(parameters);
      assert.equal(err?.code, status.INVALID_ARGUMENT, details);
      assert.equal(err?.details, details);
    }
    assert.equal(await grpcInfer({ priority: p({ case: 'uint64Param', value: 2n ** 64n - 1n }) }), null);
    assert.equal(await grpcInfer({ timeout: p({ case: 'int64Param', value: 2n ** 63n - 1n }) }), null);
  });
});
