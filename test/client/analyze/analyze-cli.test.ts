/** `inferbench analyze`: hostile flags and files are refused with exit code 3 before any server starts. */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { main } from '../../../src/cli/main.ts';
import { ExitCode } from '../../../src/errors.ts';

async function analyze(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await main(['analyze', ...args], {
    stdout: { write: (t: string) => (stdout += t) },
    stderr: { write: (t: string) => (stderr += t) },
  });
  return { code, stdout, stderr };
}

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
    [['--confirm-top', '-1'], /--confirm-top: '-1' is not an integer in 0..16/],
    [['--confirm-top', '100000000000000000000'], /is not an integer in 0..16/],
    [['--confirm-top', '1,2'], /--confirm-top: '1,2' is not one integer/],
    [['--confirm-top', ''], /--confirm-top/],
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
