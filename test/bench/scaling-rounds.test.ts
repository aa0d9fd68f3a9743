import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { aggregateRounds, MAX_ROUNDS, parseRounds, type RoundPoint, roundOrder } from './scaling-rounds.ts';

const point = (cores: number, requestsPerSec: number, errors = 0): RoundPoint => ({
  cores,
  requestsPerSec,
  serverCores: cores,
  mainThreadCores: 0.5,
  clientCores: 1,
  errors,
});

describe('server-scaling rounds', () => {
  it('alternates the order of the core counts round by round', () => {
    assert.deepEqual(roundOrder([1, 2, 4, 8], 0), [1, 2, 4, 8]);
    assert.deepEqual(roundOrder([1, 2, 4, 8], 1), [8, 4, 2, 1]);
    assert.deepEqual(roundOrder([1, 2, 4, 8], 2), [1, 2, 4, 8]);
  });

  it('takes medians per core count and the ratio from the 1-core median, not from one round', () => {
    // The H200's 1-core figures of 2026-12-04: one low round must not decide the ratio.
    const rounds = [
      [point(1, 3128), point(8, 18699)],
      [point(8, 20993), point(1, 6014, 2)],
      [point(1, 5013), point(8, 20144)],
    ];
    const [one, eight] = aggregateRounds([1, 8], rounds);
    assert.equal(one?.requestsPerSec, 5013);
    assert.deepEqual(one?.requestsPerSecRounds, [3128, 6014, 5013]);
    assert.equal(one?.errors, 2);
    assert.equal(eight?.requestsPerSec, 20144);
    assert.equal(eight?.scaling, 20144 / (8 * 5013));
    assert.equal(one?.scaling, 1);
  });

  it('no 1-core point: no ratio; an even number of rounds: the mean of the middle two', () => {
    const [two] = aggregateRounds([2], [[point(2, 100)], [point(2, 300)]]);
    assert.equal(two?.requestsPerSec, 200);
    assert.equal(two?.scaling, undefined);
  });

  it('--rounds takes 1 to 50 in digits and refuses hostile values before anything starts', () => {
    assert.equal(parseRounds('1'), 1);
    assert.equal(parseRounds(String(MAX_ROUNDS)), MAX_ROUNDS);
    for (const bad of ['', '0', '-1', '51', '1.5', '1e1', ' 3', '3x', '99999999999999999999', 'Infinity'])
      assert.throws(() => parseRounds(bad), /--rounds: expected a whole number 1-50/, JSON.stringify(bad));
  });
});
