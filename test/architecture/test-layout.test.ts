/**
 * The layout of test/, enforced: test/client/<dir> mirrors src/<dir>, test/server/<dir> mirrors
 * embedded-server/src/<dir>, and the cross-cutting suites have fixed names at the top level. A file's side is
 * read from what it reaches: its imports and the `new URL('x.ts', import.meta.url)` files it runs, followed
 * through test helpers (not through src/). A test that reaches the server but no client code beyond the shared
 * protocol kernel is a server test, and the other way round.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));

/** What may sit directly under test/. */
const TOP_LEVEL = new Set([
  'client', // mirrors src/
  'server', // mirrors embedded-server/src/
  'e2e', // the CLI against a real or fake server, asserting on both ends
  'architecture', // rules over the source tree
  'api', // the library API as a user imports it
  'bench', // benchmark scripts and the tests of their helpers
  'helpers', // helpers shared by both sides
  'fixtures', // config and golden files
  'run.mjs', // the runner
]);

function walk(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...walk(path));
    else out.push(path);
  }
  return out;
}

const subdirs = (dir: string): Set<string> =>
  new Set(readdirSync(join(root, dir)).filter((n) => statSync(join(root, dir, n)).isDirectory()));

/** Repo-relative files a source file depends on: static, bare and dynamic imports, and .ts files named by URL. */
function localDeps(file: string): string[] {
  const text = readFileSync(join(root, file), 'utf8');
  const pattern =
    /(?:import|export)[^'"]*?from\s+['"](\.[^'"]+)['"]|import\s+['"](\.[^'"]+)['"]|import\(\s*['"](\.[^'"]+)['"]\s*\)|new URL\(\s*['"`](\.[^'"`$]+\.ts)['"`]/g;
  return [...text.matchAll(pattern)].map((m) =>
    relative(root, resolve(root, dirname(file), (m[1] ?? m[2] ?? m[3] ?? m[4]) as string)),
  );
}

type Side = 'client' | 'server' | 'both' | 'neither';

/** Which product code a file reaches, following test/ helpers transitively. src/protocol counts for neither. */
function sideOf(file: string, depsOf: (file: string) => string[]): Side {
  let client = false;
  let server = false;
  const seen = new Set<string>();
  const stack = [file];
  while (stack.length > 0) {
    const f = stack.pop() as string;
    if (seen.has(f)) continue;
    seen.add(f);
    for (const dep of depsOf(f)) {
      if (dep.startsWith('embedded-server/')) server = true;
      else if (dep.startsWith('src/') && !dep.startsWith('src/protocol/')) client = true;
      else if (dep.startsWith('test/')) stack.push(dep);
    }
  }
  return client && server ? 'both' : client ? 'client' : server ? 'server' : 'neither';
}

/** The layout problems of one test/ file (repo-relative), or [] when it sits where the layout says. */
function layoutProblems(
  file: string,
  side: Side,
  srcDirs: ReadonlySet<string>,
  serverDirs: ReadonlySet<string>,
): string[] {
  const parts = file.split('/');
  const top = parts[1] as string;
  if (!TOP_LEVEL.has(top))
    return [
      `${file}: test/${top} is not in the layout (client/, server/ or ${[...TOP_LEVEL].slice(2).join(', ')})`,
    ];
  const problems: string[] = [];
  const isSource = file.endsWith('.ts');
  if (top === 'client' || top === 'server') {
    const dirs = top === 'client' ? srcDirs : serverDirs;
    const mirrored = top === 'client' ? 'src' : 'embedded-server/src';
    if (parts.length > 3 && !dirs.has(parts[2] as string)) {
      problems.push(`${file}: ${mirrored}/${parts[2]} does not exist (test/${top}/ mirrors ${mirrored}/)`);
    }
    if (isSource && top === 'client' && side === 'server') {
      problems.push(`${file}: reaches only the server (and src/protocol): it belongs under test/server/`);
    }
    if (isSource && top === 'server' && side === 'client') {
      problems.push(`${file}: reaches only client code: it belongs under test/client/`);
    }
  }
  return problems;
}

describe('layout of test/', () => {
  const srcDirs = subdirs('src');
  const serverDirs = subdirs('embedded-server/src');
  const cache = new Map<string, string[]>();
  const depsOf = (f: string): string[] => {
    if (!cache.has(f)) cache.set(f, existsSync(join(root, f)) ? localDeps(f) : []);
    return cache.get(f) as string[];
  };

  it('every file under test/ sits where the layout says', () => {
    const problems: string[] = [];
    for (const abs of walk(join(root, 'test'))) {
      const file = relative(root, abs);
      if (file.startsWith('test/fixtures/')) continue;
      problems.push(
        ...layoutProblems(file, file.endsWith('.ts') ? sideOf(file, depsOf) : 'neither', srcDirs, serverDirs),
      );
    }
    assert.deepEqual(problems, []);
  });

  it('catches a misplaced test (the rule can fail)', () => {
    const deps: Record<string, string[]> = {
      'test/client/load/batcher.test.ts': ['embedded-server/src/scheduler/x.ts', 'src/protocol/tensor.ts'],
      'test/server/core/loop.test.ts': ['src/load/closed-loop.ts'],
      'test/client/cli/spawn.test.ts': ['test/client/cli/helpers/entry.ts', 'embedded-server/src/index.ts'],
      'test/client/cli/helpers/entry.ts': ['src/cli/main.ts'],
    };
    const side = (f: string): Side => sideOf(f, (g) => deps[g] ?? []);
    assert.equal(side('test/client/load/batcher.test.ts'), 'server');
    assert.equal(side('test/server/core/loop.test.ts'), 'client');
    // Reached through a helper it runs: a client test that starts a real server stays a client test.
    assert.equal(side('test/client/cli/spawn.test.ts'), 'both');
    const check = (f: string): string[] => layoutProblems(f, side(f), srcDirs, serverDirs);
    assert.match(check('test/client/load/batcher.test.ts').join(), /belongs under test\/server/);
    assert.match(check('test/server/core/loop.test.ts').join(), /belongs under test\/client/);
    assert.deepEqual(check('test/client/cli/spawn.test.ts'), []);
    assert.match(
      layoutProblems('test/client/scheduler/a.test.ts', 'both', srcDirs, serverDirs).join(),
      /src\/scheduler does not exist/,
    );
    assert.match(
      layoutProblems('test/server/cli/a.test.ts', 'both', srcDirs, serverDirs).join(),
      /embedded-server\/src\/cli does not exist/,
    );
    assert.match(
      layoutProblems('test/transport/a.test.ts', 'server', srcDirs, serverDirs).join(),
      /not in the layout/,
    );
  });
});
