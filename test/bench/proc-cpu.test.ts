import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { describe, it } from 'node:test';
import { systemClock } from '../../src/protocol/clock.ts';
import {
  coresBetween,
  sampleProcessCpu,
  statName,
  statTicks,
  threadCoresBetween,
  threadCoresSummary,
} from './proc-cpu.ts';

describe('process CPU from /proc', () => {
  it('reads utime + stime after the command name, whatever the name holds', () => {
    const line = '4783 (node (x) y) S 1 4783 4783 0 -1 4194560 100 0 0 0 250 31 0 0 20 0 11 0 100 0 0';
    assert.equal(statTicks(line), 281);
  });

  it('reads the thread name between the first ( and the last )', () => {
    assert.equal(statName('4783 (node (x) y) S 1 4783'), 'node (x) y');
  });

  it('shares an interval out per thread, busiest first, new threads from zero, idle ones left out', () => {
    const first = {
      atNs: 0,
      mainThreadSeconds: 1,
      totalSeconds: 1.5,
      threads: new Map([
        [10, { name: 'node', seconds: 1 }],
        [11, { name: 'inferbench-ingr', seconds: 0.5 }],
        [13, { name: 'V8 worker', seconds: 0.2 }],
      ]),
    };
    const last = {
      atNs: 2e9,
      mainThreadSeconds: 2,
      totalSeconds: 5,
      threads: new Map([
        [10, { name: 'node', seconds: 2 }],
        [11, { name: 'inferbench-ingr', seconds: 2.5 }],
        [12, { name: 'inferbench-ingr', seconds: 1 }],
        [13, { name: 'V8 worker', seconds: 0.2 }],
      ]),
    };
    const threads = threadCoresBetween(first, last);
    assert.deepEqual(
      threads.map((t) => [t.tid, t.cores]),
      [
        [11, 1],
        [10, 0.5],
        [12, 0.5],
      ],
    );
    assert.equal(threadCoresSummary(threads, 10), 'main 0.50; 1.00 0.50');
    assert.equal(threadCoresSummary(threads, 10, 1), 'main 0.50; 1.00; +1 threads 0.50');
  });

  it('splits cores into the main thread and the rest over an interval', () => {
    const cores = coresBetween(
      { atNs: 0, mainThreadSeconds: 1, totalSeconds: 2 },
      { atNs: 2e9, mainThreadSeconds: 2, totalSeconds: 5 },
    );
    assert.deepEqual(cores, { totalCores: 1.5, mainThreadCores: 0.5 });
    assert.equal(
      coresBetween(
        { atNs: 5, mainThreadSeconds: 0, totalSeconds: 0 },
        { atNs: 5, mainThreadSeconds: 0, totalSeconds: 0 },
      ),
      undefined,
    );
  });

  it("sees a busy child's CPU on its main thread", {
    skip: process.platform !== 'linux',
  }, async () => {
    const child = spawn(
      process.execPath,
      ['-e', 'const end = Date.now() + 1500; while (Date.now() < end);'],
      {
        stdio: 'ignore',
      },
    );
    try {
      await new Promise((r) => setTimeout(r, 200));
      const first = sampleProcessCpu(child.pid as number, systemClock.nowNs());
      await new Promise((r) => setTimeout(r, 800));
      const last = sampleProcessCpu(child.pid as number, systemClock.nowNs());
      assert.ok(first && last, 'the child is readable');
      const cores = coresBetween(first, last);
      assert.ok(cores, 'an interval');
      // How much CPU the child gets depends on the machine's load, not on the sampler: assert what the sampler
      // must get right whatever the load — the spinning main thread is most of the process, and at most one core.
      const mainSeconds = last.mainThreadSeconds - first.mainThreadSeconds;
      const totalSeconds = last.totalSeconds - first.totalSeconds;
      assert.ok(mainSeconds > 0, `main thread seconds ${mainSeconds}`);
      assert.ok(mainSeconds >= 0.8 * totalSeconds, `main ${mainSeconds} s of ${totalSeconds} s`);
      assert.ok(cores.mainThreadCores < 1.3, `main ${cores.mainThreadCores}`);
      assert.ok(cores.totalCores >= cores.mainThreadCores - 0.05);
    } finally {
      child.kill('SIGKILL');
    }
    assert.equal(
      sampleProcessCpu(2 ** 22 + 12345, 0),
      undefined,
      'a process that does not exist reads undefined',
    );
  });
});
