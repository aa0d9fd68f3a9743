import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import * as grpc from '@grpc/grpc-js';
import { systemClock } from '../../../src/protocol/clock.ts';
import {
  ModelInferRequestSchema,
  ModelInferResponseSchema,
  ModelStreamInferResponseSchema,
} from '../../../src/protocol/gen/grpc_service_pb.ts';
import {
  inferenceServiceDefinition,
  preencodedModelInfer,
  preencodedModelStreamInfer,
} from '../../../src/protocol/grpc-service.ts';
import type { ClientOptions, RequestSpec } from '../../../src/transport/client.ts';
import { createGrpcClient, streamErrorMessage } from '../../../src/transport/grpc-client.ts';

function spec(model: string): RequestSpec {
  return {
    modelName: model,
    modelVersion: '',
    inputs: [
      {
        name: 'INPUT0',
        datatype: 'INT32',
        shape: [1, 2],
        data: new Uint8Array(Int32Array.from([1, 2]).buffer),
      },
    ],
    outputs: ['OUTPUT0'],
    binaryOutputs: true,
    binaryInputs: true,
    parameters: { priority: 2 },
  };
}

/** A response whose size depends on the model name, so tests can tell responses apart. */
function responseFor(model: string): Uint8Array {
  return toBinary(
    ModelInferResponseSchema,
    create(ModelInferResponseSchema, {
      modelName: model,
      modelVersion: '1',
      rawOutputContents: [new Uint8Array(model.length * 4)],
    }),
  );
}

describe('gRPC InferClient', () => {
  const server = new grpc.Server();
  let url = '';
  const received: Buffer[] = [];
  const peers = new Set<string>();
  let metadataSeen: grpc.Metadata | undefined;
  const hung: grpc.sendUnaryData<Buffer>[] = [];

  before(async () => {
    const definition = {
      ...inferenceServiceDefinition,
      ModelInfer: preencodedModelInfer,
      ModelStreamInfer: preencodedModelStreamInfer,
    };
    server.addService(definition, {
      ModelInfer(call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) {
        received.push(call.request);
        peers.add(call.getPeer());
        metadataSeen = call.metadata;
        const req = fromBinary(ModelInferRequestSchema, call.request);
        if (req.modelName === 'bad') cb({ code: grpc.status.INVALID_ARGUMENT, details: 'unexpected shape' });
        else if (req.modelName === 'hang') hung.push(cb);
        else cb(null, Buffer.from(responseFor(req.modelName)));
      },
      ModelStreamInfer(call: grpc.ServerDuplexStream<Buffer, Buffer>) {
        const batch: string[] = [];
        call.on('data', (bytes: Buffer) => {
          batch.push(fromBinary(ModelInferRequestSchema, bytes).modelName);
          if (batch.length < 3) return;
          // Answer the three in request order (Triton's non-decoupled stream order).
          for (const model of batch.splice(0)) {
            const msg =
              model === 'bad'
                ? create(ModelStreamInferResponseSchema, { errorMessage: 'in-band failure' })
                : create(ModelStreamInferResponseSchema, {
                    inferResponse: fromBinary(ModelInferResponseSchema, responseFor(model)),
                  });
            call.write(Buffer.from(toBinary(ModelStreamInferResponseSchema, msg)));
          }
        });
        call.on('end', () => call.end());
      },
    });
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) =>
        err ? reject(err) : resolve(p),
      ),
    );
    url = `127.0.0.1:${port}`;
  });

  after(() => {
    for (const cb of hung) cb({ code: grpc.status.CANCELLED });
    server.forceShutdown();
  });

  function client(extra: Partial<ClientOptions> = {}) {
    return createGrpcClient({
      url,
      clock: systemClock,
      connections: 1,
      headers: { 'X-Tenant': 't1' },
      ...extra,
    });
  }

  it('sends the prepared bytes identically every time, with headers as metadata', async () => {
    const c = client();
    try {
      const prepared = c.prepare(spec('m'));
      received.length = 0;
      for (let k = 0; k < 3; k++) {
        const out = await c.infer(prepared, 2000);
        assert.equal(out.ok, true, out.errorMessage);
        assert.equal(out.responseBytes, responseFor('m').byteLength);
        assert.ok(out.sendStartNs <= out.responseStartNs && out.responseStartNs <= out.endNs);
      }
      assert.equal(received.length, 3);
      for (const r of received) assert.deepEqual(r, received[0]);
      assert.equal(received[0]?.byteLength, prepared.byteLength);
      const req = fromBinary(ModelInferRequestSchema, received[0] as Buffer);
      assert.equal(req.rawInputContents.length, 1);
      assert.deepEqual(req.inputs[0]?.shape, [1n, 2n]);
      assert.equal(req.parameters.priority?.parameterChoice.case, 'int64Param');
      assert.deepEqual(metadataSeen?.get('x-tenant'), ['t1']);
    } finally {
      await c.close();
    }
  });

  it('classifies gRPC statuses and deadlines', async () => {
    const c = client();
    try {
      const bad = await c.infer(c.prepare(spec('bad')), 2000);
      assert.equal(bad.errorKind, 'grpc:INVALID_ARGUMENT');
      assert.equal(bad.errorMessage, 'unexpected shape');
      const hang = await c.infer(c.prepare(spec('hang')), 200);
      assert.equal(hang.errorKind, 'timeout');
      assert.ok((hang.endNs - hang.sendStartNs) / 1e6 < 2000);
    } finally {
      await c.close();
    }
  });

  it('reports an unreachable server as grpc:UNAVAILABLE', async () => {
    const probe = new grpc.Server();
    const port = await new Promise<number>((resolve, reject) =>
      probe.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) =>
        err ? reject(err) : resolve(p),
      ),
    );
    probe.forceShutdown();
    const c = createGrpcClient({ url: `127.0.0.1:${port}`, clock: systemClock, connections: 1, headers: {} });
    try {
      const out = await c.infer(c.prepare(spec('m')), 2000);
      assert.equal(out.ok, false);
      assert.equal(out.errorKind, 'grpc:UNAVAILABLE');
    } finally {
      await c.close();
    }
  });

  it('spreads requests over K channels with their own connections', async () => {
    const c = client({ connections: 3 });
    try {
      peers.clear();
      const prepared = c.prepare(spec('m'));
      const outs = await Promise.all([0, 1, 2, 3, 4, 5].map(() => c.infer(prepared, 2000)));
      assert.ok(outs.every((o) => o.ok));
      assert.equal(peers.size, 3);
    } finally {
      await c.close();
    }
  });

  it('matches streamed responses to requests with 3 in flight, in-band errors included', async () => {
    const c = client({ streaming: true });
    try {
      const reqs = ['aa', 'bad', 'cccccc'].map((m) => c.prepare(spec(m)));
      const outs = await Promise.all(reqs.map((r) => c.infer(r, 5000)));
      assert.deepEqual(
        outs.map((o) => o.ok),
        [true, false, true],
      );
      assert.equal(outs[1]?.errorKind, 'stream:error');
      assert.equal(outs[1]?.errorMessage, 'in-band failure');
      assert.ok((outs[2]?.responseBytes ?? 0) > (outs[0]?.responseBytes ?? 0));
    } finally {
      await c.close();
    }
  });

  it('resolves streamed requests still waiting at close as transport:CLIENT_CLOSED', async () => {
    const c = client({ streaming: true });
    // The test server answers a stream three requests at a time: these two stay unanswered.
    const pending = ['aa', 'bb'].map((m) => c.infer(c.prepare(spec(m)), 0));
    await new Promise((r) => setTimeout(r, 100));
    await c.close();
    const outs = await Promise.all(pending);
    assert.deepEqual(
      outs.map((o) => o.errorKind),
      ['transport:CLIENT_CLOSED', 'transport:CLIENT_CLOSED'],
    );
  });

  it('reads error_message without decoding tensors', () => {
    const msg = create(ModelStreamInferResponseSchema, {
      inferResponse: fromBinary(ModelInferResponseSchema, responseFor('x')),
      errorMessage: 'e',
    });
    assert.equal(streamErrorMessage(toBinary(ModelStreamInferResponseSchema, msg)), 'e');
    const okOnly = create(ModelStreamInferResponseSchema, {
      inferResponse: fromBinary(ModelInferResponseSchema, responseFor('x')),
    });
    assert.equal(streamErrorMessage(toBinary(ModelStreamInferResponseSchema, okOnly)), '');
  });
});
