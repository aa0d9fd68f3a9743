import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  type ComposingModel,
  composingDeltas,
  composingMissingWarning,
  multipleVersionsWarning,
  windowServerDelta,
} from '../../../src/measure/server-stats.ts';
import type { ModelStatsSnapshot } from '../../../src/transport/server-api.ts';

const d = (count: number, ns: number) => ({ count, ns });

function snap(name: string, version: string, n: number): ModelStatsSnapshot {
  return {
    name,
    version,
    inferenceCount: n,
    executionCount: n,
    success: d(n, n * 1_000_000),
    fail: d(0, 0),
    queue: d(n, n * 100_000),
    computeInput: d(n, 0),
    computeInfer: d(n, n * 500_000),
    computeOutput: d(n, 0),
    cacheHit: d(0, 0),
    cacheMiss: d(0, 0),
  };
}

const leaf = (name: string, version = ''): ComposingModel => ({ name, version, composing: [] });

describe('composing models of an ensemble: per-window deltas', () => {
  it('nests the composing deltas under the ensemble, recursively', () => {
    const start = [snap('ens', '1', 10), snap('pre', '1', 10), snap('inner', '1', 10), snap('net', '1', 10)];
    const end = [snap('ens', '1', 25), snap('pre', '1', 25), snap('inner', '1', 25), snap('net', '1', 25)];
    const r = windowServerDelta(start, end, 'ens', '', [
      leaf('pre'),
      { name: 'inner', version: '1', composing: [leaf('net')] },
    ]);
    assert.ok('delta' in r);
    assert.deepEqual(r.warnings, []);
    assert.equal(r.delta.success.count, 15);
    assert.deepEqual(
      r.delta.composing.map((c) => [c.model, c.version, c.success.count, c.composing.map((x) => x.model)]),
      [
        ['pre', '1', 15, []],
        ['inner', '1', 15, ['net']],
      ],
    );
    assert.equal(r.delta.composing[1]!.composing[0]!.inferenceCount, 15);
  });

  it("takes the step's version, else the version that grew (highest, with the warning), else the highest", () => {
    const start = [
      snap('a', '1', 5),
      snap('a', '2', 5),
      snap('b', '1', 0),
      snap('b', '3', 0),
      snap('c', '1', 1),
    ];
    const end = [
      snap('a', '1', 9),
      snap('a', '2', 7),
      snap('b', '1', 0),
      snap('b', '3', 0),
      snap('c', '1', 4),
    ];
    const r = composingDeltas(start, end, [leaf('a'), leaf('b'), leaf('c', '1')], 'ens');
    assert.deepEqual(
      r.deltas.map((x) => [x.model, x.version, x.success.count]),
      [
        ['a', '2', 2],
        ['b', '3', 0],
        ['c', '1', 3],
      ],
    );
    assert.deepEqual(r.warnings, [multipleVersionsWarning('a')]);
  });

  it('leaves out a composing model the server does not report, with a warning', () => {
    const start = [snap('pre', '1', 0)];
    const end = [snap('pre', '1', 3)];
    const r = composingDeltas(start, end, [leaf('pre'), leaf('ghost'), leaf('pre2', '4')], 'ens');
    assert.deepEqual(
      r.deltas.map((x) => x.model),
      ['pre'],
    );
    assert.deepEqual(r.warnings, [
      composingMissingWarning(leaf('ghost'), 'ens'),
      composingMissingWarning(leaf('pre2', '4'), 'ens'),
    ]);
    assert.equal(
      r.warnings[1],
      'Server statistics for composing model pre2 version 4 of ensemble ens are not reported by the server; it is left out of the Server: block.',
    );
  });
});
