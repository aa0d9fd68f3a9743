/**
 * Golden-file assertion: compares text with test/fixtures/golden/<name>; `UPDATE_GOLDEN=1` rewrites the file.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const GOLDEN_DIR = fileURLToPath(new URL('../fixtures/golden/', import.meta.url));

export function assertGolden(name: string, actual: string): void {
  const path = join(GOLDEN_DIR, name);
  if (process.env.UPDATE_GOLDEN === '1' || !existsSync(path)) {
    if (process.env.UPDATE_GOLDEN !== '1' && process.env.CI) {
      assert.fail(`golden file ${name} is missing; run UPDATE_GOLDEN=1 npm test locally and commit it`);
    }
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, actual);
    return;
  }
  assert.equal(
    actual,
    readFileSync(path, 'utf8'),
    `output differs from golden file ${name} (UPDATE_GOLDEN=1 to accept)`,
  );
}
