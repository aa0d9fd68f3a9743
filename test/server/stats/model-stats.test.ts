import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ResponseCache } from '../../../embedded-server/src/cache/response-cache.ts';
import { runWarmup } from '../../../embedded-server/src/scheduler/warmup.ts';
import { ModelStatsRecorder, type StatsEvent } from '../../../embedded-server/src/stats/model-stats.ts';
import { FakeClock } from '../../../src/protocol/clock.ts';
import {
  config,
  FakeInstance,
  flush,
  harness,
  identityConfig,
  MS,
  request,
} from '../scheduler/fake-instance.ts';

const WALL_ORIGIN_MS = 1_700_000_000_000;

describe('ModelStatsRecorder (Triton statistics, §5)', () => {
  it('reproduces the worked example: two batch-1 requests in one execution of 1 ms / 5 ms / 1 ms', async () => {
    const h = harness(
      identityConfig(
        'max_batch_size: 8\ndynamic_batching { preferred_batch_size: [ 4 ] max_queue_delay_microseconds: 1000 }',
      ),
    );
    const events: StatsEvent[] = [];
    h.stats.onEvent((e) => events.push(e));
    const ps = [h.scheduler.enqueue(request(1)), h.scheduler.enqueue(request(2))];
    await flush();
    h.clock.advanceNs(1 * MS);
    assert.deepEqual(h.calls()[0]!.tags, [1, 2]);
    h.clock.advanceNs(7 * MS);
    h.calls()[0]!.complete({ computeInputNs: 1 * MS, computeInferNs: 5 * MS, computeOutputNs: 1 * MS });
    await Promise.all(ps);

    const json = h.stats.toJson('m', '1');
    assert.deepEqual(json, {
      name: 'm',
      version: '1',
      last_inference: WALL_ORIGIN_MS + 8,
      inference_count: 2,
      execution_count: 1,
      inference_stats: {
        success: { count: 2, ns: 2 * 8 * MS },
        fail: { count: 0, ns: 0 },
        queue: { count: 2, ns: 2 * 1 * MS },
        compute_input: { count: 2, ns: 2e6 },
        compute_infer: { count: 2, ns: 10e6 },
        compute_output: { count: 2, ns: 2e6 },
        cache_hit: { count: 0, ns: 0 },
        cache_miss: { count: 0, ns: 0 },
      },
      response_stats: {},
      batch_stats: [
        {
          batch_size: 2,
          compute_input: { count: 1, ns: 1e6 },
          compute_infer: { count: 1, ns: 5e6 },
          compute_output: { count: 1, ns: 1e6 },
        },
      ],
      memory_usage: [],
    });
    assert.deepEqual(Object.keys(json), [
      'name',
      'version',
      'last_inference',
      'inference_count',
      'execution_count',
      'inference_stats',
      'response_stats',
      'batch_stats',
      'memory_usage',
    ]);
    assert.deepEqual(Object.keys(json.inference_stats), [
      'success',
      'fail',
      'queue',
      'compute_input',
      'compute_infer',
      'compute_output',
      'cache_hit',
      'cache_miss',
    ]);
    // What the metrics exporter sees: nv_inference_request_success 2, nv_inference_count 2, nv_inference_exec_count 1.
    const successes = events.filter((e) => e.kind === 'request-success');
    assert.equal(successes.length, 2);
    assert.equal(
      successes.reduce((n, e) => n + (e.kind === 'request-success' ? e.inferenceCount : 0), 0),
      2,
    );
    assert.equal(events.filter((e) => e.kind === 'execution').length, 1);
  });

  it('one request of batch 8 executed alone: inference_count 8, execution_count 1, one batch_stats entry of 8', async () => {
    const h = harness(identityConfig('max_batch_size: 8'));
    const p = h.scheduler.enqueue(request(1, { rows: 8 }));
    await flush();
    h.calls()[0]!.complete({ computeInferNs: 3 * MS });
    await p;
    const s = h.stats.toJson('m', '1');
    assert.equal(s.inference_count, 8);
    assert.equal(s.execution_count, 1);
    assert.equal(s.inference_stats.success.count, 1);
    assert.deepEqual(
      s.batch_stats.map((b) => [b.batch_size, b.compute_infer]),
      [[8, { count: 1, ns: 3 * MS }]],
    );
  });

  it('counts failures per reason, adds their durations to fail, and publishes each', () => {
    const clock = new FakeClock();
    const stats = new ModelStatsRecorder(clock);
    const events: StatsEvent[] = [];
    const off = stats.onEvent((e) => events.push(e));
    stats.recordFailure('REJECTED', 100);
    stats.recordFailure('REJECTED', 200);
    stats.recordFailure('CANCELED', 5);
    stats.recordFailure('BACKEND', 7);
    off();
    stats.recordFailure('OTHER', 1);
    assert.equal(stats.failureCount('REJECTED'), 2);
    assert.equal(stats.failureCount('CANCELED'), 1);
    assert.equal(stats.failureCount('BACKEND'), 1);
    assert.equal(stats.failureCount('OTHER'), 1);
    const s = stats.toJson('m', '1');
    assert.deepEqual(s.inference_stats.fail, { count: 5, ns: 313 });
    assert.equal(s.inference_stats.success.count, 0);
    assert.equal(s.last_inference, 0, 'failures are not executions');
    assert.deepEqual(
      events.map((e) => (e.kind === 'request-failure' ? e.reason : e.kind)),
      ['REJECTED', 'REJECTED', 'CANCELED', 'BACKEND'],
      'unsubscribed listeners hear nothing',
    );
  });

  it('keeps one batch_stats entry per executed batch size, sorted, durations added once per execution', () => {
    const clock = new FakeClock();
    const stats = new ModelStatsRecorder(clock);
    stats.recordExecution({ batchSize: 4, computeInputNs: 1, computeInferNs: 10, computeOutputNs: 100 });
    clock.advanceNs(5 * MS);
    stats.recordExecution({ batchSize: 1, computeInputNs: 2, computeInferNs: 20, computeOutputNs: 200 });
    stats.recordExecution({ batchSize: 4, computeInputNs: 3, computeInferNs: 30, computeOutputNs: 300 });
    const s = stats.toJson('m', '2');
    assert.equal(s.execution_count, 3);
    assert.equal(s.last_inference, WALL_ORIGIN_MS + 5);
    assert.deepEqual(s.batch_stats, [
      {
        batch_size: 1,
        compute_input: { count: 1, ns: 2 },
        compute_infer: { count: 1, ns: 20 },
        compute_output: { count: 1, ns: 200 },
      },
      {
        batch_size: 4,
        compute_input: { count: 2, ns: 4 },
        compute_infer: { count: 2, ns: 40 },
        compute_output: { count: 2, ns: 400 },
      },
    ]);
  });

  it('does not count warmup executions', async () => {
    const cfg = config(`max_batch_size: 4
      input [ { name: "INPUT0" data_type: TYPE_INT32 dims: [ 2 ] } ]
      output [ { name: "OUTPUT0" data_type: TYPE_INT32 dims: [ 2 ] } ]
      model_warmup [ { name: "zeros" batch_size: 2 count: 3 inputs { key: "INPUT0" value: { data_type: TYPE_INT32 dims: [ 2 ] zero_data: true } } } ]`);
    const clock = new FakeClock();
    const stats = new ModelStatsRecorder(clock);
    const instance = new FakeInstance('m_0', { auto: true });
    await runWarmup(cfg, instance, '/nonexistent');
    assert.equal(instance.calls.length, 3);
    assert.deepEqual(stats.toJson('m', '1'), new ModelStatsRecorder(clock).toJson('m', '1'));
  });

  it('counts cache hits as successes but not as inferences or executions', async () => {
    const cache = new ResponseCache(1 << 20);
    const h = harness(identityConfig('max_batch_size: 8\ndynamic_batching { }'), {
      cache,
      cacheEnabled: true,
    });
    const first = h.scheduler.enqueue(request(7));
    await flush();
    h.calls()[0]!.complete({ computeInferNs: 2 * MS });
    await first;
    const second = await h.scheduler.enqueue(request(7, { id: 'again' }));
    assert.equal(h.calls().length, 1, 'the hit never reached an instance');
    assert.equal(second.id, 'again');
    const s = h.stats.toJson('m', '1');
    assert.equal(s.inference_stats.success.count, 2);
    assert.equal(s.inference_stats.queue.count, 2);
    assert.equal(s.inference_stats.cache_hit.count, 1);
    assert.equal(s.inference_stats.cache_miss.count, 1);
    assert.deepEqual(s.inference_stats.compute_infer, { count: 1, ns: 2 * MS });
    assert.equal(s.inference_count, 1);
    assert.equal(s.execution_count, 1);
  });
});
