import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ExitCode } from '../../../src/errors.ts';
import { sweepStopCode } from '../../../src/profile/sweep-stop.ts';

describe('sweepStopCode (perf_analyzer: which level ends the sweep, with which exit code)', () => {
  it('goes on after a good level, fails only on a first unstable or interrupted level', () => {
    const table = (
      [
        'stable',
        'single',
        'over_latency_limit',
        'unstable',
        'errors_over_limit',
        'no_data',
        'interrupted',
      ] as const
    ).map((status) => [status, sweepStopCode(status, true), sweepStopCode(status, false)]);
    assert.deepEqual(table, [
      ['stable', undefined, undefined],
      ['single', undefined, undefined],
      ['over_latency_limit', undefined, undefined],
      ['unstable', ExitCode.Unstable, undefined],
      ['errors_over_limit', ExitCode.ErrorsOverLimit, ExitCode.ErrorsOverLimit],
      ['no_data', ExitCode.NoData, ExitCode.NoData],
      ['interrupted', ExitCode.Interrupted, ExitCode.Success],
    ]);
  });
});
