/**
 * The ensemble scheduler against composing models it cannot tell from real ones (fakes that record the step
 * requests they get): what a step request carries from its ensemble request. The real-server suites
 * (ensemble.test.ts, upstream-ensemble.test.ts) cover the data flow, batching, errors and model control.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type {
  ExecutionTimings,
  InferRequest,
  InferResponse,
} from '../../../embedded-server/src/core/types.ts';
import { createRequestValidator } from '../../../embedded-server/src/core/validate-request.ts';
import { parseModelConfigText } from '../../../embedded-server/src/repository/model-config.ts';
import {
  type ComposingModel,
  createEnsembleScheduler,
} from '../../../embedded-server/src/scheduler/ensemble-scheduler.ts';
import { cancelledError } from '../../../embedded-server/src/scheduler/model-scheduler.ts';
import { ModelStatsRecorder } from '../../../embedded-server/src/stats/model-stats.ts';
import { FakeClock } from '../../../src/protocol/clock.ts';
import { InferenceError } from '../../../src/protocol/status.ts';

const step = (name: string) =>
  parseModelConfigText(
    `name: "${name}" platform: "onnxruntime_onnx" max_batch_size: 8
     input [ { name: "INPUT0" data_type: TYPE_FP32 dims: [ 4 ] } ]
     output [ { name: "OUTPUT0" data_type: TYPE_FP32 dims: [ 4 ] } ]`,
    name,
  );

const CHAIN = parseModelConfigText(
  `name: "chain" platform: "ensemble" max_batch_size: 8
   input [ { name: "IN" data_type: TYPE_FP32 dims: [ 4 ] } ]
   output [ { name: "OUT" data_type: TYPE_FP32 dims: [ 4 ] } ]
   ensemble_scheduling { step [
     { model_name: "first" model_version: -1 input_map { key: "INPUT0" value: "IN" } output_map { key: "OUTPUT0" value: "MID" } },
     { model_name: "queued" model_version: -1 input_map { key: "INPUT0" value: "MID" } output_map { key: "OUTPUT0" value: "OUT" } }
   ] }`,
  'chain',
);

const TIMINGS: ExecutionTimings = { computeInputNs: 1000, computeInferNs: 20_000, computeOutputNs: 3000 };

/** A composing model answering with its input as OUTPUT0, charging TIMINGS to the step request. */
function echo(name: string, seen: InferRequest[], hold?: (r: InferRequest) => Promise<void>): ComposingModel {
  const config = step(name);
  return {
    version: '1',
    config,
    validate: createRequestValidator(config),
    async infer(request) {
      seen.push(request);
      await hold?.(request);
      request.secondaryStats?.(TIMINGS);
      const input = request.inputs[0] as InferResponse['outputs'][number];
      return { id: request.id, modelName: name, modelVersion: '1', outputs: [{ ...input, name: 'OUTPUT0' }] };
    },
  };
}

/** An ensemble request whose signal, like the transports', is made only when read (reads are counted). */
function ensembleRequest(abort: AbortController, reads: { n: number }): InferRequest {
  const request: InferRequest = {
    id: 'r1',
    modelName: 'chain',
    modelVersion: '',
    inputs: [{ name: 'IN', datatype: 'FP32', shape: [1, 4], data: new Uint8Array(16) }],
    outputs: [],
    parameters: { custom: { kind: 'string', value: 'x' } } as unknown as InferRequest['parameters'],
    priority: 2,
    timeoutUs: 5000,
    binaryDataOutput: false,
    receivedNs: 0,
  };
  Object.defineProperty(request, 'signal', {
    get: () => {
      reads.n += 1;
      return abort.signal;
    },
    enumerable: true,
  });
  return request;
}

describe('ensemble scheduler: the step requests', () => {
  it("carry the ensemble request's id, parameters, priority and timeout, and its signal only when read", async () => {
    const seen: InferRequest[] = [];
    const abort = new AbortController();
    const reads = { n: 0 };
    // `queued` waits like a request in a dynamic batcher's queue: it watches the signal (reading it).
    const queued = echo('queued', seen, (r) => {
      const signal = r.signal;
      assert.ok(signal, 'a queued step sees a signal');
      return new Promise<void>((_resolve, reject) => {
        signal.addEventListener('abort', () => reject(cancelledError(r.id)), { once: true });
      });
    });
    const models: Record<string, ComposingModel> = { first: echo('first', seen), queued };
    const stats = new ModelStatsRecorder(new FakeClock());
    const scheduler = createEnsembleScheduler({
      config: CHAIN,
      version: '1',
      clock: new FakeClock(),
      stats,
      resolve: (name) => models[name] as ComposingModel,
      cacheEnabled: false,
    });

    const done = scheduler.enqueue(ensembleRequest(abort, reads));
    const answer = await Promise.race([done, new Promise((r) => setImmediate(() => r('pending')))]);
    assert.equal(answer, 'pending');
    assert.equal(seen.length, 2, 'both steps were sent');
    const [first, second] = seen as [InferRequest, InferRequest];
    for (const r of seen) {
      assert.equal(r.id, 'r1');
      assert.equal(r.priority, 2);
      assert.equal(r.timeoutUs, 5000);
      assert.deepEqual(r.parameters, { custom: { kind: 'string', value: 'x' } });
    }
    assert.equal(first.modelName, 'first');
    assert.equal(second.modelName, 'queued');
    // Only the step that waited asked for the signal: a step dispatched at once never makes one.
    assert.equal(reads.n, 1);
    assert.equal(second.signal, abort.signal, "the step's signal is the ensemble request's");

    abort.abort();
    await assert.rejects(done, (e: unknown) => {
      assert.ok(e instanceof InferenceError);
      assert.equal(e.code, 'CANCELLED');
      assert.equal(e.message, "in ensemble 'chain', [request id: r1] Request was cancelled");
      return true;
    });
    assert.equal(stats.failureCount('OTHER'), 1);
  });

  it("add up the compute the composing models charge them into the ensemble request's statistics", async () => {
    const seen: InferRequest[] = [];
    const models: Record<string, ComposingModel> = {
      first: echo('first', seen),
      queued: echo('queued', seen),
    };
    const stats = new ModelStatsRecorder(new FakeClock());
    const scheduler = createEnsembleScheduler({
      config: CHAIN,
      version: '1',
      clock: new FakeClock(),
      stats,
      resolve: (name) => models[name] as ComposingModel,
      cacheEnabled: false,
    });
    const response = await scheduler.enqueue(ensembleRequest(new AbortController(), { n: 0 }));
    assert.deepEqual(
      response.outputs.map((t) => [t.name, t.shape]),
      [['OUT', [1, 4]]],
    );
    const json = stats.toJson('chain', '1');
    assert.equal(json.inference_stats.success.count, 1);
    assert.equal(json.inference_stats.compute_infer.ns, 2 * TIMINGS.computeInferNs);
    assert.equal(json.inference_stats.compute_input.ns, 2 * TIMINGS.computeInputNs);
    assert.equal(json.inference_stats.compute_output.ns, 2 * TIMINGS.computeOutputNs);
  });
});
