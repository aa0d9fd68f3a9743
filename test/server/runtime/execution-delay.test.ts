import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { executionDelayUs, sleepThreadUs } from '../../../embedded-server/src/runtime/execution-delay.ts';

const config = (value?: string) => ({
  parameters: value === undefined ? {} : { 'inferbench.execution_delay_us': { stringValue: value } },
});

describe('model parameter inferbench.execution_delay_us', () => {
  it('reads whole microseconds, 0 when absent', () => {
    assert.equal(executionDelayUs(config() as never), 0);
    assert.equal(executionDelayUs(config(' 2500 ') as never), 2500);
    assert.equal(executionDelayUs(config('10000000') as never), 10_000_000);
  });
  it('refuses negative, fractional, huge, empty and non-numeric values', () => {
    for (const bad of ['-1', '1.5', '10000001', '1e3', '', 'slow', '99999999999999999999']) {
      assert.throws(
        () => executionDelayUs(config(bad) as never),
        /must be a whole number of microseconds from 0 to 10000000/,
        bad,
      );
    }
  });
  it('sleeps the calling thread about that long', () => {
    const t0 = process.hrtime.bigint();
    sleepThreadUs(3000);
    assert.ok(process.hrtime.bigint() - t0 >= 3_000_000n);
  });
});
