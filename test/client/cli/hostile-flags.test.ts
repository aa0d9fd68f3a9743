/**
 * Hostile-input suite for the command line (property tests, bounded in count): every profile flag that takes a
 * value, and every key of a `-c` config file, given random and hostile values (huge, negative, empty, NaN,
 * paths outside the tree, control characters, malformed ranges). Whatever the value, the CLI ends with a
 * documented exit code; a refusal is an `error:` message (one line for a flag, file:line:col lines for a
 * config file), never a stack trace and never exit 99 (an unexpected internal error).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Command, Option } from 'commander';
import fc from 'fast-check';
import {
  parseServeArgs,
  ServeOptionError,
  serveCommand,
} from '../../../embedded-server/src/serve-options.ts';
import { createInferbenchProgram } from '../../../src/cli/options.ts';
import { benchConfigSchema } from '../../../src/config/bench-config-schema.ts';
import { ExitCode } from '../../../src/errors.ts';
import { type Captured, runMain } from './harness.ts';

/** Exit codes a profile run may end with (src/errors.ts); 99 is the one that must never appear. */
const DOCUMENTED = new Set<number>([
  ExitCode.Success,
  ExitCode.GateFailed,
  ExitCode.BadOptions,
  ExitCode.ErrorsOverLimit,
  ExitCode.NoData,
  ExitCode.ModelUnavailable,
]);

/** The profile command's options that take a value, as `--long` (or `-s` when there is no long form). */
function valueFlags(): string[] {
  const program = createInferbenchProgram(
    '0',
    { writeOut: () => {}, writeErr: () => {} },
    {
      profile: async () => {},
      serve: async () => {},
    },
  );
  const profile = program.commands.find((c: Command) => c.name() === 'profile');
  assert.ok(profile);
  return profile.options
    .filter((o: Option) => o.required || o.optional)
    .map((o: Option) => (o.long ?? o.short) as string)
    .filter((f) => f !== '--config');
}

const HOSTILE_TEXT = [
  '',
  ' ',
  '-1',
  '0',
  '-0',
  '1e999',
  '-1e999',
  'NaN',
  'Infinity',
  '9'.repeat(40),
  '18446744073709551616',
  '0x10',
  '1.5',
  '1_000',
  '1:2:3:4',
  '1::',
  ':',
  '0:0:0',
  '\u0000',
  'a\nb',
  '../../../../etc/passwd',
  '/etc/shadow',
  '/dev/zero',
  '/proc/self/environ',
  '/',
  '-',
  'x'.repeat(10_000),
  '%s%n',
  'INPUT0:1099511627776',
  'INPUT0:-1',
  'INPUT0:1,2,3',
  '🙂',
];

const hostileValue = fc.oneof(
  fc.constantFrom(...HOSTILE_TEXT),
  fc.string({ maxLength: 40 }),
  fc.bigInt({ min: -(2n ** 70n), max: 2n ** 70n }).map(String),
  fc.double().map(String),
);

/** Asserts the documented ending: a code other than 99, and a clean `error:` message when refused. */
function assertCleanEnding(r: Captured, what: string, oneLine: boolean): void {
  const context = `${what}\ncode ${r.code}\nstderr: ${r.stderr.slice(0, 2000)}`;
  assert.notEqual(r.code, ExitCode.Unexpected, context);
  assert.ok(DOCUMENTED.has(r.code), context);
  assert.doesNotMatch(r.stderr, /\n\s+at .+:\d+:\d+\)?\n/, `stack trace: ${context}`);
  assert.doesNotMatch(r.stderr, /unexpected internal error|TypeError|RangeError|ZodError/, context);
  if (r.code === ExitCode.BadOptions) {
    const lines = r.stderr.trimEnd().split('\n');
    // Commander's own refusals may add a "(Did you mean …?)" line; ours are one line.
    const errorLines = lines.filter((l) => l.startsWith('error: '));
    assert.ok(errorLines.length >= 1, `no error line: ${context}`);
    if (oneLine) assert.ok(lines.length <= 2, `more than one line: ${context}`);
  }
}

describe('hostile flag values (property test)', () => {
  const flags = valueFlags();

  it('lists the value flags of profile (the generator covers new flags by itself)', () => {
    for (const f of ['--concurrency-range', '--shape', '--json', '-b', '--request-timeout']) {
      assert.ok(flags.includes(f), `${f} in ${flags.join(' ')}`);
    }
  });

  it('every flag with a random or hostile value: a documented exit code, an error line, never exit 99', async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...flags), hostileValue, async (flag, value) => {
        // --flag=value (or -fVALUE) so a value starting with '-' is still the flag's value.
        const arg = flag.startsWith('--') ? `${flag}=${value}` : `${flag}${value}`;
        const r = await runMain(['-u', 'localhost:1', '-m', 'simple', arg]);
        assertCleanEnding(r, `${flag} ${JSON.stringify(value.slice(0, 80))}`, true);
      }),
      { numRuns: 400, seed: 13 },
    );
  });

  it('two hostile flags at once (conflicts and combinations)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...flags),
        hostileValue,
        fc.constantFrom(...flags),
        hostileValue,
        async (f1, v1, f2, v2) => {
          const arg = (f: string, v: string) => (f.startsWith('--') ? `${f}=${v}` : `${f}${v}`);
          const r = await runMain(['-u', 'localhost:1', '-m', 'simple', arg(f1, v1), arg(f2, v2)]);
          assertCleanEnding(
            r,
            `${f1} ${JSON.stringify(v1.slice(0, 80))} ${f2} ${JSON.stringify(v2.slice(0, 80))}`,
            true,
          );
        },
      ),
      { numRuns: 150, seed: 14 },
    );
  });
});

describe('hostile config-file values (property test)', () => {
  const keys = Object.keys(benchConfigSchema.shape);

  const anyJson = fc.oneof(
    fc.jsonValue({ maxDepth: 2 }),
    fc.constantFrom<unknown>(
      -1,
      0,
      2 ** 64,
      1e308,
      '',
      '../../etc/passwd',
      '/dev/zero',
      '\u0000',
      [],
      {},
      null,
      { start: -1 },
      { start: 1, end: 1e12, step: 0 },
      { simple: 'instance_group [ { count: 100000 } ]' },
      { modelRepository: '/proc/self' },
      ['throughput>=', 'p99<=-1ms'],
    ),
    hostileValue,
  );

  it('every key with a random or hostile value: a documented exit code, located error lines, never exit 99', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.dictionary(fc.constantFrom(...keys, 'unknownKey', 'measurement-interval'), anyJson, {
          minKeys: 1,
          maxKeys: 3,
        }),
        async (config) => {
          const text = JSON.stringify({ model: 'simple', url: 'localhost:1', ...config });
          const r = await runMain(['-c', 'bench.yaml'], { files: { 'bench.yaml': text } });
          assertCleanEnding(r, text.slice(0, 400), false);
          // A config refusal points at the file, line and column.
          if (r.code === ExitCode.BadOptions && /^error: bench\.yaml/.test(r.stderr)) {
            for (const line of r.stderr.trimEnd().split('\n').slice(1)) {
              assert.match(line, /^bench\.yaml:\d+:\d+: /, r.stderr);
            }
          }
        },
      ),
      { numRuns: 250, seed: 15 },
    );
  });

  it('malformed files (random text, truncated YAML) are refused with a located message', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.string({ maxLength: 300 }),
          fc.constantFrom('model: [', 'model: {a: 1', '- - -', 'a: b: c', '\t\tx', '&a [*a]', '!!binary x'),
        ),
        async (text) => {
          const r = await runMain(['-c', 'bench.yaml'], { files: { 'bench.yaml': text } });
          assertCleanEnding(r, JSON.stringify(text), false);
        },
      ),
      { numRuns: 150, seed: 16 },
    );
  });
});

describe('hostile serve flag values (property test)', () => {
  const serveFlags = serveCommand()
    .options.filter((o: Option) => o.required || o.optional)
    .map((o: Option) => (o.long ?? o.short) as string);

  /** Every number in the parsed options (nested limits included). */
  const numbersOf = (value: unknown): number[] =>
    typeof value === 'number'
      ? [value]
      : value !== null && typeof value === 'object'
        ? Object.values(value).flatMap(numbersOf)
        : [];

  it('every serve flag with a random or hostile value: parsed to finite options, or one refusal line', async () => {
    assert.ok(serveFlags.includes('--http-max-input-size') && serveFlags.includes('--model-control-mode'));
    await fc.assert(
      fc.property(fc.constantFrom(...serveFlags), hostileValue, (flag, value) => {
        const arg = flag.startsWith('--') ? `${flag}=${value}` : `${flag}${value}`;
        let parsed: ReturnType<typeof parseServeArgs>;
        try {
          parsed = parseServeArgs([arg]);
        } catch (error) {
          // The only failure is a ServeOptionError (exit 3) of one line that names the flag.
          assert.ok(error instanceof ServeOptionError, `${arg}: ${String(error)}`);
          assert.equal(error.exitCode, ExitCode.BadOptions);
          assert.doesNotMatch(error.message, /\n/, arg);
          assert.ok(error.message.length > 0);
          return;
        }
        if (parsed.kind === 'run') {
          for (const n of numbersOf(parsed.options)) assert.ok(Number.isFinite(n) && n >= 0, `${arg}: ${n}`);
        }
      }),
      { numRuns: 400, seed: 17 },
    );
  });
});
