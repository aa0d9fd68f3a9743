/**
 * The bench scripts' one writer: a new run becomes the current result and the one it replaces moves to
 * history/ with a row in the index, so bench-results/ holds one current file per benchmark.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { BENCH_RESULTS_DIR, currentResultBase, storedHeadline, writeBenchResults } from './bench-results.ts';

describe('writeBenchResults', () => {
  const dir = mkdtempSync(join(tmpdir(), 'inferbench-bench-results-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const now = new Date('2026-12-03T10:00:00Z');

  it('writes the current json and md; a second run archives the first and adds a history row', () => {
    writeFileSync(join(dir, 'README.md'), '| date | benchmark | file | note |\n|---|---|---|---|\n');
    const first = writeBenchResults(
      join(dir, 'demo'),
      { json: { v: 1 }, markdown: '# one\n' },
      { now, resultsDir: dir },
    );
    assert.deepEqual(first, [join(dir, 'demo.json'), join(dir, 'demo.md')]);
    assert.deepEqual(JSON.parse(readFileSync(join(dir, 'demo.json'), 'utf8')), { v: 1 });
    assert.equal(existsSync(join(dir, 'history')), false, 'nothing to archive on the first run');

    writeBenchResults(
      join(dir, 'demo'),
      { json: { v: 2 }, markdown: '# two\n', summary: 'x | y' },
      { now, resultsDir: dir },
    );
    writeBenchResults(join(dir, 'demo'), { json: { v: 3 }, markdown: '# three\n' }, { now, resultsDir: dir });
    assert.equal(readFileSync(join(dir, 'demo.md'), 'utf8'), '# three\n');
    assert.deepEqual(readdirSync(join(dir, 'history')).sort(), [
      'demo-until-2026-12-03-2.json',
      'demo-until-2026-12-03-2.md',
      'demo-until-2026-12-03.json',
      'demo-until-2026-12-03.md',
    ]);
    assert.equal(readFileSync(join(dir, 'history/demo-until-2026-12-03.md'), 'utf8'), '# one\n');
    const rows = readFileSync(join(dir, 'README.md'), 'utf8').trim().split('\n').slice(2);
    assert.equal(rows.length, 2);
    assert.match(
      rows[0] as string,
      /^\| 2026-12-03 \| demo \| \[demo-until-2026-12-03\.md\]\(history\/demo-until-2026-12-03\.md\) \|/,
    );
    assert.match(rows[0] as string, /x \\\| y/, 'a | in the summary cannot break the table');
  });

  it("stores the headline in an object JSON (not in an array), leaving the caller's value alone", () => {
    const json = { figure: 7 };
    writeBenchResults(join(dir, 'headline', 'h'), { json, summary: '7 req/s' }, { now, resultsDir: dir });
    assert.deepEqual(JSON.parse(readFileSync(join(dir, 'headline', 'h.json'), 'utf8')), {
      headline: '7 req/s',
      figure: 7,
    });
    assert.deepEqual(json, { figure: 7 });
    writeBenchResults(join(dir, 'headline', 'a'), { json: [1, 2], summary: 's' }, { now, resultsDir: dir });
    assert.deepEqual(JSON.parse(readFileSync(join(dir, 'headline', 'a.json'), 'utf8')), [1, 2]);
    assert.equal(storedHeadline({ headline: ' 7 req/s ' }), '7 req/s');
    for (const bad of [{ headline: 'two\nlines' }, { headline: '' }, { headline: 3 }, [1], null, 'x'])
      assert.equal(storedHeadline(bad), undefined, JSON.stringify(bad));
  });

  it('a result written elsewhere (--out) is just written, nothing archived', () => {
    const other = join(dir, 'scratch', 'demo');
    writeBenchResults(other, { markdown: 'a' }, { now, resultsDir: dir });
    writeBenchResults(other, { markdown: 'b' }, { now, resultsDir: dir });
    assert.equal(readFileSync(`${other}.md`, 'utf8'), 'b');
    assert.deepEqual(readdirSync(join(dir, 'scratch')), ['demo.md']);
  });

  it('current names stay inside bench-results/', () => {
    assert.equal(currentResultBase('gate'), join(BENCH_RESULTS_DIR, 'gate'));
    for (const bad of ['', '../x', 'a/b', '.hidden', 'x\ny'])
      assert.throws(() => currentResultBase(bad), /invalid/);
  });
});
