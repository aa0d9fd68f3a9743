/**
 * Each level's block reaches stdout when the level ends (as perf_analyzer prints), not after the sweep; the
 * summary table comes at the end, and the run closes with the list of files it wrote.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { renderLevels } from '../../../src/report/text-level.ts';
import { concurrencySweep } from '../report/fixtures.ts';
import { runMain } from './harness.ts';

describe('levels printed as they are measured', () => {
  it('a level block is on stdout before the next level starts; the summary only at the end', async () => {
    const sweep = concurrencySweep();
    const stdoutAtLevelEnd: string[] = [];
    let stdout = '';
    let settings: unknown;
    const r = await runMain(['-m', 'simple', '-u', 'h:8000', '--concurrency-range', '1:3', '--no-progress'], {
      deps: {
        runBenchmark: async (resolved, context) => {
          settings = resolved.settings;
          const result = { ...sweep, config: { ...resolved.settings } };
          context.onModel?.(result.model);
          for (const [i, level] of result.levels.entries()) {
            context.onEvent({
              type: 'level_start',
              mode: level.mode,
              value: level.value,
              levelIndex: i,
              callMode: 'sync',
            });
            context.onEvent({ type: 'level_end', level });
            stdoutAtLevelEnd.push(stdout);
          }
          return result;
        },
      },
      onStdout: (text) => {
        stdout = text;
      },
    });
    assert.equal(r.code, 0);
    assert.equal(stdoutAtLevelEnd.length, 3);
    for (const [i, seen] of stdoutAtLevelEnd.entries()) {
      const blocks = seen.match(/^Request concurrency: \d+$/gm) ?? [];
      assert.equal(blocks.length, i + 1, `after level ${i + 1} ends, ${i + 1} block(s) are out`);
      assert.doesNotMatch(seen, /Inferences\/Second vs\. Client/, 'no summary before the sweep ends');
    }
    // The same blocks as the whole-run renderer, then the summary.
    const result = { ...sweep, config: settings as Record<string, unknown> };
    const levelsText = renderLevels(result, { verbose: false });
    assert.ok(r.stdout.includes(levelsText), 'streamed blocks equal the whole-run rendering');
    assert.ok(r.stdout.indexOf('Inferences/Second vs. Client') > r.stdout.indexOf(levelsText));
  });

  it('levels the runner never announced are printed after the run, in order', async () => {
    const r = await runMain(['-m', 'simple', '-u', 'h:8000', '--concurrency-range', '1:3', '--no-progress']);
    assert.deepEqual(r.stdout.match(/^Request concurrency: \d+$/gm), [
      'Request concurrency: 1',
      'Request concurrency: 2',
      'Request concurrency: 3',
    ]);
  });
});

describe('closing line', () => {
  it('lists every file written, in order, on stderr', async () => {
    const r = await runMain([
      '-m',
      'simple',
      '-u',
      'h:8000',
      '--no-progress',
      '-f',
      'a.csv',
      '--json',
      'b.json',
      '--html',
      'c.html',
    ]);
    assert.equal(r.code, 0);
    assert.match(r.stderr, /^Wrote 3 files: a\.csv, b\.json, c\.html\n$/m);
    assert.doesNotMatch(r.stdout, /Wrote/, 'stdout stays perf_analyzer-compatible');
  });

  it('no files, no line; --quiet, no line', async () => {
    const none = await runMain(['-m', 'simple', '-u', 'h:8000', '--no-progress']);
    assert.doesNotMatch(none.stderr, /Wrote/);
    const quiet = await runMain(['-m', 'simple', '-u', 'h:8000', '--quiet', '-f', 'a.csv']);
    assert.doesNotMatch(quiet.stderr, /Wrote/);
    assert.ok(quiet.files.has('a.csv'));
  });
});
