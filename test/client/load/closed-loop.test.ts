import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ClosedLoop } from '../../../src/load/closed-loop.ts';
import type { RequestObserver } from '../../../src/measure/request-observer.ts';
import { FakeClock } from '../../../src/protocol/clock.ts';
import type { InferOutcome } from '../../../src/transport/client.ts';
import { FakeClient, fakeRequests, flush } from './fake-client.ts';

function countingObserver() {
  const seen = { sent: 0, completed: [] as InferOutcome[] };
  const observer: RequestObserver = {
    onSent: () => {
      seen.sent++;
    },
    onDropped: () => assert.fail('closed loop never drops'),
    onCompleted: (o, intended) => {
      assert.equal(intended, undefined);
      seen.completed.push(o);
    },
  };
  return { seen, observer };
}

describe('closed loop', () => {
  it('keeps exactly N requests in flight, re-sending on each completion', async () => {
    const clock = new FakeClock();
    // Varying latencies so completions interleave.
    const client = new FakeClient(clock, (i) => ({ latencyNs: 1_000_000 + (i % 7) * 130_000 }));
    const { seen, observer } = countingObserver();
    const loop = new ClosedLoop({
      client,
      requests: fakeRequests(client, 3),
      observer,
      timeoutMs: 0,
      callMode: 'sync',
    });
    loop.setConcurrency(4);
    for (let i = 0; i < 500; i++) {
      clock.advanceNs(50_000);
      await flush();
      assert.equal(client.inFlight, 4, `step ${i}`);
    }
    assert.equal(client.maxInFlightSeen, 4);
    assert.ok(seen.completed.length > 50);
    const stopped = loop.stop();
    clock.advanceNs(10_000_000);
    await stopped;
    assert.equal(client.inFlight, 0);
    assert.equal(seen.sent, client.calls);
    assert.equal(seen.completed.length, client.calls);
  });

  it('picks requests round-robin from the prepared list', async () => {
    const clock = new FakeClock();
    const client = new FakeClient(clock, () => ({ latencyNs: 1_000 }));
    const requests = fakeRequests(client, 3);
    const loop = new ClosedLoop({
      client,
      requests,
      observer: countingObserver().observer,
      timeoutMs: 0,
      callMode: 'async',
    });
    loop.setConcurrency(2);
    for (let i = 0; i < 5; i++) {
      clock.advanceNs(1_000);
      await flush();
    }
    const stopped = loop.stop();
    clock.advanceNs(1_000);
    await stopped;
    assert.ok(client.sent.length >= 9);
    for (const [i, r] of client.sent.entries()) assert.equal(r, requests[i % 3], `send ${i}`);
  });

  it('changes concurrency between levels without draining', async () => {
    const clock = new FakeClock();
    const client = new FakeClient(clock, () => ({ latencyNs: 1_000_000 }));
    const loop = new ClosedLoop({
      client,
      requests: fakeRequests(client, 1),
      observer: countingObserver().observer,
      timeoutMs: 0,
      callMode: 'sync',
    });
    loop.setConcurrency(2);
    await flush();
    assert.equal(client.inFlight, 2);
    loop.setConcurrency(5); // up: three more start at once, the two outstanding are not waited for
    await flush();
    assert.equal(client.inFlight, 5);
    loop.setConcurrency(1); // down: surplus slots finish their request and stop
    assert.equal(client.inFlight, 5);
    clock.advanceNs(1_000_000);
    await flush();
    assert.equal(client.inFlight, 1);
    const stopped = loop.stop();
    clock.advanceNs(1_000_000);
    await stopped;
    assert.equal(client.inFlight, 0);
  });

  it('stops sending after maxSends (--request-count)', async () => {
    const clock = new FakeClock();
    const client = new FakeClient(clock, () => ({ latencyNs: 1_000 }));
    const loop = new ClosedLoop({
      client,
      requests: fakeRequests(client, 1),
      observer: countingObserver().observer,
      timeoutMs: 0,
      callMode: 'sync',
      maxSends: 7,
    });
    loop.setConcurrency(3);
    for (let i = 0; i < 20; i++) {
      clock.advanceNs(1_000);
      await flush();
    }
    assert.equal(client.calls, 7);
    await loop.stop();
  });
});
