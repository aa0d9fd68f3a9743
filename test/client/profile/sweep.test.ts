import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { binarySearchSweep, linearSweep, type Sweep } from '../../../src/profile/sweep.ts';

/** Runs a sweep where a level passes iff `passes(value)`; returns the order of levels profiled. */
function order(sweep: Sweep, passes: (v: number) => boolean): number[] {
  const seen: number[] = [];
  let met: boolean | undefined;
  for (let v = sweep.next(undefined); v !== undefined; v = sweep.next(met)) {
    seen.push(v);
    met = passes(v);
    if (seen.length > 100) throw new Error('runaway sweep');
  }
  return seen;
}

describe('sweeps', () => {
  it('linear: start..end by step while levels pass', () => {
    assert.deepEqual(
      order(linearSweep({ start: 1, end: 7, step: 2 }), () => true),
      [1, 3, 5, 7],
    );
    assert.deepEqual(
      order(linearSweep({ start: 1, end: 7, step: 2 }), (v) => v < 5),
      [1, 3, 5],
    );
  });
  it('linear with end 0 goes on until a level fails', () => {
    assert.deepEqual(
      order(linearSweep({ start: 2, end: 0, step: 2 }), (v) => v <= 6),
      [2, 4, 6, 8],
    );
  });
  it('linear float rates are start + i·step (no accumulated error)', () => {
    assert.deepEqual(order(linearSweep({ start: 0.1, end: 0.3, step: 0.1 }), () => true).length, 3);
  });
  it('binary: start, end, then midpoints until hi − lo ≤ step (integer for concurrency)', () => {
    // passes below 5: 1 ok, 16 fails, 8 fails, 4 ok, 6 fails, 5 fails; hi − lo = 1 stops.
    assert.deepEqual(
      order(binarySearchSweep({ start: 1, end: 16, step: 1 }, true), (v) => v < 5),
      [1, 16, 8, 4, 6, 5],
    );
  });
  it('binary: stops after start when start fails, after end when end passes', () => {
    assert.deepEqual(
      order(binarySearchSweep({ start: 1, end: 16, step: 1 }, true), () => false),
      [1],
    );
    assert.deepEqual(
      order(binarySearchSweep({ start: 1, end: 16, step: 1 }, true), () => true),
      [1, 16],
    );
  });
  it('binary on rates uses float midpoints', () => {
    assert.deepEqual(
      order(binarySearchSweep({ start: 10, end: 20, step: 3 }, false), (v) => v < 14),
      [10, 20, 15, 12.5],
    );
  });
});
