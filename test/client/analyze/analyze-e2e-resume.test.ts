/**
 * `inferbench analyze` end to end against the real bundled server: --resume measures only what the record
 * lacks; an empty search space and constraints no config meets end with their exit codes.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { simpleAddSubModel } from '../../../embedded-server/src/onnx/tiny-models.ts';
import { main } from '../../../src/cli/main.ts';
import { ExitCode } from '../../../src/errors.ts';
import { SIMPLE_CONFIG, type TempRepository, tempRepository } from '../../helpers/real-server.ts';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

async function analyze(args: string[], signal?: AbortSignal): Promise<Run> {
  let stdout = '';
  let stderr = '';
  const code = await main(
    ['analyze', ...args],
    { stdout: { write: (t: string) => (stdout += t) }, stderr: { write: (t: string) => (stderr += t) } },
    signal ? { signal } : {},
  );
  return { code, stdout, stderr };
}

/** Short windows: every level is 3 windows of 150 ms at most 4 windows (bounded in time). */
const FAST = ['-p', '150', '-r', '4', '-s', '50'];

describe('inferbench analyze against the bundled server: resume, empty space, no config meeting the constraints', () => {
  let repo: TempRepository;
  let out: string;
  before(async () => {
    repo = await tempRepository({ simple: { config: SIMPLE_CONFIG, onnx: simpleAddSubModel() } });
    out = mkdtempSync(join(tmpdir(), 'inferbench-analyze-test-'));
  });
  after(async () => {
    await repo.remove();
    rmSync(out, { recursive: true, force: true });
  });

  it('--resume takes the measured configs from the record and measures only the others', async () => {
    const json = join(out, 'resume.json');
    const first = await analyze([
      '-m',
      'simple',
      '--model-repository',
      repo.dir,
      ...FAST,
      '--mode',
      'brute',
      '--max-batch-size',
      '8',
      '--instance-count',
      '1,2',
      '--concurrency',
      '1',
      '--max-configs',
      '1',
      '--json',
      json,
    ]);
    assert.equal(first.code, 0, first.stderr);
    assert.equal(JSON.parse(readFileSync(json, 'utf8')).trials.length, 1);
    const second = await analyze([
      '-m',
      'simple',
      '--model-repository',
      repo.dir,
      ...FAST,
      '--mode',
      'brute',
      '--max-batch-size',
      '8',
      '--instance-count',
      '1,2',
      '--concurrency',
      '1',
      '--resume',
      json,
      '--json',
      json,
      // Only the new config's level is measured (re-measuring leaders is covered by confirm-leaders.test.ts).
      '--confirm-top',
      '0',
    ]);
    assert.equal(second.code, 0, second.stderr);
    const record = JSON.parse(readFileSync(json, 'utf8'));
    assert.equal(record.trials.length, 2);
    assert.equal(record.reused, 1);
    assert.equal(record.measurements, 1);
    // Other load levels than the record's: refused.
    const other = await analyze([
      '-m',
      'simple',
      '--model-repository',
      repo.dir,
      ...FAST,
      '--concurrency',
      '2',
      '--resume',
      json,
    ]);
    assert.equal(other.code, ExitCode.BadOptions);
    assert.match(other.stderr, /measured other load levels/);
  });

  it('an empty search space and a constraint no config meets are reported with their exit codes', async () => {
    const empty = await analyze([
      '-m',
      'simple',
      '--model-repository',
      repo.dir,
      ...FAST,
      '--max-batch-size',
      '1,2',
      '-b',
      '4',
    ]);
    assert.equal(empty.code, ExitCode.BadOptions);
    assert.match(
      empty.stderr,
      /the search space has no valid config: the client batch size 4 exceeds max_batch_size/,
    );
    const none = await analyze([
      '-m',
      'simple',
      '--model-repository',
      repo.dir,
      ...FAST,
      '--concurrency',
      '1',
      '--constraint',
      'p95_latency<=1us',
    ]);
    assert.equal(none.code, ExitCode.GateFailed, none.stderr);
    assert.match(none.stdout, /No config met the constraints/);
    assert.match(none.stdout, /p95_latency .* breaks <= 1 us/);
  });
});
