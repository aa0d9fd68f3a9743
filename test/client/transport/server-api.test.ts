import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { create } from '@bufbuild/protobuf';
import * as grpc from '@grpc/grpc-js';
import { systemClock } from '../../../src/protocol/clock.ts';
import {
  type ModelMetadataRequest,
  ModelMetadataResponseSchema,
  ModelStatisticsResponseSchema,
  ServerMetadataResponseSchema,
} from '../../../src/protocol/gen/grpc_service_pb.ts';
import { inferenceServiceDefinition } from '../../../src/protocol/grpc-service.ts';
import type { TlsOptions } from '../../../src/transport/client.ts';
import { createTransport } from '../../../src/transport/create.ts';
import type { ServerApi } from '../../../src/transport/server-api.ts';
import { ServerApiError } from '../../../src/transport/server-api.ts';
import { grpcTarget, httpTarget } from '../../../src/transport/server-url.ts';

async function rejectsWith(p: Promise<unknown>, kind: ServerApiError['kind'], text?: RegExp): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof ServerApiError, String(e));
    assert.equal(e.kind, kind, e.message);
    if (text) assert.match(e.message, text);
    return true;
  });
}

const STATS = {
  model_stats: [
    {
      name: 'm',
      version: '1',
      last_inference: 1,
      inference_count: 12,
      execution_count: 4,
      inference_stats: {
        success: { count: 12, ns: 1200 },
        fail: { count: 0, ns: 0 },
        queue: { count: 12, ns: 300 },
        compute_input: { count: 12, ns: 10 },
        compute_infer: { count: 12, ns: 500 },
        compute_output: { count: 12, ns: 20 },
        cache_hit: { count: 0, ns: 0 },
        cache_miss: { count: 0, ns: 0 },
      },
    },
  ],
};

function httpServer(withExtensions: boolean): Server {
  return createServer((req, res) => {
    const json = (status: number, body: unknown) =>
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    const url = req.url ?? '';
    if (url === '/v2/health/live') return res.writeHead(200).end();
    if (url === '/v2')
      return json(200, { name: 'kserve', version: '1', extensions: withExtensions ? ['statistics'] : [] });
    if (url.startsWith('/v2/models/nope'))
      return json(404, { error: "Request for unknown model: 'nope' is not found" });
    if (url === '/v2/models/m/versions/1') {
      return json(200, {
        name: 'm',
        versions: ['1'],
        platform: 'onnxruntime_onnx',
        inputs: [{ name: 'IN', datatype: 'FP32', shape: [-1, 3] }],
        outputs: [],
      });
    }
    if (url === '/v2/models/m/ready') return res.writeHead(200).end();
    if (withExtensions && url === '/v2/models/m/config') {
      return json(200, {
        name: 'm',
        max_batch_size: 8,
        input: [{ name: 'IN', data_type: 'TYPE_FP32', dims: [3] }],
        dynamic_batching: {},
      });
    }
    if (withExtensions && url === '/v2/models/m/stats') return json(200, STATS);
    return json(404, { error: 'Not Found' });
  });
}

async function listen(s: Server): Promise<string> {
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  return `127.0.0.1:${(s.address() as AddressInfo).port}`;
}

async function closeServer(s: Server): Promise<void> {
  s.closeAllConnections();
  await new Promise<void>((resolve) => s.close(() => resolve()));
}

describe('server URLs', () => {
  it('normalises perf_analyzer-style URLs', () => {
    assert.deepEqual(httpTarget('localhost:8000'), {
      origin: 'http://localhost:8000',
      basePath: '',
      secure: false,
    });
    assert.deepEqual(httpTarget('https://h:9/prefix/'), {
      origin: 'https://h:9',
      basePath: '/prefix',
      secure: true,
    });
    assert.equal(httpTarget('h:1', true).origin, 'https://h:1');
    assert.deepEqual(grpcTarget('localhost:8001'), { address: 'localhost:8001', secure: false });
    assert.deepEqual(grpcTarget('https://h:443'), { address: 'h:443', secure: true });
  });
});

describe('ServerApi over HTTP', () => {
  let full: Server;
  let plain: Server;
  let fullApi: ServerApi;
  let plainApi: ServerApi;
  const closers: (() => Promise<void>)[] = [];

  before(async () => {
    full = httpServer(true);
    plain = httpServer(false);
    for (const [s, set] of [
      [full, (a: ServerApi) => (fullApi = a)],
      [plain, (a: ServerApi) => (plainApi = a)],
    ] as const) {
      const t = createTransport('http', {
        url: await listen(s),
        clock: systemClock,
        connections: 1,
        headers: {},
      });
      set(t.api);
      closers.push(
        () => t.client.close(),
        () => t.api.close(),
      );
    }
  });
  after(async () => {
    for (const c of closers) await c();
    await closeServer(full);
    await closeServer(plain);
  });

  it('reads metadata, config and statistics', async () => {
    assert.equal(await fullApi.serverLive(), true);
    assert.deepEqual((await fullApi.serverMetadata()).extensions, ['statistics']);
    const md = await fullApi.modelMetadata('m', '1');
    assert.deepEqual(md.inputs, [{ name: 'IN', datatype: 'FP32', shape: [-1, 3] }]);
    assert.equal(await fullApi.modelReady('m', ''), true);
    const config = await fullApi.modelConfig('m', '');
    assert.equal(config.maxBatchSize, 8);
    assert.deepEqual(config.input[0]?.dims, [3n]);
    const [stats] = await fullApi.modelStatistics('m', '');
    assert.equal(stats?.inferenceCount, 12);
    assert.deepEqual(stats?.queue, { count: 12, ns: 300 });
    assert.deepEqual(stats?.computeInfer, { count: 12, ns: 500 });
  });

  it('maps absent extensions to not_supported and unknown models to not_found', async () => {
    await rejectsWith(plainApi.modelStatistics('m', ''), 'not_supported');
    await rejectsWith(plainApi.modelConfig('m', ''), 'not_supported');
    await rejectsWith(fullApi.modelMetadata('nope', ''), 'not_found', /unknown model/);
    await rejectsWith(fullApi.modelConfig('nope', ''), 'not_found');
  });

  it('maps connection refused to unavailable naming the URL', async () => {
    const probe = createServer();
    const url = await listen(probe);
    await closeServer(probe);
    const t = createTransport('http', { url, clock: systemClock, connections: 1, headers: {} });
    try {
      await rejectsWith(t.api.serverMetadata(), 'unavailable', new RegExp(`http://${url}.*ECONNREFUSED`));
    } finally {
      await t.client.close();
      await t.api.close();
    }
  });
});

describe('ServerApi over gRPC', () => {
  const server = new grpc.Server();
  let api: ServerApi;
  let closeAll: () => Promise<void>;

  before(async () => {
    // Only a subset of the RPCs: the others answer UNIMPLEMENTED, like a plain KServe server.
    server.addService(inferenceServiceDefinition, {
      ServerMetadata(_call: unknown, cb: grpc.sendUnaryData<unknown>) {
        cb(
          null,
          create(ServerMetadataResponseSchema, { name: 'g', version: '2', extensions: ['statistics'] }),
        );
      },
      ModelMetadata(
        call: grpc.ServerUnaryCall<ModelMetadataRequest, unknown>,
        cb: grpc.sendUnaryData<unknown>,
      ) {
        if (call.request.name !== 'm')
          return cb({
            code: grpc.status.NOT_FOUND,
            details: `Request for unknown model: '${call.request.name}' is not found`,
          });
        cb(
          null,
          create(ModelMetadataResponseSchema, {
            name: 'm',
            versions: ['1'],
            platform: 'onnxruntime_onnx',
            inputs: [{ name: 'IN', datatype: 'INT64', shape: [-1n, 5n] }],
          }),
        );
      },
      ModelStatistics(_call: unknown, cb: grpc.sendUnaryData<unknown>) {
        cb(
          null,
          create(ModelStatisticsResponseSchema, {
            modelStats: [
              {
                name: 'm',
                version: '1',
                inferenceCount: 9n,
                executionCount: 3n,
                inferenceStats: { queue: { count: 9n, ns: 90n } },
              },
            ],
          }),
        );
      },
    });
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) =>
        err ? reject(err) : resolve(p),
      ),
    );
    const t = createTransport('grpc', {
      url: `127.0.0.1:${port}`,
      clock: systemClock,
      connections: 1,
      headers: {},
    });
    api = t.api;
    closeAll = async () => {
      await t.client.close();
      await t.api.close();
    };
  });
  after(async () => {
    await closeAll();
    server.forceShutdown();
  });

  it('reads metadata and statistics with int64 as numbers', async () => {
    assert.deepEqual(await api.serverMetadata(), { name: 'g', version: '2', extensions: ['statistics'] });
    assert.deepEqual((await api.modelMetadata('m', '')).inputs, [
      { name: 'IN', datatype: 'INT64', shape: [-1, 5] },
    ]);
    const [s] = await api.modelStatistics('m', '');
    assert.equal(s?.inferenceCount, 9);
    assert.deepEqual(s?.queue, { count: 9, ns: 90 });
    assert.deepEqual(s?.success, { count: 0, ns: 0 });
  });

  it('maps UNIMPLEMENTED to not_supported and NOT_FOUND to not_found', async () => {
    await rejectsWith(api.modelConfig('m', ''), 'not_supported');
    await rejectsWith(api.modelMetadata('x', ''), 'not_found', /unknown model/);
  });
});

describe('ServerApi over gRPC with TLS', () => {
  const TLS_DIR = fileURLToPath(new URL('../../fixtures/tls/', import.meta.url));
  const CERT = `${TLS_DIR}server-cert.pem`;
  const server = new grpc.Server();
  let port = 0;

  before(async () => {
    server.addService(inferenceServiceDefinition, {
      ServerMetadata(_call: unknown, cb: grpc.sendUnaryData<unknown>) {
        cb(null, create(ServerMetadataResponseSchema, { name: 'tls', version: '1', extensions: [] }));
      },
    });
    const credentials = grpc.ServerCredentials.createSsl(null, [
      { cert_chain: readFileSync(CERT), private_key: readFileSync(`${TLS_DIR}server-key.pem`) },
    ]);
    port = await new Promise<number>((resolve, reject) =>
      server.bindAsync('127.0.0.1:0', credentials, (err, p) => (err ? reject(err) : resolve(p))),
    );
  });
  after(() => server.forceShutdown());

  async function serverName(tls: TlsOptions): Promise<string> {
    const t = createTransport('grpc', {
      url: `127.0.0.1:${port}`,
      clock: systemClock,
      connections: 1,
      headers: {},
      tls,
    });
    try {
      return (await t.api.serverMetadata()).name;
    } finally {
      await t.client.close();
      await t.api.close();
    }
  }

  // The server API (and the streams) run on grpc-js, the unary infer calls on node:http2: both must verify
  // the peer alike (grpc-unary-http2.test.ts checks the unary side against the same certificate).
  it('connects with the CA file, refuses the self-signed certificate without it, and accepts it with peer verification off', async () => {
    assert.equal(await serverName({ enabled: true, caFile: CERT }), 'tls');
    await rejectsWith(serverName({ enabled: true }), 'unavailable', /self[- ]signed/i);
    assert.equal(await serverName({ enabled: true, verifyPeer: false }), 'tls');
  });
});
