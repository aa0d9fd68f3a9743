/**
 * Records carried through container logs: they survive interleaved stderr, kubectl's --prefix and any order,
 * and a missing, altered or malformed line is refused (exit 3), never merged into a wrong record.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { recordLogLines, recordsFromLog } from '../../../src/distributed/record-log.ts';
import { ExitCode, OptionError } from '../../../src/errors.ts';

const json = JSON.stringify({
  big: 'x'.repeat(5000),
  values: Array.from({ length: 3000 }, (_, i) => Math.sin(i)),
});

function refused(text: string, pattern: RegExp): void {
  assert.throws(
    () => recordsFromLog(text, 'logs.txt'),
    (e: unknown) => e instanceof OptionError && e.exitCode === ExitCode.BadOptions && pattern.test(e.message),
  );
}

describe('records in logs', () => {
  it('round-trips records of several shards through noisy, prefixed, shuffled log lines', () => {
    const a = recordLogLines(json, 0, 2);
    const b = recordLogLines('{"shard":1}', 1, 2);
    assert.ok(a.length > 1, 'a long record spans several lines');
    assert.ok(a.every((l) => l.length < 16 * 1024));
    const lines = [
      'Request concurrency: 4',
      ...a.map((l) => `[pod/bench-0-abc/inferbench] ${l}`),
      'WARNING: something on stderr',
      ...b.reverse(),
    ];
    const found = recordsFromLog(lines.join('\n'), 'logs.txt');
    assert.deepEqual(
      found.map((f) => f.text),
      [json, '{"shard":1}'],
    );
  });
  it('refuses missing, altered and malformed lines, and a log without records', () => {
    const a = recordLogLines(json, 0, 1);
    refused(a.slice(1).join('\n'), /incomplete \(\d+ of \d+ lines\)/);
    refused(a.map((l, i) => (i === 0 ? `${l.slice(0, -10)}AAAAAAAAAA` : l)).join('\n'), /cannot be decoded/);
    refused('INFERBENCH-RECORD/1 0/1 1/1 not base64!!', /malformed/);
    refused('INFERBENCH-RECORD/1 0/1 2/1 AAAA', /disagree/);
    refused('just some logs\n', /no INFERBENCH-RECORD\/1 lines/);
  });
});
