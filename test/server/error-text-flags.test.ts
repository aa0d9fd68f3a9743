/**
 * Every flag a server text names is one the reader can use (issue 13: error texts recommended
 * `--http-max-input-size`, which `serve` did not accept). The string literals of embedded-server/src and
 * src/protocol (the texts the server sends and logs) are scanned for `--flag` words; each must be a `serve`
 * flag, except in the few files that speak of another command's flags, where it must be one of that command's.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { serveCommand } from '../../embedded-server/src/serve-options.ts';
import { createModelsCommand } from '../../src/cli/models-command.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));

function tsFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return name === 'gen' ? [] : tsFiles(path);
    return path.endsWith('.ts') ? [path] : [];
  });
}

function flagsOf(cmd: Command): Set<string> {
  const flags = new Set<string>(['--help']);
  const walk = (c: Command): void => {
    for (const o of c.options) if (o.long) flags.add(o.long);
    for (const sub of c.commands) walk(sub);
  };
  walk(cmd);
  return flags;
}

/** Files whose texts name another command's flags, with the flags that command accepts. */
const OTHER_COMMANDS: Record<string, Set<string>> = {
  // `inferbench models export`'s refusals (--force, --model).
  'embedded-server/src/export-repository.ts': flagsOf(
    createModelsCommand({ writeOut: () => {}, writeErr: () => {} }),
  ),
  // nvidia-smi's own arguments, not a message.
  'embedded-server/src/metrics/nvidia-smi.ts': new Set(['--query-gpu', '--format']),
};

/** The `--flag` words inside the string and template literals of a source text (comments stripped). */
function flagsInLiterals(text: string): string[] {
  const code = text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
  const literals = code.match(/'(?:[^'\\\n]|\\.)*'|"(?:[^"\\\n]|\\.)*"|`(?:[^`\\]|\\.)*`/g) ?? [];
  return literals.flatMap((l) => l.match(/--[a-z][a-z0-9-]*/g) ?? []);
}

describe('flags named in server texts', () => {
  it('are flags serve accepts (or, in the listed files, the flags of the command they speak of)', () => {
    const serveFlags = flagsOf(serveCommand());
    const unknown: string[] = [];
    let seen = 0;
    for (const file of [
      ...tsFiles(join(root, 'embedded-server/src')),
      ...tsFiles(join(root, 'src/protocol')),
    ]) {
      const rel = relative(root, file);
      const accepted = OTHER_COMMANDS[rel] ?? serveFlags;
      for (const flag of flagsInLiterals(readFileSync(file, 'utf8'))) {
        seen++;
        if (!accepted.has(flag)) unknown.push(`${rel}: ${flag}`);
      }
    }
    assert.deepEqual(unknown, []);
    // The scan finds the texts it is meant to check (a broken regex would pass vacuously).
    assert.ok(seen >= 20, `only ${seen} flags found`);
  });

  it('the scan catches a text naming a flag serve does not accept', () => {
    assert.deepEqual(flagsInLiterals("throw new Error('too big. Use --http-max-input-sizes to raise it');"), [
      '--http-max-input-sizes',
    ]);
    assert.deepEqual(flagsInLiterals('// Use --not-a-literal\nconst x = `a --in-template`;'), [
      '--in-template',
    ]);
    assert.ok(!flagsOf(serveCommand()).has('--http-max-input-sizes'));
  });
});
