/** The shard flags' parsing: what is accepted, and every hostile value refused with exit 3 and a reason. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  parseClockSync,
  parseShardFlag,
  parseStartAt,
  shardFromEnvironment,
} from '../../../src/distributed/shard-spec.ts';
import { ExitCode, OptionError } from '../../../src/errors.ts';

const NOW = Date.parse('2026-12-03T15:00:00Z');

function refused(fn: () => unknown, pattern: RegExp): void {
  assert.throws(
    fn,
    (e: unknown) => e instanceof OptionError && e.exitCode === ExitCode.BadOptions && pattern.test(e.message),
  );
}

describe('--shard i/N', () => {
  it('takes a 0-based index below the count', () => {
    assert.deepEqual(parseShardFlag('0/4'), { index: 0, count: 4 });
    assert.deepEqual(parseShardFlag('3/4'), { index: 3, count: 4 });
    assert.deepEqual(parseShardFlag('0/1'), { index: 0, count: 1 });
  });
  it('refuses hostile values', () => {
    for (const bad of [
      '',
      '4/4',
      '-1/4',
      '0/0',
      '0/-2',
      '1/2/3',
      'a/b',
      '0/1025',
      '0/99999999999',
      '1.5/4',
      '0x1/4',
      '01/4',
      '/4',
      '0/',
    ]) {
      refused(() => parseShardFlag(bad), /--shard/);
    }
  });
});

describe('--shards N with JOB_COMPLETION_INDEX', () => {
  it('reads the index of an Indexed Job pod', () => {
    assert.deepEqual(shardFromEnvironment('3', { JOB_COMPLETION_INDEX: '2' }), { index: 2, count: 3 });
  });
  it('refuses a missing, malformed or out-of-range index, and a bad count', () => {
    refused(() => shardFromEnvironment('3', {}), /JOB_COMPLETION_INDEX.*not set/);
    refused(
      () => shardFromEnvironment('3', { JOB_COMPLETION_INDEX: '3' }),
      /completions must equal --shards/,
    );
    refused(() => shardFromEnvironment('3', { JOB_COMPLETION_INDEX: '-1' }), /not a shard index/);
    refused(() => shardFromEnvironment('3', { JOB_COMPLETION_INDEX: '' }), /not a shard index/);
    refused(() => shardFromEnvironment('0', { JOB_COMPLETION_INDEX: '0' }), /--shards/);
    refused(() => shardFromEnvironment('100000', { JOB_COMPLETION_INDEX: '0' }), /1 to 1024/);
  });
});

describe('--start-at', () => {
  it('takes ISO times with a zone and epoch milliseconds', () => {
    assert.equal(parseStartAt('2026-12-03T15:01:00Z', NOW), NOW + 60_000);
    assert.equal(parseStartAt('2026-12-03T16:01:00.500+01:00', NOW), NOW + 60_500);
    assert.equal(parseStartAt(String(NOW + 5000), NOW), NOW + 5000);
  });
  it('refuses the past, more than 24 h ahead, and anything else', () => {
    refused(() => parseStartAt('2026-12-03T14:59:59Z', NOW), /in the past/);
    refused(() => parseStartAt(String(NOW + 25 * 3_600_000), NOW), /more than 24 h ahead/);
    refused(() => parseStartAt('2126-12-03T15:00:00Z', NOW), /more than 24 h ahead/);
    for (const bad of [
      '',
      'now',
      'tomorrow',
      '1e400',
      '-5',
      '2026-12-03T15:01:00',
      '2026-13-45T99:99:00Z',
      '9'.repeat(400),
      '1.5',
      'NaN',
    ]) {
      refused(() => parseStartAt(bad, NOW), /--start-at/);
    }
  });
});

describe('--clock-sync', () => {
  it("takes an http(s) URL or 'none'", () => {
    assert.equal(parseClockSync('none'), 'none');
    assert.equal(
      parseClockSync('http://10.0.0.1:8000/v2/health/live'),
      'http://10.0.0.1:8000/v2/health/live',
    );
  });
  it('refuses other schemes and non-URLs', () => {
    for (const bad of ['', 'file:///etc/passwd', 'ftp://x', 'localhost:8000', '../../x'])
      refused(() => parseClockSync(bad), /--clock-sync/);
  });
});
