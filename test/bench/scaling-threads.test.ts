import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ingressThreadsFor } from './scaling-threads.ts';

describe('bench:server-scaling --threads', () => {
  it('default follows serve (half the cores from 4 up, 0 below), cores is one per core, a number is fixed', () => {
    assert.deepEqual([1, 2, 4, 8].map(ingressThreadsFor('default')), [0, 0, 2, 4]);
    assert.deepEqual([1, 2, 4, 8].map(ingressThreadsFor('cores')), [1, 2, 4, 8]);
    assert.deepEqual([1, 8].map(ingressThreadsFor('3')), [3, 3]);
    assert.deepEqual([1, 8].map(ingressThreadsFor('0')), [0, 0]);
  });

  it('refuses anything else before a server starts', () => {
    for (const bad of ['', '-1', '1.5', '257', '1e2', 'bogus', 'Default', ' 2', '99999999999999999999']) {
      assert.throws(() => ingressThreadsFor(bad), /--threads: expected default, cores or 0-256/, bad);
    }
  });
});
