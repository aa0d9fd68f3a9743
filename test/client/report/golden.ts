/**
 * Golden-file comparison. `UPDATE_GOLDEN=1 npm test -- test/client/report` rewrites the files; otherwise a mismatch (or a
 * missing file) fails with a diff from assert.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
export const GOLDEN_DIR = join(ROOT, 'test/fixtures/golden');
export const UPDATING = process.env.UPDATE_GOLDEN === '1';

/** Compares `actual` with the file at `path` (relative to the repository root), or rewrites it when updating. */
export function assertMatchesFile(path: string, actual: string): void {
  const file = join(ROOT, path);
  if (UPDATING) {
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, actual);
    return;
  }
  assert.ok(existsSync(file), `${path} is missing: run UPDATE_GOLDEN=1 npm test -- test/client/report`);
  assert.equal(actual, readFileSync(file, 'utf8'), `${path} differs (UPDATE_GOLDEN=1 rewrites it)`);
}

export function assertGolden(name: string, actual: string): void {
  assertMatchesFile(join('test/fixtures/golden', name), actual);
}

/**
 * Like assertMatchesFile for JSON, compared as data: Biome formats committed JSON files under src/, so the
 * committed text may differ from JSON.stringify's layout without any difference in content.
 */
export function assertMatchesJsonFile(path: string, actual: string): void {
  const file = join(ROOT, path);
  if (UPDATING) {
    assertMatchesFile(path, actual);
    return;
  }
  assert.ok(existsSync(file), `${path} is missing: run UPDATE_GOLDEN=1 npm test -- test/client/report`);
  assert.deepEqual(
    JSON.parse(readFileSync(file, 'utf8')),
    JSON.parse(actual),
    `${path} differs (UPDATE_GOLDEN=1 rewrites it)`,
  );
}
