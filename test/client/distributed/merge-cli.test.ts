/**
 * `inferbench merge` through the CLI (in-process, in-memory files): the perf_analyzer text on stdout, the
 * merged record, CSV and HTML written, thresholds judged on the merged record, `compare` reading it, records
 * read from logs, and refusals with exit 3.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { recordLogLines } from '../../../src/distributed/record-log.ts';
import { parseRunResult, serializeRunResult } from '../../../src/report/json-record.ts';
import type { RunResult } from '../../../src/report/model.ts';
import { runMain } from '../cli/harness.ts';
import { shardRecord, windowOf } from './shard-fixtures.ts';

function steady(n: number, us: number): number[] {
  return Array.from({ length: n }, (_, k) => us + (k % 10));
}

function shards(count: number, perWindow = 100): RunResult[] {
  return Array.from({ length: count }, (_, s) =>
    shardRecord(s, count, [
      { value: 4, windows: [1, 2, 3].map((w) => windowOf(steady(perWindow, 2000 + s), w)) },
      { value: 8, windows: [1, 2, 3].map((w) => windowOf(steady(perWindow, 4000 + s), w)) },
    ]),
  );
}

const filesOf = (records: RunResult[]) =>
  Object.fromEntries(records.map((r, i) => [`s${i}.json`, serializeRunResult(r)]));

describe('inferbench merge', () => {
  it('writes one record and the usual outputs; thresholds and compare work on it', async () => {
    const r = await runMain(
      [
        'merge',
        's0.json',
        's1.json',
        '--json',
        'm.json',
        '--csv',
        'm.csv',
        '--html',
        'm.html',
        '--threshold',
        'throughput>=150',
      ],
      { files: filesOf(shards(2)) },
    );
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /Concurrency: 4, throughput: 200 infer\/sec/);
    const merged = parseRunResult(r.files.get('m.json')!);
    assert.equal(merged.levels[0]!.merged!.requestCount, 2 * 3 * 100);
    assert.ok(r.files.get('m.csv')!.startsWith('Concurrency,Inferences/Second'));
    assert.match(r.files.get('m.html')!, /<html/);
    const gate = await runMain(['merge', 's0.json', 's1.json', '--quiet', '--threshold', 'throughput>=250'], {
      files: filesOf(shards(2)),
    });
    assert.equal(gate.code, 1, 'the gate is judged on the merged throughput (200/s), not a shard’s (100/s)');
    const compared = await runMain(['compare', 'm.json', 'm.json'], { files: Object.fromEntries(r.files) });
    assert.equal(compared.code, 0, compared.stderr);
  });

  it('reads records from logs (--print-record lines)', async () => {
    const [a, b] = shards(2);
    const logs = [
      'noise',
      ...recordLogLines(serializeRunResult(a!), 0, 2),
      ...recordLogLines(serializeRunResult(b!), 1, 2),
    ].join('\n');
    const r = await runMain(['merge', '--from-logs', 'logs.txt', '--quiet', '--json', 'm.json'], {
      files: { 'logs.txt': logs },
    });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(parseRunResult(r.files.get('m.json')!).distributed?.count, 2);
  });

  it('refuses with exit 3: missing shards, foreign files, no input', async () => {
    const files = { ...filesOf(shards(3)), 'bad.json': '{"schemaVersion":1}' };
    const missing = await runMain(['merge', 's0.json', 's1.json'], { files });
    assert.equal(missing.code, 3);
    assert.match(missing.stderr, /shard 2 of 3 missing/);
    assert.equal((await runMain(['merge', 's0.json', 'bad.json'], { files })).code, 3);
    assert.equal((await runMain(['merge', 's0.json', 'nope.json'], { files })).code, 3);
    assert.equal((await runMain(['merge'], { files })).code, 3);
  });
});
