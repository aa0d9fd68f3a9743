/**
 * The sequence load against the real server and the real `accumulate` model: every response is checked
 * against the running sum of the inputs its sequence sent, over HTTP and gRPC, in concurrency mode (slots =
 * sequences) and request-rate mode with --serial-sequences; every sequence ends (also the ones the stop cut
 * short), and the server saw no failure.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fromBinary } from '@bufbuild/protobuf';
import { type RunningServer, startServer } from '../../../embedded-server/src/index.ts';
import { accumulateModel } from '../../../embedded-server/src/onnx/stateful-models.ts';
import { constantPacer } from '../../../src/load/schedule.ts';
import { SequenceLoop } from '../../../src/load/sequence-loop.ts';
import { SequenceOpenLoop } from '../../../src/load/sequence-open-loop.ts';
import { SequencePlan, type SequenceSettings } from '../../../src/load/sequence-schedule.ts';
import type { RequestObserver, SequenceMark } from '../../../src/measure/request-observer.ts';
import { systemClock } from '../../../src/protocol/clock.ts';
import { ModelInferResponseSchema } from '../../../src/protocol/gen/grpc_service_pb.ts';
import { packageInfo } from '../../../src/protocol/package-info.ts';
import type {
  InferClient,
  InferOutcome,
  PreparedRequest,
  RequestSpec,
} from '../../../src/transport/client.ts';
import { createTransport } from '../../../src/transport/create.ts';
import { http, type TempRepository, tempRepository } from '../../helpers/real-server.ts';

interface Sent {
  id: number;
  start: boolean;
  end: boolean;
  input: number;
  output?: number;
}

/** Step specs: one stream of 7 steps with INPUT = 3, -1, 4, 1, -5, 9, 2 (looped by longer sequences). */
const VALUES = [3, -1, 4, 1, -5, 9, 2];
function stepSpecs(): RequestSpec[][] {
  return [
    VALUES.map((v) => ({
      modelName: 'accumulate',
      modelVersion: '',
      inputs: [
        { name: 'INPUT', datatype: 'INT32', shape: [1, 1], data: new Uint8Array(Int32Array.of(v).buffer) },
      ],
      outputs: [],
      binaryOutputs: false,
      binaryInputs: false,
      parameters: {},
    })),
  ];
}

/** Wraps a client: remembers what each request carried and decodes each kept response's OUTPUT. */
function recordingClient(inner: InferClient, log: Sent[]): InferClient {
  const sentOf = new WeakMap<PreparedRequest, Sent>();
  return {
    protocol: inner.protocol,
    prepare(spec) {
      const prepared = inner.prepare(spec);
      const p = spec.parameters;
      const input = new DataView((spec.inputs[0] as RequestSpec['inputs'][number]).data.buffer).getInt32(
        0,
        true,
      );
      sentOf.set(prepared, {
        id: p.sequence_id as number,
        start: p.sequence_start === true,
        end: p.sequence_end === true,
        input,
      });
      return prepared;
    },
    async infer(request, timeoutMs) {
      const outcome = await inner.infer(request, timeoutMs);
      const sent = sentOf.get(request) as Sent;
      if (outcome.ok && outcome.response)
        sent.output = decodeOutput(outcome.response.encoding, outcome.response.bytes);
      log.push(sent);
      return outcome;
    },
    keepResponses: (on) => inner.keepResponses?.(on),
    close: () => inner.close(),
  };
}

function decodeOutput(encoding: string, bytes: Uint8Array): number {
  if (encoding === 'http') {
    const json = JSON.parse(new TextDecoder().decode(bytes)) as { outputs: { data: number[] }[] };
    return json.outputs[0]?.data[0] as number;
  }
  const res = fromBinary(ModelInferResponseSchema, bytes);
  const raw = Uint8Array.from(res.rawOutputContents[0] as Uint8Array);
  return new DataView(raw.buffer).getInt32(0, true);
}

const observer = (): RequestObserver & { ends: number; failures: string[] } => {
  const o = {
    ends: 0,
    failures: [] as string[],
    onSent() {},
    onDropped() {},
    onCompleted(outcome: InferOutcome, _intended: number | undefined, _index?: number, seq?: SequenceMark) {
      if (!outcome.ok) o.failures.push(outcome.errorMessage ?? outcome.errorKind ?? '?');
      else if (seq?.end) o.ends++;
    },
  };
  return o;
};

/**
 * Checks every response: per correlation ID, in send order, a START resets the sum, each output is the sum of
 * the inputs so far, and the last request of each ID carries END.
 */
function checkRunningSums(log: readonly Sent[]): number {
  const byId = new Map<number, Sent[]>();
  for (const s of log) byId.set(s.id, [...(byId.get(s.id) ?? []), s]);
  let sequences = 0;
  for (const [id, sent] of byId) {
    let sum = 0;
    sent.forEach((s, k) => {
      if (k === 0) assert.ok(s.start, `sequence ${id} starts with START`);
      if (s.start) {
        sum = 0;
        sequences++;
      }
      sum += s.input;
      assert.equal(s.output, sum, `sequence ${id} request ${k}: output is the running sum`);
    });
    assert.ok(sent.at(-1)?.end, `sequence ${id} ends with END`);
  }
  return sequences;
}

const SETTINGS: SequenceSettings = {
  length: 5,
  lengthVariationPct: 40,
  idStart: 1000,
  idRange: 1_000_000,
  numSequences: 3,
  serial: true,
  seed: 5489,
};

describe('sequence load against the real accumulate model', () => {
  let repo: TempRepository;
  let server: RunningServer;

  before(async () => {
    const config = await readFile(
      join(packageInfo().root, 'embedded-server', 'models', 'accumulate', 'config.pbtxt'),
      'utf8',
    );
    repo = await tempRepository({ accumulate: { config, onnx: accumulateModel() } });
    server = await startServer({ modelRepository: repo.dir });
  });

  after(async () => {
    await server?.stop({ timeoutMs: 10_000 });
    await repo?.remove();
  });

  for (const protocol of ['http', 'grpc'] as const) {
    it(`${protocol}: concurrency 3 (3 sequences at a time), 60 requests, every running sum exact`, async () => {
      const url = protocol === 'http' ? server.httpUrl : server.grpcUrl;
      const { client: inner, api } = createTransport(protocol, {
        url,
        clock: systemClock,
        connections: 3,
        headers: {},
      });
      inner.keepResponses?.(true);
      const log: Sent[] = [];
      const obs = observer();
      const plan = new SequencePlan({
        settings: SETTINGS,
        streamLengths: [7],
        lengthFromStreams: false,
        seed: 5489,
      });
      const loop = new SequenceLoop({
        client: recordingClient(inner, log),
        stepSpecs: stepSpecs(),
        plan,
        observer: obs,
        timeoutMs: 10_000,
        maxSends: 60,
      });
      loop.setConcurrency(3);
      while (log.length < 20) await new Promise((resolve) => setTimeout(resolve, 5));
      // Shrinking ends the surplus slot's sequence (one END) before it stops.
      loop.setConcurrency(2);
      while (log.length < 60) await new Promise((resolve) => setTimeout(resolve, 5));
      await loop.stop();
      await Promise.all([inner.close(), api.close()]);
      assert.deepEqual(obs.failures, []);
      const sequences = checkRunningSums(log);
      assert.equal(obs.ends, sequences, 'every sequence ended, also those the stop cut short');
      assert.ok(
        log.length >= 60 && log.length <= 63,
        `60 requests plus at most one END per slot, got ${log.length}`,
      );
    });
  }

  it('request rate with --serial-sequences: 4 sequences share the schedule, sums exact', async () => {
    const { client: inner, api } = createTransport('http', {
      url: server.httpUrl,
      clock: systemClock,
      connections: 4,
      headers: {},
    });
    inner.keepResponses?.(true);
    const log: Sent[] = [];
    const obs = observer();
    const loop = new SequenceOpenLoop({
      clock: systemClock,
      client: recordingClient(inner, log),
      stepSpecs: stepSpecs(),
      plan: new SequencePlan({ settings: SETTINGS, streamLengths: [7], lengthFromStreams: false, seed: 1 }),
      sequences: 4,
      serial: true,
      observer: obs,
      pacer: constantPacer(400),
      timeoutMs: 10_000,
      delayToleranceNs: 1_000_000,
      maxSends: 40,
    });
    loop.start();
    while (log.length < 40) await new Promise((resolve) => setTimeout(resolve, 10));
    await loop.stop();
    await Promise.all([inner.close(), api.close()]);
    assert.deepEqual(obs.failures, []);
    const sequences = checkRunningSums(log);
    assert.equal(obs.ends, sequences);
  });

  it('the server counted every request as a success and holds no open sequence slot afterwards', async () => {
    const stats = (await http(`${server.httpUrl}/v2/models/accumulate/stats`)).json() as {
      model_stats: { inference_stats: { success: { count: number }; fail: { count: number } } }[];
    };
    assert.equal(stats.model_stats[0]?.inference_stats.fail.count, 0);
    assert.ok((stats.model_stats[0]?.inference_stats.success.count ?? 0) >= 160);
  });
});
