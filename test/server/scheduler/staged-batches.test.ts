/**
 * Staged batches (core/types.ts StagedBatch): with an instance that can stage, the scheduler hands it the
 * next payload while it runs, keeps growing that payload until the instance starts it by itself, and never
 * stages where Triton would keep the payload unformed (priorities, timeouts).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  appendToStage,
  claimStage,
  createStageControl,
  GEN_MASK,
  MAX_STAGE_REQUESTS,
  openStage,
  openStageGen,
  setStageRoute,
  stageClaimed,
  stageRoutedToGather,
} from '../../../embedded-server/src/runtime/stage-control.ts';
import { config, flush, harness, identityConfig, MS, request } from './fake-instance.ts';

describe('staged batches in the scheduler', () => {
  it('a payload staged behind the running batch grows until the instance starts it, with no scheduler turn in between', async () => {
    const h = harness(identityConfig('max_batch_size: 8\ndynamic_batching { }'), { staging: true });
    const done = [h.scheduler.enqueue(request(1))];
    await flush();
    assert.deepEqual(h.calls()[0]?.tags, [1], 'an idle instance starts the first request at once');
    for (const t of [2, 3, 4]) {
      done.push(h.scheduler.enqueue(request(t)));
      await flush();
    }
    assert.equal(h.calls().length, 1, 'the staged payload waits behind the running batch');
    assert.equal(h.scheduler.pendingCount(), 3, 'staged, not started: still pending (Triton counts it so)');
    h.calls()[0]?.complete();
    // Synchronously: the instance started the staged batch before any scheduler code ran.
    assert.deepEqual(h.calls()[1]?.tags, [2, 3, 4]);
    await flush();
    assert.equal(h.scheduler.pendingCount(), 0);
    h.calls()[1]?.complete();
    const responses = await Promise.all(done);
    assert.deepEqual(
      responses.map((r) => r.id),
      ['r1', 'r2', 'r3', 'r4'],
    );
    const stats = h.stats.toJson('m', '1');
    assert.equal(stats.execution_count, 2);
    assert.equal(stats.inference_count, 4);
  });

  it('requests arriving after the staged payload started form the next one, staged again', async () => {
    const h = harness(identityConfig('max_batch_size: 8\ndynamic_batching { }'), { staging: true });
    const done = [h.scheduler.enqueue(request(1))];
    await flush();
    done.push(h.scheduler.enqueue(request(2)));
    await flush();
    h.calls()[0]?.complete();
    // r3 is enqueued in the same turn as the start, before the batcher looks again: it must not join [2].
    done.push(h.scheduler.enqueue(request(3)));
    await flush();
    assert.deepEqual(h.calls()[1]?.tags, [2]);
    assert.equal(h.calls().length, 2, 'r3 waits, staged behind [2]');
    h.calls()[1]?.complete();
    assert.deepEqual(h.calls()[2]?.tags, [3]);
    h.calls()[2]?.complete();
    await Promise.all(done);
  });

  it('queue time ends when the instance starts the staged batch, not when it was staged', async () => {
    const h = harness(identityConfig('max_batch_size: 8\ndynamic_batching { }'), { staging: true });
    const done = [h.scheduler.enqueue(request(1))];
    await flush();
    h.clock.advanceNs(1 * MS);
    done.push(h.scheduler.enqueue(request(2)));
    await flush();
    h.clock.advanceNs(4 * MS);
    h.calls()[0]?.complete();
    h.calls()[1]?.complete();
    await Promise.all(done);
    // r1 queued 0 ms; r2 staged at 1 ms, started at 5 ms: 4 ms.
    assert.deepEqual(h.stats.toJson('m', '1').inference_stats.queue, { count: 2, ns: 4 * MS });
  });

  it('the default scheduler stages too: a request that arrives while the instance runs starts by itself after it', async () => {
    const h = harness(identityConfig('max_batch_size: 8'), { staging: true });
    const done = [h.scheduler.enqueue(request(1))];
    await flush();
    done.push(h.scheduler.enqueue(request(2)));
    done.push(h.scheduler.enqueue(request(3)));
    await flush();
    assert.equal(h.calls().length, 1);
    h.calls()[0]?.complete();
    assert.deepEqual(h.calls()[1]?.tags, [2], 'started by the instance itself, alone (no batching)');
    await flush();
    h.calls()[1]?.complete();
    assert.deepEqual(h.calls()[2]?.tags, [3], 'staged once [2] was seen started');
    h.calls()[2]?.complete();
    await Promise.all(done);
    assert.equal(h.stats.toJson('m', '1').execution_count, 3);
  });

  it('with priority levels nothing is staged: a later higher-priority request still goes first', async () => {
    const h = harness(
      identityConfig(`max_batch_size: 1
        dynamic_batching { priority_levels: 2 default_priority_level: 2 }`),
      { staging: true },
    );
    const done = [h.scheduler.enqueue(request(1))];
    await flush();
    done.push(h.scheduler.enqueue(request(2, { priority: 2 })));
    await flush();
    done.push(h.scheduler.enqueue(request(3, { priority: 1 })));
    await flush();
    h.calls()[0]?.complete();
    await flush();
    assert.deepEqual(h.calls()[1]?.tags, [3]);
    h.calls()[1]?.complete();
    await flush();
    assert.deepEqual(h.calls()[2]?.tags, [2]);
    h.calls()[2]?.complete();
    await Promise.all(done);
  });

  it('two instances: the next payload is staged on the instance that started first', async () => {
    const h = harness(identityConfig('max_batch_size: 8\ndynamic_batching { }'), {
      staging: true,
      instanceCount: 2,
    });
    const done = [h.scheduler.enqueue(request(1))];
    await flush();
    h.clock.advanceNs(1 * MS);
    done.push(h.scheduler.enqueue(request(2)));
    await flush();
    assert.equal(h.instances[0]?.running, 1);
    assert.equal(h.instances[1]?.running, 1);
    done.push(h.scheduler.enqueue(request(3)));
    await flush();
    h.instances[1]?.calls[0]?.complete();
    assert.equal(h.instances[1]?.calls.length, 1, 'not staged on the instance that started later');
    h.instances[0]?.calls[0]?.complete();
    assert.deepEqual(h.instances[0]?.calls[1]?.tags, [3]);
    h.instances[0]?.calls[1]?.complete();
    await Promise.all(done);
  });

  it('a failed staged batch fails exactly its requests; the next one still runs', async () => {
    const h = harness(identityConfig('max_batch_size: 8\ndynamic_batching { }'), { staging: true });
    const r1 = h.scheduler.enqueue(request(1));
    await flush();
    const r2 = h.scheduler.enqueue(request(2)).then(
      () => 'ok',
      (e: Error) => e.message,
    );
    await flush();
    h.calls()[0]?.complete();
    h.calls()[1]?.fail(new Error('boom'));
    assert.equal(await r2, 'boom');
    await r1;
    const r3 = h.scheduler.enqueue(request(3));
    await flush();
    h.calls()[2]?.complete();
    assert.equal((await r3).id, 'r3');
    assert.equal(h.scheduler.inflightCount(), 0);
  });

  it('plain configs without dynamic batching parse and stage (sanity of the harness option)', () => {
    assert.doesNotThrow(() => harness(config('max_batch_size: 0'), { staging: true }));
  });
});

describe('stage control word (runtime/stage-control.ts)', () => {
  it('one stage at a time: open, append, claim; appends after the claim are refused', () => {
    const ctl = createStageControl();
    assert.equal(claimStage(ctl, 0), undefined, 'nothing open at first');
    assert.ok(openStage(ctl, 1, 2));
    assert.equal(openStage(ctl, 2, 1), false, 'a second stage waits until the first is claimed');
    assert.ok(appendToStage(ctl, 1, 3));
    assert.equal(stageClaimed(ctl, 1), false);
    assert.deepEqual(claimStage(ctl, 1), { gen: 1, count: 5 });
    assert.ok(stageClaimed(ctl, 1));
    assert.equal(appendToStage(ctl, 1, 1), false, 'claimed: the append is refused');
    assert.equal(claimStage(ctl, 1), undefined, 'claiming twice gets nothing');
    assert.ok(openStage(ctl, 2, 1));
    assert.equal(appendToStage(ctl, 1, 1), false, 'an old generation cannot append to a new stage');
    assert.ok(stageClaimed(ctl, 1), 'a newer generation implies the older was claimed');
    assert.deepEqual(claimStage(ctl, 2), { gen: 2, count: 1 });
  });

  it('a claim names its generation: a thread that read an older one cannot take the next stage', () => {
    // The race that stalled the server with a gather thread: the ORT thread read generation 1 as open; before
    // it read the route, the gather thread claimed 1 and the main thread routed and opened 2 for the gather
    // thread, so the route check for 1 said "not the gather thread's". An unnamed claim then took 2, whose
    // messages had gone to the gather thread: the ORT thread waited 10 s for them and failed it, and the
    // requests of 2 were never answered.
    const ctl = createStageControl();
    setStageRoute(ctl, 1, true);
    assert.ok(openStage(ctl, 1, 2));
    const seenByOrtThread = openStageGen(ctl);
    assert.deepEqual(claimStage(ctl, 1), { gen: 1, count: 2 }, 'the gather thread claims 1');
    setStageRoute(ctl, 2, true);
    assert.ok(openStage(ctl, 2, 1));
    assert.equal(seenByOrtThread, 1);
    assert.equal(stageRoutedToGather(ctl, 1), false, 'the route word has moved on to 2');
    assert.equal(claimStage(ctl, 1), undefined, 'the stale claim takes nothing');
    assert.equal(stageClaimed(ctl, 2), false, 'generation 2 is still open for the gather thread');
    assert.deepEqual(claimStage(ctl, 2), { gen: 2, count: 1 });
  });

  it('a claim sees the appends made before it', () => {
    const ctl = createStageControl();
    assert.ok(openStage(ctl, 3, 1));
    assert.ok(appendToStage(ctl, 3, 4));
    assert.deepEqual(claimStage(ctl, 3), { gen: 3, count: 5 });
  });

  it('generations wrap without touching the claimed bit or the count', () => {
    const ctl = createStageControl();
    assert.ok(openStage(ctl, GEN_MASK, 7));
    assert.deepEqual(claimStage(ctl, GEN_MASK), { gen: GEN_MASK, count: 7 });
    assert.ok(openStage(ctl, GEN_MASK + 1, 1));
    assert.deepEqual(claimStage(ctl, GEN_MASK + 1), { gen: 0, count: 1 });
  });

  it('the count never overflows into the claimed bit', () => {
    const ctl = createStageControl();
    assert.equal(openStage(ctl, 1, MAX_STAGE_REQUESTS + 1), false);
    assert.ok(openStage(ctl, 1, MAX_STAGE_REQUESTS - 1));
    assert.ok(appendToStage(ctl, 1, 1));
    assert.equal(appendToStage(ctl, 1, 1), false, 'full');
    assert.equal(stageClaimed(ctl, 1), false);
    assert.deepEqual(claimStage(ctl, 1), { gen: 1, count: MAX_STAGE_REQUESTS });
  });
});
