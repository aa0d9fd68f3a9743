import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { InferResponse } from '../../../embedded-server/src/core/types.ts';
import { InferenceError } from '../../../src/protocol/status.ts';
import { config, flush, harness, identityConfig, int32s, MS, request, track } from './fake-instance.ts';

function isError(code: string, message: string): (e: unknown) => boolean {
  return (e) => {
    assert.ok(e instanceof InferenceError, `expected InferenceError, got ${String(e)}`);
    assert.equal(e.code, code);
    assert.equal(e.message, message);
    return true;
  };
}

describe('default scheduler (no dynamic_batching)', () => {
  it('gives each request its own payload, FIFO, to the first idle instance; a batch of 8 stays one execution', async () => {
    const h = harness(identityConfig('max_batch_size: 8'));
    const p1 = h.scheduler.enqueue(request(1));
    const p2 = h.scheduler.enqueue(request(2, { rows: 8 }));
    const p3 = h.scheduler.enqueue(request(3));
    await flush();
    assert.equal(h.calls().length, 1);
    assert.deepEqual(h.calls()[0]!.tags, [1]);
    assert.equal(h.scheduler.pendingCount(), 2);
    assert.equal(h.scheduler.inflightCount(), 3);
    h.calls()[0]!.complete();
    await flush();
    assert.deepEqual(h.calls()[1]!.tags, [2]);
    assert.equal(h.calls()[1]!.rows, 8);
    h.calls()[1]!.complete();
    await flush();
    assert.deepEqual(h.calls()[2]!.tags, [3]);
    h.calls()[2]!.complete();
    const [r1, r2, r3] = await Promise.all([p1, p2, p3]);
    assert.deepEqual(r2.outputs[0]!.shape, [8, 2]);
    assert.deepEqual(int32s(r1.outputs[0]!), [1, 1]);
    assert.deepEqual(int32s(r3.outputs[1]!), [3, 3]);
    const s = h.stats.toJson('m', '1');
    assert.equal(s.execution_count, 3);
    assert.equal(s.inference_count, 10);
    assert.equal(h.scheduler.inflightCount(), 0);
  });
});

describe('dynamic batcher rules (§4.3–§4.7)', () => {
  it('dynamic_batching {} sends everything queued, up to max_batch_size, when an instance frees up', async () => {
    const h = harness(identityConfig('max_batch_size: 4\ndynamic_batching { }'));
    const p0 = h.scheduler.enqueue(request(0));
    await flush();
    assert.deepEqual(h.calls()[0]!.tags, [0]);
    const ps = [1, 2, 3, 4, 5, 6].map((t) => h.scheduler.enqueue(request(t)));
    await flush();
    assert.equal(h.calls().length, 1);
    h.calls()[0]!.complete();
    await flush();
    assert.deepEqual(h.calls()[1]!.tags, [1, 2, 3, 4]);
    h.calls()[1]!.complete();
    await flush();
    assert.deepEqual(h.calls()[2]!.tags, [5, 6]);
    h.calls()[2]!.complete();
    const responses = await Promise.all([p0, ...ps]);
    responses.forEach((r, i) => {
      assert.deepEqual(int32s(r.outputs[0]!), [i, i], 'each request gets its own rows back');
      assert.deepEqual(r.outputs[0]!.shape, [1, 2]);
    });
  });

  it('preferred [4, 8] with 6 queued and no delay sends 4; 2 stay queued', async () => {
    const h = harness(
      identityConfig('max_batch_size: 8\ndynamic_batching { preferred_batch_size: [ 4, 8 ] }'),
    );
    void h.scheduler.enqueue(request(0));
    await flush();
    const ps = [1, 2, 3, 4, 5, 6].map((t) => h.scheduler.enqueue(request(t)));
    await flush();
    h.calls()[0]!.complete();
    await flush();
    assert.deepEqual(h.calls()[1]!.tags, [1, 2, 3, 4]);
    assert.equal(h.scheduler.pendingCount(), 2);
    h.calls()[1]!.complete();
    await flush();
    assert.deepEqual(h.calls()[2]!.tags, [5, 6]);
    h.calls()[2]!.complete();
    await Promise.all(ps);
  });

  it('measures max_queue_delay from the oldest pending request, not the newest', async () => {
    const h = harness(
      identityConfig(
        'max_batch_size: 8\ndynamic_batching { preferred_batch_size: [ 4 ] max_queue_delay_microseconds: 1000 }',
      ),
    );
    const p1 = h.scheduler.enqueue(request(1));
    await flush();
    h.clock.advanceNs(0.6 * MS);
    const p2 = h.scheduler.enqueue(request(2));
    await flush();
    h.clock.advanceNs(0.39 * MS);
    await flush();
    assert.equal(h.calls().length, 0, 'still waiting just before 1 ms after the first request');
    h.clock.advanceNs(0.01 * MS);
    await flush();
    assert.equal(h.calls().length, 1);
    assert.deepEqual(h.calls()[0]!.tags, [1, 2]);
    h.calls()[0]!.complete();
    await Promise.all([p1, p2]);
    assert.deepEqual(h.stats.toJson('m', '1').inference_stats.queue, { count: 2, ns: 1 * MS + 0.4 * MS });
  });

  it('cuts at the largest preferred size while the delay is not exceeded; past the delay sends up to max_batch_size', async () => {
    // priority_levels: 1 turns prefetching off, so batches form only when the instance is idle.
    const h = harness(
      identityConfig(`max_batch_size: 4
        dynamic_batching { preferred_batch_size: [ 2 ] max_queue_delay_microseconds: 1000 priority_levels: 1 default_priority_level: 1 }`),
    );
    const p0 = h.scheduler.enqueue(request(0));
    await flush();
    h.clock.advanceNs(1 * MS);
    assert.deepEqual(h.calls()[0]!.tags, [0], 'a lone request goes once the delay passed');
    const late = [1, 2, 3, 4].map((t) => h.scheduler.enqueue(request(t)));
    await flush();
    h.clock.advanceNs(1 * MS);
    h.calls()[0]!.complete();
    await flush();
    assert.deepEqual(h.calls()[1]!.tags, [1, 2, 3, 4], 'delay exceeded: larger than preferred, up to max');
    const fresh = [5, 6, 7, 8].map((t) => h.scheduler.enqueue(request(t)));
    await flush();
    h.clock.advanceNs(0.5 * MS);
    h.calls()[1]!.complete();
    await flush();
    assert.deepEqual(h.calls()[2]!.tags, [5, 6], 'delay not exceeded: exactly the preferred size');
    h.calls()[2]!.complete();
    await flush();
    assert.deepEqual(h.calls()[3]!.tags, [7, 8]);
    h.calls()[3]!.complete();
    await Promise.all([p0, ...late, ...fresh]);
  });

  it('a request with a different shape starts a new batch; no reordering to find compatible requests', async () => {
    const h = harness(identityConfig('max_batch_size: 8\ndynamic_batching { }', '[ -1 ]'));
    const p0 = h.scheduler.enqueue(request(0));
    await flush();
    const ps = [
      h.scheduler.enqueue(request(1, { width: 2 })),
      h.scheduler.enqueue(request(2, { width: 3 })),
      h.scheduler.enqueue(request(3, { width: 2 })),
      h.scheduler.enqueue(request(4, { width: 2 })),
    ];
    await flush();
    for (let i = 0; i < 4; i++) {
      h.calls()[i]!.complete();
      await flush();
    }
    assert.deepEqual(
      h.calls().map((c) => c.tags),
      [[0], [1], [2], [3, 4]],
    );
    const r = await Promise.all([p0, ...ps]);
    assert.deepEqual(r[2]!.outputs[0]!.shape, [1, 3]);
  });

  it('optional inputs: only requests carrying the same set of inputs share a batch', async () => {
    const h = harness(
      config(`max_batch_size: 4
        input [ { name: "INPUT0" data_type: TYPE_INT32 dims: [ 2 ] optional: true },
                { name: "INPUT1" data_type: TYPE_INT32 dims: [ 2 ] optional: true } ]
        output [ { name: "OUTPUT0" data_type: TYPE_INT32 dims: [ 2 ] } ]
        dynamic_batching { }`),
    );
    const both = (tag: number) => {
      const r = request(tag);
      return { ...r, inputs: [...r.inputs, { ...r.inputs[0]!, name: 'INPUT1' }] };
    };
    void h.scheduler.enqueue(request(0));
    await flush();
    const ps = [h.scheduler.enqueue(request(1)), h.scheduler.enqueue(both(2)), h.scheduler.enqueue(both(3))];
    await flush();
    for (let i = 0; i < 3; i++) {
      h.calls()[i]!.complete();
      await flush();
    }
    assert.deepEqual(
      h.calls().map((c) => c.tags),
      [[0], [1], [2, 3]],
    );
    await Promise.all(ps);
  });

  it('max_queue_size rejects exactly the overflow, synchronously, and does not count it', async () => {
    const h = harness(
      identityConfig('max_batch_size: 8\ndynamic_batching { default_queue_policy { max_queue_size: 2 } }'),
    );
    const p0 = h.scheduler.enqueue(request(0));
    await flush();
    const p1 = h.scheduler.enqueue(request(1));
    const p2 = h.scheduler.enqueue(request(2));
    const p3 = h.scheduler.enqueue(request(3));
    const p4 = h.scheduler.enqueue(request(4, { id: '' }));
    await assert.rejects(p3, isError('UNAVAILABLE', '[request id: r3] Exceeds maximum queue size'));
    await assert.rejects(p4, isError('UNAVAILABLE', '[request id: <id_unknown>] Exceeds maximum queue size'));
    assert.equal(h.scheduler.pendingCount(), 2);
    assert.equal(h.scheduler.inflightCount(), 3);
    h.calls()[0]!.complete();
    await flush();
    assert.deepEqual(h.calls()[1]!.tags, [1, 2]);
    h.calls()[1]!.complete();
    await Promise.all([p0, p1, p2]);
    const s = h.stats.toJson('m', '1');
    assert.deepEqual(s.inference_stats.fail, { count: 0, ns: 0 });
    assert.equal(s.inference_stats.success.count, 3);
  });

  it('REJECT timeout: the request is answered "Request timeout expired" at its deadline and counted as REJECTED', async () => {
    const h = harness(
      identityConfig(`max_batch_size: 8
        dynamic_batching { default_queue_policy { timeout_action: REJECT default_timeout_microseconds: 100000 } }`),
    );
    const p0 = h.scheduler.enqueue(request(0));
    await flush();
    const log: string[] = [];
    const p1 = track(h.scheduler.enqueue(request(1)), log, 'r1');
    await flush();
    h.clock.advanceNs(99 * MS);
    await flush();
    assert.deepEqual(log, [], 'not expired yet');
    h.clock.advanceNs(1 * MS);
    await flush();
    assert.deepEqual(log, ['r1!'], 'swept while the only instance is busy');
    isError('UNAVAILABLE', 'Request timeout expired')(await p1);
    assert.equal(h.stats.failureCount('REJECTED'), 1);
    assert.deepEqual(h.stats.toJson('m', '1').inference_stats.fail, { count: 1, ns: 100 * MS });
    h.calls()[0]!.complete();
    await p0;
    await flush();
    assert.equal(h.calls().length, 1, 'the rejected request never executes');
    assert.equal(h.clock.pendingTimers(), 0);
  });

  it('DELAY timeout: an expired request moves behind the unexpired requests of its level and still runs', async () => {
    const h = harness(
      identityConfig(`max_batch_size: 1
        dynamic_batching { default_queue_policy { timeout_action: DELAY default_timeout_microseconds: 100000 } }`),
    );
    void h.scheduler.enqueue(request(0));
    await flush();
    const p1 = h.scheduler.enqueue(request(1));
    await flush();
    h.clock.advanceNs(50 * MS);
    const p2 = h.scheduler.enqueue(request(2));
    await flush();
    h.clock.advanceNs(70 * MS);
    h.calls()[0]!.complete();
    await flush();
    h.calls()[1]!.complete();
    await flush();
    h.calls()[2]!.complete();
    await Promise.all([p1, p2]);
    assert.deepEqual(
      h.calls().map((c) => c.tags),
      [[0], [2], [1]],
    );
    assert.equal(h.stats.toJson('m', '1').inference_stats.fail.count, 0);
  });

  it('allow_timeout_override: the request timeout applies only when smaller than a non-zero default', async () => {
    const cases = [
      {
        policy: 'default_timeout_microseconds: 1000000 allow_timeout_override: true',
        timeoutUs: 100_000,
        expiresMs: 100,
      },
      {
        policy: 'default_timeout_microseconds: 100000 allow_timeout_override: true',
        timeoutUs: 2_000_000,
        expiresMs: 100,
      },
      {
        policy: 'default_timeout_microseconds: 1000000 allow_timeout_override: false',
        timeoutUs: 100_000,
        expiresMs: 1000,
      },
      {
        policy: 'default_timeout_microseconds: 0 allow_timeout_override: true',
        timeoutUs: 100_000,
        expiresMs: undefined,
      },
    ];
    for (const c of cases) {
      const h = harness(
        identityConfig(`max_batch_size: 8\ndynamic_batching { default_queue_policy { ${c.policy} } }`),
      );
      const p0 = h.scheduler.enqueue(request(0));
      await flush();
      const log: string[] = [];
      void track(h.scheduler.enqueue(request(1, { timeoutUs: c.timeoutUs })), log, 'r1');
      await flush();
      h.clock.advanceNs((c.expiresMs ?? 2000) * MS - 1);
      await flush();
      assert.deepEqual(log, [], c.policy);
      h.clock.advanceNs(1);
      await flush();
      assert.deepEqual(log, c.expiresMs === undefined ? [] : ['r1!'], c.policy);
      h.calls()[0]!.complete();
      await p0;
      await flush();
      h.calls()[1]?.complete();
      await h.scheduler.drain();
    }
  });

  it('priorities: level 1 first, strictly; priority 0 or above priority_levels uses default_priority_level', async () => {
    const h = harness(
      identityConfig('max_batch_size: 1\ndynamic_batching { priority_levels: 3 default_priority_level: 2 }'),
    );
    void h.scheduler.enqueue(request(0, { priority: 1 }));
    await flush();
    const ps = [
      h.scheduler.enqueue(request(1, { priority: 3 })),
      h.scheduler.enqueue(request(2, { priority: 0 })),
      h.scheduler.enqueue(request(3, { priority: 1 })),
      h.scheduler.enqueue(request(4, { priority: 9 })),
      h.scheduler.enqueue(request(5, { priority: 2 })),
    ];
    await flush();
    for (let i = 0; i < 6; i++) {
      h.calls()[i]!.complete();
      await flush();
    }
    await Promise.all(ps);
    assert.deepEqual(
      h.calls().map((c) => c.tags[0]),
      [0, 3, 2, 4, 5, 1],
    );
  });

  it('cancellation while queued answers CANCELLED (counted CANCELED); once executing the request completes', async () => {
    const h = harness(
      identityConfig('max_batch_size: 8\ndynamic_batching { priority_levels: 1 default_priority_level: 1 }'),
    );
    const p0 = h.scheduler.enqueue(request(0));
    await flush();
    const queued = new AbortController();
    const p1 = h.scheduler.enqueue(request(1, { signal: queued.signal }));
    const running = new AbortController();
    const p2 = h.scheduler.enqueue(request(2, { signal: running.signal }));
    await flush();
    queued.abort();
    await assert.rejects(p1, isError('CANCELLED', '[request id: r1] Request was cancelled'));
    assert.equal(h.stats.failureCount('CANCELED'), 1);
    assert.equal(h.scheduler.pendingCount(), 1);
    h.calls()[0]!.complete();
    await flush();
    assert.deepEqual(h.calls()[1]!.tags, [2]);
    running.abort();
    h.calls()[1]!.complete();
    await Promise.all([p0, p2]);
    assert.equal(h.stats.toJson('m', '1').inference_stats.success.count, 2);
  });

  it('preserve_ordering: responses leave in dispatch order even when instances finish out of order', async () => {
    for (const preserve of [true, false]) {
      const h = harness(
        identityConfig(`max_batch_size: 1\ndynamic_batching { preserve_ordering: ${preserve} }`),
        {
          instanceCount: 2,
        },
      );
      const log: string[] = [];
      const done = [
        track(h.scheduler.enqueue(request(1)), log, 'r1'),
        track(h.scheduler.enqueue(request(2)), log, 'r2'),
      ];
      await flush();
      assert.equal(h.instances[0]!.running + h.instances[1]!.running, 2);
      h.instances[1]!.calls[0]!.complete();
      await flush();
      assert.deepEqual(
        log,
        preserve ? [] : ['r2'],
        'the later response is held only under preserve_ordering',
      );
      h.instances[0]!.calls[0]!.complete();
      await Promise.all(done);
      assert.deepEqual(log, preserve ? ['r1', 'r2'] : ['r2', 'r1']);
    }
  });

  it('preserve_ordering: a failed earlier response still releases the ones held behind it', async () => {
    const h = harness(identityConfig('max_batch_size: 1\ndynamic_batching { preserve_ordering: true }'), {
      instanceCount: 2,
    });
    const log: string[] = [];
    const done = [
      track(h.scheduler.enqueue(request(1)), log, 'r1'),
      track(h.scheduler.enqueue(request(2)), log, 'r2'),
    ];
    await flush();
    h.instances[1]!.calls[0]!.complete();
    await flush();
    assert.deepEqual(log, []);
    h.instances[0]!.calls[0]!.fail(new Error('boom'));
    await Promise.all(done);
    assert.deepEqual(log, ['r1!', 'r2']);
    assert.equal(h.scheduler.inflightCount(), 0);
  });

  it('a queued payload keeps growing until an instance starts executing it', async () => {
    const h = harness(identityConfig('max_batch_size: 8\ndynamic_batching { }'));
    void h.scheduler.enqueue(request(0));
    await flush();
    const ps = [];
    for (const t of [1, 2, 3]) {
      ps.push(h.scheduler.enqueue(request(t)));
      await flush();
    }
    assert.equal(h.scheduler.pendingCount(), 3);
    h.calls()[0]!.complete();
    await flush();
    assert.deepEqual(h.calls()[1]!.tags, [1, 2, 3]);
    h.calls()[1]!.complete();
    await Promise.all(ps);
  });

  it('two instances execute two payloads at the same time', async () => {
    const h = harness(identityConfig('max_batch_size: 4\ndynamic_batching { }'), { instanceCount: 2 });
    const p1 = h.scheduler.enqueue(request(1));
    await flush();
    const p2 = h.scheduler.enqueue(request(2));
    await flush();
    assert.equal(h.instances[0]!.running, 1);
    assert.equal(h.instances[1]!.running, 1);
    assert.deepEqual(h.instances[1]!.calls[0]!.tags, [2]);
    h.instances[0]!.calls[0]!.complete();
    h.instances[1]!.calls[0]!.complete();
    await Promise.all([p1, p2]);
  });

  it('stop(): new requests get the exact "Server is stopping" error; queued ones still finish; drain() waits', async () => {
    const h = harness(identityConfig('max_batch_size: 1\ndynamic_batching { }'));
    const p0 = h.scheduler.enqueue(request(0));
    await flush();
    const p1 = h.scheduler.enqueue(request(1));
    await flush();
    h.scheduler.stop();
    const suffix = 'Server is stopping, scheduler for model has stopped accepting new inference requests';
    await assert.rejects(
      h.scheduler.enqueue(request(2)),
      isError('UNAVAILABLE', `[request id: r2] ${suffix}`),
    );
    await assert.rejects(
      h.scheduler.enqueue(request(3, { id: '' })),
      isError('UNAVAILABLE', `[request id: <id_unknown>] ${suffix}`),
    );
    let drained = false;
    const drain = h.scheduler.drain().then(() => {
      drained = true;
    });
    h.calls()[0]!.complete();
    await flush();
    assert.equal(drained, false);
    h.calls()[1]!.complete();
    await drain;
    await Promise.all([p0, p1]);
    assert.equal(h.stats.toJson('m', '1').inference_stats.fail.count, 0, 'stop rejections are not counted');
  });

  it('max_batch_size 0: requests are never combined, even with dynamic batching', async () => {
    const h = harness(identityConfig('max_batch_size: 0\ndynamic_batching { }'));
    const ps = [0, 1, 2, 3].map((t) => h.scheduler.enqueue(request(t, { batching: false })));
    await flush();
    for (let i = 0; i < 4; i++) {
      assert.equal(h.calls()[i]!.requests.length, 1);
      h.calls()[i]!.complete();
      await flush();
    }
    const r = (await Promise.all(ps)) as InferResponse[];
    assert.deepEqual(r[3]!.outputs[0]!.shape, [2]);
    assert.deepEqual(int32s(r[3]!.outputs[0]!), [3, 3]);
    assert.equal(h.stats.toJson('m', '1').execution_count, 4);
  });

  it('an execution error fails every request of the batch (INTERNAL, counted BACKEND)', async () => {
    const h = harness(identityConfig('max_batch_size: 8\ndynamic_batching { }'));
    const ps = [1, 2].map((t) => h.scheduler.enqueue(request(t)));
    await flush();
    assert.deepEqual(h.calls()[0]!.tags, [1, 2]);
    h.calls()[0]!.fail(new Error('onnxruntime: Non-zero status code returned while running Add node'));
    for (const p of ps) {
      await assert.rejects(
        p,
        isError('INTERNAL', 'onnxruntime: Non-zero status code returned while running Add node'),
      );
    }
    assert.equal(h.stats.failureCount('BACKEND'), 2);
    const s = h.stats.toJson('m', '1');
    assert.equal(s.execution_count, 0);
    assert.deepEqual(s.batch_stats, []);
    // The instance is free again.
    const p3 = h.scheduler.enqueue(request(3));
    await flush();
    h.calls()[1]!.complete();
    await p3;
  });

  it('returns only the requested outputs, in model order, as views of the batch', async () => {
    const h = harness(identityConfig('max_batch_size: 8\ndynamic_batching { }'));
    const p1 = h.scheduler.enqueue(request(1, { outputs: ['OUTPUT1'] }));
    const p2 = h.scheduler.enqueue(request(2, { rows: 2, outputs: ['OUTPUT1', 'OUTPUT0'] }));
    await flush();
    h.calls()[0]!.complete();
    const [r1, r2] = await Promise.all([p1, p2]);
    assert.deepEqual(
      r1.outputs.map((t) => t.name),
      ['OUTPUT1'],
    );
    assert.deepEqual(
      r2.outputs.map((t) => t.name),
      ['OUTPUT0', 'OUTPUT1'],
    );
    assert.deepEqual(int32s(r2.outputs[0]!), [2, 2, 2, 2]);
    assert.equal(
      r2.outputs[0]!.data.buffer,
      r1.outputs[0]!.data.buffer,
      'zero-copy views of one batch buffer',
    );
    assert.equal(r1.modelVersion, '1');
  });
});
