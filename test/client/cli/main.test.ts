import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type CliFiles, type MainDeps, main } from '../../../src/cli/main.ts';
import type { ResolvedRun, RunBenchmark } from '../../../src/cli/run-types.ts';
import { parseRunResult } from '../../../src/report/json-record.ts';
import type { RunResult } from '../../../src/report/model.ts';
import { concurrencySweep } from '../report/fixtures.ts';

interface Captured {
  code: number;
  stdout: string;
  stderr: string;
  written: Map<string, string>;
  resolved?: ResolvedRun;
}

async function run(
  argv: string[],
  deps: Partial<MainDeps> = {},
  result?: (r: ResolvedRun) => RunResult,
): Promise<Captured> {
  let stdout = '';
  let stderr = '';
  const written = new Map<string, string>();
  const files: CliFiles = {
    exists: (p) => written.has(p),
    readText: (p) => written.get(p) ?? '',
    writeText: (p, text, exclusive) => {
      if (exclusive && written.has(p)) throw new Error(`${p} exists`);
      written.set(p, text);
    },
  };
  const captured: Partial<Captured> = {};
  const runBenchmark: RunBenchmark = async (resolved, context) => {
    captured.resolved = resolved;
    context.onEvent({ type: 'level_start', mode: 'concurrency', value: 1, levelIndex: 0, callMode: 'sync' });
    const out = result ? result(resolved) : concurrencySweep();
    return { ...out, config: { ...out.config } };
  };
  const code = await main(
    argv,
    { stdout: { write: (t: string) => (stdout += t) }, stderr: { write: (t: string) => (stderr += t) } },
    { runBenchmark, files, version: '9.9.9', ...deps },
  );
  return { code, stdout, stderr, written, ...captured };
}

describe('main: help, version, errors', () => {
  it("profile -h prints the profile flags and exits 0 (perf_analyzer's -h was an error)", async () => {
    for (const argv of [
      ['profile', '-h'],
      ['profile', '--help'],
      ['-m', 'x', '--help'],
    ]) {
      const r = await run(argv);
      assert.equal(r.code, 0);
      assert.match(r.stdout, /--concurrency-range <start:end:step>/);
      assert.match(r.stdout, /--single-measurement/);
      assert.match(r.stdout, /A REAL 5000\s+ms\s+window/);
      assert.match(r.stdout, /-m text_recognition --shape x:3,48,320 --concurrency-range 1:4:1/);
    }
    const pa = await run(['-h'], { programName: 'perf_analyzer' });
    assert.equal(pa.code, 0);
    assert.match(pa.stdout, /Usage: perf_analyzer/);
    assert.doesNotMatch(pa.stdout, /Embedded server/);
  });

  it('--version prints the version and exits 0', async () => {
    const r = await run(['--version']);
    assert.equal(r.code, 0);
    assert.equal(r.stdout, 'inferbench 9.9.9\n');
    const pa = await run(['--version'], { programName: 'perf_analyzer' });
    assert.equal(pa.stdout, 'Perf Analyzer Version 9.9.9 (inferbench)\n');
  });

  it("unknown flags get commander's error and exit 3", async () => {
    const r = await run(['-m', 's', '--bogus']);
    assert.equal(r.code, 3);
    assert.match(r.stderr, /unknown option '--bogus'/);
    const missing = await run(['-m']);
    assert.equal(missing.code, 3);
    assert.match(missing.stderr, /argument missing/);
  });

  it('unsupported perf_analyzer flags are refused by name with exit 3', async () => {
    const r = await run(['-m', 's', '-u', 'h:8000', '--fixed-schedule']);
    assert.equal(r.code, 3);
    assert.equal(
      r.stderr,
      'error: --fixed-schedule is not supported by inferbench: fixed-schedule mode is not supported; use --request-intervals.\n',
    );
    assert.equal(r.resolved, undefined, 'the run never starts');
  });

  it("perf_analyzer entry requires -m with perf_analyzer's text", async () => {
    const r = await run([], { programName: 'perf_analyzer' });
    assert.equal(r.code, 3);
    assert.equal(r.stderr, 'error: Failed to parse -m (model name). The value must be specified.\n');
  });

  it('an unexpected failure of the run exits 99 with a message', async () => {
    const r = await run(['-m', 's', '-u', 'h:1'], {
      runBenchmark: async () => {
        throw new TypeError('boom');
      },
    });
    assert.equal(r.code, 99);
    assert.match(r.stderr, /^error: unexpected internal error: TypeError: boom/);
  });
});

describe('main: a run end to end with a fake runner', () => {
  it("prints perf_analyzer's stdout, writes CSV, JSON record and export, returns the run's exit code", async () => {
    const r = await run(
      [
        '-m',
        'simple',
        '-u',
        'h:8000',
        '--concurrency-range',
        '1:3',
        '-f',
        'out.csv',
        '--json',
        'run.json',
        '--profile-export-file',
        'export.json',
        '--no-progress',
      ],
      {},
      (resolved) => ({ ...concurrencySweep(), config: { ...resolved.settings }, exitCode: 2 }),
    );
    assert.equal(r.code, 2);
    assert.equal(r.resolved?.settings.url, 'h:8000');
    assert.match(r.stdout, /^\*\*\* Measurement Settings \*\*\*\n {2}Batch size: 1\n/);
    assert.match(r.stdout, /Request concurrency: 2\n {2}Client: \n/);
    assert.match(r.stdout, /^Concurrency: 2, throughput: 678\.775 infer\/sec, latency 2946 usec$/m);
    assert.match(r.written.get('out.csv')!, /^Concurrency,Inferences\/Second,/);
    assert.equal(parseRunResult(r.written.get('run.json')!).levels.length, 3);
    assert.match(r.written.get('export.json')!, /"experiments":\[/);
    // The run closes by saying what it wrote (stderr: stdout stays perf_analyzer's).
    assert.equal(r.stderr, 'Wrote 3 files: out.csv, run.json, export.json\n');
  });

  it('--quiet prints nothing on stdout but still writes files', async () => {
    const r = await run(['-m', 'simple', '-u', 'h:8000', '--quiet', '-f', 'q.csv']);
    assert.equal(r.stdout, '');
    assert.ok(r.written.has('q.csv'));
  });

  it('progress goes to stderr as plain lines when not a TTY', async () => {
    const r = await run(['-m', 'simple', '-u', 'h:8000']);
    assert.equal(r.stderr, '[level 1/1] concurrency 1: measuring (sync), ETA 15s\n');
  });

  it('inferbench with no flags hands the main job to the runner', async () => {
    const r = await run(['--no-progress']);
    assert.deepEqual(r.resolved?.target, { kind: 'embedded', mainJob: true });
    assert.equal(r.resolved?.settings.modelName, 'text_recognition');
  });

  it('`inferbench serve …` passes its arguments through untouched', async () => {
    let seen: string[] = [];
    const r = await run(['serve', '--http-port', '0', '-h'], {
      runServe: async (args) => {
        seen = args;
        return 7;
      },
    });
    assert.equal(r.code, 7);
    assert.deepEqual(seen, ['--http-port', '0', '-h']);
  });
});
