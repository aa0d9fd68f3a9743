/**
 * The command surface: real subcommands with typo suggestions, `--help` that lists them, grouped profile help
 * that fits 80 columns with examples first and one way of writing defaults, `setup-gpu` and `completion`
 * wired, and `serve --help` naming its program.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { parseServeArgs } from '../../../embedded-server/src/serve-options.ts';
import { formatHelpItem, normaliseDefaultText, PROFILE_HELP_GROUPS } from '../../../src/cli/help-layout.ts';
import { withDefaultCommand } from '../../../src/cli/main.ts';
import { runMain } from './harness.ts';

const COMMANDS = ['profile', 'serve', 'compare', 'report', 'print-config', 'setup-gpu', 'completion'];

describe('subcommands', () => {
  it('inferbench --help lists every command and exits 0', async () => {
    for (const argv of [['--help'], ['-h'], ['help']]) {
      const r = await runMain(argv);
      assert.equal(r.code, 0);
      assert.match(r.stdout, /^Usage: inferbench \[command\] \[options\]/);
      for (const name of COMMANDS) assert.match(r.stdout, new RegExp(`^  ${name} `, 'm'), name);
      assert.equal(r.resolved, undefined, 'help runs nothing');
    }
  });

  it('a mistyped command gets a suggestion, not "too many arguments for profile"', async () => {
    const r = await runMain(['serv']);
    assert.equal(r.code, 3);
    assert.match(r.stderr, /unknown command 'serv'/);
    assert.match(r.stderr, /Did you mean serve\?/);
    assert.doesNotMatch(r.stderr, /too many arguments/);
    const c = await runMain(['comapre', 'a.json', 'b.json']);
    assert.equal(c.code, 3);
    assert.match(c.stderr, /Did you mean compare\?/);
  });

  it('a flag first still means profile (perf_analyzer habits), with or without the word', async () => {
    assert.deepEqual(withDefaultCommand([]), ['profile']);
    assert.deepEqual(withDefaultCommand(['-m', 'x']), ['profile', '-m', 'x']);
    assert.deepEqual(withDefaultCommand(['--help']), ['--help']);
    assert.deepEqual(withDefaultCommand(['--version']), ['--version']);
    assert.deepEqual(withDefaultCommand(['serve', '-h']), ['serve', '-h']);
    assert.deepEqual(withDefaultCommand(['help', 'serve']), ['serve', '--help']);
    const r = await runMain(['-m', 'simple', '-u', 'h:8000']);
    assert.equal(r.code, 0);
    assert.equal(r.resolved?.settings.modelName, 'simple');
  });

  it('setup-gpu is a real command: its arguments reach setup-gpu and its exit code is returned', async () => {
    const seen: string[][] = [];
    const r = await runMain(['setup-gpu', '--check'], {
      deps: {
        runSetupGpu: async (args, io) => {
          seen.push(args);
          io.stdout.write('CUDA check: not available\n');
          return 5;
        },
      },
    });
    assert.deepEqual(seen, [['--check']]);
    assert.equal(r.code, 5);
    assert.equal(r.stdout, 'CUDA check: not available\n');
    // The default wiring runs src/gpu/setup-gpu.ts (its own option errors, exit 3).
    const bad = await runMain(['setup-gpu', '--bogus']);
    assert.equal(bad.code, 3);
    assert.match(bad.stderr, /setup-gpu: Unknown option '--bogus'/);
    const help = await runMain(['setup-gpu', '--help']);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /^Usage: inferbench setup-gpu/);
  });

  it('serve --help names the program: "Usage: inferbench serve"', () => {
    const parsed = parseServeArgs(['--help']);
    assert.equal(parsed.kind, 'help');
    assert.match(parsed.kind === 'help' ? parsed.text : '', /^Usage: inferbench serve \[options\]/);
  });
});

describe('profile help', () => {
  it('examples first, then the groups in order, TLS flags together, 80 columns, one way of writing defaults', async () => {
    const r = await runMain(['profile', '--help']);
    assert.equal(r.code, 0);
    const text = r.stdout;
    const headings = PROFILE_HELP_GROUPS.map(([h]) => h);
    const positions = ['Examples:', ...headings].map((h) => text.indexOf(`\n${h}\n`));
    assert.ok(
      positions.every((p) => p > 0),
      `every heading present: ${positions}`,
    );
    assert.deepEqual(
      [...positions].sort((a, b) => a - b),
      positions,
      'examples first, groups in the declared order',
    );
    // Every TLS flag sits in the TLS group, none elsewhere.
    const tlsStart = text.indexOf('\nTLS:\n');
    const tlsEnd = text.indexOf('\n\n', tlsStart + 1);
    const ssl = [...text.matchAll(/--ssl-[a-z-]+/g)].map((m) => m.index ?? 0);
    assert.equal(ssl.length, 11);
    assert.ok(ssl.every((i) => i > tlsStart && i < tlsEnd));
    const long = text.split('\n').filter((l) => l.length > 80);
    assert.deepEqual(long, [], 'no line wider than 80 columns');
    assert.doesNotMatch(text, /\(default [^:]/, 'defaults are written "(default: X)"');
    assert.doesNotMatch(text, /\S \(default\)/);
    assert.match(text, /-p, --measurement-interval <ms>\s+window length in ms \(default: 5000\)/);
  });

  it('every command writes defaults one way', async () => {
    for (const name of ['compare', 'report', 'print-config', 'completion']) {
      const r = await runMain([name, '--help']);
      assert.equal(r.code, 0);
      assert.doesNotMatch(r.stdout, /\(default [^:]/, name);
    }
  });

  it('defaults normalised; long flags put their description on the next line', () => {
    assert.equal(normaliseDefaultText('window (default 5000)'), 'window (default: 5000)');
    assert.equal(normaliseDefaultText('x (default: 1)'), 'x (default: 1)');
    assert.equal(
      normaliseDefaultText('HTTP tensors: binary (default) or json'),
      'HTTP tensors: binary or json (default: binary)',
    );
    const item = formatHelpItem('--ssl-https-client-certificate-file <file>', 'client certificate', 80);
    assert.equal(item, `  --ssl-https-client-certificate-file <file>\n${' '.repeat(32)}client certificate`);
    const wrapped = formatHelpItem('-m <model>', 'word '.repeat(30).trim(), 80);
    assert.ok(wrapped.split('\n').every((l) => l.length <= 80));
    assert.ok(wrapped.startsWith('  -m <model>                    word'));
  });
});

describe('shell completion', () => {
  /** Runs the bash completion function for the words typed so far (the last one being completed). */
  function bashComplete(script: string, words: string[]): string[] {
    const line = words.map((w) => `'${w}'`).join(' ');
    const r = spawnSync(
      'bash',
      [
        '-c',
        `${script}\nCOMP_WORDS=(${line}); COMP_CWORD=${words.length - 1}; _inferbench_complete; printf '%s\\n' "\${COMPREPLY[@]}"`,
      ],
      { encoding: 'utf8', timeout: 10_000 },
    );
    assert.equal(r.status, 0, r.stderr);
    return r.stdout.split('\n').filter((l) => l.length > 0);
  }

  it("bash: commands, each command's flags, profile flags by default, models after -m", async () => {
    const r = await runMain(['completion', 'bash']);
    assert.equal(r.code, 0);
    const script = r.stdout;
    assert.deepEqual(bashComplete(script, ['inferbench', 's']).sort(), ['serve', 'setup-gpu']);
    assert.deepEqual(bashComplete(script, ['inferbench', 'co']).sort(), ['compare', 'completion']);
    assert.deepEqual(bashComplete(script, ['inferbench', '--concurrency-r']), ['--concurrency-range']);
    assert.deepEqual(bashComplete(script, ['inferbench', 'serve', '--http-p']), ['--http-port']);
    assert.deepEqual(bashComplete(script, ['inferbench', 'setup-gpu', '--ch']), ['--check']);
    assert.deepEqual(bashComplete(script, ['inferbench', 'compare', '--tol']), ['--tolerance']);
    assert.deepEqual(bashComplete(script, ['inferbench', '-m', 'text_']).sort(), [
      'text_direction',
      'text_recognition',
    ]);
    assert.deepEqual(bashComplete(script, ['inferbench', 'completion', 'z']), ['zsh']);
    // Hidden (unsupported) perf_analyzer flags are not offered.
    assert.deepEqual(bashComplete(script, ['inferbench', '--fixed-sch']), []);
  });

  it('zsh and fish scripts; an unknown shell is exit 3', async () => {
    const zsh = await runMain(['completion', 'zsh']);
    assert.equal(zsh.code, 0);
    assert.match(zsh.stdout, /bashcompinit/);
    assert.match(zsh.stdout, /complete -o default -F _inferbench_complete inferbench/);
    const fish = await runMain(['completion', 'fish']);
    assert.equal(fish.code, 0);
    assert.match(fish.stdout, /complete -c inferbench -f -n '__fish_use_subcommand' -a 'profile serve /);
    assert.match(fish.stdout, /complete -c inferbench -n '__fish_seen_subcommand_from serve' -l http-port/);
    const bad = await runMain(['completion', 'tcsh']);
    assert.equal(bad.code, 3);
    assert.match(bad.stderr, /unknown shell 'tcsh'; use one of bash, zsh, fish/);
  });
});
