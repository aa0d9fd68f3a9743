import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import { type AddressInfo, createServer as createNetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { systemClock } from '../../../src/protocol/clock.ts';
import type { ClientOptions, RequestSpec } from '../../../src/transport/client.ts';
import { createHttpClient } from '../../../src/transport/http-client.ts';

interface Seen {
  url: string;
  headers: IncomingMessage['headers'];
  body: Buffer;
}

const RESPONSE = Buffer.from('{"model_name":"m","model_version":"1","outputs":[]}');

function spec(binaryInputs: boolean, model = 'm'): RequestSpec {
  return {
    modelName: model,
    modelVersion: '',
    inputs: [
      {
        name: 'INPUT0',
        datatype: 'INT32',
        shape: [1, 2],
        data: new Uint8Array(Int32Array.from([7, -3]).buffer),
      },
    ],
    outputs: [],
    binaryOutputs: true,
    binaryInputs,
    parameters: {},
  };
}

describe('HTTP InferClient', () => {
  let server: Server;
  let url = '';
  const seen: Seen[] = [];
  const hung: ServerResponse[] = [];
  let barrier: ServerResponse[] = [];
  let sockets = 0;

  before(async () => {
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        seen.push({ url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks) });
        if (req.url?.startsWith('/v2/models/bad/')) {
          res
            .writeHead(400, { 'content-type': 'application/json' })
            .end('{"error":"unexpected inference input \'X\'"}');
        } else if (req.url?.startsWith('/v2/models/hang/')) {
          hung.push(res);
        } else if (req.url?.startsWith('/v2/models/close/')) {
          res.writeHead(200, { 'content-type': 'application/json', connection: 'close' }).end(RESPONSE);
        } else if (req.url?.startsWith('/v2/models/chunked/')) {
          res.writeHead(200, { 'content-type': 'application/json' });
          res.write(RESPONSE.subarray(0, 10));
          setImmediate(() => res.end(RESPONSE.subarray(10)));
        } else if (req.url?.startsWith('/v2/models/drop/')) {
          req.socket.destroy();
        } else if (req.url?.startsWith('/v2/models/stall/')) {
          res.writeHead(200, { 'content-type': 'application/json', 'content-length': '100' });
          res.write('{"partial":');
          hung.push(res);
        } else if (req.url?.startsWith('/v2/models/barrier/')) {
          barrier.push(res);
          if (barrier.length === 3) {
            for (const r of barrier) r.end(RESPONSE);
            barrier = [];
          }
        } else {
          res.writeHead(200, { 'content-type': 'application/json' }).end(RESPONSE);
        }
      });
    });
    server.on('connection', () => {
      sockets++;
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  after(async () => {
    for (const r of hung) r.destroy();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  function client(extra: Partial<ClientOptions> = {}) {
    return createHttpClient({
      url,
      clock: systemClock,
      connections: 1,
      headers: { 'x-tenant': 'a b' },
      ...extra,
    });
  }

  it('sends the prepared binary body byte-identical every time, with the extension header and -H headers', async () => {
    const c = client();
    try {
      const prepared = c.prepare(spec(true));
      seen.length = 0;
      for (let k = 0; k < 3; k++) {
        const out = await c.infer(prepared, 0);
        assert.equal(out.ok, true);
        assert.equal(out.responseBytes, RESPONSE.byteLength);
        assert.ok(out.sendStartNs <= out.responseStartNs && out.responseStartNs <= out.endNs);
      }
      assert.equal(seen.length, 3);
      for (const s of seen) assert.deepEqual(s.body, seen[0]?.body);
      const first = seen[0] as Seen;
      assert.equal(first.url, '/v2/models/m/infer');
      assert.equal(first.headers['x-tenant'], 'a b');
      assert.equal(first.body.byteLength, prepared.byteLength);
      const headerLength = Number(first.headers['inference-header-content-length']);
      const header = JSON.parse(first.body.subarray(0, headerLength).toString()) as {
        inputs: { parameters: { binary_data_size: number } }[];
        parameters: { binary_data_output: boolean };
      };
      assert.equal(header.inputs[0]?.parameters.binary_data_size, 8);
      assert.equal(header.parameters.binary_data_output, true);
      assert.deepEqual(
        new Int32Array(Uint8Array.from(first.body.subarray(headerLength)).buffer),
        Int32Array.from([7, -3]),
      );
    } finally {
      await c.close();
    }
  });

  it('sends JSON inputs when binaryInputs is false', async () => {
    const c = client();
    try {
      seen.length = 0;
      assert.equal((await c.infer(c.prepare(spec(false)), 0)).ok, true);
      const s = seen[0] as Seen;
      assert.equal(s.headers['inference-header-content-length'], undefined);
      assert.equal(s.headers['content-type'], 'application/json');
      const body = JSON.parse(s.body.toString()) as { inputs: { data: number[] }[] };
      assert.deepEqual(body.inputs[0]?.data, [7, -3]);
    } finally {
      await c.close();
    }
  });

  it('classifies a non-2xx answer as http:<status> with the error text', async () => {
    const c = client();
    try {
      const out = await c.infer(c.prepare(spec(true, 'bad')), 0);
      assert.equal(out.ok, false);
      assert.equal(out.errorKind, 'http:400');
      assert.equal(out.errorMessage, "unexpected inference input 'X'");
    } finally {
      await c.close();
    }
  });

  it('classifies a server that never answers as timeout within the bound', async () => {
    const c = client();
    try {
      const out = await c.infer(c.prepare(spec(true, 'hang')), 200);
      assert.equal(out.ok, false);
      assert.equal(out.errorKind, 'timeout');
      const waitedMs = (out.endNs - out.sendStartNs) / 1e6;
      assert.ok(waitedMs >= 150 && waitedMs < 2000, `waited ${waitedMs} ms`);
    } finally {
      await c.close();
    }
  });

  it('classifies connection refused as a transport error', async () => {
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const port = (probe.address() as AddressInfo).port;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    const c = createHttpClient({
      url: `http://127.0.0.1:${port}`,
      clock: systemClock,
      connections: 1,
      headers: {},
    });
    try {
      const out = await c.infer(c.prepare(spec(true)), 1000);
      assert.equal(out.ok, false);
      assert.equal(out.errorKind, 'transport:ECONNREFUSED');
    } finally {
      await c.close();
    }
  });

  it('keeps one connection alive across requests, and reconnects after the server closes it', async () => {
    const c = client();
    try {
      const before = sockets;
      const ok = c.prepare(spec(true));
      for (let k = 0; k < 3; k++) assert.equal((await c.infer(ok, 5000)).ok, true);
      assert.equal(sockets - before, 1);
      const closing = await c.infer(c.prepare(spec(true, 'close')), 5000);
      assert.equal(closing.ok, true);
      assert.equal(closing.responseBytes, RESPONSE.byteLength);
      assert.equal((await c.infer(ok, 5000)).ok, true);
      assert.equal(sockets - before, 2);
    } finally {
      await c.close();
    }
  });

  it('reads a chunked response, with sendEnd and response times in order', async () => {
    const c = client();
    try {
      const out = await c.infer(c.prepare(spec(true, 'chunked')), 5000);
      assert.equal(out.ok, true);
      assert.equal(out.responseBytes, RESPONSE.byteLength);
      assert.ok(out.sendStartNs <= out.sendEndNs && out.sendEndNs <= out.responseStartNs);
      assert.ok(out.responseStartNs <= out.endNs);
    } finally {
      await c.close();
    }
  });

  it('reports a connection dropped mid-request as a transport error and recovers', async () => {
    const c = client();
    try {
      const out = await c.infer(c.prepare(spec(true, 'drop')), 5000);
      assert.equal(out.ok, false);
      assert.match(out.errorKind ?? '', /^transport:/);
      assert.equal((await c.infer(c.prepare(spec(true)), 5000)).ok, true);
    } finally {
      await c.close();
    }
  });

  it('times out a response body that stalls, then works on a new connection', async () => {
    const c = client();
    try {
      const out = await c.infer(c.prepare(spec(true, 'stall')), 200);
      assert.equal(out.ok, false);
      assert.equal(out.errorKind, 'timeout');
      assert.ok(out.responseBytes > 0);
      assert.equal((await c.infer(c.prepare(spec(true)), 5000)).ok, true);
    } finally {
      await c.close();
    }
  });

  it('queues requests beyond its connections and resolves in-flight ones on close', async () => {
    const c = client({ connections: 1 });
    const prepared = c.prepare(spec(true));
    const outs = await Promise.all([0, 1, 2, 3].map(() => c.infer(prepared, 5000)));
    assert.ok(outs.every((o) => o.ok));
    const pending = [c.infer(c.prepare(spec(true, 'hang')), 0), c.infer(prepared, 0)];
    await new Promise((r) => setTimeout(r, 50));
    await c.close();
    const closed = await Promise.all(pending);
    assert.deepEqual(
      closed.map((o) => o.errorKind),
      ['transport:CLIENT_CLOSED', 'transport:CLIENT_CLOSED'],
    );
    assert.equal((await c.infer(prepared, 0)).errorKind, 'transport:CLIENT_CLOSED');
  });

  it('reads a body that ends with the connection (no length, no chunks)', async () => {
    const raw = createNetServer((socket) => {
      socket.once('data', () =>
        socket.end('HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\n\r\nhello, until close'),
      );
    });
    await new Promise<void>((resolve) => raw.listen(0, '127.0.0.1', resolve));
    const c = createHttpClient({
      url: `127.0.0.1:${(raw.address() as AddressInfo).port}`,
      clock: systemClock,
      connections: 1,
      headers: {},
    });
    try {
      const prepared = c.prepare(spec(true));
      for (let k = 0; k < 2; k++) {
        const out = await c.infer(prepared, 5000);
        assert.equal(out.ok, true, out.errorMessage);
        assert.equal(out.responseBytes, 'hello, until close'.length);
      }
    } finally {
      await c.close();
      await new Promise<void>((resolve) => raw.close(() => resolve()));
    }
  });

  it('refuses -H headers that would break the framing', () => {
    assert.throws(
      () => client({ headers: { 'content-length': '1' } }).prepare(spec(true)),
      /set by the client/,
    );
    assert.throws(() => client({ headers: { 'x-a': 'b\r\nx-c: d' } }).prepare(spec(true)), /invalid value/);
    assert.throws(
      () => client({ headers: { 'bad name': 'v' } }).prepare(spec(true)),
      /invalid HTTP header name/,
    );
  });

  it('opens N connections for N requests in flight', async () => {
    const c = client({ connections: 3 });
    try {
      const prepared = c.prepare(spec(true, 'barrier'));
      const before = sockets;
      const outs = await Promise.all([0, 1, 2].map(() => c.infer(prepared, 5000)));
      assert.ok(outs.every((o) => o.ok));
      assert.equal(sockets - before, 3);
    } finally {
      await c.close();
    }
  });
});

describe('HTTP InferClient over TLS', () => {
  const dir = mkdtempSync(join(tmpdir(), 'inferbench-tls-'));
  const certFile = join(dir, 'cert.pem');
  const keyFile = join(dir, 'key.pem');
  const openssl = spawnSync(
    'openssl',
    [
      ...['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'],
      ...['-keyout', keyFile, '-out', certFile, '-days', '1', '-subj', '/CN=localhost'],
      ...['-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost'],
    ],
    { stdio: 'ignore' },
  );
  const skip = openssl.status === 0 ? false : 'openssl is not available to make a test certificate';
  let server: HttpsServer | undefined;
  let port = 0;

  before(async () => {
    if (skip) return;
    server = createHttpsServer({ cert: readFileSync(certFile), key: readFileSync(keyFile) }, (req, res) => {
      req.resume();
      req.on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end(RESPONSE));
    });
    await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });

  after(async () => {
    server?.closeAllConnections();
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    rmSync(dir, { recursive: true, force: true });
  });

  it('verifies the server against --ssl-https-ca-certificates-file and refuses an unknown one', {
    skip,
  }, async () => {
    const trusting = createHttpClient({
      url: `https://127.0.0.1:${port}`,
      clock: systemClock,
      connections: 1,
      headers: {},
      tls: { enabled: true, caFile: certFile },
    });
    const strict = createHttpClient({
      url: `https://localhost:${port}`,
      clock: systemClock,
      connections: 1,
      headers: {},
    });
    const lax = createHttpClient({
      url: `https://localhost:${port}`,
      clock: systemClock,
      connections: 1,
      headers: {},
      tls: { enabled: true, verifyPeer: false },
    });
    try {
      for (let k = 0; k < 2; k++)
        assert.equal((await trusting.infer(trusting.prepare(spec(true)), 5000)).ok, true);
      const refused = await strict.infer(strict.prepare(spec(true)), 5000);
      assert.equal(refused.ok, false);
      assert.match(refused.errorKind ?? '', /^transport:/);
      assert.equal((await lax.infer(lax.prepare(spec(true)), 5000)).ok, true);
    } finally {
      await Promise.all([trusting.close(), strict.close(), lax.close()]);
    }
  });
});
