import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { WindowRecorder } from '../../../src/measure/window-recorder.ts';
import { FakeClock } from '../../../src/protocol/clock.ts';
import type { InferOutcome } from '../../../src/transport/client.ts';

const ok = (sendStartNs: number, endNs: number): InferOutcome => ({
  ok: true,
  sendStartNs,
  sendEndNs: sendStartNs,
  responseStartNs: endNs,
  endNs,
  responseBytes: 0,
});

describe('window recorder', () => {
  it('counts a request in the window in which it ended, and its send in the window it was sent', () => {
    const clock = new FakeClock();
    const r = new WindowRecorder(clock, false);
    r.begin();
    r.onSent(false); // sent in window 1
    clock.advanceNs(1_000_000);
    const w1 = r.cut();
    clock.advanceNs(500_000);
    r.onCompleted(ok(0, clock.nowNs()), undefined); // started in window 1, ended in window 2
    clock.advanceNs(500_000);
    const w2 = r.end();
    assert.equal(w1.sentCount, 1);
    assert.equal(w1.okCount, 0);
    assert.equal(w2.okCount, 1);
    assert.equal(w2.sentCount, 0);
    assert.equal(w2.latency.maxUs, 1500);
    assert.equal(w1.durationNs, 1_000_000);
    assert.equal(w2.startNs, w1.endNs, 'windows follow with no gap');
  });

  it('discards completions while no window is open (warm-up, between levels) and lets warm-up wait for them', async () => {
    const clock = new FakeClock();
    const r = new WindowRecorder(clock, false);
    let warmedUp = false;
    const waiting = r.waitForDiscarded(2).then(() => {
      warmedUp = true;
    });
    r.onCompleted(ok(0, 1), undefined);
    await Promise.resolve();
    assert.equal(warmedUp, false);
    r.onCompleted(ok(0, 1), undefined);
    await waiting;
    assert.equal(warmedUp, true);
    r.begin();
    assert.equal(r.cut().okCount, 0, 'warm-up completions are not in the first window');
  });

  it('counts failures by kind and dropped sends; count windows wait for ok + failed completions', async () => {
    const clock = new FakeClock();
    const r = new WindowRecorder(clock, true);
    r.begin();
    const full = r.waitForWindowCount(3);
    r.onCompleted({ ...ok(0, 5), ok: false, errorKind: 'grpc:UNAVAILABLE' }, 0);
    r.onCompleted({ ...ok(0, 5), ok: false }, 0);
    r.onDropped();
    await full;
    const w = r.end();
    assert.deepEqual(w.errorsByKind, { 'grpc:UNAVAILABLE': 1, unknown: 1, dropped: 1 });
    assert.equal(w.okCount, 0);
    assert.equal(w.latency.count, 0);
  });

  it('waits resolve when the signal aborts', async () => {
    const r = new WindowRecorder(new FakeClock(), false);
    r.begin();
    const ac = new AbortController();
    const wait = r.waitForWindowCount(1000, ac.signal);
    ac.abort();
    await wait;
    assert.equal(r.recording, true);
  });
});
