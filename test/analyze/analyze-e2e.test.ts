/**
 * `inferbench analyze` end to end against the real bundled server (started by the command itself) with the
 * tiny `simple` model and short windows: the search runs, the refused config is reported and skipped, the
 * outputs are written, the user's repository is untouched, and the written config.pbtxt loads back.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { simpleAddSubModel } from '../../embedded-server/src/onnx/tiny-models.ts';
import { main } from '../../src/cli/main.ts';
import { ExitCode } from '../../src/errors.ts';
import { SIMPLE_CONFIG, type TempRepository, tempRepository } from '../server/helpers.ts';

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

describe('inferbench analyze: bad input is refused before any server starts', () => {
  const cases: [string[], RegExp][] = [
    [['--constraint', 'p95_latency<=fast'], /invalid constraint 'p95_latency<=fast'/],
    [['--constraint', ''], /invalid constraint ''/],
    [['--objective', 'happiness'], /unknown objective 'happiness'/],
    [['--mode', 'random'], /--mode: 'random' is not brute or quick/],
    [['--max-batch-size', '-4'], /--max-batch-size: '-4' is not an integer/],
    [['--max-batch-size', '1,,2'], /expected a comma-separated list/],
    [['--instance-count', '99999999999'], /--instance-count: '99999999999' is not an integer in 1..256/],
    [['--concurrency', '0'], /--concurrency: '0' is not an integer in 1..16384/],
    [['--concurrency', '1', '--request-rate', '5'], /not both/],
    [['--dynamic-batching', 'maybe'], /'maybe' is not on or off/],
    [['--instance-kind', 'tpu'], /'tpu' is not cpu or gpu/],
    [['--batch-buckets', '1;8'], /'1;8' is not auto, off or a list/],
    [['--saturation-gain', '-5%'], /not a percentage/],
    [['--resume', '/nonexistent/analyze.json'], /--resume \/nonexistent\/analyze.json: no such file/],
    [['--threshold', 'throughput>=1'], /analyze does not take --threshold/],
  ];
  for (const [args, pattern] of cases) {
    it(`refuses ${JSON.stringify(args)}`, async () => {
      const run = await analyze(['-m', 'simple', '--model-repository', '/nonexistent-repo', ...args]);
      assert.equal(run.code, ExitCode.BadOptions, run.stderr);
      assert.match(run.stderr, pattern);
    });
  }
  it('needs -m', async () => {
    const run = await analyze([]);
    assert.equal(run.code, ExitCode.BadOptions);
    assert.match(run.stderr, /analyze needs -m MODEL/);
  });
  it('a resume file that is not a record of this search', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'inferbench-analyze-bad-'));
    try {
      writeFileSync(join(dir, 'x.json'), '{"kind":"something"}');
      const run = await analyze(['-m', 'simple', '--resume', join(dir, 'x.json')]);
      assert.equal(run.code, ExitCode.BadOptions);
      assert.match(run.stderr, /not an analyze record/);
      writeFileSync(join(dir, 'y.json'), 'garbage{');
      const bad = await analyze(['-m', 'simple', '--resume', join(dir, 'y.json')]);
      assert.match(bad.stderr, /not JSON/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
