import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseEnsembleBenchOptions, resolveIntraOpThreads } from './ensemble-bench-options.ts';

describe('bench:ensemble options', () => {
  it('defaults to what users get: no pinning, intra-op threads as shipped', () => {
    assert.deepEqual(parseEnsembleBenchOptions([]), { serverWarmupS: 30, order: 'mode' });
    assert.equal(parseEnsembleBenchOptions(['--help']), 'help');
  });

  it('parses the CPU lists and the intra-op threads', () => {
    assert.deepEqual(
      parseEnsembleBenchOptions(['--server-cpus', '0-7', '--client-cpus', '8,9', '--intra-op-threads', '7']),
      {
        serverCpus: [0, 1, 2, 3, 4, 5, 6, 7],
        clientCpus: [8, 9],
        intraOpThreads: 7,
        serverWarmupS: 30,
        order: 'mode',
      },
    );
    assert.deepEqual(parseEnsembleBenchOptions(['--intra-op-threads', 'auto', '--server-warmup-s', '0']), {
      intraOpThreads: 'auto',
      serverWarmupS: 0,
      order: 'mode',
    });
    // The dist/ build by default; the tsx-run sources only when asked.
    assert.deepEqual(parseEnsembleBenchOptions(['--source']), {
      serverWarmupS: 30,
      order: 'mode',
      source: true,
    });
    assert.throws(() => parseEnsembleBenchOptions(['--source=yes']), /--source/);
  });

  it('writes elsewhere when given --out, and refuses an empty one', () => {
    assert.equal((parseEnsembleBenchOptions(['--out', '/tmp/x']) as { out?: string }).out, '/tmp/x');
    assert.equal((parseEnsembleBenchOptions([]) as { out?: string }).out, undefined);
    assert.throws(() => parseEnsembleBenchOptions(['--out=']), /--out: expected a path/);
  });

  it('orders the levels by mode unless asked for mixed traffic', () => {
    assert.equal((parseEnsembleBenchOptions(['--order', 'level']) as { order: string }).order, 'level');
    assert.equal((parseEnsembleBenchOptions(['--order=mode']) as { order: string }).order, 'mode');
    for (const bad of ['', 'Mode', 'levels', 'x']) {
      assert.throws(
        () => parseEnsembleBenchOptions([`--order=${bad}`]),
        /--order: expected mode or level/,
        bad,
      );
    }
  });

  it('auto leaves one server CPU to the event loop, and never goes below 1', () => {
    assert.equal(resolveIntraOpThreads('auto', 16), 15);
    assert.equal(resolveIntraOpThreads('auto', 1), 1);
    assert.equal(resolveIntraOpThreads(3, 16), 3);
    assert.equal(resolveIntraOpThreads(undefined, 16), undefined);
  });

  it('refuses hostile values with the flag named', () => {
    for (const bad of ['0', '-1', '1.5', '', 'x', '257', '1e3', '99999999999999999999']) {
      assert.throws(
        () => parseEnsembleBenchOptions([`--intra-op-threads=${bad}`]),
        /--intra-op-threads: expected auto or an integer 1-256/,
        bad,
      );
    }
    for (const bad of ['', '3-1', 'a', '-1', '0,,1']) {
      assert.throws(() => parseEnsembleBenchOptions([`--server-cpus=${bad}`]), /--server-cpus/, bad);
    }
    assert.throws(() => parseEnsembleBenchOptions(['--client-cpus', '9-2']), /--client-cpus/);
    for (const bad of ['-1', '', '1.5', '3601', 'x', '1e2']) {
      assert.throws(
        () => parseEnsembleBenchOptions([`--server-warmup-s=${bad}`]),
        /--server-warmup-s: expected an integer 0-3600/,
        bad,
      );
    }
    assert.throws(() => parseEnsembleBenchOptions(['--concurrency', '4']), /Unknown option/);
    assert.throws(() => parseEnsembleBenchOptions(['stray']), /Unexpected argument/);
  });
});
