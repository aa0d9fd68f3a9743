/** The shard flags through resolveSettings: a shard's settings, --local, and the combinations refused (exit 3). */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseProfileArgs } from '../../../src/cli/options.ts';
import { resolveSettings } from '../../../src/cli/resolve-settings.ts';
import { ExitCode, OptionError } from '../../../src/errors.ts';

const NOW = Date.parse('2026-12-03T15:00:00Z');
const files = { exists: () => false, readText: () => '' };

function resolve(args: string[], environment: Record<string, string> = {}) {
  return resolveSettings(parseProfileArgs(args, 'inferbench'), {
    programName: 'inferbench',
    files,
    shardContext: { environment, nowMs: NOW },
  });
}

const BASE = ['-m', 'simple', '-u', '10.0.0.5:8000', '--concurrency-range', '16'];
const START = ['--start-at', '2026-12-03T15:01:00Z'];

function refused(args: string[], pattern: RegExp, environment: Record<string, string> = {}): void {
  assert.throws(
    () => resolve(args, environment),
    (e: unknown) => e instanceof OptionError && e.exitCode === ExitCode.BadOptions && pattern.test(e.message),
  );
}

describe('shard flags', () => {
  it('--shard i/N: the shard, the start and the target as reference clock', () => {
    const run = resolve([...BASE, '--shard', '1/4', ...START]);
    assert.deepEqual(run.settings.shard, {
      index: 1,
      count: 4,
      startAtMs: NOW + 60_000,
      clockSync: 'http://10.0.0.5:8000/v2/health/live',
    });
    // The load stays the TOTAL: each shard takes its share when it applies it.
    assert.deepEqual(run.settings.load, { mode: 'concurrency', range: { start: 16, end: 16, step: 1 } });
  });
  it('--shards N takes the index from JOB_COMPLETION_INDEX', () => {
    const run = resolve([...BASE, '--shards', '4', ...START], { JOB_COMPLETION_INDEX: '3' });
    assert.equal(run.settings.shard?.index, 3);
    refused([...BASE, '--shards', '4', ...START], /JOB_COMPLETION_INDEX/);
  });
  it('gRPC without --clock-sync: not measured, with a warning saying how', () => {
    const run = resolve([...BASE, '-i', 'grpc', '--shard', '0/2', ...START]);
    assert.equal(run.settings.shard?.clockSync, 'none');
    assert.match(run.warnings.join('\n'), /--clock-sync http:/);
  });
  it('--shards N --local: no shard of its own, N local processes', () => {
    const run = resolve([...BASE, '--shards', '3', '--local']);
    assert.equal(run.settings.shard, undefined);
    assert.deepEqual(run.localShards, { count: 3, startAtMs: undefined });
  });
  it('refuses what cannot line windows up across processes', () => {
    refused([...BASE, '--shard', '0/2'], /needs --start-at/);
    refused(['-m', 'simple', '--shard', '0/2', ...START], /needs -u/);
    refused([...BASE, '--shard', '0/2', '--shards', '2', ...START], /either --shard/);
    refused([...BASE, '--local', ...START], /--local needs --shards/);
    refused([...BASE, '--start-at', '2026-12-03T15:01:00Z'], /apply only to a sharded run/);
    refused([...BASE, '--shard', '0/2', ...START, '--measurement-mode', 'count_windows'], /count_windows/);
    refused([...BASE, '--shard', '0/2', ...START, '--warmup-request-count', '10'], /counts are per process/);
    refused([...BASE, '--shard', '0/2', ...START, '--request-count', '100'], /counts are per process/);
    refused([...BASE, '--shard', '0/2', ...START, '--repeat', '2'], /--repeat/);
    refused(
      [
        '-m',
        'simple',
        '-u',
        'h:1',
        '--concurrency-range',
        '1:8',
        '--binary-search',
        '-l',
        '5',
        '--shard',
        '0/2',
        ...START,
      ],
      /binary-search/,
    );
    refused([...BASE, '--shard', '0/2', '--start-at', '2026-12-03T14:00:00Z'], /in the past/);
    refused([...BASE, '--shard', '0/2', ...START, '--clock-sync', 'file:///etc/passwd'], /--clock-sync/);
  });
});
