import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EVENT_STRIDE, ShardEventBuffer } from '../../../src/load/shard-protocol.ts';
import { ShardWindows } from '../../../src/load/shard-windows.ts';
import { RequestLogBudget } from '../../../src/measure/request-log.ts';
import type { WindowData } from '../../../src/measure/window-data.ts';
import { WindowRecorder } from '../../../src/measure/window-recorder.ts';
import { completedRequest } from '../../../src/measure/window-rules.ts';
import { FakeClock } from '../../../src/protocol/clock.ts';
import type { InferOutcome } from '../../../src/transport/client.ts';

/** A successful outcome with distinct phase times, so a swapped field changes a figure. */
function ok(sendStartNs: number, extra: Partial<InferOutcome> = {}): InferOutcome {
  return {
    ok: true,
    sendStartNs,
    sendEndNs: sendStartNs + 1_000,
    responseStartNs: sendStartNs + 50_000,
    endNs: sendStartNs + 53_000,
    responseBytes: 10,
    ...extra,
  };
}

type Event =
  | { kind: 'sent'; delayed: boolean }
  | { kind: 'dropped' }
  | { kind: 'done'; outcome: InferOutcome; intendedStartNs?: number; requestIndex?: number; end?: boolean };

const EVENTS: Event[] = [
  { kind: 'sent', delayed: false },
  { kind: 'sent', delayed: true },
  { kind: 'done', outcome: ok(0), intendedStartNs: undefined, requestIndex: 3 },
  {
    kind: 'done',
    outcome: ok(10_000, { responseCount: 4, firstResponseNs: 30_000 }),
    intendedStartNs: 2_000,
  },
  { kind: 'done', outcome: ok(20_000), intendedStartNs: 5_000, requestIndex: 1, end: true },
  { kind: 'done', outcome: { ...ok(30_000), ok: false, errorKind: 'timeout' } },
  { kind: 'done', outcome: { ...ok(30_000), ok: false } },
  { kind: 'dropped' },
];

/** What a window's figures are, minus the objects that differ by identity. */
function figures(w: WindowData) {
  return {
    okCount: w.okCount,
    sentCount: w.sentCount,
    delayedCount: w.delayedCount,
    errorsByKind: w.errorsByKind,
    sequenceEndCount: w.sequenceEndCount,
    responseCount: w.responseCount,
    latency: [w.latency.count, w.latency.maxUs, w.latency.meanUs],
    uncorrected: [w.uncorrected?.count, w.uncorrected?.maxUs, w.uncorrected?.meanUs],
    firstResponse: [w.firstResponse.count, w.firstResponse.maxUs],
    clientSendNsSum: w.clientSendNsSum,
    clientRecvNsSum: w.clientRecvNsSum,
    responseWaitNsSum: w.responseWaitNsSum,
    requests: [w.requests?.sendNs(), w.requests?.responseNs(), w.requests?.requestIndex()],
  };
}

describe('window rules', () => {
  it('a completion measures latency from the intended send when there is one, else from the actual send', () => {
    const outcome = ok(10_000, { firstResponseNs: 30_000 });
    const closed = completedRequest(outcome, undefined);
    const open = completedRequest(outcome, 4_000, 7, true);
    assert.equal(closed.latencyNs, 53_000);
    assert.equal(open.latencyNs, 59_000);
    assert.equal(open.uncorrectedNs, 53_000, 'uncorrected latency is from the actual send either way');
    assert.equal(closed.firstResponseNs, 20_000);
    assert.equal(open.firstResponseNs, 26_000);
    assert.deepEqual(
      [open.clientSendNs, open.responseWaitNs, open.clientRecvNs, open.requestIndex, open.sequenceEnd],
      [1_000, 49_000, 3_000, 7, true],
    );
    assert.equal(closed.requestIndex, -1, 'unknown request index');
    assert.equal(closed.responseCount, 1, 'one response unless the outcome says otherwise');
  });

  it('the shards count the same events exactly as the single-process recorder', async () => {
    const clock = new FakeClock(1_000_000);
    const recorder = new WindowRecorder(clock, true);
    recorder.recordRequestsTo(new RequestLogBudget(100));
    recorder.begin();
    const batches: { events: Float64Array; eventCount: number; newKinds: string[] }[] = [];
    const buffer = new ShardEventBuffer(clock, (batch) => batches.push(batch));
    for (const observer of [recorder, buffer]) {
      for (const e of EVENTS) {
        if (e.kind === 'sent') observer.onSent(e.delayed);
        else if (e.kind === 'dropped') observer.onDropped();
        else
          observer.onCompleted(
            e.outcome,
            e.intendedStartNs,
            e.requestIndex,
            e.end === undefined ? undefined : { id: 1, end: e.end },
          );
      }
    }
    buffer.flush();
    const single = recorder.end();

    // Event times: sends now, completions at their end; the shard window opens before all of them.
    const windows = new ShardWindows(new FakeClock(0), true, { mark() {}, flush: async () => [] });
    windows.recordRequestsTo(new RequestLogBudget(100));
    windows.begin();
    const kinds: string[] = [];
    for (const batch of batches) {
      kinds.push(...batch.newKinds);
      assert.ok(batch.events.length >= batch.eventCount * EVENT_STRIDE);
      windows.ingest(batch.events, batch.eventCount, kinds);
    }
    const sharded = await windows.end();
    assert.deepEqual(figures(sharded), figures(single));
    assert.equal(single.okCount, 3);
    assert.deepEqual(single.errorsByKind, { timeout: 1, unknown: 1, dropped: 1 });
  });
});
