/**
 * `inferbench analyze` end to end against the real bundled server (started by the command itself) with the
 * tiny `simple` model and short windows: the search runs, the refused config is reported and skipped, the
 * outputs are written, the user's repository is untouched, and the written config.pbtxt loads back.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
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

describe('inferbench analyze against the bundled server', () => {
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

  it('searches, reports a refused config and moves on, writes every output, and the best config loads back', async () => {
    const configBefore = readFileSync(join(repo.dir, 'simple', 'config.pbtxt'), 'utf8');
    const json = join(out, 'a.json');
    const csv = join(out, 'a.csv');
    const html = join(out, 'a.html');
    const outRepo = join(out, 'best');
    const run = await analyze([
      '-m',
      'simple',
      '--model-repository',
      repo.dir,
      ...FAST,
      '--mode',
      'brute',
      '--max-batch-size',
      '1,8',
      '--dynamic-batching',
      'on',
      '--max-queue-delay',
      '0',
      '--instance-count',
      '1',
      '--instance-kind',
      'cpu,gpu',
      '--concurrency',
      '1,2',
      '--constraint',
      'p95_latency<=2s',
      '--objective',
      'throughput',
      '--json',
      json,
      '-f',
      csv,
      '--html',
      html,
      '--output-model-repository',
      outRepo,
    ]);
    assert.equal(run.code, 0, run.stderr);
    // 2 batch sizes × {cpu, gpu}; the GPU configs are refused on this CPU-only machine, or measured on a GPU one.
    const record = JSON.parse(readFileSync(json, 'utf8'));
    assert.equal(record.kind, 'inferbench-analyze');
    assert.equal(record.trials.length, 4);
    assert.equal(record.complete, true);
    const cpu = record.trials.filter(
      (t: { candidate: { instanceKind: string } }) => t.candidate.instanceKind === 'KIND_CPU',
    );
    assert.ok(
      cpu.every(
        (t: { outcome: string; levels: unknown[] }) => t.outcome === 'measured' && t.levels.length >= 1,
      ),
    );
    const refused = record.trials.filter((t: { outcome: string }) => t.outcome === 'load_failed');
    for (const t of refused) assert.match(t.error, /GPU/);
    if (refused.length > 0) assert.match(run.stderr, /refused by the server: .*GPU/);
    assert.ok(record.best, 'a best config');
    assert.match(run.stdout, /Best config: max_batch_size=\d+ dynamic_batching=on/);
    assert.match(run.stdout, /^#\s+Config\s+Load\s+throughput\s+p95_latency/m);
    assert.match(run.stderr, /\[analyze 1\/≤4\]/);
    // The leaders are measured again before the search settles (--confirm-top 2 by default).
    assert.match(run.stderr, /\[analyze re-measure\] max_batch_size=\d+ .* at concurrency \d+/);
    assert.ok(record.trials.some((t: { confirmations?: unknown[] }) => (t.confirmations?.length ?? 0) > 0));
    assert.match(readFileSync(csv, 'utf8'), /^Rank,Config,Max Batch Size,/);
    const page = readFileSync(html, 'utf8');
    assert.match(page, /<svg/);
    assert.match(page, /Pareto frontier/);
    // The user's repository is never written.
    assert.equal(readFileSync(join(repo.dir, 'simple', 'config.pbtxt'), 'utf8'), configBefore);
    // The output repository is a model repository: profile -m simple on it loads the written config.
    const written = readFileSync(join(outRepo, 'simple', 'config.pbtxt'), 'utf8');
    assert.match(written, /dynamic_batching/);
    assert.ok(existsSync(join(outRepo, 'simple', '1', 'model.onnx')));
    let stdout = '';
    const code = await main(
      [
        '-m',
        'simple',
        '--model-repository',
        outRepo,
        '--concurrency-range',
        '1',
        '-p',
        '150',
        '-r',
        '3',
        '-s',
        '50',
        '--json',
        join(out, 'p.json'),
      ],
      { stdout: { write: (t: string) => (stdout += t) }, stderr: { write: () => true } },
    );
    assert.ok(code === 0 || code === ExitCode.Unstable, stdout);
    const profiled = JSON.parse(readFileSync(join(out, 'p.json'), 'utf8'));
    assert.equal(profiled.model.dynamicBatching, true);
    assert.equal(
      profiled.model.maxBatchSize,
      record.trials.find((t: { key: string }) => t.key === record.best.key).candidate.maxBatchSize,
    );
    // A second run refuses to overwrite the output model before measuring anything.
    const again = await analyze([
      '-m',
      'simple',
      '--model-repository',
      repo.dir,
      ...FAST,
      '--output-model-repository',
      outRepo,
    ]);
    assert.equal(again.code, ExitCode.BadOptions);
    assert.match(again.stderr, /exists; pass --override-output-model-repository/);
  });
});
