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

const FAN = parseModelConfigText(
  `name: "fan" platform: "ensemble" max_batch_size: 8
   input [ { name: "IN" data_type: TYPE_FP32 dims: [ 4 ] } ]
   output [ { name: "A" data_type: TYPE_FP32 dims: [ 4 ] }, { name: "B" data_type: TYPE_FP32 dims: [ 4 ] } ]
   ensemble_scheduling { step [
     { model_name: "first" model_version: -1 input_map { key: "INPUT0" value: "IN" } output_map { key: "OUTPUT0" value: "A" } },
     { model_name: "queued" model_version: -1 input_map { key: "INPUT0" value: "IN" } output_map { key: "OUTPUT0" value: "B" } }
   ] }`,
  'fan',
);

const TWO_INPUTS = parseModelConfigText(
  `name: "two" platform: "ensemble" max_batch_size: 8
   input [ { name: "IN1" data_type: TYPE_FP32 dims: [ 4 ] }, { name: "IN2" data_type: TYPE_FP32 dims: [ 4 ] } ]
   output [ { name: "A" data_type: TYPE_FP32 dims: [ 4 ] }, { name: "B" data_type: TYPE_FP32 dims: [ 4 ] } ]
   ensemble_scheduling { step [
     { model_name: "first" model_version: -1 input_map { key: "INPUT0" value: "IN1" } output_map { key: "OUTPUT0" value: "A" } },
     { model_name: "queued" model_version: -1 input_map { key: "INPUT0" value: "IN2" } output_map { key: "OUTPUT0" value: "B" } }
   ] }`,
  'two',
);

/** The CHAIN config with `max_inflight_requests` per step. */
function chainLimitedTo(n: number) {
  return parseModelConfigText(
    `name: "chain" platform: "ensemble" max_batch_size: 8
     input [ { name: "IN" data_type: TYPE_FP32 dims: [ 4 ] } ]
     output [ { name: "OUT" data_type: TYPE_FP32 dims: [ 4 ] } ]
     ensemble_scheduling { max_inflight_requests: ${n} step [
       { model_name: "first" model_version: -1 input_map { key: "INPUT0" value: "IN" } output_map { key: "OUTPUT0" value: "MID" } },
       { model_name: "queued" model_version: -1 input_map { key: "INPUT0" value: "MID" } output_map { key: "OUTPUT0" value: "OUT" } }
     ] }`,
    'chain',
  );
}

function schedulerOf(
  config: ReturnType<typeof parseModelConfigText>,
  models: Record<string, ComposingModel>,
) {
  const stats = new ModelStatsRecorder(new FakeClock());
  const scheduler = createEnsembleScheduler({
    config,
    version: '1',
    clock: new FakeClock(),
    stats,
    resolve: (name) => models[name] as ComposingModel,
    cacheEnabled: false,
  });
  return { scheduler, stats };
}

/** A composing model that rejects every request with `error` (sent requests are recorded). */
function failing(name: string, seen: InferRequest[], error: unknown): ComposingModel {
  const config = step(name);
  return {
    version: '1',
    config,
    validate: createRequestValidator(config),
    async infer(request) {
      seen.push(request);
      throw error;
    },
  };
}

/** Lets every pending promise reaction run (the fakes answer in microtasks). */
const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('ensemble scheduler: tensors between steps', () => {
  it('hands a chain tensor on without a copy: the same buffer reaches the next step and the response', async () => {
    const seen: InferRequest[] = [];
    const { scheduler } = schedulerOf(CHAIN, { first: echo('first', seen), queued: echo('queued', seen) });
    const request = ensembleRequest(new AbortController(), { n: 0 });
    const input = request.inputs[0]?.data as Uint8Array;
    const response = await scheduler.enqueue(request);
    const [first, second] = seen as [InferRequest, InferRequest];
    // The request's only tensor is handed over to its only reader, then each step's output to the next step.
    assert.equal(first.inputs[0]?.data, input);
    assert.equal(second.inputs[0]?.data, input);
    assert.equal(response.outputs[0]?.data, input);
    assert.equal(second.inputs[0]?.name, 'INPUT0');
  });

  it('fan-out: only the last reader gets the buffer, an earlier reader a copy of the same bytes', async () => {
    const seen: InferRequest[] = [];
    const { scheduler } = schedulerOf(FAN, { first: echo('first', seen), queued: echo('queued', seen) });
    const request = ensembleRequest(new AbortController(), { n: 0 });
    const input = request.inputs[0]?.data as Uint8Array;
    input.set([1, 2, 3, 4]);
    const response = await scheduler.enqueue(request);
    const [a, b] = seen.map((r) => r.inputs[0]?.data as Uint8Array) as [Uint8Array, Uint8Array];
    assert.notEqual(
      a.buffer,
      input.buffer,
      'the first reader must not get a buffer a later reader still needs',
    );
    assert.deepEqual([...a], [...input]);
    assert.equal(b, input, 'the last reader gets the request buffer itself');
    assert.deepEqual(
      response.outputs.map((t) => t.name),
      ['A', 'B'],
    );
  });

  it('two inputs in one request body: the first reader gets a copy while the other input still needs the buffer', async () => {
    const seen: InferRequest[] = [];
    const { scheduler } = schedulerOf(TWO_INPUTS, {
      first: echo('first', seen),
      queued: echo('queued', seen),
    });
    const request = ensembleRequest(new AbortController(), { n: 0 });
    // As a transport decodes one body: both inputs are views into the same buffer.
    const body = new Uint8Array(64);
    const in1 = body.subarray(0, 16);
    const in2 = body.subarray(16, 32);
    in1.fill(7);
    request.inputs = [
      { name: 'IN1', datatype: 'FP32', shape: [1, 4], data: in1 },
      { name: 'IN2', datatype: 'FP32', shape: [1, 4], data: in2 },
    ];
    request.modelName = 'two';
    await scheduler.enqueue(request);
    const [a, b] = seen.map((r) => r.inputs[0]?.data as Uint8Array) as [Uint8Array, Uint8Array];
    assert.notEqual(a.buffer, body.buffer, 'IN2 still lives on the body buffer: IN1 must be copied');
    assert.deepEqual([...a], [...in1]);
    assert.equal(b, in2, 'once IN1 is done, the last tensor on the buffer is handed over');
  });
});

describe('ensemble scheduler: failures and statistics', () => {
  it("a failing step fails the request once with Triton's prefix and its code; later steps never start", async () => {
    const seen: InferRequest[] = [];
    const { scheduler, stats } = schedulerOf(CHAIN, {
      first: failing('first', seen, new InferenceError('UNAVAILABLE', 'boom')),
      queued: echo('queued', seen),
    });
    await assert.rejects(
      scheduler.enqueue(ensembleRequest(new AbortController(), { n: 0 })),
      (e: unknown) => {
        assert.ok(e instanceof InferenceError);
        assert.equal(e.code, 'UNAVAILABLE');
        assert.equal(e.message, "in ensemble 'chain', boom");
        return true;
      },
    );
    assert.deepEqual(
      seen.map((r) => r.modelName),
      ['first'],
    );
    const json = stats.toJson('chain', '1');
    assert.equal(json.inference_stats.fail.count, 1);
    assert.equal(json.inference_stats.success.count, 0);
    assert.equal(json.execution_count, 0);
    assert.equal(scheduler.inflightCount(), 0);
  });

  it('a step throwing something else than an InferenceError fails the request as INTERNAL', async () => {
    const { scheduler } = schedulerOf(CHAIN, {
      first: echo('first', []),
      queued: failing('queued', [], new TypeError('not a tensor')),
    });
    await assert.rejects(scheduler.enqueue(ensembleRequest(new AbortController(), { n: 0 })), {
      code: 'INTERNAL',
      message: "in ensemble 'chain', not a tensor",
    });
  });

  it('fan-out: a failed branch answers only after the other branch in flight has finished', async () => {
    const seen: InferRequest[] = [];
    let release: () => void = () => undefined;
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    const { scheduler, stats } = schedulerOf(FAN, {
      first: echo('first', seen, () => held),
      queued: failing('queued', seen, new InferenceError('INVALID_ARG', 'bad')),
    });
    let settled = false;
    const done = scheduler.enqueue(ensembleRequest(new AbortController(), { n: 0 })).finally(() => {
      settled = true;
    });
    await settle();
    assert.equal(settled, false, 'the first branch is still running');
    assert.equal(scheduler.inflightCount(), 1);
    release();
    await assert.rejects(done, { code: 'INVALID_ARG', message: "in ensemble 'fan', bad" });
    assert.equal(stats.toJson('fan', '1').inference_stats.fail.count, 1);
  });

  it('a successful request counts one success and one execution, never more', async () => {
    const { scheduler, stats } = schedulerOf(CHAIN, { first: echo('first', []), queued: echo('queued', []) });
    for (let i = 0; i < 3; i++) await scheduler.enqueue(ensembleRequest(new AbortController(), { n: 0 }));
    const json = stats.toJson('chain', '1');
    assert.equal(json.inference_stats.success.count, 3);
    assert.equal(json.inference_stats.fail.count, 0);
    assert.equal(json.execution_count, 3);
    assert.equal(json.inference_count, 3);
    assert.deepEqual(
      json.batch_stats.map((b) => [b.batch_size, b.compute_infer.count]),
      [[1, 3]],
    );
  });
});

describe('ensemble scheduler: max_inflight_requests', () => {
  it('holds a step while the limit of its requests is in flight, and starts it when one finishes', async () => {
    const seen: InferRequest[] = [];
    const releases: (() => void)[] = [];
    const hold = () =>
      new Promise<void>((resolve) => {
        releases.push(resolve);
      });
    const { scheduler, stats } = schedulerOf(chainLimitedTo(1), {
      first: echo('first', seen, hold),
      queued: echo('queued', seen),
    });
    const a = scheduler.enqueue(ensembleRequest(new AbortController(), { n: 0 }));
    const b = scheduler.enqueue(ensembleRequest(new AbortController(), { n: 0 }));
    await settle();
    assert.equal(seen.length, 1, "the second request's first step waits for the first one's");
    releases[0]?.();
    await a;
    await settle();
    assert.equal(seen.filter((r) => r.modelName === 'first').length, 2, 'then it is sent');
    releases[1]?.();
    await b;
    assert.equal(stats.toJson('chain', '1').inference_stats.success.count, 2);
  });
});
