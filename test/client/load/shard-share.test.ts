/**
 * How shards split the load (property tests): the concurrency shares of P processes × T threads add up to
 * the total and differ by at most one; the shards' open-loop schedules together are exactly the one
 * generator's schedule (same seed); correlation-ID slices never overlap.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { createPacer } from '../../../src/load/schedule.ts';
import { shardIdRange } from '../../../src/load/sequence-schedule.ts';
import { shardPacer, shareOf } from '../../../src/load/shard-protocol.ts';
import { composeShards } from '../../../src/load/shard-share.ts';

describe('shard shares', () => {
  it('concurrency: the shares of every process and thread add up to the total, within one of each other', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 5000 }),
        fc.integer({ min: 1, max: 16 }),
        fc.integer({ min: 1, max: 8 }),
        (c, p, t) => {
          const shares: number[] = [];
          for (let i = 0; i < p; i++)
            for (let j = 0; j < t; j++) {
              const g = composeShards({ index: i, count: p }, { index: j, count: t });
              shares.push(shareOf(c, g.count, g.index));
            }
          assert.equal(
            shares.reduce((a, b) => a + b, 0),
            c,
          );
          assert.ok(Math.max(...shares) - Math.min(...shares) <= 1);
        },
      ),
    );
    // 16 over 4 processes: 4 each; 18 over 4: the first two get one more.
    assert.deepEqual(
      [0, 1, 2, 3].map((i) => shareOf(16, 4, i)),
      [4, 4, 4, 4],
    );
    assert.deepEqual(
      [0, 1, 2, 3].map((i) => shareOf(18, 4, i)),
      [5, 5, 4, 4],
    );
  });

  it('open loop: the union of the shards’ Poisson schedules is the one-generator schedule', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 6 }),
        fc.integer({ min: 1, max: 3 }),
        fc.integer({ min: 0, max: 2 ** 31 }),
        (p, t, seed) => {
          const spec = { kind: 'poisson' as const, ratePerSec: 1000, seed };
          const global = createPacer(spec);
          const expected = Array.from({ length: 60 }, () => global.next());
          const all: number[] = [];
          for (let i = 0; i < p; i++)
            for (let j = 0; j < t; j++) {
              const g = composeShards({ index: i, count: p }, { index: j, count: t });
              const pacer = shardPacer(createPacer(spec), g.index, g.count);
              for (let k = 0; k < 60; k++) all.push(pacer.next());
            }
          const union = all.sort((a, b) => a - b).slice(0, 60);
          assert.deepEqual(union, expected);
        },
      ),
      { numRuns: 50 },
    );
  });

  it('sequences: the correlation-ID slices of all shards are disjoint and inside the range', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 1000 }),
        fc.integer({ min: 1, max: 8 }),
        fc.integer({ min: 1, max: 4 }),
        (start, p, t) => {
          const range = p * t * 10;
          const seen = new Set<number>();
          for (let i = 0; i < p; i++)
            for (let j = 0; j < t; j++) {
              const g = composeShards({ index: i, count: p }, { index: j, count: t });
              const slice = shardIdRange(start, range, g.index, g.count);
              for (let id = slice.start; id < slice.start + slice.range; id++) {
                assert.ok(!seen.has(id), `id ${id} twice`);
                assert.ok(id >= start && id < start + range);
                seen.add(id);
              }
            }
        },
      ),
      { numRuns: 50 },
    );
  });
});
