/**
 * The clock offset from whole-second Date headers (property test against a simulated server with a known
 * offset), the skew warnings, and the aligned timetable on a FakeClock.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { AlignedWindows } from '../../../src/distributed/aligned-windows.ts';
import {
  alignmentWarning,
  boundaryProbeTimes,
  clockSkewWarnings,
  type DateProbe,
  offsetFromDateProbes,
  spreadProbeTimes,
} from '../../../src/distributed/clock-offset.ts';
import {
  LEVEL_GAP_MS,
  lateStartWarning,
  levelStartMs,
  windowEndMs,
} from '../../../src/distributed/shard-schedule.ts';
import { FakeClock } from '../../../src/protocol/clock.ts';

/** A server `offsetMs` ahead of us answering after `upMs`, its Date header truncated to the second. */
function probe(sendMs: number, upMs: number, downMs: number, offsetMs: number): DateProbe {
  const serverMs = sendMs + upMs + offsetMs;
  return {
    sendWallMs: sendMs,
    receiveWallMs: sendMs + upMs + downMs,
    dateMs: Math.floor(serverMs / 1000) * 1000,
  };
}

describe('clock offset from Date headers', () => {
  it('the interval always holds the true offset, and two rounds narrow it to a few ms', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: -100_000, max: 100_000 }),
        fc.integer({ min: 0, max: 2 ** 40 }),
        fc.array(fc.tuple(fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 3 })), {
          minLength: 30,
          maxLength: 30,
        }),
        (offsetMs, t0, delays) => {
          const start = 1_700_000_000_000 + (t0 % 1_000_000_000);
          const probes = spreadProbeTimes(start, 20).map((t, k) =>
            probe(t, delays[k]![0], delays[k]![1], offsetMs),
          );
          const first = offsetFromDateProbes(probes)!;
          assert.ok(Math.abs(first.offsetMs - offsetMs) <= first.uncertaintyMs + 1e-9);
          assert.ok(first.uncertaintyMs <= 60, `first round ±${first.uncertaintyMs}`);
          const notBefore = start + 1100;
          const second = boundaryProbeTimes(first, notBefore, 10).map((t, k) =>
            probe(t, delays[20 + k]![0], delays[20 + k]![1], offsetMs),
          );
          const both = offsetFromDateProbes([...probes, ...second])!;
          assert.ok(Math.abs(both.offsetMs - offsetMs) <= both.uncertaintyMs + 1e-9);
          assert.ok(both.uncertaintyMs <= 12, `second round ±${both.uncertaintyMs}`);
        },
      ),
      { numRuns: 200 },
    );
  });
  it('no probes, or probes that contradict each other (a clock step), give no offset', () => {
    assert.equal(offsetFromDateProbes([]), undefined);
    assert.equal(
      offsetFromDateProbes([
        { sendWallMs: 0, receiveWallMs: 10, dateMs: 5000 },
        { sendWallMs: 20, receiveWallMs: 30, dateMs: 0 },
      ]),
      undefined,
    );
  });
  it('warns above a tenth of the window, for the offset and for its uncertainty', () => {
    const base = { source: 'http://s/v2/health/live', probes: 30 };
    assert.deepEqual(clockSkewWarnings({ ...base, offsetMs: 99, uncertaintyMs: 5 }, 1000, 0), []);
    assert.match(
      clockSkewWarnings({ ...base, offsetMs: -101, uncertaintyMs: 5 }, 1000, 2).join(),
      /Shard 2: .*-101 ms off/,
    );
    assert.match(clockSkewWarnings({ ...base, offsetMs: 0, uncertaintyMs: 150 }, 1000, 1).join(), /±150 ms/);
    assert.deepEqual(
      clockSkewWarnings({ offsetMs: 0, uncertaintyMs: 0, source: 'none', probes: 0 }, 1000, 0),
      [],
    );
    assert.equal(alignmentWarning([1000, 1100], 1000), undefined);
    assert.match(alignmentWarning([1000, 1101], 1000)!, /101 ms apart/);
  });
});

describe('the shared timetable', () => {
  const t = { startAtMs: 1_800_000_000_000, windowMs: 500, windowsPerLevel: 4 };
  it('levels follow each other by their windows plus the gap', () => {
    assert.equal(levelStartMs(t, 0), t.startAtMs);
    assert.equal(levelStartMs(t, 2), t.startAtMs + 2 * (4 * 500 + LEVEL_GAP_MS));
    assert.equal(windowEndMs(t, 1, 3), levelStartMs(t, 1) + 1500);
    assert.equal(lateStartWarning(t.startAtMs + 50, t, 0), undefined);
    assert.match(lateStartWarning(t.startAtMs + 51, t, 3)!, /Shard 3 was ready 51 ms after/);
  });
  it('waits on the monotonic clock for instants of the reference clock (local wall + offset)', async () => {
    // This host's wall clock reads 1 s before the start; the reference is 200 ms ahead of it.
    const clock = new FakeClock(0, t.startAtMs - 1000);
    const aligned = new AlignedWindows(clock, t, 200);
    let startedNs: number | undefined;
    const started = aligned.levelStart(0).then((ns) => {
      startedNs = ns;
    });
    clock.advanceNs(799e6);
    await Promise.resolve();
    assert.equal(startedNs, undefined);
    clock.advanceNs(1e6);
    await started;
    assert.equal(startedNs, 800e6);
    let ended = false;
    const end = aligned.windowEnd(0, 1).then(() => {
      ended = true;
    });
    clock.advanceNs(499e6);
    await Promise.resolve();
    assert.equal(ended, false);
    clock.advanceNs(1e6);
    await end;
    assert.equal(clock.nowNs(), 1300e6);
  });
  it('an abort releases the wait for the start', async () => {
    const clock = new FakeClock(0, t.startAtMs - 60_000);
    const aligned = new AlignedWindows(clock, t, 0);
    const controller = new AbortController();
    const waiting = aligned.levelStart(0, controller.signal);
    controller.abort();
    await waiting;
    assert.equal(clock.nowNs(), 0);
  });
});
