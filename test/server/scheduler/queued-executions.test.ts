/**
 * The default scheduler on instances that queue (ModelInstance.queueExecution, the ORT instance): requests are
 * handed over several at a time — all those of one turn together — up to QUEUED_PER_INSTANCE_MAX per
 * instance, refilled once fewer than QUEUE_REFILL_BELOW are left; each still runs alone, in arrival order, and
 * its queue time ends when it starts.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  QUEUE_REFILL_BELOW,
  QUEUED_PER_INSTANCE_MAX,
} from '../../../embedded-server/src/scheduler/model-scheduler.ts';
import {
  flush,
  harness,
  identityConfig,
  int32s,
  MS,
  type QueueingFakeInstance,
  request,
} from './fake-instance.ts';

describe('queued executions (default scheduler, queueing instances)', () => {
  it('hands over one turn’s requests together up to the cap, refills below the mark, and runs each alone in order', async () => {
    const h = harness(identityConfig('max_batch_size: 8'), { queueing: true });
    const instance = h.instances[0] as QueueingFakeInstance;
    const n = QUEUED_PER_INSTANCE_MAX + 4;
    const done = Array.from({ length: n }, (_, i) => h.scheduler.enqueue(request(i + 1)));
    await flush();
    assert.deepEqual(instance.deliveries, [Array.from({ length: QUEUED_PER_INSTANCE_MAX }, (_, i) => i + 1)]);
    assert.equal(h.calls().length, 1, 'one execution at a time');
    assert.equal(
      h.scheduler.pendingCount(),
      n - 1,
      'all but the running one are pending (Triton counts them)',
    );
    // Completing down to the mark hands over nothing; the one below it refills with the rest, in one go.
    const keep = QUEUE_REFILL_BELOW;
    for (let k = 0; k < QUEUED_PER_INSTANCE_MAX - keep; k++) {
      h.calls()[k]?.complete();
      await flush();
    }
    assert.equal(instance.deliveries.length, 1, `${keep} left: not refilled yet`);
    h.calls()[QUEUED_PER_INSTANCE_MAX - keep]?.complete();
    await flush();
    assert.deepEqual(instance.deliveries[1], [17, 18, 19, 20]);
    for (let k = QUEUED_PER_INSTANCE_MAX - keep + 1; k < n; k++) {
      h.calls()[k]?.complete();
      await flush();
    }
    assert.deepEqual(
      h.calls().map((c) => c.tags),
      Array.from({ length: n }, (_, i) => [i + 1]),
      'each request executed alone, in arrival order',
    );
    const responses = await Promise.all(done);
    responses.forEach((r, i) => {
      assert.equal(r.id, `r${i + 1}`);
      assert.deepEqual(int32s(r.outputs[0] as never), [i + 1, i + 1], 'each answer carries its own data');
    });
    const stats = h.stats.toJson('m', '1');
    assert.equal(stats.execution_count, n);
    assert.equal(stats.inference_count, n);
    assert.deepEqual(
      stats.batch_stats.map((b) => [b.batch_size, b.compute_infer.count]),
      [[1, n]],
    );
    assert.equal(h.scheduler.pendingCount(), 0);
  });

  it('queue time ends when the queued request starts, not when it was handed over', async () => {
    const h = harness(identityConfig('max_batch_size: 8'), { queueing: true });
    const done = [h.scheduler.enqueue(request(1)), h.scheduler.enqueue(request(2))];
    await flush();
    h.clock.advanceNs(3 * MS);
    h.calls()[0]?.complete();
    h.clock.advanceNs(1 * MS);
    h.calls()[1]?.complete();
    await Promise.all(done);
    // r1 started at 0 ms; r2, handed over at 0 ms, started when r1 ended at 3 ms.
    assert.deepEqual(h.stats.toJson('m', '1').inference_stats.queue, { count: 2, ns: 3 * MS });
  });

  it('two instances: each request goes to the one holding fewer, the first on a tie', async () => {
    const h = harness(identityConfig('max_batch_size: 8'), { queueing: true, instanceCount: 2 });
    const [a, b] = h.instances as QueueingFakeInstance[];
    const done = [1, 2, 3, 4, 5].map((t) => h.scheduler.enqueue(request(t)));
    await flush();
    assert.deepEqual(a?.deliveries, [[1, 3, 5]]);
    assert.deepEqual(b?.deliveries, [[2, 4]]);
    for (const c of [...h.calls()]) c.complete();
    await flush();
    for (const c of h.calls().slice(2)) c.complete();
    await flush();
    for (const c of h.calls().slice(4)) c.complete();
    assert.equal((await Promise.all(done)).length, 5);
  });

  it('a failed execution fails its request alone; the ones queued behind it still run', async () => {
    const h = harness(identityConfig('max_batch_size: 8'), { queueing: true });
    const done = [1, 2, 3].map((t) =>
      h.scheduler.enqueue(request(t)).then(
        (r) => r.id,
        (e: Error) => `failed: ${e.message}`,
      ),
    );
    await flush();
    h.calls()[0]?.complete();
    h.calls()[1]?.fail(new Error('boom'));
    h.calls()[2]?.complete();
    assert.deepEqual(await Promise.all(done), ['r1', 'failed: boom', 'r3']);
    const stats = h.stats.toJson('m', '1');
    assert.equal(stats.inference_stats.fail.count, 1);
    assert.equal(stats.execution_count, 2);
  });

  it('a dynamic batcher never queues: its payloads still go out as batches', async () => {
    const h = harness(identityConfig('max_batch_size: 8\ndynamic_batching { }'), { queueing: true });
    const done = [1, 2, 3].map((t) => h.scheduler.enqueue(request(t)));
    await flush();
    assert.deepEqual((h.instances[0] as QueueingFakeInstance).deliveries, []);
    assert.deepEqual(h.calls()[0]?.tags, [1, 2, 3]);
    h.calls()[0]?.complete();
    await Promise.all(done);
  });
});
