/**
 * The dependency rule, enforced: the server may import only the shared protocol kernel from src/, and the
 * load generator never reaches into the server except through its two documented launchers.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));

function tsFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...tsFiles(path));
    else if (name.endsWith('.ts')) out.push(path);
  }
  return out;
}

/** Relative import targets of a file, resolved to repo-relative paths. */
function localImports(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const specs = [
    ...text.matchAll(/(?:import|export)[^'"]*?from\s+['"](\.[^'"]+)['"]|import\(\s*['"](\.[^'"]+)['"]\s*\)/g),
  ];
  return specs.map((m) => relative(root, resolve(dirname(file), (m[1] ?? m[2]) as string)));
}

/** The only files of src/ allowed to import the embedded server (they start it, check its runtime or export its models). */
const SERVER_LAUNCHERS = new Set([
  'src/cli/main.ts',
  'src/cli/run-benchmark.ts',
  'src/cli/analyze-command.ts',
  'src/cli/models-command.ts',
  'src/cli/embedded-process.ts',
  'src/gpu/setup-gpu.ts',
  // The library entry re-exports startServer.
  'src/index.ts',
]);

describe('import direction', () => {
  it('embedded-server imports nothing from src/ but src/protocol', () => {
    const offending: string[] = [];
    for (const file of tsFiles(join(root, 'embedded-server'))) {
      for (const target of localImports(file)) {
        if (target.startsWith('src/') && !target.startsWith('src/protocol/')) {
          offending.push(`${relative(root, file)} → ${target}`);
        }
      }
    }
    assert.deepEqual(offending, []);
  });

  it('src/protocol (the shared kernel) depends on nothing else in the repo', () => {
    const offending: string[] = [];
    for (const file of tsFiles(join(root, 'src/protocol'))) {
      for (const target of localImports(file)) {
        if (!target.startsWith('src/protocol/')) offending.push(`${relative(root, file)} → ${target}`);
      }
    }
    assert.deepEqual(offending, []);
  });

  it('only the launchers in src/ import the embedded server', () => {
    const offending: string[] = [];
    for (const file of tsFiles(join(root, 'src'))) {
      const rel = relative(root, file);
      if (SERVER_LAUNCHERS.has(rel)) continue;
      for (const target of localImports(file)) {
        if (target.startsWith('embedded-server/')) offending.push(`${rel} → ${target}`);
      }
    }
    assert.deepEqual(offending, []);
  });
});
