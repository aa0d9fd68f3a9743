import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { create, type DescMessage, fromBinary, type MessageShape, toBinary } from '@bufbuild/protobuf';
import { Client, credentials, Metadata, type ServiceError } from '@grpc/grpc-js';
import { isRequestOwned } from '../../../embedded-server/src/core/request-buffers.ts';
import {
  type GrpcServerHandle,
  startGrpcServer,
} from '../../../embedded-server/src/transport/grpc-server.ts';
import { FakeClock } from '../../../src/protocol/clock.ts';
import {
  ModelConfigRequestSchema,
  ModelConfigResponseSchema,
  ModelInferRequestSchema,
  ModelInferResponseSchema,
  ModelMetadataRequestSchema,
  ModelMetadataResponseSchema,
  ModelReadyRequestSchema,
  ModelReadyResponseSchema,
  ModelStatisticsRequestSchema,
  ModelStatisticsResponseSchema,
  ModelStreamInferResponseSchema,
  RepositoryIndexRequestSchema,
  RepositoryIndexResponseSchema,
  RepositoryModelLoadRequestSchema,
  RepositoryModelLoadResponseSchema,
  ServerLiveRequestSchema,
  ServerLiveResponseSchema,
  SystemSharedMemoryStatusRequestSchema,
  SystemSharedMemoryStatusResponseSchema,
} from '../../../src/protocol/gen/grpc_service_pb.ts';
import { HealthCheckRequestSchema, HealthCheckResponseSchema } from '../../../src/protocol/gen/health_pb.ts';
import { grpcResponseToWire, wireToGrpcRequest } from '../../../src/protocol/grpc-infer-codec.ts';
import { asBuffer } from '../../../src/protocol/grpc-service.ts';
import { GrpcCode } from '../../../src/protocol/status.ts';
import type { Tensor } from '../../../src/protocol/tensor.ts';
import { FakeCore, int32Tensor } from './fake-core.ts';

const core = new FakeCore();
let server: GrpcServerHandle;
let client: Client;

function unaryCall<I extends DescMessage, O extends DescMessage>(
  path: string,
  inSchema: I,
  outSchema: O,
  msg: MessageShape<I>,
  metadata = new Metadata(),
): Promise<MessageShape<O>> {
  return new Promise((resolve, reject) => {
    client.makeUnaryRequest(
      path,
      (m: MessageShape<I>) => asBuffer(toBinary(inSchema, m)),
      (b: Buffer) => fromBinary(outSchema, b),
      msg,
      metadata,
      {},
      (err, res) => (err ? reject(err) : resolve(res as MessageShape<O>)),
    );
  });
}

const svc = (rpc: string) => `/inference.GRPCInferenceService/${rpc}`;
const inputs = [int32Tensor('INPUT0', [1, 2, 3, 4]), int32Tensor('INPUT1', [10, 20, 30, 40])];
const values = (t: Tensor) => [...new Int32Array(new Uint8Array(t.data).buffer)];

async function rejectsWith(p: Promise<unknown>, code: number, details: string): Promise<void> {
  await assert.rejects(p, (e: ServiceError) => {
    assert.equal(e.code, code);
    assert.equal(e.details, details);
    return true;
  });
}

describe('grpc-server', () => {
  before(async () => {
    server = await startGrpcServer({ core, host: '127.0.0.1', port: 0, clock: new FakeClock(42) });
    client = new Client(`127.0.0.1:${server.port}`, credentials.createInsecure());
  });
  after(async () => {
    client.close();
    await server.close(false);
  });

  it('answers health, metadata, config, statistics and repository RPCs', async () => {
    const live = await unaryCall(
      svc('ServerLive'),
      ServerLiveRequestSchema,
      ServerLiveResponseSchema,
      create(ServerLiveRequestSchema),
    );
    assert.equal(live.live, true);
    const ready = await unaryCall(
      svc('ModelReady'),
      ModelReadyRequestSchema,
      ModelReadyResponseSchema,
      create(ModelReadyRequestSchema, { name: 'hang' }),
    );
    assert.equal(ready.ready, false);
    await rejectsWith(
      unaryCall(
        svc('ModelReady'),
        ModelReadyRequestSchema,
        ModelReadyResponseSchema,
        create(ModelReadyRequestSchema, { name: 'x' }),
      ),
      GrpcCode.NOT_FOUND,
      "Request for unknown model: 'x' is not found",
    );
    await rejectsWith(
      unaryCall(
        svc('ModelMetadata'),
        ModelMetadataRequestSchema,
        ModelMetadataResponseSchema,
        create(ModelMetadataRequestSchema, { name: 'addsub', version: 'v1' }),
      ),
      GrpcCode.INVALID_ARGUMENT,
      "failed to get model version from specified version string 'v1' (details: stol), version should be an integral value > 0",
    );
    const meta = await unaryCall(
      svc('ModelMetadata'),
      ModelMetadataRequestSchema,
      ModelMetadataResponseSchema,
      create(ModelMetadataRequestSchema, { name: 'addsub' }),
    );
    assert.deepEqual(meta.inputs[0]?.shape, [-1n, 4n]);
    const cfg = await unaryCall(
      svc('ModelConfig'),
      ModelConfigRequestSchema,
      ModelConfigResponseSchema,
      create(ModelConfigRequestSchema, { name: 'addsub' }),
    );
    assert.equal(cfg.config?.maxBatchSize, 8);
    const stats = await unaryCall(
      svc('ModelStatistics'),
      ModelStatisticsRequestSchema,
      ModelStatisticsResponseSchema,
      create(ModelStatisticsRequestSchema),
    );
    assert.equal(stats.modelStats[0]?.inferenceStats?.success?.ns, 3000n);
    assert.equal(stats.modelStats[0]?.batchStats[0]?.computeOutput?.count, 2n);
    const index = await unaryCall(
      svc('RepositoryIndex'),
      RepositoryIndexRequestSchema,
      RepositoryIndexResponseSchema,
      create(RepositoryIndexRequestSchema, { ready: true }),
    );
    assert.deepEqual(
      index.models.map((m) => [m.name, m.state]),
      [['addsub', 'READY']],
    );
    await unaryCall(
      svc('RepositoryModelLoad'),
      RepositoryModelLoadRequestSchema,
      RepositoryModelLoadResponseSchema,
      create(RepositoryModelLoadRequestSchema, {
        modelName: 'addsub',
        parameters: { config: { parameterChoice: { case: 'stringParam', value: '{"max_batch_size":4}' } } },
      }),
    );
    assert.deepEqual(core.loads.at(-1), { name: 'addsub', configJson: '{"max_batch_size":4}' });
    await rejectsWith(
      unaryCall(
        svc('RepositoryModelLoad'),
        RepositoryModelLoadRequestSchema,
        RepositoryModelLoadResponseSchema,
        create(RepositoryModelLoadRequestSchema, { repositoryName: 'r', modelName: 'addsub' }),
      ),
      GrpcCode.UNIMPLEMENTED,
      "'repository_name' specification is not supported",
    );
    await rejectsWith(
      unaryCall(
        svc('SystemSharedMemoryStatus'),
        SystemSharedMemoryStatusRequestSchema,
        SystemSharedMemoryStatusResponseSchema,
        create(SystemSharedMemoryStatusRequestSchema),
      ),
      GrpcCode.UNIMPLEMENTED,
      'SystemSharedMemoryStatus is not supported by this server',
    );
    const health = await unaryCall(
      '/grpc.health.v1.Health/Check',
      HealthCheckRequestSchema,
      HealthCheckResponseSchema,
      create(HealthCheckRequestSchema),
    );
    assert.equal(health.status, 1);
    core.exiting = true;
    await rejectsWith(
      unaryCall(
        svc('ServerLive'),
        ServerLiveRequestSchema,
        ServerLiveResponseSchema,
        create(ServerLiveRequestSchema),
      ),
      GrpcCode.UNAVAILABLE,
      'Server exiting',
    );
    core.exiting = false;
  });

  it('serves ModelInfer with raw outputs and maps errors to statuses', async () => {
    const req = wireToGrpcRequest({
      modelName: 'addsub',
      modelVersion: '1',
      id: 'g1',
      parameters: { priority: 1 },
      inputs,
      outputs: ['OUTPUT0'],
    });
    const res = await unaryCall(svc('ModelInfer'), ModelInferRequestSchema, ModelInferResponseSchema, req);
    assert.equal(res.id, 'g1');
    assert.equal(res.rawOutputContents.length, 1);
    assert.deepEqual(values(grpcResponseToWire(res).outputs[0] as Tensor), [11, 22, 33, 44]);
    const seen = core.requests.at(-1);
    assert.equal(seen?.priority, 1);
    assert.equal(seen?.receivedNs, 42);
    await rejectsWith(
      unaryCall(svc('ModelInfer'), ModelInferRequestSchema, ModelInferResponseSchema, {
        ...req,
        modelName: 'nope',
      }),
      GrpcCode.NOT_FOUND,
      "Request for unknown model: 'nope' is not found",
    );
    await rejectsWith(
      unaryCall(svc('ModelInfer'), ModelInferRequestSchema, ModelInferResponseSchema, {
        ...req,
        rawInputContents: [],
      }),
      GrpcCode.INVALID_ARGUMENT,
      "unable to find data for input tensor 'INPUT0' for model 'addsub' in request.",
    );
  });

  it('leaves an answered request un-aborted when grpc-js reports its closed stream as cancelled', async () => {
    // grpc-js emits 'cancelled' for every unary call once its stream closes. Aborting then did nothing useful
    // and cost a DOMException per request on the ingress thread.
    const req = wireToGrpcRequest({
      modelName: 'addsub',
      modelVersion: '1',
      id: 'answered',
      parameters: {},
      inputs,
      outputs: [],
    });
    await unaryCall(svc('ModelInfer'), ModelInferRequestSchema, ModelInferResponseSchema, req);
    // A later call on the same connection: by its answer the server has handled the first stream's close.
    await unaryCall(svc('ModelInfer'), ModelInferRequestSchema, ModelInferResponseSchema, {
      ...req,
      id: 'next',
    });
    const seen = core.requests.find((r) => r.id === 'answered');
    assert.ok(seen?.signal, 'the request carries a signal');
    assert.equal(seen.signal.aborted, false);
  });

  it('hands a message of 4 KiB or more to the core in its own buffer (moved, not copied, to the main thread), a small one not', async () => {
    const big = Array.from({ length: 2048 }, (_, i) => i);
    const request = (id: string, n: number[]) =>
      wireToGrpcRequest({
        modelName: 'addsub',
        modelVersion: '',
        id,
        parameters: {},
        inputs: [int32Tensor('INPUT0', n), int32Tensor('INPUT1', n)],
        outputs: ['OUTPUT0'],
      });
    const res = await unaryCall(
      svc('ModelInfer'),
      ModelInferRequestSchema,
      ModelInferResponseSchema,
      request('big', big),
    );
    assert.deepEqual(
      values(grpcResponseToWire(res).outputs[0] as Tensor),
      big.map((v) => 2 * v),
    );
    const seenBig = core.requests.find((r) => r.id === 'big');
    assert.equal(isRequestOwned(seenBig?.inputs[0]?.data.buffer as ArrayBuffer), true);
    assert.equal(seenBig?.inputs[0]?.data.buffer, seenBig?.inputs[1]?.data.buffer, 'one message, one buffer');
    await unaryCall(
      svc('ModelInfer'),
      ModelInferRequestSchema,
      ModelInferResponseSchema,
      request('small', [1, 2]),
    );
    const seenSmall = core.requests.find((r) => r.id === 'small');
    assert.equal(
      isRequestOwned(seenSmall?.inputs[0]?.data.buffer as ArrayBuffer),
      false,
      'Node pool: shared',
    );
  });

  it('keeps stream responses in request order and reports errors in-band', async () => {
    const stream = client.makeBidiStreamRequest(
      svc('ModelStreamInfer'),
      (m: MessageShape<typeof ModelInferRequestSchema>) => asBuffer(toBinary(ModelInferRequestSchema, m)),
      (b: Buffer) => fromBinary(ModelStreamInferResponseSchema, b),
    );
    const got: MessageShape<typeof ModelStreamInferResponseSchema>[] = [];
    const done = new Promise<void>((resolve, reject) => {
      stream.on('data', (m: MessageShape<typeof ModelStreamInferResponseSchema>) => got.push(m));
      stream.on('end', resolve);
      stream.on('error', reject);
    });
    const base = { modelName: 'addsub', modelVersion: '', inputs, outputs: [] };
    stream.write(wireToGrpcRequest({ ...base, id: 'slow', parameters: { delay_ms: 40 } }));
    stream.write(wireToGrpcRequest({ ...base, id: 'fast', parameters: {} }));
    stream.write(wireToGrpcRequest({ ...base, id: 'bad', parameters: { fail: true } }));
    stream.end();
    await done;
    assert.deepEqual(
      got.map((m) => m.inferResponse?.id),
      ['slow', 'fast', 'bad'],
    );
    assert.deepEqual(
      got.map((m) => m.errorMessage),
      ['', '', '[request id: bad] Exceeds maximum queue size'],
    );
    assert.deepEqual(got[0]?.inferResponse?.parameters.triton_final_response?.parameterChoice, {
      case: 'boolParam',
      value: true,
    });
    assert.deepEqual(
      values(grpcResponseToWire(got[1]?.inferResponse as never).outputs[1] as Tensor),
      [-9, -18, -27, -36],
    );
  });

  it('aborts the request signal when the client cancels', async () => {
    const req = wireToGrpcRequest({
      modelName: 'hang',
      modelVersion: '',
      id: 'cancel-me',
      parameters: {},
      inputs,
      outputs: [],
    });
    const call = client.makeUnaryRequest(
      svc('ModelInfer'),
      (m: MessageShape<typeof ModelInferRequestSchema>) => asBuffer(toBinary(ModelInferRequestSchema, m)),
      (b: Buffer) => b,
      req,
      () => {},
    );
    const deadline = Date.now() + 2000;
    while (!core.requests.some((r) => r.id === 'cancel-me') && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 5));
    call.cancel();
    while (!core.aborted.includes('cancel-me') && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 5));
    assert.ok(core.aborted.includes('cancel-me'));
  });
});
