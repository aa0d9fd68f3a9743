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

/**
 * Layers of src/, highest first: a file may import its own layer and the ones below, never one above
 * (cli → profile → load/measure → transport → protocol). `src/index.ts` (the library API) sits with cli.
 */
const LAYERS: readonly (readonly string[])[] = [
  ['cli', 'index.ts'],
  ['analyze', 'gpu'],
  ['profile', 'distributed'],
  ['load', 'measure', 'gate', 'html', 'report', 'config', 'options', 'data'],
  ['transport'],
  ['protocol', 'errors.ts'],
];
const rankOf = (path: string): number | undefined => {
  const top = path.split('/')[1] as string;
  const i = LAYERS.findIndex((layer) => layer.includes(top));
  return i < 0 ? undefined : LAYERS.length - i;
};

/**
 * The upward imports that exist today (#18's remaining work): this list may only shrink. A new upward import
 * fails the test; so does an entry here that is gone (delete it, so it cannot come back unnoticed).
 */
const KNOWN_UPWARD = new Set([
  'src/analyze/server-measurer.ts → src/cli/run-types.ts',
  'src/config/bench-config-schema.ts → src/analyze/analyze-config-schema.ts',
  'src/config/effective-config.ts → src/cli/run-types.ts',
  'src/gpu/setup-gpu.ts → src/cli/exit.ts',
  'src/load/open-loop.ts → src/profile/settings.ts',
  'src/load/sequence-driver.ts → src/profile/load-driver.ts',
  'src/load/sequence-driver.ts → src/profile/settings.ts',
  'src/load/shard-pool.ts → src/profile/load-driver.ts',
  'src/load/shard-pool.ts → src/profile/settings.ts',
  'src/load/shard-protocol.ts → src/profile/settings.ts',
  'src/load/shard-worker.ts → src/profile/load-driver.ts',
  'src/report/model.ts → src/distributed/shard-record.ts',
  'src/report/run-result-schema.ts → src/distributed/shard-record.ts',
  'src/report/profile-settings-schema.ts → src/profile/settings.ts',
  'src/report/run-settings.ts → src/profile/settings.ts',
  'src/report/text-level.ts → src/profile/settings.ts',
  'src/report/text-settings.ts → src/profile/settings.ts',
]);

describe('layers of src/', () => {
  it('imports go down (or stay in their layer), except the known upward ones', () => {
    const upward = new Set<string>();
    const unranked: string[] = [];
    for (const file of tsFiles(join(root, 'src'))) {
      const rel = relative(root, file);
      const from = rankOf(rel);
      if (from === undefined) {
        if (!rel.startsWith('src/protocol/gen/')) unranked.push(rel);
        continue;
      }
      for (const target of localImports(file)) {
        if (!target.startsWith('src/')) continue;
        const to = rankOf(target);
        if (to !== undefined && to > from) upward.add(`${rel} → ${target}`);
      }
    }
    assert.deepEqual(unranked, [], 'a new top-level folder of src/ needs its place in LAYERS');
    assert.deepEqual([...upward].filter((e) => !KNOWN_UPWARD.has(e)).sort(), [], 'new upward imports');
    assert.deepEqual(
      [...KNOWN_UPWARD].filter((e) => !upward.has(e)).sort(),
      [],
      'fixed: delete from KNOWN_UPWARD',
    );
  });
});
