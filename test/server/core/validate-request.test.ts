import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fromText } from '@bufbuild/protobuf/txtpb';
import type { InferRequest } from '../../../embedded-server/src/core/types.ts';
import { createRequestValidator } from '../../../embedded-server/src/core/validate-request.ts';
import { serializeBytesElements } from '../../../src/protocol/bytes-tensor.ts';
import type { Datatype } from '../../../src/protocol/datatypes.ts';
import { ModelConfigSchema } from '../../../src/protocol/gen/model_config_pb.ts';
import { InferenceError } from '../../../src/protocol/status.ts';
import type { Tensor } from '../../../src/protocol/tensor.ts';

const SIMPLE = fromText(
  ModelConfigSchema,
  `name: "simple" max_batch_size: 8
   input [ { name: "INPUT0" data_type: TYPE_INT32 dims: [ 16 ] }, { name: "INPUT1" data_type: TYPE_INT32 dims: [ 16 ] } ]
   output [ { name: "OUTPUT0" data_type: TYPE_INT32 dims: [ 16 ] }, { name: "OUTPUT1" data_type: TYPE_INT32 dims: [ 16 ] } ]`,
);
const NOBATCH = fromText(
  ModelConfigSchema,
  `name: "nb" max_batch_size: 0
   input [ { name: "X" data_type: TYPE_FP32 dims: [ -1, 4 ] }, { name: "OPT" data_type: TYPE_FP32 dims: [ 1 ] optional: true } ]
   output [ { name: "Y" data_type: TYPE_FP32 dims: [ -1, 4 ] } ]`,
);
const STRINGS = fromText(
  ModelConfigSchema,
  `name: "str" max_batch_size: 4
   input [ { name: "S" data_type: TYPE_STRING dims: [ 2 ] } ]
   output [ { name: "O" data_type: TYPE_STRING dims: [ 2 ] } ]`,
);

function tensor(name: string, datatype: Datatype, shape: number[], bytes?: number): Tensor {
  const count = shape.reduce((a, b) => a * Math.max(b, 0), 1);
  return { name, datatype, shape, data: new Uint8Array(bytes ?? count * 4) };
}

function request(modelName: string, inputs: Tensor[], extra: Partial<InferRequest> = {}): InferRequest {
  return {
    id: '',
    modelName,
    modelVersion: '',
    inputs,
    outputs: [],
    parameters: {},
    priority: 0,
    timeoutUs: 0,
    binaryDataOutput: false,
    receivedNs: 0,
    ...extra,
  };
}

function rejects(fn: () => unknown, message: string): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof InferenceError);
    assert.equal(e.code, 'INVALID_ARG');
    assert.equal(e.message, message);
    return true;
  });
}

describe('createRequestValidator (Triton §9 texts)', () => {
  const simple = createRequestValidator(SIMPLE);
  const nobatch = createRequestValidator(NOBATCH);
  const strings = createRequestValidator(STRINGS);
  const pair = (b: number) => [tensor('INPUT0', 'INT32', [b, 16]), tensor('INPUT1', 'INT32', [b, 16])];

  it('refuses a duplicated input, whether the request has a few inputs or a huge number', () => {
    // Both paths of the duplicate check: pairwise for a few inputs, a Set beyond (pairwise would be quadratic).
    rejects(
      () => simple(request('simple', [...pair(1), tensor('INPUT0', 'INT32', [1, 16])])),
      "input 'INPUT0' already exists in request",
    );
    const many = Array.from({ length: 20_000 }, (_, i) => tensor(`IN${i}`, 'INT32', [1, 16], 0));
    many.push(tensor('IN7', 'INT32', [1, 16], 0));
    rejects(() => simple(request('simple', many)), "input 'IN7' already exists in request");
  });

  it('accepts a valid request and reports its batch size', () => {
    assert.deepEqual(simple(request('simple', pair(3))), { batchSize: 3 });
    assert.deepEqual(nobatch(request('nb', [tensor('X', 'FP32', [2, 4])])), { batchSize: 1 });
  });

  it('unknown requested output (no request-id prefix)', () => {
    rejects(
      () => simple(request('simple', pair(1), { outputs: [{ name: 'NOPE' }] })),
      "unexpected inference output 'NOPE' for model 'simple'",
    );
  });

  it('unknown input name (no prefix)', () => {
    rejects(
      () =>
        simple(request('simple', [tensor('INPUT0', 'INT32', [1, 16]), tensor('BOGUS', 'INT32', [1, 16])])),
      "unexpected inference input 'BOGUS' for model 'simple'",
    );
  });

  it('missing required input, exact count variant', () => {
    rejects(
      () => simple(request('simple', [tensor('INPUT0', 'INT32', [1, 16])], { id: '7' })),
      "[request id: 7] expected 2 inputs but got 1 inputs for model 'simple'. Got input(s) ['INPUT0'], " +
        "but missing required input(s) ['INPUT1']. Please provide all required input(s).",
    );
  });

  it('missing required input with optional inputs: range variant', () => {
    rejects(
      () => nobatch(request('nb', [])),
      "[request id: <id_unknown>] expected number of inputs between 1 and 2 but got 0 inputs for model 'nb'. " +
        "Got input(s) [], but missing required input(s) ['X']. Please provide all required input(s).",
    );
  });

  it('datatype mismatch', () => {
    rejects(
      () =>
        simple(request('simple', [tensor('INPUT0', 'FP32', [1, 16]), tensor('INPUT1', 'INT32', [1, 16])])),
      "[request id: <id_unknown>] inference input 'INPUT0' data-type is 'FP32', but model 'simple' expects 'INT32'",
    );
  });

  it('shape mismatch on a batching model carries the NOTE', () => {
    rejects(
      () =>
        simple(request('simple', [tensor('INPUT0', 'INT32', [1, 15]), tensor('INPUT1', 'INT32', [1, 16])])),
      "[request id: <id_unknown>] unexpected shape for input 'INPUT0' for model 'simple'. Expected [-1,16], got [1,15]. " +
        'NOTE: Setting a non-zero max_batch_size in the model config requires a batch dimension to be prepended ' +
        'to each input shape. If you want to specify the full shape including the batch dim in your input dims ' +
        'config, try setting max_batch_size to zero. See the model configuration docs for more info on max_batch_size.',
    );
  });

  it('shape mismatch on a non-batching model has no NOTE', () => {
    rejects(
      () => nobatch(request('nb', [tensor('X', 'FP32', [2, 5])])),
      "[request id: <id_unknown>] unexpected shape for input 'X' for model 'nb'. Expected [-1,4], got [2,5]. ",
    );
  });

  it('-1 in a request shape', () => {
    rejects(
      () => nobatch(request('nb', [tensor('X', 'FP32', [-1, 4], 16)])),
      "[request id: <id_unknown>] All input dimensions should be specified for input 'X' for model 'nb', got [-1,4]",
    );
  });

  it('scalar input to a batching model', () => {
    rejects(
      () => simple(request('simple', [tensor('INPUT0', 'INT32', []), tensor('INPUT1', 'INT32', [1, 16])])),
      "[request id: <id_unknown>] input 'INPUT0' has no shape but model requires batch dimension for 'simple'",
    );
  });

  it('inputs disagree on the batch dimension', () => {
    rejects(
      () =>
        simple(request('simple', [tensor('INPUT0', 'INT32', [2, 16]), tensor('INPUT1', 'INT32', [3, 16])])),
      "[request id: <id_unknown>] input 'INPUT1' batch size does not match other inputs for 'simple'",
    );
  });

  it('batch too large', () => {
    rejects(
      () => simple(request('simple', pair(9))),
      "[request id: <id_unknown>] inference request batch-size must be <= 8 for 'simple'",
    );
  });

  it('byte size mismatch', () => {
    rejects(
      () =>
        simple(
          request('simple', [tensor('INPUT0', 'INT32', [1, 16], 60), tensor('INPUT1', 'INT32', [1, 16])]),
        ),
      "[request id: <id_unknown>] input byte size mismatch for input 'INPUT0' for model 'simple'. Expected 64, got 60",
    );
  });

  it('BYTES: counts elements by walking the length prefixes', () => {
    const ok: Tensor = {
      name: 'S',
      datatype: 'BYTES',
      shape: [1, 2],
      data: serializeBytesElements(['a', 'bc']),
    };
    assert.deepEqual(strings(request('str', [ok])), { batchSize: 1 });
    const few: Tensor = { ...ok, data: serializeBytesElements(['a']) };
    rejects(
      () => strings(request('str', [few])),
      "[request id: <id_unknown>] expected 2 string elements for inference input 'S' for model 'str', got 1",
    );
    const many: Tensor = { ...ok, data: serializeBytesElements(['a', 'b', 'c']) };
    rejects(
      () => strings(request('str', [many])),
      "[request id: <id_unknown>] unexpected number of string elements 3 for inference input 'S' for model 'str', expecting 2",
    );
    const cut: Tensor = { ...ok, data: serializeBytesElements(['a', 'b']).subarray(0, 7) };
    rejects(
      () => strings(request('str', [cut])),
      '[request id: <id_unknown>] element byte size indicator exceeds the end of the buffer.',
    );
  });
});
