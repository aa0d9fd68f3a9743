/**
 * What the server used to accept and then mishandle, now refused with a clear message: duplicate tensor
 * names in a config, requests during shutdown (503, not 404), requested outputs asking for extensions this
 * server does not implement (classification, shared memory), a negative gRPC timeout.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { create } from '@bufbuild/protobuf';
import { type RunningServer, startServer } from '../../../embedded-server/src/index.ts';
import { simpleAddSubModel } from '../../../embedded-server/src/onnx/tiny-models.ts';
import { InferParameterSchema } from '../../../src/protocol/gen/grpc_service_pb.ts';
import { grpcRequestParametersToWire } from '../../../src/protocol/infer-parameters.ts';
import { InferenceError } from '../../../src/protocol/status.ts';
import {
  postJson,
  range,
  SIMPLE_CONFIG,
  type TempRepository,
  tempRepository,
} from '../../helpers/real-server.ts';

const DUPLICATE_INPUTS = SIMPLE_CONFIG.replace('name: "simple"', 'name: "dup"').replace(
  '{ name: "INPUT1" data_type: TYPE_INT32 dims: [ 16 ] }',
  '{ name: "INPUT0" data_type: TYPE_INT32 dims: [ 16 ] }',
);

function inputs(): unknown[] {
  return [
    { name: 'INPUT0', datatype: 'INT32', shape: [1, 16], data: range(16) },
    { name: 'INPUT1', datatype: 'INT32', shape: [1, 16], data: range(16) },
  ];
}

describe('refusals', () => {
  let repo: TempRepository;
  let server: RunningServer;
  before(async () => {
    repo = await tempRepository({
      simple: { config: SIMPLE_CONFIG, onnx: simpleAddSubModel() },
      dup: { config: DUPLICATE_INPUTS, onnx: simpleAddSubModel() },
    });
    server = await startServer({ modelRepository: repo.dir });
  });
  after(async () => {
    await server?.stop({ timeoutMs: 5000 });
    await repo?.remove();
  });

  it('a config with a duplicate input name does not load READY; the reason names the input', () => {
    const dup = server.core.repositoryIndex(false).find((e) => e.name === 'dup');
    assert.equal(dup?.state, 'UNAVAILABLE');
    assert.match(dup?.reason ?? '', /input name 'INPUT0' appears more than once in the config/);
  });

  it('classification and shared-memory outputs are refused with 400, not ignored', async () => {
    const url = `${server.httpUrl}/v2/models/simple/infer`;
    const cls = await postJson(url, {
      inputs: inputs(),
      outputs: [{ name: 'OUTPUT0', parameters: { classification: 2 } }],
    });
    assert.equal(cls.status, 400);
    assert.match(cls.text, /classification extension is not supported by this server/);
    const shm = await postJson(url, {
      inputs: inputs(),
      outputs: [{ name: 'OUTPUT0', parameters: { shared_memory_region: 'r', shared_memory_byte_size: 64 } }],
    });
    assert.equal(shm.status, 400);
    assert.match(shm.text, /shared-memory extension is not supported by this server \(output 'OUTPUT0'/);
    // classification 0 means "off": accepted.
    const off = await postJson(url, {
      inputs: inputs(),
      outputs: [{ name: 'OUTPUT0', parameters: { classification: 0 } }],
    });
    assert.equal(off.status, 200, off.text);
  });

  it('a negative gRPC timeout is INVALID_ARG', () => {
    const param = (value: bigint) =>
      create(InferParameterSchema, { parameterChoice: { case: 'int64Param', value } });
    assert.throws(() => grpcRequestParametersToWire({ timeout: param(-1n) }), {
      message: "invalid value for 'timeout', expected value >= 0.",
    });
    assert.deepEqual(grpcRequestParametersToWire({ timeout: param(5n) }), { timeout: 5n });
  });

  it('a request after shutdown began is 503 UNAVAILABLE, not 404 unknown model', async () => {
    const running = await startServer({ modelRepository: repo.dir });
    await running.stop({ timeoutMs: 5000 });
    await assert.rejects(
      running.core.infer({
        id: 'late',
        modelName: 'simple',
        modelVersion: '',
        inputs: [],
        outputs: [],
        parameters: {},
        priority: 0,
        timeoutUs: 0,
        binaryDataOutput: false,
        receivedNs: 0,
      }),
      (e: unknown) => e instanceof InferenceError && e.code === 'UNAVAILABLE' && e.httpStatus === 503,
    );
  });
});
