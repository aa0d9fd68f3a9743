/**
 * Output paths are checked before the first request (issue 19 item 3): a bad one ends the command with exit 3
 * and one line, and the run never starts. `-` is stdout for --json and -f (item 10). Real temporary
 * directories, since what matters is what the file system says.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { checkOutputPaths, nodeProbe, type PathProbe } from '../../../src/cli/output-paths.ts';
import type { OutputOptions } from '../../../src/cli/run-types.ts';
import { ExitCode } from '../../../src/errors.ts';
import { parseRunResult } from '../../../src/report/json-record.ts';
import { runMain } from './harness.ts';

const dir = mkdtempSync(join(tmpdir(), 'inferbench-outputs-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const base: OutputOptions = {
  verboseCsv: false,
  extraCsvColumns: false,
  verbose: false,
  extraVerbose: false,
  quiet: false,
  progress: false,
};

function refusal(output: Partial<OutputOptions>, probe?: PathProbe): string {
  try {
    checkOutputPaths({ ...base, ...output }, probe);
  } catch (error) {
    return (error as Error).message;
  }
  return '';
}

describe('output paths: refused before the run', () => {
  it('a directory, for every output flag', () => {
    assert.match(
      refusal({ jsonFile: dir }),
      /^Failed to parse --json\. Cannot write '.*': it is a directory\.$/,
    );
    assert.match(refusal({ csvFile: dir }), /-f\. .*it is a directory/);
    assert.match(refusal({ htmlFile: dir }), /--html\. .*it is a directory/);
    assert.match(refusal({ profileExportFile: dir }), /--profile-export-file\. .*it is a directory/);
  });

  it('a parent that is a file, and paths under /proc and /sys (which used to hang)', () => {
    const file = join(dir, 'plain.txt');
    writeFileSync(file, 'x');
    assert.match(refusal({ jsonFile: join(file, 'sub', 'run.json') }), /plain\.txt is not a directory/);
    assert.match(refusal({ jsonFile: '/proc/nope/x.json' }), /\/proc is a kernel pseudo file system/);
    assert.match(refusal({ csvFile: '/proc/self/status' }), /pseudo file system/);
    assert.match(refusal({ htmlFile: '/sys/kernel/x.html' }), /pseudo file system/);
  });

  it('a FIFO (opening it would block the run at the end)', () => {
    const fifo = join(dir, 'pipe');
    execFileSync('mkfifo', [fifo]);
    assert.match(refusal({ jsonFile: fifo }), /not a regular file/);
  });

  it('an unwritable directory or file (as the probe reports it: root may write anywhere)', () => {
    const readOnly: PathProbe = { ...nodeProbe, writable: () => false };
    assert.match(refusal({ jsonFile: join(dir, 'new.json') }, readOnly), /the directory .* is not writable/);
    const existing = join(dir, 'old.csv');
    writeFileSync(existing, 'x');
    assert.match(refusal({ csvFile: existing }, readOnly), /permission denied/);
    if (process.getuid?.() !== 0) {
      const locked = join(dir, 'locked');
      mkdirSync(locked);
      chmodSync(locked, 0o500);
      assert.match(refusal({ jsonFile: join(locked, 'r.json') }), /not writable/);
    }
  });

  it('empty, twice the same file, stdout twice, stdout for --html', () => {
    assert.match(refusal({ jsonFile: '' }), /the path is empty/);
    const same = join(dir, 'same');
    assert.match(refusal({ csvFile: same, jsonFile: same }), /--json\. .*-f writes the same file/);
    assert.match(refusal({ csvFile: '-', jsonFile: '-' }), /-f already writes to stdout/);
    assert.match(refusal({ htmlFile: '-' }), /accepted by --json and -f only/);
    assert.match(refusal({ profileExportFile: join(dir, 'plain.txt') }), /already exists/);
  });

  it('accepts new files in directories still to be created, existing files, and /dev/null', () => {
    assert.equal(refusal({ jsonFile: join(dir, 'a', 'b', 'run.json'), csvFile: '-' }), '');
    assert.equal(refusal({ csvFile: join(dir, 'plain.txt'), htmlFile: '/dev/null' }), '');
  });
});

describe('output paths through the command line', () => {
  it('--json <directory>: exit 3, one line, and no request is sent', async () => {
    let ran = false;
    const r = await runMain(['-u', 'localhost:1', '-m', 'simple', '--json', dir], {
      deps: {
        runBenchmark: async () => {
          ran = true;
          throw new Error('must not run');
        },
      },
    });
    assert.equal(r.code, ExitCode.BadOptions);
    assert.equal(ran, false);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.match(r.stderr, /^error: Failed to parse --json\. .*it is a directory/);
  });

  it('--json - writes the record to stdout and nothing else; the report goes to stderr', async () => {
    const r = await runMain(['-u', 'localhost:1', '-m', 'simple', '--json', '-']);
    assert.equal(r.code, 0);
    const record = parseRunResult(r.stdout, 'stdout');
    assert.ok(record.levels.length > 0);
    assert.equal(r.files.has('-'), false, 'no file named "-"');
    assert.match(r.stderr, /Request concurrency: /);
  });

  it('-f - writes the CSV to stdout', async () => {
    const r = await runMain(['-u', 'localhost:1', '-m', 'simple', '-f', '-']);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /^Concurrency,Inferences\/Second,/);
    assert.doesNotMatch(r.stdout, /Request concurrency/);
    assert.equal(r.files.has('-'), false);
  });

  it('a write that fails anyway is reported, the other outputs are still written, exit 3', async () => {
    const r = await runMain(['-u', 'localhost:1', '-m', 'simple', '-f', 'r.csv', '--json', 'r.json'], {
      deps: {
        files: {
          exists: () => false,
          readText: () => '',
          writeText: (path) => {
            if (path === 'r.csv')
              throw Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' });
            written.push(path);
          },
        },
      },
    });
    assert.equal(r.code, ExitCode.BadOptions);
    assert.match(r.stderr, /error: -f r\.csv was not written: ENOSPC/);
    assert.deepEqual(written, ['r.json']);
  });
});

const written: string[] = [];
