/**
 * The load generator's unary gRPC calls (node:http2, src/transport/grpc-unary-http2.ts) against the reference
 * server (grpc-js, HTTP/2 windows widened, large messages moved to the core without a copy): every byte of
 * FP32 and BYTES tensors comes back as sent, small and large (a message of 4 KiB or more takes the
 * request-owned path), plain and compressed, with the server's ingress threads on and off.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type RunningServer, startServer } from '../../embedded-server/src/index.ts';
import { identityModel } from '../../embedded-server/src/onnx/tiny-models.ts';
import { parseBytesElements, serializeBytesElements } from '../../src/protocol/bytes-tensor.ts';
import { systemClock } from '../../src/protocol/clock.ts';
import type { Tensor } from '../../src/protocol/tensor.ts';
import type { RequestSpec } from '../../src/transport/client.ts';
import { createGrpcClient } from '../../src/transport/grpc-client.ts';
import { keptResponseOutputs } from '../../src/transport/kept-response.ts';
import { type TempRepository, tempRepository } from '../helpers/real-server.ts';

const config = (name: string, type: string) => `name: "${name}"
platform: "onnxruntime_onnx"
max_batch_size: 8
input [ { name: "INPUT0" data_type: ${type} dims: [ -1 ] } ]
output [ { name: "OUTPUT0" data_type: ${type} dims: [ -1 ] } ]
instance_group [ { count: 1 kind: KIND_CPU } ]
dynamic_batching { }`;

function spec(model: string, input: Tensor): RequestSpec {
  return {
    modelName: model,
    modelVersion: '',
    inputs: [input],
    outputs: [],
    binaryOutputs: true,
    binaryInputs: true,
    parameters: {},
  };
}

function fp32(n: number): Tensor {
  const values = Float32Array.from({ length: n }, (_, i) => i * 0.5 - 7.25);
  return { name: 'INPUT0', datatype: 'FP32', shape: [1, n], data: new Uint8Array(values.buffer) };
}

function strings(texts: string[]): Tensor {
  return { name: 'INPUT0', datatype: 'BYTES', shape: [1, texts.length], data: serializeBytesElements(texts) };
}

describe('unary gRPC client against the reference server', () => {
  let repo: TempRepository;
  const servers: RunningServer[] = [];

  before(async () => {
    repo = await tempRepository({
      identity_fp32: { config: config('identity_fp32', 'TYPE_FP32'), onnx: identityModel('FP32') },
      echo: { config: config('echo', 'TYPE_STRING'), onnx: identityModel('BYTES') },
    });
    servers.push(await startServer({ modelRepository: repo.dir, host: '127.0.0.1' }));
    servers.push(await startServer({ modelRepository: repo.dir, host: '127.0.0.1', httpThreadCount: 2 }));
  });
  after(async () => {
    for (const s of servers) await s.stop({ timeoutMs: 5000 });
    await repo?.remove();
  });

  const cases: [string, Tensor][] = [
    ['FP32, 16 elements', fp32(16)],
    ['FP32, 110,592 bytes (text_direction-sized)', fp32(27_648)],
    ['BYTES, short strings', strings(['café', '\u{1F600}', '', 'x'])],
    ['BYTES, 64 KiB of strings', strings(Array.from({ length: 64 }, (_, i) => `${i}:${'é'.repeat(511)}`))],
  ];

  for (const threads of [0, 2]) {
    for (const compression of ['none', 'gzip', 'deflate'] as const) {
      it(`returns every byte as sent (${threads} ingress threads, compression ${compression})`, async () => {
        const server = servers[threads === 0 ? 0 : 1] as RunningServer;
        const client = createGrpcClient({
          url: server.grpcUrl,
          clock: systemClock,
          connections: 2,
          headers: {},
          grpcCompression: compression,
        });
        client.keepResponses?.(true);
        try {
          for (const [label, input] of cases) {
            const model = input.datatype === 'BYTES' ? 'echo' : 'identity_fp32';
            const prepared = client.prepare(spec(model, input));
            // Concurrent calls, so the server batches them; each must still get its own bytes back.
            const outs = await Promise.all([0, 1, 2].map(() => client.infer(prepared, 10_000)));
            for (const out of outs) {
              assert.equal(out.ok, true, `${label}: ${out.errorKind} ${out.errorMessage}`);
              const output = keptResponseOutputs(
                out.response as NonNullable<typeof out.response>,
              )[0] as Tensor;
              assert.deepEqual(output.shape, input.shape, label);
              if (input.datatype === 'BYTES') {
                const names = { inputName: 'OUTPUT0', modelName: 'echo' };
                assert.deepEqual(
                  parseBytesElements(output.data, names).map((e) => Buffer.from(e).toString('utf8')),
                  parseBytesElements(input.data, names).map((e) => Buffer.from(e).toString('utf8')),
                  label,
                );
              } else {
                assert.deepEqual(Buffer.from(output.data), Buffer.from(input.data), label);
              }
            }
          }
        } finally {
          await client.close();
        }
      });
    }
  }
});
