import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import { serializeBytesElements } from '../../../src/protocol/bytes-tensor.ts';
import {
  InferParameterSchema,
  ModelInferRequestSchema,
  ModelInferResponseSchema,
} from '../../../src/protocol/gen/grpc_service_pb.ts';
import { ModelConfigSchema } from '../../../src/protocol/gen/model_config_pb.ts';
import {
  grpcRequestToWire,
  grpcResponseToWire,
  wireToGrpcRequest,
  wireToGrpcResponse,
} from '../../../src/protocol/grpc-infer-codec.ts';
import { inferenceServiceDefinition, preencodedModelInfer } from '../../../src/protocol/grpc-service.ts';
import {
  binaryOutputSelector,
  decodeHttpInferRequest,
  decodeHttpInferResponse,
  decodeRawHttpInferRequest,
  encodeHttpInferRequest,
  encodeHttpInferResponse,
  parseInferenceHeaderLength,
} from '../../../src/protocol/http-infer-codec.ts';
import {
  extractRequestParameters,
  grpcRequestParametersToWire,
} from '../../../src/protocol/infer-parameters.ts';
import { modelConfigFromJson, modelConfigToJson } from '../../../src/protocol/model-config-json.ts';
import { InferenceError } from '../../../src/protocol/status.ts';
import type { Tensor } from '../../../src/protocol/tensor.ts';

function rejects(fn: () => unknown, message: string | RegExp, code = 'INVALID_ARG'): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof InferenceError, `not an InferenceError: ${String(e)}`);
    if (typeof message === 'string') assert.equal(e.message, message);
    else assert.match(e.message, message);
    assert.equal(e.code, code);
    return true;
  });
}

const int64Tensor: Tensor = {
  name: 'A',
  datatype: 'INT64',
  shape: [1, 2],
  data: new Uint8Array(new BigInt64Array([9007199254740993n, -5n]).buffer),
};
const bytesTensor: Tensor = {
  name: 'S',
  datatype: 'BYTES',
  shape: [2],
  data: serializeBytesElements(['x', 'yz']),
};
const fp16Tensor: Tensor = { name: 'H', datatype: 'FP16', shape: [1], data: new Uint8Array([0, 60]) };

function httpDecode(json: string, blobs: Uint8Array[] = [], headerLength?: number) {
  const body = Buffer.concat([Buffer.from(json), ...blobs]);
  return decodeHttpInferRequest(
    body,
    headerLength ?? (blobs.length ? Buffer.byteLength(json) : undefined),
    'm',
  );
}

describe('http-infer-codec request', () => {
  it('round-trips JSON and binary inputs through client encode and server decode', () => {
    for (const binaryInputs of [false, true]) {
      const { body, headerLength } = encodeHttpInferRequest({
        id: '7',
        parameters: { priority: 2, custom: 'v' },
        inputs: [int64Tensor, bytesTensor],
        outputs: ['OUT'],
        binaryInputs,
        binaryOutputs: true,
      });
      assert.equal(headerLength !== undefined, binaryInputs);
      const wire = decodeHttpInferRequest(body, headerLength, 'm');
      assert.equal(wire.id, '7');
      assert.deepEqual(wire.parameters, { priority: 2, custom: 'v' });
      assert.deepEqual(
        wire.inputs.map((t) => [t.name, t.datatype, t.shape, [...t.data]]),
        [int64Tensor, bytesTensor].map((t) => [t.name, t.datatype, t.shape, [...t.data]]),
      );
      assert.deepEqual(wire.outputs, [{ name: 'OUT', parameters: { binary_data: true } }]);
    }
  });

  it('FP16 inputs travel binary only', () => {
    const { body, headerLength } = encodeHttpInferRequest({
      parameters: {},
      inputs: [fp16Tensor],
      outputs: [],
      binaryInputs: true,
      binaryOutputs: true,
    });
    const wire = decodeHttpInferRequest(body, headerLength, 'm');
    assert.deepEqual([...(wire.inputs[0] as Tensor).data], [0, 60]);
    assert.equal(wire.parameters.binary_data_output, true);
    rejects(
      () => httpDecode('{"inputs":[{"name":"H","datatype":"FP16","shape":[1],"data":[1]}]}'),
      'receiving FP16 data via JSON is not supported. Please use the binary data format for input H',
    );
  });

  it('reports the Triton texts for malformed requests', () => {
    rejects(() => httpDecode('{"inputs":['), 'failed to parse the request JSON buffer: Invalid value. at 11');
    rejects(
      () => httpDecode('{}'),
      "Unable to parse 'inputs': attempt to access non-existing object member 'inputs'",
    );
    rejects(
      () => httpDecode('{"id":1,"inputs":[]}'),
      "Unable to parse 'id': attempt to access JSON non-string as string",
    );
    rejects(
      () => httpDecode('{"inputs":[{"name":"a","datatype":"INT32","shape":[-1],"data":[]}]}'),
      "Unable to parse 'shape': attempt to access JSON non-unsigned-integer as unsigned-integer",
    );
    rejects(
      () => httpDecode('{"inputs":[{"name":"a","datatype":"INT33","shape":[1],"data":[1]}]}'),
      'invalid datatype for input a',
    );
    rejects(
      () => httpDecode('{"inputs":[{"name":"a","datatype":"INT32","shape":[1]}]}'),
      "Input must set only one of the following fields: 'data', 'binary_data_size' in 'parameters', 'shared_memory_region' in 'parameters'. But no field is set",
    );
    rejects(
      () =>
        httpDecode(
          '{"inputs":[{"name":"a","datatype":"INT32","shape":[1],"data":[1],"parameters":{"binary_data_size":4}}]}',
        ),
      "Input must set only one of the following fields: 'data', 'binary_data_size' in 'parameters', 'shared_memory_region' in 'parameters'. But set 'data' 'binary_data_size'",
    );
    rejects(
      () => httpDecode('{"parameters":{"triton_x":1},"inputs":[]}'),
      "parameter keys starting with 'triton_' are reserved for Triton usage and should not be specified.",
    );
    rejects(
      () => httpDecode('{"parameters":{"k":[1]},"inputs":[]}'),
      "parameter 'k' has invalid type. It should be either 'int', 'bool', or 'string'.",
    );
    rejects(
      () => httpDecode('{"parameters":{"priority":-1},"inputs":[]}'),
      "Unable to parse 'priority': attempt to access JSON non-unsigned-integer as unsigned-integer",
    );
    rejects(
      () => httpDecode('{"parameters":{"binary_data_output":1},"inputs":[]}'),
      "Unable to parse 'binary_data_output': attempt to access JSON non-boolean as boolean",
    );
    rejects(
      () =>
        httpDecode(
          '{"inputs":[],"outputs":[{"name":"o","parameters":{"binary_data":true,"shared_memory_region":"r"}}]}',
        ),
      "Output can't set both 'shared_memory_region' and 'binary_data'",
    );
  });

  it('checks binary blob sizes', () => {
    const json =
      '{"inputs":[{"name":"a","datatype":"INT32","shape":[2],"parameters":{"binary_data_size":8}}]}';
    rejects(
      () => httpDecode(json, [new Uint8Array(4)]),
      "unexpected size for input 'a', expecting 8 additional bytes for model 'm'",
    );
    rejects(() => httpDecode(json, [new Uint8Array(12)]), "unexpected additional input data for model 'm'");
    const ok = httpDecode(json, [new Uint8Array([1, 0, 0, 0, 2, 0, 0, 0])]);
    assert.deepEqual([...new Int32Array(new Uint8Array((ok.inputs[0] as Tensor).data).buffer)], [1, 2]);
  });

  it('parses Inference-Header-Content-Length like Triton', () => {
    assert.equal(parseInferenceHeaderLength(undefined, 10), undefined);
    assert.equal(parseInferenceHeaderLength('4', 10), 4);
    rejects(
      () => parseInferenceHeaderLength('abc', 10),
      'Unable to parse Inference-Header-Content-Length, got: abc',
    );
    rejects(
      () => parseInferenceHeaderLength('99999999999', 10),
      'Unable to parse Inference-Header-Content-Length, value is out of range [ -2147483648, 2147483647 ], got: 99999999999',
    );
    rejects(
      () => parseInferenceHeaderLength('11', 10),
      'inference header size should be in range (0, 10), got: 11',
    );
    rejects(
      () => parseInferenceHeaderLength('-1', 10),
      'inference header size should be in range (0, 10), got: -1',
    );
  });

  it('decodes a raw binary request against the model config', () => {
    const config = create(ModelConfigSchema, {
      name: 'm',
      maxBatchSize: 8,
      input: [{ name: 'IN', dataType: 11, dims: [-1n, 2n] }],
    });
    const wire = decodeRawHttpInferRequest(new Uint8Array(24), 'm', config);
    assert.deepEqual((wire.inputs[0] as Tensor).shape, [1, 3, 2]);
    assert.equal(wire.parameters.binary_data_output, true);
    const two = create(ModelConfigSchema, { input: [{ name: 'A' }, { name: 'B' }, { name: 'C' }] });
    rejects(
      () => decodeRawHttpInferRequest(new Uint8Array(4), 'm', two),
      "Raw request must only have 1 input (found 1) to be deduced but got 3 inputs in 'm' model configuration",
    );
    const str = create(ModelConfigSchema, { input: [{ name: 'INPUT0', dataType: 13, dims: [2n] }] });
    rejects(
      () => decodeRawHttpInferRequest(new Uint8Array(4), 'm', str),
      "For BYTE datatype raw input 'INPUT0', the model must have input shape [1]",
    );
    const vars = create(ModelConfigSchema, { input: [{ name: 'INPUT0', dataType: 11, dims: [-1n, -1n] }] });
    rejects(
      () => decodeRawHttpInferRequest(new Uint8Array(4), 'm', vars),
      "The shape of the raw input 'INPUT0' can not be deduced because there are more than one variable-sized dimension",
    );
  });
});

describe('http-infer-codec response', () => {
  it('applies the binary_data_output quirk: listed outputs need their own binary_data', () => {
    const listedNoFlag = binaryOutputSelector([{ name: 'A' }, { name: 'B', binaryData: true }], true);
    assert.equal(listedNoFlag('A'), false);
    assert.equal(listedNoFlag('B'), true);
    assert.equal(binaryOutputSelector([], true)('A'), true);
    assert.equal(binaryOutputSelector([], false)('A'), false);
  });

  it('encodes mixed JSON/binary outputs without copying blobs and decodes them back exactly', () => {
    const res = {
      id: '',
      modelName: 'm',
      modelVersion: '1',
      outputs: [int64Tensor, bytesTensor, fp16Tensor],
    };
    const enc = encodeHttpInferResponse(res, (n) => n !== 'A');
    assert.equal(enc.contentType, 'application/octet-stream');
    assert.equal(enc.chunks[1], bytesTensor.data, 'blob is the tensor bytes themselves');
    const header = Buffer.from(enc.chunks[0] as Uint8Array).toString();
    assert.equal(
      header,
      '{"model_name":"m","model_version":"1","outputs":[{"name":"A","datatype":"INT64","shape":[1,2],"data":[9007199254740993,-5]},' +
        '{"name":"S","datatype":"BYTES","shape":[2],"parameters":{"binary_data_size":11}},' +
        '{"name":"H","datatype":"FP16","shape":[1],"parameters":{"binary_data_size":2}}]}',
    );
    assert.equal(enc.headerLength, enc.chunks[0]?.byteLength);
    const back = decodeHttpInferResponse(Buffer.concat(enc.chunks), enc.headerLength);
    assert.deepEqual(
      back.outputs.map((t) => [t.name, [...t.data]]),
      res.outputs.map((t) => [t.name, [...t.data]]),
    );
    const json = encodeHttpInferResponse({ ...res, id: 'x', outputs: [int64Tensor] }, () => false);
    assert.equal(json.contentType, 'application/json');
    assert.equal(json.headerLength, undefined);
    assert.match(Buffer.from(json.chunks[0] as Uint8Array).toString(), /^\{"id":"x","model_name"/);
    rejects(
      () => encodeHttpInferResponse({ ...res, outputs: [fp16Tensor] }, () => false),
      'sending FP16 data via JSON is not supported. Please use the binary data format for output',
    );
  });
});

function grpcParam(
  value: boolean | bigint | string,
  kind: 'boolParam' | 'int64Param' | 'stringParam' | 'uint64Param',
) {
  return create(InferParameterSchema, { parameterChoice: { case: kind, value } as never });
}

describe('grpc-infer-codec', () => {
  it('round-trips a raw request and response through protobuf bytes', () => {
    const req = wireToGrpcRequest({
      modelName: 'm',
      modelVersion: '1',
      id: 'r',
      parameters: { priority: 1, big: 2n ** 63n },
      inputs: [int64Tensor, bytesTensor],
      outputs: ['A'],
    });
    const decoded = fromBinary(ModelInferRequestSchema, toBinary(ModelInferRequestSchema, req));
    assert.deepEqual(decoded.parameters.big?.parameterChoice, { case: 'uint64Param', value: 2n ** 63n });
    delete decoded.parameters.big;
    const wire = grpcRequestToWire(decoded);
    assert.equal(wire.id, 'r');
    assert.deepEqual(wire.parameters, { priority: 1n });
    assert.deepEqual(
      wire.inputs.map((t) => [t.name, t.shape, [...t.data]]),
      [
        ['A', [1, 2], [...int64Tensor.data]],
        ['S', [2], [...bytesTensor.data]],
      ],
    );
    const res = wireToGrpcResponse({ id: 'r', modelName: 'm', modelVersion: '1', outputs: [int64Tensor] });
    assert.equal(res.rawOutputContents.length, 1);
    assert.equal(res.outputs[0]?.contents, undefined);
    const back = grpcResponseToWire(
      fromBinary(ModelInferResponseSchema, toBinary(ModelInferResponseSchema, res)),
    );
    assert.deepEqual([...(back.outputs[0] as Tensor).data], [...int64Tensor.data]);
  });

  it('narrows typed contents to the datatype width', () => {
    const req = create(ModelInferRequestSchema, {
      modelName: 'm',
      inputs: [
        { name: 'a', datatype: 'INT8', shape: [2n], contents: { intContents: [-1, 5] } },
        { name: 'b', datatype: 'UINT16', shape: [1n], contents: { uintContents: [65535] } },
        { name: 'c', datatype: 'BOOL', shape: [2n], contents: { boolContents: [true, false] } },
        { name: 'd', datatype: 'BYTES', shape: [1n], contents: { bytesContents: [new Uint8Array([7])] } },
        { name: 'e', datatype: 'FP32', shape: [1n], contents: { fp32Contents: [1.5] } },
      ],
    });
    const wire = grpcRequestToWire(req);
    assert.deepEqual(
      wire.inputs.map((t) => [...t.data]),
      [[255, 5], [255, 255], [1, 0], [1, 0, 0, 0, 7], [...new Uint8Array(new Float32Array([1.5]).buffer)]],
    );
    const resp = create(ModelInferResponseSchema, {
      outputs: [{ name: 'o', datatype: 'INT64', shape: [1n], contents: { int64Contents: [-2n] } }],
    });
    assert.deepEqual(
      [...(grpcResponseToWire(resp).outputs[0] as Tensor).data],
      [254, 255, 255, 255, 255, 255, 255, 255],
    );
  });

  it('reports the Triton texts for bad inputs', () => {
    const mixed = create(ModelInferRequestSchema, {
      modelName: 'm',
      inputs: [{ name: 'a', datatype: 'INT32', shape: [1n], contents: { intContents: [1] } }],
      rawInputContents: [new Uint8Array(4)],
    });
    rejects(
      () => grpcRequestToWire(mixed),
      "contents field must not be specified when using raw_input_contents for 'a' for model 'm'",
    );
    const wrong = create(ModelInferRequestSchema, {
      modelName: 'm',
      inputs: [{ name: 'a', datatype: 'FP32', shape: [1n], contents: { intContents: [1] } }],
    });
    rejects(
      () => grpcRequestToWire(wrong),
      "unexpected explicit tensor data for input tensor 'a' for model 'm' of type 'FP32', expected datatype 'INT32'",
    );
    const none = create(ModelInferRequestSchema, {
      modelName: 'm',
      inputs: [{ name: 'a', datatype: 'FP32', shape: [1n] }],
    });
    rejects(
      () => grpcRequestToWire(none),
      "unable to find data for input tensor 'a' for model 'm' in request.",
    );
  });

  it('applies the gRPC parameter rules', () => {
    rejects(
      () => grpcRequestParametersToWire({ priority: grpcParam('x', 'stringParam') }),
      "invalid value type for 'priority' parameter, expected int64_param or uint64_param.",
    );
    rejects(
      () => grpcRequestParametersToWire({ priority: grpcParam(-1n, 'int64Param') }),
      "invalid value for 'priority', expected value >= 0.",
    );
    rejects(
      () => grpcRequestParametersToWire({ timeout: grpcParam(true, 'boolParam') }),
      "invalid value type for 'timeout' parameter, expected int64_param.",
    );
    rejects(
      () => grpcRequestParametersToWire({ k: grpcParam(1n, 'uint64Param') }),
      "invalid value type for 'k' parameter, expected int64_param, bool_param, or string_param.",
    );
    rejects(
      () => grpcRequestParametersToWire({ triton_x: grpcParam(true, 'boolParam') }),
      "parameter keys starting with 'triton_' are reserved for Triton usage and should not be specified.",
    );
    const ok = grpcRequestParametersToWire({
      priority: grpcParam(3n, 'uint64Param'),
      timeout: grpcParam(500n, 'int64Param'),
      triton_enable_empty_final_response: grpcParam(true, 'boolParam'),
      custom: grpcParam('v', 'stringParam'),
    });
    assert.deepEqual(extractRequestParameters(ok), {
      priority: 3,
      timeoutUs: 500,
      binaryDataOutput: false,
      parameters: { custom: 'v' },
    });
  });
});

describe('grpc-service', () => {
  it('defines every RPC of the proto with Triton paths and a byte-level ModelInfer', () => {
    assert.equal(Object.keys(inferenceServiceDefinition).length, 20);
    assert.equal(inferenceServiceDefinition.ModelInfer?.path, '/inference.GRPCInferenceService/ModelInfer');
    assert.equal(inferenceServiceDefinition.ModelStreamInfer?.requestStream, true);
    assert.equal(inferenceServiceDefinition.ModelStreamInfer?.responseStream, true);
    const bytes = new Uint8Array([1, 2, 3]);
    assert.deepEqual([...preencodedModelInfer.requestSerialize(bytes)], [1, 2, 3]);
  });
});

describe('model-config-json', () => {
  it('writes proto names, defaults, enum names and 64-bit numbers; reads it back', () => {
    const config = create(ModelConfigSchema, {
      name: 'm',
      platform: 'onnxruntime_onnx',
      maxBatchSize: 8,
      input: [{ name: 'IN', dataType: 11, dims: [-1n, 9007199254740993n] }],
      schedulingChoice: { case: 'dynamicBatching', value: { maxQueueDelayMicroseconds: 100n } },
    });
    const json = modelConfigToJson(config);
    assert.equal(json.max_batch_size, 8);
    assert.equal(json.version_policy, undefined);
    const input = (json.input as Record<string, unknown>[])[0] as Record<string, unknown>;
    assert.equal(input.data_type, 'TYPE_FP32');
    assert.deepEqual(input.dims, [-1, 9007199254740993n]);
    assert.equal(input.is_shape_tensor, false);
    assert.equal((json.dynamic_batching as Record<string, unknown>).max_queue_delay_microseconds, 100);
    const back = modelConfigFromJson(json);
    assert.deepEqual(back.input[0]?.dims, [-1n, 9007199254740993n]);
    assert.equal(
      back.schedulingChoice.case === 'dynamicBatching' &&
        back.schedulingChoice.value.maxQueueDelayMicroseconds,
      100n,
    );
    rejects(
      () => modelConfigFromJson({ name: 'm', bogus: 1 }),
      /^failed to parse model configuration JSON: .*bogus/,
    );
  });
});
