import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { gunzipSync, gzipSync, inflateSync } from 'node:zlib';
import { fromBinary } from '@bufbuild/protobuf';
import { systemClock } from '../../../src/protocol/clock.ts';
import { ModelInferRequestSchema } from '../../../src/protocol/gen/grpc_service_pb.ts';
import type { ClientOptions, InferOutcome, RequestSpec } from '../../../src/transport/client.ts';
import { createGrpcClient } from '../../../src/transport/grpc-client.ts';
import {
  CLIENT_WINDOW_BYTES,
  decodeGrpcMessage,
  frameMessage,
  grpcTimeoutHeader,
} from '../../../src/transport/grpc-unary-http2.ts';

const TLS_DIR = fileURLToPath(new URL('../../fixtures/tls/', import.meta.url));
const CERT = `${TLS_DIR}server-cert.pem`;
const KEY = `${TLS_DIR}server-key.pem`;

function spec(model: string): RequestSpec {
  return {
    modelName: model,
    modelVersion: '',
    inputs: [{ name: 'INPUT0', datatype: 'INT32', shape: [1, 2], data: new Uint8Array(8) }],
    outputs: [],
    binaryOutputs: true,
    binaryInputs: true,
    parameters: {},
  };
}

/** What the server saw of one call. */
interface Seen {
  headers: http2.IncomingHttpHeaders;
  body: Buffer;
}

/**
 * A bare HTTP/2 server that answers by the model name in the request, so every way a gRPC server (or a proxy
 * in front of one) can answer is reachable: good responses, statuses, resets, broken framing.
 */
function answer(stream: http2.ServerHttp2Stream, model: string): void {
  const ok = { ':status': 200, 'content-type': 'application/grpc' };
  const message = Buffer.from(`reply-to-${model}`);
  switch (model) {
    case 'ok':
      stream.respond(ok, { waitForTrailers: true });
      stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
      stream.end(frameMessage(message, false));
      return;
    case 'chunked': {
      // One message in three DATA frames.
      stream.respond(ok, { waitForTrailers: true });
      stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
      const framed = frameMessage(Buffer.alloc(100_000, 7), false);
      stream.write(framed.subarray(0, 3));
      stream.write(framed.subarray(3, 50_000));
      stream.end(framed.subarray(50_000));
      return;
    }
    case 'gzipped':
      stream.respond({ ...ok, 'grpc-encoding': 'gzip' }, { waitForTrailers: true });
      stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
      stream.end(frameMessage(gzipSync(message), true));
      return;
    case 'trailers-only':
      stream.respond(
        { ...ok, 'grpc-status': '5', 'grpc-message': 'Request%20for%20unknown%20model' },
        { endStream: true },
      );
      return;
    case 'http-503':
      stream.respond({ ':status': 503 }, { endStream: true });
      return;
    case 'http-404':
      stream.respond({ ':status': 404 }, { endStream: true });
      return;
    case 'refused':
      stream.close(http2.constants.NGHTTP2_REFUSED_STREAM);
      return;
    case 'no-message':
      stream.respond(ok, { waitForTrailers: true });
      stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
      stream.end();
      return;
    case 'two-messages':
      stream.respond(ok, { waitForTrailers: true });
      stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
      stream.end(Buffer.concat([frameMessage(message, false), frameMessage(message, false)]));
      return;
    case 'truncated':
      stream.respond(ok, { waitForTrailers: true });
      stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
      stream.end(frameMessage(message, false).subarray(0, 9));
      return;
    case 'bad-status':
      stream.respond({ ...ok, 'grpc-status': 'nope' }, { endStream: true });
      return;
    case 'no-status':
      stream.respond(ok);
      stream.end(frameMessage(message, false));
      return;
    case 'goaway':
      // Answers, then closes the connection: the next call must open a new one.
      stream.respond(ok, { waitForTrailers: true });
      stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
      stream.end(frameMessage(message, false));
      stream.session?.close();
      return;
    case 'hang':
      return; // never answers: the client's deadline must end the call
    default:
      stream.respond(ok, { waitForTrailers: true });
      stream.on('wantTrailers', () =>
        stream.sendTrailers({ 'grpc-status': '3', 'grpc-message': `no case ${model}` }),
      );
      stream.end();
  }
}

function serve(server: http2.Http2Server | http2.Http2SecureServer, seen: Seen[]): Promise<number> {
  server.on('stream', (stream, headers) => {
    const chunks: Buffer[] = [];
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('error', () => undefined);
    stream.on('end', () => {
      if (stream.destroyed) return; // a client that gave up (a stream cancelled by close())
      const body = Buffer.concat(chunks);
      seen.push({ headers, body });
      let message = body.subarray(5);
      if (body[0] === 1)
        message = headers['grpc-encoding'] === 'gzip' ? gunzipSync(message) : inflateSync(message);
      answer(stream, fromBinary(ModelInferRequestSchema, message).modelName);
    });
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)),
  );
}

describe('gRPC unary calls on node:http2', () => {
  const seen: Seen[] = [];
  const sessions = new Set<http2.ServerHttp2Session>();
  const server = http2.createServer();
  server.on('session', (s) => sessions.add(s));
  let url = '';
  const clients: { close(): Promise<void> }[] = [];

  before(async () => {
    url = `127.0.0.1:${await serve(server, seen)}`;
  });
  after(async () => {
    for (const c of clients) await c.close();
    for (const s of sessions) s.destroy();
    await new Promise((resolve) => server.close(resolve));
  });

  function client(extra: Partial<ClientOptions> = {}) {
    const c = createGrpcClient({
      url,
      clock: systemClock,
      connections: 1,
      headers: { 'X-Tenant': 't1' },
      ...extra,
    });
    clients.push(c);
    return c;
  }
  const call = (c: ReturnType<typeof client>, model: string, timeoutMs = 5000): Promise<InferOutcome> =>
    c.infer(c.prepare(spec(model)), timeoutMs);

  it('sends a framed ModelInfer with gRPC headers and -H metadata, and reads the response size', async () => {
    const c = client();
    seen.length = 0;
    const out = await call(c, 'ok');
    assert.equal(out.ok, true, out.errorMessage);
    assert.equal(out.responseBytes, 'reply-to-ok'.length);
    assert.ok(out.sendStartNs <= out.responseStartNs && out.responseStartNs <= out.endNs);
    const { headers, body } = seen[0] as Seen;
    assert.equal(headers[':path'], '/inference.GRPCInferenceService/ModelInfer');
    assert.equal(headers['content-type'], 'application/grpc');
    assert.equal(headers.te, 'trailers');
    assert.equal(headers['grpc-accept-encoding'], 'identity');
    assert.equal(headers['grpc-encoding'], undefined);
    assert.equal(headers['x-tenant'], 't1');
    assert.equal(body[0], 0);
    assert.equal(body.readUInt32BE(1), body.byteLength - 5);
  });

  it('never lets -H metadata replace the headers of the call itself', async () => {
    const c = client({
      headers: {
        'grpc-encoding': 'gzip',
        'grpc-timeout': '1n',
        'content-type': 'text/plain',
        te: 'x',
        'x-ok': 'y',
      },
    });
    seen.length = 0;
    const out = await call(c, 'ok', 0);
    assert.equal(out.ok, true, out.errorMessage);
    const { headers } = seen[0] as Seen;
    assert.equal(headers['grpc-encoding'], undefined);
    assert.equal(headers['grpc-timeout'], undefined);
    assert.equal(headers['content-type'], 'application/grpc');
    assert.equal(headers.te, 'trailers');
    assert.equal(headers['x-ok'], 'y');
  });

  it('refuses -H names that are HTTP tokens but not gRPC metadata keys, by name', () => {
    assert.throws(() => client({ headers: { 'x!a': 'v' } }), {
      name: 'OptionError',
      message: /^-H 'x!a' cannot be sent as gRPC metadata/,
    });
  });

  it('reads a message split over several DATA frames, and keeps an owned copy when asked', async () => {
    const c = client();
    c.keepResponses?.(true);
    const out = await call(c, 'chunked');
    assert.equal(out.ok, true, out.errorMessage);
    assert.equal(out.responseBytes, 100_000);
    assert.equal(out.response?.encoding, 'grpc');
    assert.equal(out.response?.bytes.byteLength, 100_000);
    assert.ok(out.response?.bytes.every((b) => b === 7));
  });

  it('decompresses a gzip response it did not ask for', async () => {
    const c = client();
    c.keepResponses?.(true);
    const out = await call(c, 'gzipped');
    assert.equal(out.ok, true, out.errorMessage);
    assert.equal(Buffer.from(out.response?.bytes ?? []).toString(), 'reply-to-gzipped');
  });

  it('compresses the request once with gzip or deflate and says so in grpc-encoding', async () => {
    for (const algorithm of ['gzip', 'deflate'] as const) {
      const c = client({ grpcCompression: algorithm });
      seen.length = 0;
      const prepared = c.prepare(spec('ok'));
      for (let k = 0; k < 2; k++) assert.equal((await c.infer(prepared, 5000)).ok, true);
      assert.equal(seen.length, 2);
      assert.equal(seen[0]?.headers['grpc-encoding'], algorithm);
      assert.equal(seen[0]?.body[0], 1);
      assert.deepEqual(seen[0]?.body, seen[1]?.body);
    }
  });

  it('maps statuses, HTTP errors, resets and broken framing to gRPC codes as grpc-js does', async () => {
    const c = client();
    const cases: [string, string, string][] = [
      ['trailers-only', 'grpc:NOT_FOUND', 'Request for unknown model'],
      ['http-503', 'grpc:UNAVAILABLE', 'Received HTTP status code 503'],
      ['http-404', 'grpc:UNIMPLEMENTED', 'Received HTTP status code 404'],
      ['refused', 'grpc:UNAVAILABLE', 'Received RST_STREAM with code 7'],
      ['no-message', 'grpc:UNIMPLEMENTED', 'No message received'],
      ['two-messages', 'grpc:INTERNAL', 'more than one message in a unary response'],
      ['truncated', 'grpc:INTERNAL', 'a truncated gRPC message'],
      ['no-status', 'grpc:UNKNOWN', 'the server ended the call without a gRPC status'],
      ['bad-status', 'grpc:UNKNOWN', "the server sent an invalid grpc-status 'nope'"],
      ['anything-else', 'grpc:INVALID_ARGUMENT', 'no case anything-else'],
    ];
    for (const [model, kind, message] of cases) {
      const out = await call(c, model);
      assert.deepEqual([out.ok, out.errorKind, out.errorMessage], [false, kind, message], model);
    }
    // The connection survives every one of them.
    assert.equal((await call(c, 'ok')).ok, true);
  });

  it('ends a call at its deadline, sends grpc-timeout, and goes on with the next call', async () => {
    const c = client();
    seen.length = 0;
    const hang = await call(c, 'hang', 150);
    assert.equal(hang.errorKind, 'timeout');
    assert.equal(seen[0]?.headers['grpc-timeout'], '150m');
    assert.equal((await call(c, 'ok')).ok, true);
  });

  it('opens a new connection after the server closes one', async () => {
    const c = client();
    sessions.clear();
    assert.equal((await call(c, 'goaway')).ok, true);
    await new Promise((resolve) => setTimeout(resolve, 20));
    for (let k = 0; k < 2; k++) assert.equal((await call(c, 'ok')).ok, true, `call ${k}`);
    assert.equal(sessions.size, 2);
  });

  it('spreads calls over K connections', async () => {
    const c = client({ connections: 3 });
    sessions.clear();
    const outs = await Promise.all([0, 1, 2, 3, 4, 5].map(() => call(c, 'ok')));
    assert.ok(outs.every((o) => o.ok));
    assert.equal(sessions.size, 3);
  });

  /** The receive windows the next client connection advertises, as the server sees them. */
  function nextClientWindows(): Promise<{ stream: number; connection: number }> {
    return new Promise((resolve) => {
      server.once('session', (s) => {
        s.once('remoteSettings', (settings) => {
          // The connection's WINDOW_UPDATE follows the SETTINGS; a ping round trip makes sure it was read.
          s.ping(() =>
            resolve({ stream: settings.initialWindowSize ?? -1, connection: s.state.remoteWindowSize ?? -1 }),
          );
        });
      });
    });
  }

  it('advertises wide receive windows, so a large response is not throttled', async () => {
    const windows = nextClientWindows();
    const c = client();
    assert.equal((await call(c, 'ok')).ok, true);
    const seenWindows = await windows;
    assert.equal(seenWindows.stream, CLIENT_WINDOW_BYTES);
    // Less the response bytes the server may already have sent (Node's default would be 65,535).
    assert.ok(
      seenWindows.connection > CLIENT_WINDOW_BYTES - 1024,
      `connection window ${seenWindows.connection}`,
    );
  });

  it('opens streams (grpc-js) with the same wide receive windows', async () => {
    const windows = nextClientWindows();
    const c = client({ streaming: true });
    // The bare server does not speak the stream: only the connection's settings matter here.
    const outcome = c.infer(c.prepare(spec('ok')), 1000);
    const seen = await windows;
    await c.close();
    assert.equal((await outcome).ok, false, 'closed before any answer');
    assert.equal(seen.stream, CLIENT_WINDOW_BYTES);
    assert.ok(seen.connection > CLIENT_WINDOW_BYTES - 1024, `connection window ${seen.connection}`);
  });

  it('reports a server that is not there as grpc:UNAVAILABLE with the connection error', async () => {
    const probe = http2.createServer();
    const port = await new Promise<number>((resolve) =>
      probe.listen(0, '127.0.0.1', () => resolve((probe.address() as AddressInfo).port)),
    );
    await new Promise((resolve) => probe.close(resolve));
    const c = client({ url: `127.0.0.1:${port}` });
    for (let k = 0; k < 2; k++) {
      const out = await call(c, 'ok');
      assert.equal(out.errorKind, 'grpc:UNAVAILABLE');
      assert.match(out.errorMessage ?? '', /ECONNREFUSED/);
    }
  });

  it('helpers: grpc-message percent-decoding and grpc-timeout units', () => {
    assert.equal(decodeGrpcMessage('a%20b%0Ac'), 'a b\nc');
    assert.equal(decodeGrpcMessage('100%'), '100%');
    assert.equal(grpcTimeoutHeader(150), '150m');
    assert.equal(grpcTimeoutHeader(0.2), '1m');
    assert.equal(grpcTimeoutHeader(2e8), '200000S');
  });
});

describe('gRPC unary calls over TLS', () => {
  const server = http2.createSecureServer({ cert: readFileSync(CERT), key: readFileSync(KEY) });
  const sessions = new Set<http2.ServerHttp2Session>();
  server.on('session', (s) => sessions.add(s));
  let port = 0;
  before(async () => {
    port = await serve(server, []);
  });
  after(async () => {
    for (const s of sessions) s.destroy();
    await new Promise((resolve) => server.close(resolve));
  });

  async function once(options: Partial<ClientOptions>): Promise<InferOutcome> {
    const c = createGrpcClient({
      url: `127.0.0.1:${port}`,
      clock: systemClock,
      connections: 1,
      headers: {},
      ...options,
    });
    try {
      return await c.infer(c.prepare(spec('ok')), 5000);
    } finally {
      await c.close();
    }
  }

  it('connects with the CA given by --ssl-grpc-root-certifications-file', async () => {
    const out = await once({ tls: { enabled: true, caFile: CERT } });
    assert.equal(out.ok, true, out.errorMessage);
  });

  it('refuses an unknown certificate unless peer verification is off', async () => {
    const refused = await once({ tls: { enabled: true } });
    assert.equal(refused.errorKind, 'grpc:UNAVAILABLE');
    assert.match(refused.errorMessage ?? '', /self[- ]signed/i);
    assert.equal((await once({ tls: { enabled: true, verifyPeer: false } })).ok, true);
  });

  it('a grpcs:// URL turns TLS on', async () => {
    const out = await once({ url: `grpcs://127.0.0.1:${port}`, tls: { enabled: true, caFile: CERT } });
    assert.equal(out.ok, true, out.errorMessage);
  });
});
