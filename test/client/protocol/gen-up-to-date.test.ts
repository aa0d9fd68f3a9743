/**
 * src/protocol/gen/ is committed output of `npm run gen` (buf + protoc-gen-es from node_modules, offline).
 * Regenerating it from src/protocol/proto must change nothing: an edited .proto without `npm run gen`, or a
 * hand edit of generated code, would otherwise ship a wire format the protos do not describe.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const committed = join(root, 'src/protocol/gen');

describe('src/protocol/gen', () => {
  const dir = mkdtempSync(join(tmpdir(), 'inferbench-gen-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('is what `npm run gen` makes from src/protocol/proto', () => {
    // The committed template with the output redirected to a scratch folder (and no `clean`, which would
    // need the folder to be under the input); everything else, plugin options included, is read from it.
    const template = readFileSync(join(root, 'src/protocol/buf.gen.yaml'), 'utf8');
    assert.match(template, /out: src\/protocol\/gen\n/, 'buf.gen.yaml no longer writes to src/protocol/gen');
    const out = join(dir, 'gen');
    const scratch = template
      .replace(/^clean: true\n/m, '')
      .replace(/out: src\/protocol\/gen\n/, `out: ${out}\n`);
    const templateFile = join(dir, 'buf.gen.yaml');
    writeFileSync(templateFile, scratch);
    const bin = join(root, 'node_modules/.bin');
    const r = spawnSync(join(bin, 'buf'), ['generate', '--template', templateFile], {
      cwd: root,
      encoding: 'utf8',
      env: {
        ...process.env,
        PATH: `${bin}${delimiter}${process.env.PATH ?? ''}`,
        BUF_CACHE_DIR: join(dir, 'cache'),
      },
      timeout: 60_000,
    });
    assert.equal(
      r.status,
      0,
      `buf generate failed (is @bufbuild/buf installed? npm install): ${r.error ?? r.stderr}`,
    );
    const made = readdirSync(out).sort();
    assert.deepEqual(
      made,
      readdirSync(committed).sort(),
      'generated file names differ from src/protocol/gen',
    );
    for (const name of made) {
      const fresh = readFileSync(join(out, name), 'utf8');
      const kept = readFileSync(join(committed, name), 'utf8');
      assert.ok(
        fresh === kept,
        `src/protocol/gen/${name} differs from its regeneration: run \`npm run gen\` and commit`,
      );
    }
  });
});
