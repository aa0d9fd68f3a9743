/**
 * The library API as a user meets it: imported by the package name (package.json `exports`, resolved to the
 * built dist/), typed through the shipped declarations, against a real server. The CLI's profile and compare
 * run the same functions (src/cli/profile-run.ts, src/gate/compare.ts), so this pins the entry points, the
 * types and the error contract rather than the measurement (test/e2e covers that).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

type Library = typeof import('../../src/index.ts');

const root = fileURLToPath(new URL('../../', import.meta.url));
// A variable, so that TypeScript types this test from the source while Node resolves the name like a user's code.
const PACKAGE = 'inferbench';

describe('library API (import from "inferbench")', () => {
  let lib: Library;
  let server: Awaited<ReturnType<Library['startServer']>>;

  before(async () => {
    assert.ok(existsSync(join(root, 'dist/src/index.js')), 'dist/ is missing: run `npm run build` first');
    lib = (await import(PACKAGE)) as Library;
    server = await lib.startServer();
  });
  after(async () => {
    await server?.stop();
  });

  it('profile() measures a level and resolves to the record; compare() and the schema take it', async () => {
    const events: string[] = [];
    const run = await lib.profile(
      {
        url: `127.0.0.1:${server.httpPort}`,
        model: 'simple',
        protocol: 'http',
        concurrencyRange: '2',
        measurementMode: 'count_windows',
        measurementRequestCount: 40,
        // Room to stabilise on a loaded machine: a fresh-clone suite run once ended this level unstable
        // after 3 windows, so compare() had no reported level to compare (passed alone, 3 of 3).
        maxTrials: 10,
        stabilityPercentage: 1000,
      },
      { onEvent: (e) => events.push(e.type) },
    );
    assert.equal(run.model.name, 'simple');
    assert.equal(run.levels.length, 1);
    const level = run.levels[0]!;
    assert.equal(level.value, 2);
    assert.ok(level.merged && level.merged.requestCount >= 40, 'a count window of 40 requests at least');
    assert.equal(level.merged.errorCount, 0);
    assert.ok(events.includes('level_end'), 'progress events reach the caller');

    // The record round-trips through the validating parser and names the schema's own version.
    const parsed = lib.parseRunResult(JSON.stringify(run));
    assert.equal(parsed.schemaVersion, run.schemaVersion);
    const schema = lib.runResultJsonSchema();
    assert.equal(typeof schema.$schema, 'string');
    assert.ok('properties' in schema);

    const same = lib.compare(run, [run]);
    assert.equal(same.regressions, 0);
    assert.ok(same.changes.length > 0, `no change compared; the level ended ${level.status}`);
    assert.ok(same.changes.every((c) => c.verdict !== 'regressed'));
  });

  it('bad settings reject with the CLI exit code and name the key', async () => {
    for (const [config, pattern] of [
      [{ model: 'simple', concurencyRange: '1' }, /unknown key 'concurencyRange'/],
      [{ model: 'simple', measurementInterval: -5 }, /measurementInterval/],
      [{ model: 'simple', batchSize: 1e12 }, /batch/i],
      [{ model: '' }, /model/i],
    ] as const) {
      await assert.rejects(
        lib.profile({ url: `127.0.0.1:${server.httpPort}`, ...(config as object) }),
        (error: Error & { exitCode?: number }) => {
          assert.ok(error instanceof lib.InferbenchError, `${error}`);
          assert.equal(error.exitCode, 3);
          assert.match(error.message, pattern);
          return true;
        },
      );
    }
  });

  it('the schemas are exported files', async () => {
    const { createRequire } = await import('node:module');
    const require = createRequire(join(root, 'package.json'));
    const record = require(`${PACKAGE}/run-result.schema.json`) as Record<string, unknown>;
    assert.deepEqual(record, lib.runResultJsonSchema());
    // The committed file (its freshness against the code is test/client/config's concern).
    const config = require(`${PACKAGE}/bench-config.schema.json`) as { properties: Record<string, unknown> };
    assert.ok('model' in config.properties && 'concurrencyRange' in config.properties);
    assert.ok('model' in (lib.profileConfigJsonSchema().properties as Record<string, unknown>));
  });

  it('a user project type-checks against the shipped declarations', () => {
    const dir = mkdtempSync(join(tmpdir(), 'inferbench-consumer-'));
    try {
      mkdirSync(join(dir, 'node_modules'));
      symlinkSync(root, join(dir, 'node_modules/inferbench'), 'dir');
      writeFileSync(join(dir, 'package.json'), '{ "type": "module" }\n');
      writeFileSync(
        join(dir, 'tsconfig.json'),
        JSON.stringify({
          compilerOptions: {
            target: 'ES2022',
            module: 'NodeNext',
            moduleResolution: 'NodeNext',
            strict: true,
            noEmit: true,
            skipLibCheck: true,
            types: [],
            typeRoots: [join(root, 'node_modules/@types')],
          },
          files: ['example.ts'],
        }),
      );
      writeFileSync(
        join(dir, 'example.ts'),
        [
          "import { compare, profile, startServer, type RunResult } from 'inferbench';",
          'export async function demo(): Promise<number> {',
          '  const server = await startServer();',
          "  const run: RunResult = await profile({ url: `127.0.0.1:${server.httpPort}`, model: 'simple' });",
          '  await server.stop();',
          '  const p99: number | undefined = run.levels[0]?.merged?.latency.percentilesUs[99];',
          '  // @ts-expect-error: the settings are typed (a model name is a string)',
          '  await profile({ model: 42 });',
          '  return compare(run, run).regressions + (p99 ?? 0);',
          '}',
          '',
        ].join('\n'),
      );
      const r = spawnSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', dir], {
        encoding: 'utf8',
        timeout: 120_000,
      });
      assert.equal(r.status, 0, `tsc: ${r.stdout}${r.stderr}`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
