/**
 * BYTES tensors are carried byte-exact in both directions: the binary tensor extension and gRPC carry any
 * bytes (a PNG header: 0x89, NULs), JSON carries any valid UTF-8 (NUL, BOM, emoji included) and answers a
 * clear 400 for what a JSON string cannot carry, and a real ONNX Runtime model refuses what its string
 * tensors would alter instead of answering 200 with other bytes.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { request } from 'undici';
import type { InferRequest, InferResponse } from '../../../embedded-server/src/core/types.ts';
import { type RunningServer, startServer } from '../../../embedded-server/src/index.ts';
import { identityModel } from '../../../embedded-server/src/onnx/tiny-models.ts';
import {
  type GrpcServerHandle,
  startGrpcServer,
} from '../../../embedded-server/src/transport/grpc-server.ts';
import {
  type HttpServerHandle,
  startHttpServer,
} from '../../../embedded-server/src/transport/http-server.ts';
import { parseBytesElements, serializeBytesElements } from '../../../src/protocol/bytes-tensor.ts';
import { FakeClock } from '../../../src/protocol/clock.ts';
import { parseExactJson, stringifyExactJson } from '../../../src/protocol/exact-json.ts';
import { grpcResponseToWire, wireToGrpcRequest } from '../../../src/protocol/grpc-infer-codec.ts';
import {
  decodeHttpInferResponse,
  encodeHttpInferRequest,
  INFERENCE_HEADER,
} from '../../../src/protocol/http-infer-codec.ts';
import { jsonDataToTensorBytes, tensorToJsonElements } from '../../../src/protocol/json-tensor.ts';
import { InferenceError } from '../../../src/protocol/status.ts';
import type { Tensor } from '../../../src/protocol/tensor.ts';
import { grpcInferClient, type TempRepository, tempRepository } from '../../helpers/real-server.ts';
import { FakeCore } from './fake-core.ts';

/** The first 16 bytes of every PNG file: not UTF-8 (0x89) and with NULs. */
const PNG_HEADER = Uint8Array.from([
  0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52,
]);
const TEXTS = ['a\u0000b', 'café', '\u{1F600}', '\uFEFFbom first', '', 'x'.repeat(1000)];
const utf8 = new TextEncoder();

function bytesTensor(name: string, elements: readonly (Uint8Array | string)[]): Tensor {
  return { name, datatype: 'BYTES', shape: [1, elements.length], data: serializeBytesElements(elements) };
}

function elementsOf(t: Tensor | undefined): Uint8Array[] {
  assert.ok(t, 'output present');
  return parseBytesElements(t.data, { inputName: t.name, modelName: 'echo' });
}

/** A core whose model "echo" returns its input INPUT0 as OUTPUT0, untouched. */
class EchoCore extends FakeCore {
  override async infer(req: InferRequest): Promise<InferResponse> {
    if (req.modelName !== 'echo') return super.infer(req);
    const input = req.inputs[0] as Tensor;
    return {
      id: req.id,
      modelName: 'echo',
      modelVersion: '1',
      outputs: [{ ...input, name: 'OUTPUT0', data: Uint8Array.from(input.data) }],
    };
  }
}

describe('BYTES over JSON (codec)', () => {
  it('valid UTF-8 round-trips exactly, NUL, BOM and astral characters included', () => {
    const tensor = bytesTensor('T', TEXTS);
    const json = stringifyExactJson(tensorToJsonElements(tensor));
    const back = jsonDataToTensorBytes(parseExactJson(json), 'BYTES', [1, TEXTS.length], 'T');
    assert.deepEqual(back, tensor.data);
    assert.ok(json.includes('\\u0000'), 'NUL is escaped, not cut');
  });

  it('refuses bytes JSON cannot carry with a 400 that names the binary extension', () => {
    assert.throws(
      () => tensorToJsonElements(bytesTensor('OUT', ['ok', PNG_HEADER])),
      (e: unknown) =>
        e instanceof InferenceError &&
        e.httpStatus === 400 &&
        e.message ===
          "BYTES tensor 'OUT' element 1 is not valid UTF-8, which JSON cannot carry: request it with the binary tensor extension (binary_data: true)",
    );
    assert.throws(
      () => jsonDataToTensorBytes(parseExactJson('["ok", "\\ud800x"]'), 'BYTES', [2], 'IN'),
      /element 1 of BYTES input 'IN' holds a lone UTF-16 surrogate/,
    );
  });
});

describe('BYTES through the transports (echo core)', () => {
  const core = new EchoCore();
  let http: HttpServerHandle;
  let grpc: GrpcServerHandle;
  before(async () => {
    http = await startHttpServer({ core, host: '127.0.0.1', port: 0, clock: new FakeClock() });
    grpc = await startGrpcServer({ core, host: '127.0.0.1', port: 0, clock: new FakeClock() });
  });
  after(async () => {
    await http.close(false);
    await grpc.close(false);
  });

  async function httpInfer(binaryInputs: boolean, binaryOutputs: boolean, elements: (Uint8Array | string)[]) {
    const enc = encodeHttpInferRequest({
      parameters: {},
      inputs: [bytesTensor('INPUT0', elements)],
      outputs: [],
      binaryInputs,
      binaryOutputs,
    });
    const headers: Record<string, string> = {};
    if (enc.headerLength !== undefined) headers[INFERENCE_HEADER] = String(enc.headerLength);
    const res = await request(`http://127.0.0.1:${http.port}/v2/models/echo/infer`, {
      method: 'POST',
      body: enc.body,
      headers,
    });
    const body = Buffer.from(await res.body.arrayBuffer());
    const length = res.headers[INFERENCE_HEADER.toLowerCase()];
    return { status: res.statusCode, body, headerLength: length === undefined ? undefined : Number(length) };
  }

  it('binary extension both ways: a PNG header and NUL-holding text come back byte for byte', async () => {
    const elements = [PNG_HEADER, ...TEXTS];
    const r = await httpInfer(true, true, elements);
    assert.equal(r.status, 200, r.body.toString());
    const out = elementsOf(decodeHttpInferResponse(r.body, r.headerLength).outputs[0]);
    assert.deepEqual(
      out.map((e) => [...e]),
      elements.map((e) => [...(typeof e === 'string' ? utf8.encode(e) : e)]),
    );
  });

  it('JSON both ways: text round-trips exactly; a PNG header as a JSON output is a clear 400', async () => {
    const ok = await httpInfer(false, false, TEXTS);
    assert.equal(ok.status, 200, ok.body.toString());
    const out = elementsOf(decodeHttpInferResponse(ok.body).outputs[0]);
    assert.deepEqual(
      out.map((e) => [...e]),
      TEXTS.map((t) => [...utf8.encode(t)]),
    );
    const png = await httpInfer(true, false, [PNG_HEADER]);
    assert.equal(png.status, 400);
    assert.match(png.body.toString(), /not valid UTF-8, which JSON cannot carry/);
  });

  it('gRPC both ways: bytes_contents in, raw_output_contents out, byte for byte', async () => {
    const client = grpcInferClient(`127.0.0.1:${grpc.port}`);
    try {
      const elements = [PNG_HEADER, ...TEXTS];
      const req = wireToGrpcRequest({
        modelName: 'echo',
        modelVersion: '',
        parameters: {},
        inputs: [bytesTensor('INPUT0', elements)],
        outputs: [],
      });
      const res = await new Promise<Parameters<Parameters<typeof client.ModelInfer>[1]>[1]>(
        (resolve, reject) => client.ModelInfer(req, (err, r) => (err ? reject(err) : resolve(r))),
      );
      assert.ok(res);
      const out = elementsOf(grpcResponseToWire(res).outputs[0]);
      assert.deepEqual(
        out.map((e) => [...e]),
        elements.map((e) => [...(typeof e === 'string' ? utf8.encode(e) : e)]),
      );
    } finally {
      client.close();
    }
  });
});

describe('BYTES into a real ONNX Runtime model', () => {
  let repo: TempRepository;
  let server: RunningServer;
  before(async () => {
    repo = await tempRepository({
      echo: {
        config: `name: "echo"
platform: "onnxruntime_onnx"
max_batch_size: 4
input [ { name: "INPUT0" data_type: TYPE_STRING dims: [ -1 ] } ]
output [ { name: "OUTPUT0" data_type: TYPE_STRING dims: [ -1 ] } ]
instance_group [ { count: 1 kind: KIND_CPU } ]`,
        onnx: identityModel('BYTES'),
      },
    });
    server = await startServer({ modelRepository: repo.dir });
  });
  after(async () => {
    await server?.stop({ timeoutMs: 5000 });
    await repo?.remove();
  });

  async function infer(elements: (Uint8Array | string)[]) {
    const enc = encodeHttpInferRequest({
      parameters: {},
      inputs: [bytesTensor('INPUT0', elements)],
      outputs: [],
      binaryInputs: true,
      binaryOutputs: true,
    });
    const res = await request(`${server.httpUrl}/v2/models/echo/infer`, {
      method: 'POST',
      body: enc.body,
      headers: { [INFERENCE_HEADER]: String(enc.headerLength) },
    });
    const body = Buffer.from(await res.body.arrayBuffer());
    const length = res.headers[INFERENCE_HEADER.toLowerCase()];
    return { status: res.statusCode, body, headerLength: length === undefined ? undefined : Number(length) };
  }

  it('UTF-8 text without NUL round-trips exactly (a leading BOM kept)', async () => {
    const texts = ['café', '\u{1F600}', '\uFEFFbom first', ''];
    const r = await infer(texts);
    assert.equal(r.status, 200, r.body.toString());
    const out = elementsOf(decodeHttpInferResponse(r.body, r.headerLength).outputs[0]);
    assert.deepEqual(
      out.map((e) => [...e]),
      texts.map((t) => [...utf8.encode(t)]),
    );
  });

  it('refuses what ORT string tensors would alter (NUL, non-UTF-8) with a 400 instead of a corrupted 200', async () => {
    const nul = await infer(['ok', 'a\u0000b']);
    assert.equal(nul.status, 400);
    assert.match(
      nul.body.toString(),
      /BYTES element 1 of input 'INPUT0' for model 'echo' holds a NUL byte at offset 1/,
    );
    const png = await infer([PNG_HEADER]);
    assert.equal(png.status, 400);
    assert.match(png.body.toString(), /is not valid UTF-8|holds a NUL byte/);
    assert.match(png.body.toString(), /send binary data as a UINT8 tensor/);
  });
});
