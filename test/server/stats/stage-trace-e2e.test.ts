import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { create } from '@bufbuild/protobuf';
import { type RunningServer, startServer } from '../../../embedded-server/src/index.ts';
import { identityModel } from '../../../embedded-server/src/onnx/tiny-models.ts';
import { STAGES, type StageSummary } from '../../../embedded-server/src/stats/stage-trace.ts';
import {
  ModelInferRequestSchema,
  type ModelInferResponse,
} from '../../../src/protocol/gen/grpc_service_pb.ts';
import {
  type GrpcInferClient,
  grpcInferClient,
  type TempRepository,
  tempRepository,
} from '../../helpers/real-server.ts';

const CONFIG = fileURLToPath(
  new URL('../../../embedded-server/models/identity_fp32/config.pbtxt', import.meta.url),
);

async function httpBinaryInfer(server: RunningServer): Promise<number> {
  const header = Buffer.from(
    JSON.stringify({
      inputs: [{ name: 'INPUT0', datatype: 'FP32', shape: [1, 16], parameters: { binary_data_size: 64 } }],
      outputs: [{ name: 'OUTPUT0', parameters: { binary_data: true } }],
    }),
  );
  const res = await fetch(`${server.httpUrl}/v2/models/identity_fp32/infer`, {
    method: 'POST',
    headers: { 'Inference-Header-Content-Length': String(header.byteLength) },
    body: Buffer.concat([header, Buffer.alloc(64)]),
  });
  await res.arrayBuffer();
  return res.status;
}

/** Every set stage's median is ≥ 0 and the medians add up to no more than the whole span allows. */
function assertSane(s: StageSummary, unset: readonly string[]): void {
  assert.deepEqual(
    s.stages.map((x) => x.stage),
    [...STAGES],
  );
  for (const x of s.stages) {
    assert.ok(x.medianUs >= 0, `${x.stage}: ${x.medianUs}`);
    if (unset.includes(x.stage)) assert.equal(x.medianUs, 0, x.stage);
  }
  assert.ok(s.statisticsSpanMedianUs > 0);
  assert.ok(s.nonComputeMedianUs > 0 && s.nonComputeMedianUs < s.statisticsSpanMedianUs);
  assert.ok(s.totalMedianUs >= s.statisticsSpanMedianUs);
}

describe('stage trace through a real server', () => {
  let repo: TempRepository;
  let server: RunningServer;
  let grpc: GrpcInferClient;

  before(async () => {
    repo = await tempRepository({
      identity_fp32: { config: await readFile(CONFIG, 'utf8'), onnx: identityModel('FP32') },
    });
    server = await startServer({ modelRepository: repo.dir, stageTrace: true });
    grpc = grpcInferClient(server.grpcUrl);
  });

  after(async () => {
    grpc?.close();
    await server?.stop({ timeoutMs: 5000 });
    await repo?.remove();
  });

  it('stamps every stage of an HTTP inference, and nothing while paused', async () => {
    const trace = server.stageTrace;
    assert.ok(trace);
    trace.reset();
    assert.equal(await httpBinaryInfer(server), 200);
    assert.equal(trace.count(), 1);
    assertSane(trace.summary(), []);

    trace.enabled = false;
    assert.equal(await httpBinaryInfer(server), 200);
    assert.equal(trace.count(), 1);
    trace.enabled = true;

    // Failed requests are not recorded.
    const bad = await fetch(`${server.httpUrl}/v2/models/nope/infer`, { method: 'POST', body: '{}' });
    await bad.text();
    assert.notEqual(bad.status, 200);
    assert.equal(trace.count(), 1);
  });

  it('stamps a unary gRPC inference (no separate body read)', async () => {
    const trace = server.stageTrace;
    assert.ok(trace);
    trace.reset();
    const res = await new Promise<ModelInferResponse>((resolve, reject) =>
      grpc.ModelInfer(
        create(ModelInferRequestSchema, {
          modelName: 'identity_fp32',
          inputs: [{ name: 'INPUT0', datatype: 'FP32', shape: [1n, 16n] }],
          rawInputContents: [new Uint8Array(64)],
        }),
        (err, r) => (err ? reject(err) : resolve(r as ModelInferResponse)),
      ),
    );
    assert.equal(res.outputs[0]?.name, 'OUTPUT0');
    assert.equal(trace.count(), 1);
    assertSane(trace.summary(), ['bodyRead']);
  });

  it('is off unless asked for', async () => {
    const plain = await startServer({ modelRepository: repo.dir });
    try {
      assert.equal(plain.stageTrace, undefined);
      assert.equal(await httpBinaryInfer(plain), 200);
    } finally {
      await plain.stop({ timeoutMs: 5000 });
    }
  });
});
