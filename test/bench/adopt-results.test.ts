/** Results measured on another machine are adopted exactly as a run here would have written them. */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { adoptResults, resultNames } from './adopt-results.ts';

describe('adoptResults', () => {
  const root = mkdtempSync(join(tmpdir(), 'inferbench-adopt-'));
  after(() => rmSync(root, { recursive: true, force: true }));
  const now = new Date('2026-12-04T10:00:00Z');

  it('replaces the current result, archives the old one and adds a history row', () => {
    const results = join(root, 'results');
    const device = join(root, 'device');
    mkdirSync(results);
    mkdirSync(device);
    writeFileSync(join(results, 'README.md'), '| date | benchmark | file | note |\n|---|---|---|---|\n');
    writeFileSync(join(results, 'gate.json'), '{"old":true}\n');
    writeFileSync(join(results, 'gate.md'), '# old\n');
    writeFileSync(join(device, 'gate.json'), '{"new":1}');
    writeFileSync(join(device, 'gate.md'), '# new\n');
    writeFileSync(join(device, 'only-md.md'), '# md\n');
    writeFileSync(join(device, 'notes.txt'), 'ignored');
    assert.deepEqual(resultNames(device), ['gate', 'only-md']);

    const adopted = adoptResults(device, { now, resultsDir: results });
    assert.deepEqual(
      adopted.map((a) => a.name),
      ['gate', 'only-md'],
    );
    assert.deepEqual(JSON.parse(readFileSync(join(results, 'gate.json'), 'utf8')), { new: 1 });
    assert.equal(readFileSync(join(results, 'gate.md'), 'utf8'), '# new\n');
    assert.equal(readFileSync(join(results, 'history/gate-until-2026-12-04.md'), 'utf8'), '# old\n');
    assert.equal(readFileSync(join(results, 'only-md.md'), 'utf8'), '# md\n');
    assert.equal(existsSync(join(results, 'only-md.json')), false, 'no json invented');
    const rows = readFileSync(join(results, 'README.md'), 'utf8').trim().split('\n').slice(2);
    assert.equal(rows.length, 1, 'one row: only gate replaced a current result');
    assert.match(rows[0] as string, /^\| 2026-12-04 \| gate \|.*adopted from /);
  });

  it("the history row carries the adopted run's own headline, read from its JSON", () => {
    const results = join(root, 'results-headline');
    const device = join(root, 'device-headline');
    mkdirSync(results);
    mkdirSync(device);
    writeFileSync(join(results, 'README.md'), '| date | benchmark | file | note |\n|---|---|---|---|\n');
    for (const name of ['scaling', 'c1', 'odd']) writeFileSync(join(results, `${name}.md`), '# old\n');
    writeFileSync(
      join(device, 'scaling.json'),
      '{"headline":"Xeon × 16: 8 cores 16,680 req/s | HTTP","v":2}',
    );
    writeFileSync(join(device, 'c1.json'), '{"v":1}');
    writeFileSync(join(device, 'odd.json'), '{"headline":"two\\nlines"}');
    adoptResults(device, { now, resultsDir: results });
    const rows = readFileSync(join(results, 'README.md'), 'utf8').trim().split('\n').slice(2);
    const row = (name: string) => rows.find((r) => r.includes(`| ${name} |`)) ?? '';
    assert.match(
      row('scaling'),
      /replaced by a new run: Xeon × 16: 8 cores 16,680 req\/s \\\| HTTP; adopted from /,
    );
    assert.match(row('c1'), /replaced by a new run: adopted from /, 'no headline: where it came from alone');
    assert.match(row('odd'), /replaced by a new run: adopted from /, 'a headline on two lines is not used');
    assert.deepEqual(JSON.parse(readFileSync(join(results, 'scaling.json'), 'utf8')), {
      headline: 'Xeon × 16: 8 cores 16,680 req/s | HTTP',
      v: 2,
    });
  });

  it('refuses a missing directory, one without results, and a broken JSON file, writing nothing', () => {
    const results = join(root, 'results2');
    mkdirSync(results);
    assert.throws(() => adoptResults(join(root, 'nope'), { resultsDir: results }), /no such directory/);
    const empty = join(root, 'empty');
    mkdirSync(empty);
    writeFileSync(join(empty, 'x.txt'), '');
    assert.throws(() => adoptResults(empty, { resultsDir: results }), /no <name>\.json or <name>\.md/);
    const broken = join(root, 'broken');
    mkdirSync(broken);
    writeFileSync(join(broken, 'accuracy.json'), '{"fine":true}');
    writeFileSync(join(broken, 'gate.json'), '{"cut off');
    assert.throws(() => adoptResults(broken, { resultsDir: results }), /gate\.json: not JSON/);
    assert.equal(
      existsSync(join(results, 'accuracy.json')),
      false,
      'the good file before it is not adopted either',
    );
    assert.equal(existsSync(join(results, 'gate.json')), false);
  });
});
