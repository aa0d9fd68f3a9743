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
  'src/gpu/setup-gpu.ts → src/cli/exit.ts',
  'src/report/model.ts → src/distributed/shard-record.ts',
  'src/report/run-result-schema.ts → src/distributed/shard-record.ts',
  'src/report/profile-settings-schema.ts → src/profile/settings.ts',
  'src/report/run-settings.ts → src/profile/settings.ts',
  'src/report/text-level.ts → src/profile/settings.ts',
  'src/report/text-settings.ts → src/profile/settings.ts',
]);

/** Every import of one file of src/ by another, as [importer, imported] (generated code aside). */
function srcImports(): [string, string][] {
  const out: [string, string][] = [];
  for (const file of tsFiles(join(root, 'src'))) {
    const rel = relative(root, file);
    if (rel.startsWith('src/protocol/gen/')) continue;
    for (const target of localImports(file)) if (target.startsWith('src/')) out.push([rel, target]);
  }
  return out;
}

/** A ratchet: nothing is found beyond `known`, and everything in `known` is still found (else delete it there). */
function assertRatchet(
  found: ReadonlySet<string>,
  known: ReadonlySet<string>,
  what: string,
  list: string,
): void {
  assert.deepEqual([...found].filter((e) => !known.has(e)).sort(), [], `new ${what}`);
  assert.deepEqual([...known].filter((e) => !found.has(e)).sort(), [], `fixed: delete from ${list}`);
}

describe('layers of src/', () => {
  it('imports go down (or stay in their layer), except the known upward ones', () => {
    const unranked = tsFiles(join(root, 'src'))
      .map((file) => relative(root, file))
      .filter((rel) => rankOf(rel) === undefined && !rel.startsWith('src/protocol/gen/'));
    assert.deepEqual(unranked, [], 'a new top-level folder of src/ needs its place in LAYERS');
    const upward = new Set<string>();
    for (const [from, to] of srcImports()) {
      const [fromRank, toRank] = [rankOf(from), rankOf(to)];
      if (fromRank !== undefined && toRank !== undefined && toRank > fromRank) upward.add(`${from} → ${to}`);
    }
    assertRatchet(upward, KNOWN_UPWARD, 'upward imports', 'KNOWN_UPWARD');
  });
});

/** A top-level folder of src/ (or a file at src/'s root), the unit the mutual-import rule is about. */
const unitOf = (path: string): string => path.split('/')[1] as string;

/**
 * Folders that import each other today, whatever their layers (within a layer, the layer rule allows it):
 * this list may only shrink. Each pair is `a ⇄ b`, a before b in alphabetical order.
 */
const KNOWN_MUTUAL = new Set([
  'analyze ⇄ cli',
  'cli ⇄ gpu',
  'distributed ⇄ profile',
  'distributed ⇄ report',
  'measure ⇄ report',
  'profile ⇄ report',
]);

describe('folders of src/', () => {
  it('no two folders import each other (load ⇄ measure and load ⇄ profile were fixed), except the known pairs', () => {
    const edges = new Set<string>();
    for (const [from, to] of srcImports()) {
      if (unitOf(from) !== unitOf(to)) edges.add(`${unitOf(from)} → ${unitOf(to)}`);
    }
    const mutual = new Set<string>();
    for (const edge of edges) {
      const [a, b] = edge.split(' → ') as [string, string];
      if (a < b && edges.has(`${b} → ${a}`)) mutual.add(`${a} ⇄ ${b}`);
    }
    assertRatchet(mutual, KNOWN_MUTUAL, 'mutual imports', 'KNOWN_MUTUAL');
  });
});
