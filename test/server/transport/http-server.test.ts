import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { gunzipSync, gzipSync } from 'node:zlib';
import { Agent, request } from 'undici';
import {
  type HttpServerHandle,
  startHttpServer,
} from '../../../embedded-server/src/transport/http-server.ts';
import { FakeClock } from '../../../src/protocol/clock.ts';
import { decodeHttpInferResponse, encodeHttpInferRequest } from '../../../src/protocol/http-infer-codec.ts';
import type { Tensor } from '../../../src/protocol/tensor.ts';
import { FakeCore, int32Tensor } from './fake-core.ts';

const core = new FakeCore();
const clock = new FakeClock(5_000);
let server: HttpServerHandle;
let base: string;
const agent = new Agent({ keepAliveTimeout: 1000 });

async function call(
  method: 'GET' | 'POST',
  path: string,
  body?: string | Buffer,
  headers: Record<string, string> = {},
): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }> {
  const res = await request(`${base}${path}`, { method, body, headers, dispatcher: agent });
  const buf = Buffer.from(await res.body.arrayBuffer());
  return { status: res.statusCode, headers: res.headers, body: buf };
}

function json(b: Buffer): unknown {
  return JSON.parse(b.toString());
}

const inputs = [int32Tensor('INPUT0', [1, 2, 3, 4]), int32Tensor('INPUT1', [10, 20, 30, 40])];

function values(t: Tensor): number[] {
  return [...new Int32Array(new Uint8Array(t.data).buffer)];
}

describe('http-server', () => {
  before(async () => {
    server = await startHttpServer({ core, host: '127.0.0.1', port: 0, clock, maxInputBytes: 1 << 20 });
    base = `http://127.0.0.1:${server.port}`;
  });
  after(async () => {
    await agent.close();
    await server.close(true);
  });

  it('answers health, metadata, ready, config, stats and index like Triton', async () => {
    assert.deepEqual(await call('GET', '/v2/health/live').then((r) => [r.status, r.body.length]), [200, 0]);
    core.ready = false;
    assert.equal((await call('GET', '/v2/health/ready')).status, 400);
    core.ready = true;
    assert.equal((await call('GET', '/v2/health/ready')).status, 200);
    const meta = await call('GET', '/v2');
    assert.deepEqual(json(meta.body), core.serverMetadata());
    assert.equal(meta.headers['content-type'], 'application/json');
    const mm = json((await call('GET', '/v2/models/addsub/versions/1')).body) as { inputs: unknown[] };
    assert.deepEqual(mm.inputs[0], { name: 'INPUT0', datatype: 'INT32', shape: [-1, 4] });
    assert.equal((await call('GET', '/v2/models/addsub/ready')).status, 200);
    const notReady = await call('GET', '/v2/models/hang/ready');
    assert.deepEqual([notReady.status, json(notReady.body)], [400, { error: 'Model version not ready' }]);
    const unknown = await call('GET', '/v2/models/nope');
    assert.deepEqual(
      [unknown.status, json(unknown.body)],
      [404, { error: "Request for unknown model: 'nope' is not found" }],
    );
    const cfg = json((await call('GET', '/v2/models/addsub/config')).body) as Record<string, unknown>;
    assert.equal(cfg.max_batch_size, 8);
    assert.deepEqual((cfg.input as { dims: unknown; data_type: unknown }[])[0]?.dims, [4]);
    const stats = json((await call('GET', '/v2/models/stats')).body) as {
      model_stats: { inference_count: number }[];
    };
    assert.equal(stats.model_stats[0]?.inference_count, 3);
    const badStats = await call('GET', '/v2/models/zzz/stats');
    assert.deepEqual(
      [badStats.status, json(badStats.body)],
      [400, { error: "requested model 'zzz' is not available" }],
    );
    const index = await call('POST', '/v2/repository/index', '{"ready":false}');
    assert.deepEqual(json(index.body), [
      { name: 'addsub', version: '1', state: 'READY' },
      { name: 'hang', version: '1', state: 'UNAVAILABLE', reason: 'unloaded' },
      { name: 'never' },
    ]);
    const badIndex = await call('POST', '/v2/repository/index', '{"ready":1}');
    assert.deepEqual(json(badIndex.body), { error: "Invalid value for 'ready': expected a boolean" });
  });

  it('routes errors: 404, 405, bad versions, named repositories, load/unload', async () => {
    for (const path of ['/v2/nothing', '/v2/models/addsub/versions/abc', '/v2/models/addsub/trace/x']) {
      const r = await call('GET', path);
      assert.deepEqual([r.status, json(r.body)], [404, { error: 'Not Found' }], path);
    }
    const wrong = await call('GET', '/v2/models/addsub/infer');
    assert.deepEqual([wrong.status, json(wrong.body)], [405, { error: 'Method Not Allowed' }]);
    const named = await call('POST', '/v2/repository/repo/models/addsub/load');
    assert.deepEqual(
      [named.status, json(named.body)],
      [501, { error: "'repository_name' specification is not supported" }],
    );
    const load = await call('POST', '/v2/repository/models/addsub/load', '{"parameters":{"config":"{}"}}');
    assert.equal(load.status, 200);
    assert.deepEqual(core.loads.at(-1), { name: 'addsub', configJson: '{}' });
    const unload = await call(
      'POST',
      '/v2/repository/models/addsub/unload',
      '{"parameters":{"unload_dependents":true}}',
    );
    assert.equal(unload.status, 200);
    assert.deepEqual(core.unloads.at(-1), { name: 'addsub', unloadDependents: true });
  });

  it('serves JSON inference with request fields mapped for the core', async () => {
    const { body } = encodeHttpInferRequest({
      id: 'j1',
      parameters: { priority: 2, timeout: 1500, custom: 'x' },
      inputs,
      outputs: [],
      binaryInputs: false,
      binaryOutputs: false,
    });
    const r = await call('POST', '/v2/models/addsub/versions/1/infer', body);
    assert.equal(r.status, 200);
    assert.equal(r.headers['content-type'], 'application/json');
    assert.deepEqual(json(r.body), {
      id: 'j1',
      model_name: 'addsub',
      model_version: '1',
      outputs: [
        { name: 'OUTPUT0', datatype: 'INT32', shape: [1, 4], data: [11, 22, 33, 44] },
        { name: 'OUTPUT1', datatype: 'INT32', shape: [1, 4], data: [-9, -18, -27, -36] },
      ],
    });
    const seen = core.requests.at(-1);
    assert.equal(seen?.modelVersion, '1');
    assert.equal(seen?.priority, 2);
    assert.equal(seen?.timeoutUs, 1500);
    assert.deepEqual(seen?.parameters, { custom: 'x' });
    assert.equal(seen?.receivedNs, 5_000);
  });

  it('serves binary inference and keeps the binary_data_output quirk', async () => {
    const enc = encodeHttpInferRequest({
      parameters: {},
      inputs,
      outputs: ['OUTPUT1'],
      binaryInputs: true,
      binaryOutputs: true,
    });
    const r = await call('POST', '/v2/models/addsub/infer', enc.body, {
      'Inference-Header-Content-Length': String(enc.headerLength),
    });
    assert.equal(r.headers['content-type'], 'application/octet-stream');
    const headerLength = Number(r.headers['inference-header-content-length']);
    const res = decodeHttpInferResponse(r.body, headerLength);
    assert.deepEqual(
      res.outputs.map((t) => [t.name, values(t)]),
      [['OUTPUT1', [-9, -18, -27, -36]]],
    );
    // listed output without its own binary_data stays JSON even with binary_data_output
    const quirk = JSON.stringify({
      parameters: { binary_data_output: true },
      inputs: [
        { name: 'INPUT0', datatype: 'INT32', shape: [1, 4], data: [1, 1, 1, 1] },
        { name: 'INPUT1', datatype: 'INT32', shape: [1, 4], data: [1, 1, 1, 1] },
      ],
      outputs: [{ name: 'OUTPUT0' }],
    });
    const q = await call('POST', '/v2/models/addsub/infer', quirk);
    assert.equal(q.headers['content-type'], 'application/json');
    const unlisted = JSON.parse(quirk);
    delete unlisted.outputs;
    const u = await call('POST', '/v2/models/addsub/infer', JSON.stringify(unlisted));
    assert.equal(u.headers['content-type'], 'application/octet-stream');
  });

  it('serves a raw binary request (header length 0) with binary outputs', async () => {
    core.requests.length = 0;
    const r = await call('POST', '/v2/models/addsub/infer', Buffer.alloc(16), {
      'Inference-Header-Content-Length': '0',
    });
    // The fake needs two inputs, so it fails; the request still reached it with the deduced shape.
    assert.equal(r.status, 500);
    assert.deepEqual(core.requests[0]?.inputs[0]?.shape, [1, 4]);
    assert.equal(core.requests[0]?.binaryDataOutput, true);
  });

  it('maps errors to status codes and JSON bodies', async () => {
    const bad = await call('POST', '/v2/models/addsub/infer', '{"inputs":[');
    assert.deepEqual(
      [bad.status, json(bad.body)],
      [400, { error: 'failed to parse the request JSON buffer: Invalid value. at 11' }],
    );
    assert.equal(bad.headers['content-type'], 'application/json');
    const hdr = await call('POST', '/v2/models/addsub/infer', '{}', {
      'Inference-Header-Content-Length': 'x',
    });
    assert.deepEqual(json(hdr.body), { error: 'Unable to parse Inference-Header-Content-Length, got: x' });
    const { body } = encodeHttpInferRequest({
      parameters: { fail: true },
      inputs,
      outputs: [],
      binaryInputs: false,
      binaryOutputs: false,
    });
    const busy = await call('POST', '/v2/models/addsub/infer', body);
    assert.deepEqual(
      [busy.status, json(busy.body)],
      [503, { error: '[request id: <id_unknown>] Exceeds maximum queue size' }],
    );
    const big = await call('POST', '/v2/models/addsub/infer', Buffer.alloc((1 << 20) + 1, 32));
    assert.equal(big.status, 400);
    assert.match(
      (json(big.body) as { error: string }).error,
      /^request JSON size of 1048577 bytes exceeds the maximum allowed input size of 1048576 bytes/,
    );
  });

  it('decompresses gzip requests, refuses unknown encodings and compresses responses on request', async () => {
    const { body } = encodeHttpInferRequest({
      parameters: {},
      inputs,
      outputs: ['OUTPUT0'],
      binaryInputs: false,
      binaryOutputs: false,
    });
    const r = await call('POST', '/v2/models/addsub/infer', gzipSync(body), {
      'Content-Encoding': 'gzip',
      'Accept-Encoding': 'deflate;q=0.5, gzip;q=0.9',
    });
    assert.equal(r.headers['content-encoding'], 'gzip');
    assert.deepEqual(
      (json(gunzipSync(r.body)) as { outputs: { data: number[] }[] }).outputs[0]?.data,
      [11, 22, 33, 44],
    );
    const br = await call('POST', '/v2/models/addsub/infer', body, { 'Content-Encoding': 'br' });
    assert.deepEqual([br.status, json(br.body)], [501, { error: 'Unsupported compression type' }]);
    assert.equal(br.headers['accept-encoding'], 'gzip, deflate');
  });

  it('aborts the request signal when the client disconnects', async () => {
    const { body } = encodeHttpInferRequest({
      id: 'gone',
      parameters: {},
      inputs,
      outputs: [],
      binaryInputs: false,
      binaryOutputs: false,
    });
    const ac = new AbortController();
    const pending = request(`${base}/v2/models/hang/infer`, {
      method: 'POST',
      body,
      signal: ac.signal,
    }).catch((e: unknown) => e);
    const deadline = Date.now() + 2000;
    while (!core.requests.some((r) => r.id === 'gone') && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 5));
    ac.abort();
    await pending;
    while (!core.aborted.includes('gone') && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 5));
    assert.deepEqual(core.aborted, ['gone']);
  });

  it('graceful close waits for the in-flight request, then refuses new connections', async () => {
    const own = await startHttpServer({ core, host: '127.0.0.1', port: 0, clock });
    const url = `http://127.0.0.1:${own.port}`;
    const { body } = encodeHttpInferRequest({
      parameters: { delay_ms: 50 },
      inputs,
      outputs: [],
      binaryInputs: false,
      binaryOutputs: false,
    });
    const ownAgent = new Agent();
    const inFlight = request(`${url}/v2/models/addsub/infer`, { method: 'POST', body, dispatcher: ownAgent });
    const deadline = Date.now() + 2000;
    while (own.activeConnections() === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 2));
    await new Promise((r) => setTimeout(r, 10));
    const closed = own.close(true);
    const res = await inFlight;
    assert.equal(res.statusCode, 200);
    assert.equal(res.headers.connection, 'close');
    await res.body.arrayBuffer();
    await closed;
    assert.equal(own.activeConnections(), 0);
    await assert.rejects(request(`${url}/v2/health/live`, { dispatcher: ownAgent }));
    await ownAgent.close();
  });

  it('answers 503 Server exiting while shutting down, then closes gracefully', async () => {
    core.exiting = true;
    const r = await call('GET', '/v2/health/live');
    assert.deepEqual([r.status, json(r.body)], [503, { error: 'Server exiting' }]);
    core.exiting = false;
  });
});
