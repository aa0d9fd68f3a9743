import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RequestLog, RequestLogBudget } from '../../../src/measure/request-log.ts';
import { WindowRecorder } from '../../../src/measure/window-recorder.ts';
import { FakeClock } from '../../../src/protocol/clock.ts';

describe('request log (per-request times for the profile export)', () => {
  it('grows past its initial capacity and keeps every pair in order', () => {
    const log = new RequestLog(new RequestLogBudget());
    for (let i = 0; i < 1000; i++) log.record(i * 10, i * 10 + 7);
    assert.equal(log.count, 1000);
    assert.equal(log.sendNs().length, 1000);
    assert.equal(log.sendNs()[999], 9990);
    assert.equal(log.responseNs()[999], 9997);
    assert.equal(log.omitted, 0);
  });

  it('one budget caps every window of a run; the rest is counted per window', () => {
    const budget = new RequestLogBudget(5);
    const a = new RequestLog(budget);
    const b = new RequestLog(budget);
    for (let i = 0; i < 3; i++) a.record(i, i + 1);
    for (let i = 0; i < 4; i++) b.record(i, i + 1);
    assert.deepEqual([a.count, a.omitted, b.count, b.omitted, budget.omitted], [3, 0, 2, 2, 2]);
  });

  it('the window recorder logs successful requests only, and only when asked', () => {
    const clock = new FakeClock();
    const outcome = (ok: boolean, sendStartNs: number, endNs: number) => ({
      ok,
      errorKind: ok ? undefined : 'http:500',
      sendStartNs,
      sendEndNs: sendStartNs,
      responseStartNs: endNs,
      endNs,
      responseBytes: 0,
    });
    const plain = new WindowRecorder(clock, false);
    plain.begin();
    plain.onCompleted(outcome(true, 0, 5), undefined);
    assert.equal(plain.end().requests, undefined);

    const recorder = new WindowRecorder(clock, true);
    recorder.recordRequestsTo(new RequestLogBudget());
    recorder.begin();
    // Open loop: the logged send is the actual one (perf_analyzer's timestamp), not the intended one.
    recorder.onCompleted(outcome(true, 100, 900), 50);
    recorder.onCompleted(outcome(false, 200, 300), 150);
    const w1 = recorder.cut();
    recorder.onCompleted(outcome(true, 400, 1000), 350);
    const w2 = recorder.end();
    assert.deepEqual([...w1.requests!.sendNs()], [100]);
    assert.deepEqual([...w1.requests!.responseNs()], [900]);
    assert.deepEqual([...w2.requests!.sendNs()], [400]);
  });

  it('the first window opens the moment the warm-up ends; begin keeps it', async () => {
    const clock = new FakeClock();
    const r = new WindowRecorder(clock, false);
    const done = (endNs: number) => ({
      ok: true,
      sendStartNs: 0,
      sendEndNs: 0,
      responseStartNs: endNs,
      endNs,
      responseBytes: 0,
    });
    const warm = r.waitForDiscarded(2);
    r.onCompleted(done(1), undefined);
    assert.equal(r.recording, false);
    clock.advanceNs(10);
    r.onCompleted(done(10), undefined);
    assert.equal(r.recording, true, 'open at the 2nd warm-up completion');
    await warm;
    clock.advanceNs(5);
    r.onCompleted(done(15), undefined); // between the warm-up's end and begin (e.g. while stats are fetched)
    clock.advanceNs(5);
    r.begin();
    clock.advanceNs(5);
    const w = r.end();
    assert.equal(w.okCount, 1);
    assert.equal(w.startNs, 10);
    assert.equal(w.durationNs, 15);
  });

  it('keeps responses within the byte budget; past it, requests are logged without them and counted', () => {
    const kept = (n: number) => ({ encoding: 'grpc' as const, bytes: new Uint8Array(n) });
    const budget = new RequestLogBudget(100, 250);
    let spent = 0;
    budget.onResponsesSpent(() => spent++);
    const a = new RequestLog(budget);
    const b = new RequestLog(budget);
    a.record(0, 1, 0, kept(100));
    a.record(1, 2, 1); // the client kept none (not a budget omission)
    a.record(2, 3, 2, kept(100));
    assert.equal(spent, 0);
    b.record(3, 4, 0, kept(100)); // does not fit: the budget is spent for the rest of the run
    b.record(4, 5, 1, kept(10)); // would fit, but the first requests' responses are the ones kept
    b.record(5, 6, 2); // a client told to stop keeping sends none: omitted as well
    assert.equal(spent, 1, 'the listener is told once');
    assert.deepEqual([...a.requestIndex()], [0, 1, 2]);
    assert.deepEqual(
      a.responses().map((r) => r?.bytes.byteLength),
      [100, undefined, 100],
    );
    assert.equal(a.responsesOmitted, 0);
    assert.deepEqual(b.responses(), []);
    assert.equal(b.responsesOmitted, 3);
    assert.equal(b.count, 3, 'still logged');
    assert.deepEqual([budget.responsesKept, budget.responsesOmitted], [2, 3]);
  });

  it('a byte budget of 0 keeps no response and counts every logged request', () => {
    const budget = new RequestLogBudget(100, 0);
    assert.equal(budget.responsesSpent, true);
    const log = new RequestLog(budget);
    log.record(0, 1, 0);
    log.record(1, 2, 0, { encoding: 'http', bytes: new Uint8Array(1) });
    assert.deepEqual([log.count, log.responsesOmitted, log.responses().length], [2, 2, 0]);
  });

  it('the window recorder logs the request index and the kept response', () => {
    const clock = new FakeClock();
    const recorder = new WindowRecorder(clock, false);
    recorder.recordRequestsTo(new RequestLogBudget());
    recorder.begin();
    const response = { encoding: 'http' as const, bytes: new Uint8Array(3), headerLength: 2 };
    recorder.onCompleted(
      { ok: true, sendStartNs: 1, sendEndNs: 1, responseStartNs: 2, endNs: 3, responseBytes: 3, response },
      undefined,
      4,
    );
    recorder.onCompleted(
      { ok: true, sendStartNs: 5, sendEndNs: 5, responseStartNs: 6, endNs: 7, responseBytes: 3 },
      undefined,
    );
    const w = recorder.end();
    assert.deepEqual([...w.requests!.requestIndex()], [4, -1]);
    assert.deepEqual(w.requests!.responses(), [response]);
  });
});
