/**
 * Absurd numbers are refused before anything runs (issue 13, client): exit 3 and one line naming the flag and
 * its maximum, instead of a V8 fatal error (`--request-rate-range 1e12`, exit 133), a RangeError (exit 99),
 * gigabytes allocated silently (`--shape INPUT0:1000000000`) or a window that never ends (a concurrency over
 * the open-file limit).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { checkOpenFileLimit, softOpenFileLimit } from '../../../src/cli/fd-limit.ts';
import { ExitCode } from '../../../src/errors.ts';
import { FLAG_MAXIMA } from '../../../src/options/option-values.ts';
import { type FakeServer, startFakeKServe } from '../../helpers/fake-kserve-server.ts';
import { runProfile } from '../../helpers/run-profile.ts';
import { settingsWith } from '../profile/helpers.ts';
import { runMain } from './harness.ts';

/** A command line that sets `flag` to `value` with whatever else the flag needs to be accepted. */
function argvFor(flag: string, value: string): { argv: string[]; files?: Record<string, string> } {
  const base = ['-u', 'localhost:1', '-m', 'simple'];
  switch (flag) {
    case '--concurrency-range':
      return { argv: [...base, flag, `1:${value}`] };
    case '--request-rate-range':
      return { argv: [...base, flag, value] };
    case '--max-in-flight':
      return { argv: [...base, '--request-rate-range', '10', flag, value] };
    case '--metrics-interval':
      return { argv: [...base, '--collect-metrics', flag, value] };
    case '--profile-export-max-output-bytes':
      return { argv: [...base, '--profile-export-file', 'never-written.json', flag, value] };
    case '--request-intervals':
      return { argv: [...base, flag, 'gaps.txt'], files: { 'gaps.txt': `100\n${value}\n` } };
    case '--request-count':
      return { argv: [...base, flag, value] };
    default:
      return { argv: [...base, flag, value] };
  }
}

describe('numeric flags: one table of maxima', () => {
  for (const [flag, limit] of Object.entries(FLAG_MAXIMA) as [string, { max: number; why: string }][]) {
    it(`${flag}: max+1 and a 30-digit value are refused with exit 3 and one line; the max itself is not`, async () => {
      for (const value of [String(limit.max + 1), '9'.repeat(30)]) {
        let ran = false;
        const { argv, files } = argvFor(flag, value);
        const r = await runMain(argv, {
          files,
          deps: {
            runBenchmark: async () => {
              ran = true;
              throw new Error('must not run');
            },
          },
        });
        assert.equal(r.code, ExitCode.BadOptions, `${flag} ${value}: ${r.stderr}`);
        assert.equal(ran, false);
        assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
        assert.match(
          r.stderr,
          new RegExp(`^error: Failed to parse ${flag}\\. The value must be <= ${limit.max} \\(`),
        );
      }
      const { argv, files } = argvFor(flag, String(limit.max));
      const r = await runMain(argv, { files });
      assert.doesNotMatch(r.stderr, /must be <=/, `${flag} ${limit.max} is accepted`);
    });
  }

  it('the values from the issue: rate 1e12, concurrency 100000, worker threads 100000', async () => {
    for (const argv of [
      ['--request-rate-range', '1000000000000'],
      ['--concurrency-range', '100000'],
      ['--worker-threads', '100000'],
      ['-p', '99999999999'],
      ['--request-timeout', '3000000000'],
    ]) {
      const r = await runMain(['-u', 'localhost:1', '-m', 'simple', ...argv]);
      assert.equal(r.code, ExitCode.BadOptions, argv.join(' '));
      assert.match(r.stderr, /^error: Failed to parse .*The value must be <= \d+/);
    }
  });
});

describe('--concurrency-range past the file-descriptor limit (issue 13: 100000 never ended a window)', () => {
  it('100000: exit 3, one line naming connections, file descriptors and ulimit -n', async () => {
    const r = await runMain(['-u', 'localhost:1', '-m', 'simple', '--concurrency-range', '100000']);
    assert.equal(r.code, ExitCode.BadOptions);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.match(
      r.stderr,
      /^error: Failed to parse --concurrency-range\. The value must be <= 16384 \(each in-flight HTTP request holds a connection, one file descriptor \(ulimit -n\); use several load generators beyond that\)/,
    );
  });

  it('the real CLI under `ulimit -n 512`: 1000 is refused before any connection with the ulimit to set', async () => {
    const entry = fileURLToPath(new URL('./helpers/cli-entry.ts', import.meta.url));
    // A shell lowers the limit (soft and hard: Node raises its soft limit to the hard one at startup) for the
    // CLI process alone; nothing listens on port 1, and nothing is sent.
    const r = spawnSync(
      'bash',
      [
        '-c',
        'ulimit -n 512 && exec "$0" --import tsx "$1" -u 127.0.0.1:1 -m simple --concurrency-range 1000 --no-progress',
        process.execPath,
        entry,
      ],
      { encoding: 'utf8', timeout: 60_000 },
    );
    assert.equal(r.status, ExitCode.BadOptions, r.stderr);
    assert.equal(
      r.stderr.trim(),
      'error: Failed to parse --concurrency-range. Concurrency 1000 needs 1000 HTTP connections, but this process may open only 512 files (ulimit -n): raise the limit (ulimit -n 1064) or lower the concurrency.',
    );
  });
});

describe('open-file limit', () => {
  it('reads the soft limit of this process', () => {
    const limit = softOpenFileLimit();
    if (process.platform === 'linux') assert.ok(limit === undefined || limit > 0);
    assert.equal(
      softOpenFileLimit(() => 'Max open files            1024                 4096                 files\n'),
      1024,
    );
    assert.equal(
      softOpenFileLimit(() => 'Max open files            unlimited            unlimited            files\n'),
      undefined,
    );
  });

  it('refuses an HTTP concurrency the limit cannot hold, with the ulimit to set', () => {
    const settings = settingsWith({ mode: 'concurrency', range: { start: 1, end: 2000, step: 1 } });
    assert.throws(
      () => checkOpenFileLimit(settings, 1024),
      /Concurrency 2000 needs 2000 HTTP connections, but this process may open only 1024 files \(ulimit -n\): raise the limit \(ulimit -n 2064\)/,
    );
    assert.doesNotThrow(() => checkOpenFileLimit(settings, 4096));
    // gRPC multiplexes requests over one connection.
    assert.doesNotThrow(() => checkOpenFileLimit({ ...settings, protocol: 'grpc' }, 1024));
  });
});

describe('batch size and tensor bytes against the model (a real local server)', () => {
  let server: FakeServer;
  before(async () => {
    server = await startFakeKServe({
      models: [
        {
          name: 'dyn',
          inputs: [{ name: 'INPUT0', datatype: 'FP32', shape: [-1, -1] }],
          outputs: [{ name: 'OUTPUT0', datatype: 'FP32', shape: [-1, -1] }],
          config: { name: 'dyn', max_batch_size: 8 },
        },
      ],
    });
  });
  after(() => server.close());

  const run = (...argv: string[]) =>
    runProfile(['-m', 'dyn', '-u', server.url, '--no-progress', '-p', '100', ...argv]);

  it('-b over max_batch_size: exit 3 with the right advice, no request sent', async () => {
    const r = await run('-b', '1000', '--shape', 'INPUT0:4');
    assert.equal(r.code, ExitCode.BadOptions, r.stderr);
    assert.match(
      r.stderr,
      /Batch size 1000 is over the max_batch_size of model 'dyn' \(8\): use -b 8 or less\./,
    );
    assert.equal(server.inferCount('dyn'), 0);
  });

  it('--shape beyond 2^53 elements, and one that would allocate ~4 GB: exit 3, nothing allocated', async () => {
    const huge = await run('--shape', 'INPUT0:1099511627776');
    assert.equal(huge.code, ExitCode.BadOptions, huge.stderr);
    assert.match(
      huge.stderr,
      /^error: input INPUT0 of shape \[1099511627776\] would take 4\.0 TiB per request, over the limit of 64\.0 MiB \(--max-request-bytes/m,
    );
    const big = await run('--shape', 'INPUT0:1000000000', '--max-request-bytes', '2147483648');
    assert.equal(big.code, ExitCode.BadOptions, big.stderr);
    assert.match(big.stderr, /would take 3\.7 GiB per request, over the limit of 2\.0 GiB/);
    assert.equal(server.inferCount('dyn'), 0);
  });

  it('a batch that multiplies a legal tensor past the bound is refused too; a raised bound accepts it', async () => {
    // 4 MiB per tensor × 8 = 32 MiB per request: over a 16 MiB bound, under 64 MiB.
    const over = await run('-b', '8', '--shape', 'INPUT0:1048576', '--max-request-bytes', '16777216');
    assert.equal(over.code, ExitCode.BadOptions, over.stderr);
    assert.match(over.stderr, /a request of batch size 8 would take 32\.0 MiB per request/);
    const ok = await run('-b', '8', '--shape', 'INPUT0:1048576', '--request-count', '2');
    assert.equal(ok.code, 0, ok.stderr);
  });
});
