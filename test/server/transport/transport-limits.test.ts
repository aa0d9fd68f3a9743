/**
 * The transports' bounds: HTTP body size before and after decompression, the JSON part of a body, gRPC
 * message size (decompressed too), header/body/idle timeouts and the connection limit. Each refusal is a
 * clear 4xx or gRPC status, and the server keeps serving afterwards.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { credentials, makeGenericClientConstructor, type ServiceError } from '@grpc/grpc-js';
import {
  type GrpcServerHandle,
  startGrpcServer,
} from '../../../embedded-server/src/transport/grpc-server.ts';
import {
  type HttpServerHandle,
  startHttpServer,
} from '../../../embedded-server/src/transport/http-server.ts';
import { FakeClock } from '../../../src/protocol/clock.ts';
import type { ModelInferRequest, ModelInferResponse } from '../../../src/protocol/gen/grpc_service_pb.ts';
import { wireToGrpcRequest } from '../../../src/protocol/grpc-infer-codec.ts';
import { inferenceServiceDefinition } from '../../../src/protocol/grpc-service.ts';
import type { Tensor } from '../../../src/protocol/tensor.ts';
import { FakeCore, int32Tensor } from './fake-core.ts';

const core = new FakeCore();
const LIMITS = {
  httpMaxInputBytes: 64 * 1024,
  httpMaxJsonBytes: 8 * 1024,
  grpcMaxMessageBytes: 64 * 1024,
  headersTimeoutMs: 400,
  requestTimeoutMs: 800,
  idleTimeoutMs: 400,
  maxConnections: 3,
};

/** Raw HTTP/1.1 over one socket: what was written back, once the server closed it. */
function rawExchange(port: number, chunks: (string | Buffer)[]): Promise<{ text: string; closed: boolean }> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    let text = '';
    socket.on('data', (d) => {
      text += d.toString('latin1');
    });
    socket.on('error', () => undefined);
    socket.on('close', () => resolve({ text, closed: true }));
    socket.on('connect', () => {
      for (const c of chunks) socket.write(c);
    });
  });
}

async function post(port: number, body: Buffer, headers: Record<string, string> = {}) {
  const res = await fetch(`http://127.0.0.1:${port}/v2/models/addsub/infer`, {
    method: 'POST',
    body,
    headers: { 'Content-Type': 'application/json', ...headers },
  });
  return { status: res.status, text: await res.text() };
}

const okBody = Buffer.from(
  JSON.stringify({
    inputs: [
      { name: 'INPUT0', datatype: 'INT32', shape: [1, 4], data: [1, 2, 3, 4] },
      { name: 'INPUT1', datatype: 'INT32', shape: [1, 4], data: [1, 2, 3, 4] },
    ],
  }),
);

describe('HTTP limits', () => {
  let server: HttpServerHandle;
  before(async () => {
    server = await startHttpServer({
      core,
      host: '127.0.0.1',
      port: 0,
      clock: new FakeClock(),
      limits: LIMITS,
    });
  });
  after(async () => {
    await server.close(false);
  });

  it('a gzip body that inflates past --http-max-input-size is a 400, and so is an oversized compressed body', async () => {
    const bomb = gzipSync(Buffer.alloc(10 * 1024 * 1024)); // ≈ 10 KB inflating to 10 MiB
    assert.ok(bomb.byteLength < LIMITS.httpMaxInputBytes);
    const r = await post(server.port, bomb, { 'Content-Encoding': 'gzip' });
    assert.equal(r.status, 400, r.text);
    assert.match(r.text, /exceeds the maximum allowed input size of 65536 bytes\. Use --http-max-input-size/);
    // Incompressible: the compressed body itself is over the limit and is not buffered whole.
    const big = gzipSync(randomBytes(200 * 1024));
    const r2 = await post(server.port, big, { 'Content-Encoding': 'gzip' }).catch(() => ({
      status: 0,
      text: 'reset',
    }));
    assert.ok(r2.status === 400 || r2.status === 0, `refused (status ${r2.status})`);
    assert.equal((await post(server.port, okBody)).status, 200, 'still serving');
  });

  it('a JSON part over --http-max-json-size is refused before parsing, naming the binary extension', async () => {
    const data = Array.from({ length: 4000 }, (_, i) => i);
    const body = Buffer.from(
      JSON.stringify({ inputs: [{ name: 'INPUT0', datatype: 'INT32', shape: [1, 4000], data }] }),
    );
    assert.ok(body.byteLength > LIMITS.httpMaxJsonBytes && body.byteLength < LIMITS.httpMaxInputBytes);
    const r = await post(server.port, body);
    assert.equal(r.status, 400);
    assert.match(
      r.text,
      /exceeds the maximum allowed JSON size of 8192 bytes: send tensors with the binary tensor extension, or use --http-max-json-size/,
    );
    const load = await fetch(`http://127.0.0.1:${server.port}/v2/repository/models/addsub/load`, {
      method: 'POST',
      body: JSON.stringify({ parameters: { config: 'x'.repeat(10_000) } }),
    });
    assert.equal(load.status, 400, 'repository bodies are bounded too');
  });

  it('headers that never finish get 408 and the socket is closed', async () => {
    const r = await rawExchange(server.port, ['POST /v2/models/addsub/infer HTTP/1.1\r\nHost: x\r\n']);
    assert.ok(r.closed);
    assert.match(r.text, /^HTTP\/1\.1 408/);
  });

  it('a body that never finishes gets 408 and the socket is closed', async () => {
    const r = await rawExchange(server.port, [
      'POST /v2/models/addsub/infer HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n{"inputs":',
    ]);
    assert.ok(r.closed);
    assert.match(r.text, /^HTTP\/1\.1 408/);
  });

  it('an idle keep-alive connection is closed after --idle-timeout-secs', async () => {
    const r = await rawExchange(server.port, [
      `POST /v2/models/addsub/infer HTTP/1.1\r\nHost: x\r\nContent-Length: ${okBody.byteLength}\r\n\r\n`,
      okBody,
    ]);
    assert.ok(r.closed, 'closed by the server, not by us');
    assert.match(r.text, /^HTTP\/1\.1 200/);
  });

  it('connections over --max-connections are closed on accept; the others keep working', async () => {
    const open: net.Socket[] = [];
    try {
      for (let i = 0; i < LIMITS.maxConnections; i++) {
        const s = net.connect(server.port, '127.0.0.1');
        await new Promise((resolve) => s.once('connect', resolve));
        open.push(s);
      }
      while (server.activeConnections() < LIMITS.maxConnections) await new Promise((r) => setImmediate(r));
      const extra = await rawExchange(server.port, ['GET /v2/health/live HTTP/1.1\r\nHost: x\r\n\r\n']);
      assert.ok(extra.closed);
      assert.equal(extra.text, '', 'nothing answered over the limit');
      open[0]?.write('GET /v2/health/live HTTP/1.1\r\nHost: x\r\n\r\n');
      const reply = await new Promise<string>((resolve) =>
        open[0]?.once('data', (d) => resolve(d.toString())),
      );
      assert.match(reply, /^HTTP\/1\.1 200/);
    } finally {
      for (const s of open) s.destroy();
    }
  });
});

type InferClient = ReturnType<typeof grpcClient>;
function grpcClient(port: number, compress: boolean) {
  const Ctor = makeGenericClientConstructor(inferenceServiceDefinition, 'GRPCInferenceService');
  return new Ctor(`127.0.0.1:${port}`, credentials.createInsecure(), {
    'grpc.max_send_message_length': -1,
    ...(compress ? { 'grpc.default_compression_algorithm': 2 } : {}),
  }) as unknown as {
    ModelInfer: (
      req: ModelInferRequest,
      cb: (e: ServiceError | null, r?: ModelInferResponse) => void,
    ) => void;
    close(): void;
  };
}

function grpcInfer(client: InferClient, inputs: Tensor[]): Promise<ServiceError | null> {
  const req = wireToGrpcRequest({
    modelName: 'addsub',
    modelVersion: '',
    parameters: {},
    inputs,
    outputs: [],
  });
  return new Promise((resolve) => client.ModelInfer(req, (e) => resolve(e)));
}

describe('gRPC limits', () => {
  let server: GrpcServerHandle;
  before(async () => {
    server = await startGrpcServer({
      core,
      host: '127.0.0.1',
      port: 0,
      clock: new FakeClock(),
      limits: LIMITS,
    });
  });
  after(async () => {
    await server.close(false);
  });

  it('a message over --grpc-max-message-size is RESOURCE_EXHAUSTED, compressed or not; small ones pass', async () => {
    const big = int32Tensor('INPUT0', new Array(32 * 1024).fill(0));
    const plain = grpcClient(server.port, false);
    const gz = grpcClient(server.port, true);
    try {
      const e1 = await grpcInfer(plain, [big, big]);
      assert.equal(e1?.code, 8, e1?.details);
      // Zeros compress to a few KB on the wire, and inflate past the limit: refused while inflating.
      const e2 = await grpcInfer(gz, [big, big]);
      assert.equal(e2?.code, 8, e2?.details);
      assert.match(e2?.details ?? '', /decompresses to a size larger than 65536/);
      const ok = await grpcInfer(gz, [
        int32Tensor('INPUT0', [1, 2, 3, 4]),
        int32Tensor('INPUT1', [1, 2, 3, 4]),
      ]);
      assert.equal(ok, null);
    } finally {
      plain.close();
      gz.close();
    }
  });
});
