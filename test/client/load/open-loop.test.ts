import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { OpenLoop } from '../../../src/load/open-loop.ts';
import { constantPacer } from '../../../src/load/schedule.ts';
import { summarizeWindow } from '../../../src/measure/summarize.ts';
import { WindowRecorder } from '../../../src/measure/window-recorder.ts';
import { FakeClock } from '../../../src/protocol/clock.ts';
import { FakeClient, fakeRequests, flush } from './fake-client.ts';

const MS = 1_000_000;

describe('open loop', () => {
  it('on schedule: nothing is delayed and corrected latency equals uncorrected', async () => {
    const clock = new FakeClock();
    const client = new FakeClient(clock, () => ({ latencyNs: 1 * MS }));
    const recorder = new WindowRecorder(clock, true);
    recorder.begin();
    const loop = new OpenLoop({
      clock,
      client,
      requests: fakeRequests(client, 1),
      observer: recorder,
      pacer: constantPacer(1000),
      timeoutMs: 0,
      maxInFlight: 0,
      delayToleranceNs: 1 * MS,
    });
    loop.start();
    clock.advanceToNs(100 * MS); // FakeClock fires each tick exactly when due
    await flush();
    const stopped = loop.stop();
    clock.advanceNs(10 * MS);
    await stopped;
    const m = summarizeWindow(recorder.end(), { batchSize: 1, intendedRatePerSec: 1000 });
    assert.equal(m.sentCount, 100);
    assert.equal(m.requestCount, 100);
    assert.equal(m.delayedCount, 0);
    assert.equal(m.latency.maxUs, 1000);
    assert.equal(m.latency.minUs, 1000);
    assert.equal(m.uncorrectedLatency?.maxUs, 1000);
  });

  it('a stalled timer sends the backlog at once; corrected latency includes the stall, uncorrected does not', async () => {
    const clock = new StallingClock();
    const client = new FakeClient(clock, () => ({ latencyNs: 1 * MS }));
    const recorder = new WindowRecorder(clock, true);
    recorder.begin();
    const loop = new OpenLoop({
      clock,
      client,
      requests: fakeRequests(client, 1),
      observer: recorder,
      pacer: constantPacer(1000),
      timeoutMs: 0,
      maxInFlight: 0,
      delayToleranceNs: 1 * MS,
    });
    clock.stallTimersUntilNs = 100 * MS; // the event loop is blocked for the first 100 ms
    loop.start();
    clock.advanceToNs(100 * MS);
    await flush();
    clock.advanceToNs(150 * MS);
    await flush();
    const stopped = loop.stop();
    clock.advanceNs(10 * MS);
    await stopped;
    const m = summarizeWindow(recorder.end(), { batchSize: 1, intendedRatePerSec: 1000 });
    assert.equal(m.sentCount, 150);
    assert.equal(m.requestCount, 150);
    // Requests due at 1..98 ms went out at 100 ms, more than 1 ms late (99 is exactly 1 ms late: not delayed).
    assert.equal(m.delayedCount, 98);
    // The request due at 1 ms waited 99 ms and took 1 ms: 100 ms from its intended time.
    assert.equal(m.latency.maxUs, 100_000);
    assert.equal(m.uncorrectedLatency?.maxUs, 1000);
    assert.equal(m.uncorrectedLatency?.minUs, 1000);
    assert.ok(m.generator.bottleneckWarnings.some((w) => w.includes('later than the delay tolerance')));
  });

  it('counts sends over maxInFlight as dropped errors and drains in-flight requests on stop', async () => {
    const clock = new FakeClock();
    const client = new FakeClient(clock, () => ({ latencyNs: 10 * MS })); // 10 ms service, 1 ms gaps
    const recorder = new WindowRecorder(clock, true);
    recorder.begin();
    const loop = new OpenLoop({
      clock,
      client,
      requests: fakeRequests(client, 1),
      observer: recorder,
      pacer: constantPacer(1000),
      timeoutMs: 0,
      maxInFlight: 2,
      delayToleranceNs: 1 * MS,
    });
    loop.start();
    for (let i = 0; i < 40; i++) {
      clock.advanceNs(1 * MS);
      await flush();
      assert.ok(client.inFlight <= 2);
    }
    const stopped = loop.stop();
    let drained = false;
    void stopped.then(() => {
      drained = true;
    });
    await flush();
    assert.equal(drained, false, 'stop waits for in-flight requests');
    clock.advanceNs(20 * MS);
    await stopped;
    assert.equal(client.inFlight, 0);
    const m = summarizeWindow(recorder.end(), { batchSize: 1 });
    assert.equal(m.sentCount + (m.errorsByKind.dropped ?? 0), 40);
    assert.ok((m.errorsByKind.dropped ?? 0) >= 30);
    assert.equal(m.errorCount, m.errorsByKind.dropped);
  });

  it("overflow 'queue' (sync workers): due requests over the cap wait, go out late and keep their intended time", async () => {
    const clock = new FakeClock();
    const client = new FakeClient(clock, () => ({ latencyNs: 10 * MS })); // 10 ms service, 1 request per ms due
    const recorder = new WindowRecorder(clock, true);
    recorder.begin();
    const loop = new OpenLoop({
      clock,
      client,
      requests: fakeRequests(client, 1),
      observer: recorder,
      pacer: constantPacer(1000),
      timeoutMs: 0,
      maxInFlight: 2,
      overflow: 'queue',
      delayToleranceNs: 1 * MS,
      maxSends: 6,
    });
    loop.start();
    for (let i = 0; i < 60; i++) {
      clock.advanceNs(1 * MS);
      await flush();
      assert.ok(client.inFlight <= 2, 'the cap holds');
    }
    await loop.stop();
    const m = summarizeWindow(recorder.end(), { batchSize: 1 });
    assert.equal(m.errorCount, 0, 'nothing dropped');
    assert.equal(m.sentCount, 6);
    assert.equal(m.requestCount, 6);
    // Sends at 1,2 (on time), then 11,12 and 21,22 (slots free every 10 ms) for requests due at 3..6 ms.
    assert.equal(m.delayedCount, 4);
    // Latency from the intended time: the last request was due at 6 ms and answered at 32 ms.
    assert.equal(m.latency.maxUs, 26_000);
  });
});

/** A FakeClock whose timers cannot fire before `stallTimersUntilNs` (a blocked event loop). */
class StallingClock extends FakeClock {
  stallTimersUntilNs = 0;
  override setTimer(fn: () => void, delayNs: number) {
    const dueNs = Math.max(this.nowNs() + delayNs, this.stallTimersUntilNs);
    return super.setTimer(fn, dueNs - this.nowNs());
  }
}
