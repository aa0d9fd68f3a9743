import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EVENT_STRIDE, EventCode } from '../../../src/load/shard-protocol.ts';
import { ShardWindows } from '../../../src/load/shard-windows.ts';
import { RequestLogBudget } from '../../../src/measure/request-log.ts';
import { FakeClock } from '../../../src/protocol/clock.ts';

/** One batch of successful completions ending at `endsNs`, each 1 ms long. */
function completions(endsNs: number[]): Float64Array {
  const rows = new Float64Array(endsNs.length * EVENT_STRIDE);
  endsNs.forEach((endNs, i) => {
    rows.set([endNs, EventCode.ok, 1_000_000, 1_000_000, 0, 0, 1_000_000], i * EVENT_STRIDE);
  });
  return rows;
}

function windows(clock: FakeClock): ShardWindows {
  return new ShardWindows(clock, false, { mark: () => undefined, flush: async () => [] });
}

describe('shard windows: batches between levelStart and the warm-up wait', () => {
  it('are replayed: the warm-up takes its count, the rest is in the first window (nothing lost)', async () => {
    const clock = new FakeClock(10_000_000);
    const w = windows(clock);
    w.recordRequestsTo(new RequestLogBudget());
    w.levelStart();
    // One shard's batch overtakes another shard's reply to `apply`: 5 completions before the wait.
    w.ingest(completions([10_100_000, 10_200_000, 10_300_000, 10_400_000, 10_500_000]), 5, []);
    await w.waitForDiscarded(2);
    w.ingest(completions([10_600_000]), 1, []);
    w.begin();
    clock.advanceNs(1_000_000);
    const window = await w.end();
    assert.equal(window.okCount, 4, '5 + 1 completions, less a warm-up of 2');
    assert.equal(window.startNs, 10_200_000, 'the first window starts where the warm-up ended');
    assert.equal(window.requests!.count, 4);
  });

  it('with no warm-up wait (time windows), they are discarded at begin as before', async () => {
    const clock = new FakeClock(10_000_000);
    const w = windows(clock);
    w.levelStart();
    w.ingest(completions([10_100_000, 10_200_000]), 2, []);
    clock.advanceNs(500_000);
    w.begin();
    w.ingest(completions([10_100_000 + 1]), 1, []); // before the window start: discarded too
    clock.advanceNs(1_000_000);
    w.ingest(completions([clock.nowNs()]), 1, []);
    const window = await w.end();
    assert.equal(window.okCount, 1);
  });
});
