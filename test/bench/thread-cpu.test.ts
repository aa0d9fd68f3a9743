import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { busiestThread, parseSchedstat, readSchedstats, type Schedstat, threadLoad } from './thread-cpu.ts';

const s = (cpuNs: number, waitNs: number, slices: number): Schedstat => ({ cpuNs, waitNs, slices });

describe('thread CPU accounting (schedstat)', () => {
  it('parses schedstat lines and refuses anything else', () => {
    assert.deepEqual(parseSchedstat('123456 789 42\n'), s(123456, 789, 42));
    assert.equal(parseSchedstat('garbage'), undefined);
    assert.equal(parseSchedstat('1 2'), undefined);
  });

  it('per-request load of one thread, and the busiest other thread', () => {
    const before = new Map([
      [1, s(1_000_000, 0, 10)],
      [2, s(0, 0, 0)],
    ]);
    const after = new Map([
      [1, s(3_000_000, 1_000_000, 30)],
      [2, s(500_000, 0, 5)],
      [3, s(900_000, 0, 9)],
    ]);
    assert.deepEqual(threadLoad(before, after, 1, 10), {
      cpuUsPerRequest: 200,
      waitUsPerRequest: 100,
      slicesPerRequest: 2,
    });
    assert.equal(threadLoad(before, after, 4, 10), undefined);
    assert.equal(threadLoad(before, after, 1, 0), undefined);
    // Thread 3 is new in `after`: it counts from zero and beats thread 2.
    assert.equal(busiestThread(before, after, 1), 3);
  });

  it('reads this process on Linux', { skip: process.platform !== 'linux' }, () => {
    const now = readSchedstats();
    assert.ok(now);
    const main = now.get(process.pid);
    assert.ok(main && main.cpuNs > 0 && main.slices > 0);
    assert.equal(readSchedstats(2 ** 30), undefined);
  });
});
