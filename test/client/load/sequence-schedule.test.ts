/** The pure sequence plan: lengths, IDs, flags, stream choice, early ends and shard ID slices. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { SequencePlan, type SequenceSettings, shardIdRange } from '../../../src/load/sequence-schedule.ts';

const BASE: SequenceSettings = {
  lengthVariationPct: 20,
  idStart: 1,
  idRange: 4294967295,
  numSequences: 4,
  serial: false,
  seed: 5489,
};

function plan(
  settings: Partial<SequenceSettings> = {},
  streamLengths = [1],
  lengthFromStreams = false,
  shard?: { index: number; count: number },
) {
  return new SequencePlan({
    settings: { ...BASE, ...settings },
    streamLengths,
    lengthFromStreams,
    seed: settings.seed ?? 5489,
    ...(shard ? { shard } : {}),
  });
}

/** Runs `slot` until its current sequence ends; returns the steps. */
function sequenceOf(p: SequencePlan, slot: number) {
  const steps = [p.next(slot)];
  while (!steps.at(-1)!.end) steps.push(p.next(slot));
  return steps;
}

describe('sequence plan', () => {
  it('default length 20 ± 20 % stays within 16..24 (perf_analyzer test_sequence_manager)', () => {
    const p = plan();
    const lengths = Array.from({ length: 300 }, () => sequenceOf(p, 0).length);
    assert.ok(
      Math.min(...lengths) >= 16 && Math.max(...lengths) <= 24,
      `${Math.min(...lengths)}..${Math.max(...lengths)}`,
    );
    assert.ok(new Set(lengths).size > 4, 'lengths vary');
  });

  it('START on the first request only, END on the last only; length 1 carries both', () => {
    const steps = sequenceOf(plan({ length: 5, lengthVariationPct: 0 }), 0);
    assert.deepEqual(
      steps.map((s) => [s.start, s.end]),
      [
        [true, false],
        [false, false],
        [false, false],
        [false, false],
        [false, true],
      ],
    );
    const one = plan({ length: 1, lengthVariationPct: 0 }).next(0);
    assert.deepEqual([one.start, one.end], [true, true]);
  });

  it('JSON streams: a sequence is its stream, unless --sequence-length is given (then the stream loops)', () => {
    const fromStream = sequenceOf(plan({}, [3], true), 0);
    assert.deepEqual(
      fromStream.map((s) => s.step),
      [0, 1, 2],
    );
    const looped = sequenceOf(plan({ length: 7, lengthVariationPct: 0 }, [3], true), 0);
    assert.deepEqual(
      looped.map((s) => s.step),
      [0, 1, 2, 0, 1, 2, 0],
    );
  });

  it('several streams: each new sequence picks one, all get picked', () => {
    const p = plan({}, [2, 3, 4], true);
    const picked = new Set(Array.from({ length: 60 }, () => sequenceOf(p, 0)[0]!.stream));
    assert.deepEqual([...picked].sort(), [0, 1, 2]);
  });

  it('IDs wrap within the range and open sequences never share one', () => {
    fc.assert(
      fc.property(fc.integer({ min: 3, max: 9 }), fc.integer({ min: 1, max: 50 }), (range, start) => {
        const p = plan({ idStart: start, idRange: range, length: 2, lengthVariationPct: 50 });
        const slots = 3;
        for (let k = 0; k < 200; k++) {
          const slot = k % slots;
          const step = p.next(slot);
          assert.ok(step.id >= start && step.id < start + range);
        }
        const open = [0, 1, 2].filter((s) => p.isOpen(s)).map((s) => p.finish(s)!.id);
        assert.equal(new Set(open).size, open.length, 'no two open sequences share an ID');
      }),
    );
  });

  it('finish ends an open sequence early with END, and nothing when none is open', () => {
    const p = plan({ length: 10, lengthVariationPct: 0 }, [5]);
    const first = p.next(0);
    const last = p.finish(0)!;
    assert.deepEqual([last.id, last.start, last.end, last.step], [first.id, false, true, 1]);
    assert.equal(p.finish(0), undefined);
    assert.equal(p.next(0).start, true, 'the next request opens a new sequence');
  });

  it('shards draw from disjoint ID slices', () => {
    const ids = [0, 1, 2].map((index) => {
      const p = plan({ idStart: 100, idRange: 30, length: 1 }, [1], false, { index, count: 3 });
      return new Set(Array.from({ length: 50 }, () => p.next(0).id));
    });
    assert.deepEqual(shardIdRange(100, 30, 2, 3), { start: 120, range: 10 });
    for (let a = 0; a < 3; a++)
      for (let b = a + 1; b < 3; b++)
        for (const id of ids[a]!) assert.ok(!ids[b]!.has(id), `shards ${a} and ${b} share ${id}`);
  });
});
