/**
 * `inferbench models list` and `inferbench models export <dir>`: the list says what each bundled model is;
 * the export writes a repository our own server loads (every model READY, the results right), and refuses
 * hostile targets with exit 3 and one line: not empty without --force, a symbolic link, a file, a path under
 * a file, /proc, /sys, /dev, an empty name, a NUL. With --force nothing outside the target is touched, even
 * through a symlink named like a bundled model.
 */
import assert from 'node:assert/strict';
import { lstat, mkdir, mkdtemp, readdir, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { EMBEDDED_MODELS, readEmbeddedConfigs } from '../../../embedded-server/src/embedded-repository.ts';
import { startServer } from '../../../embedded-server/src/index.ts';
import { ExitCode } from '../../../src/errors.ts';
import { postJson, range } from '../../helpers/real-server.ts';
import { runMain } from './harness.ts';

const models = (...argv: string[]) => runMain(['models', ...argv]);

/** Every path under `dir` (relative), with what it is. */
async function tree(dir: string, prefix = ''): Promise<string[]> {
  const out: string[] = [];
  for (const name of (await readdir(dir)).sort()) {
    const st = await lstat(join(dir, name));
    const rel = prefix + name;
    out.push(`${rel}${st.isDirectory() ? '/' : st.isSymbolicLink() ? '@' : ''}`);
    if (st.isDirectory()) out.push(...(await tree(join(dir, name), `${rel}/`)));
  }
  return out;
}

describe('inferbench models list', () => {
  it('names every bundled model with platform, max_batch_size, tensors and what it is for', async () => {
    const r = await models('list');
    assert.equal(r.code, 0, r.stderr);
    for (const { name, description } of EMBEDDED_MODELS) {
      assert.match(r.stdout, new RegExp(`^${name} {2}\\(`, 'm'), name);
      assert.ok(r.stdout.includes(description), description);
    }
    assert.match(
      r.stdout,
      /^simple {2}\(onnxruntime_onnx, max_batch_size 8, written from code\)\n.*\n {2}inputs: {2}INPUT0 INT32 \[16\], INPUT1 INT32 \[16\]\n {2}outputs: OUTPUT0 INT32 \[16\], OUTPUT1 INT32 \[16\]$/m,
    );
    assert.match(
      r.stdout,
      /^text_recognition {2}\(onnxruntime_onnx, max_batch_size 8, npm package @gutenye\/ocr-models\)$/m,
    );
    assert.match(
      r.stdout,
      /scheduling: ensemble of ocr_preprocess, text_recognition, ocr_ctc_argmax, text_direction/,
    );
    assert.match(r.stdout, /^accumulate .*\n(.*\n){3} {2}scheduling: sequence batching \(stateful\)$/m);
    assert.match(
      r.stdout,
      /^repeat {2}\(repeat, max_batch_size 0, no model file: built-in 'repeat' backend\)$/m,
    );
  });

  it('--json: the same catalogue, machine-readable', async () => {
    const r = await models('list', '--json');
    assert.equal(r.code, 0, r.stderr);
    const list = JSON.parse(r.stdout) as {
      name: string;
      maxBatchSize: number;
      inputs: unknown[];
      platform: string;
    }[];
    assert.deepEqual(
      list.map((m) => m.name),
      EMBEDDED_MODELS.map((m) => m.name),
    );
    const direction = list.find((m) => m.name === 'text_direction');
    assert.deepEqual(direction?.inputs, [{ name: 'x', datatype: 'FP32', dims: [3, 48, 192] }]);
    assert.equal(direction?.maxBatchSize, 64);
    assert.equal(list.find((m) => m.name === 'text_recognition_pipeline')?.platform, 'ensemble');
  });

  it('a missing or unknown subcommand, an unknown flag: exit 3', async () => {
    for (const argv of [[], ['lst'], ['list', '--jsn']]) {
      const r = await models(...argv);
      assert.equal(r.code, ExitCode.BadOptions, argv.join(' '));
    }
  });
});

describe('inferbench models export', () => {
  let root: string;
  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'inferbench-export-test-'));
  });
  after(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('writes a repository our server loads: every model READY, simple and the ensemble answer', async () => {
    const dir = join(root, 'new', 'repo');
    const r = await models('export', dir);
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stderr,
      /^note: repeat not exported: needs the 'repeat' backend, .*export it with --model repeat\nExported 8 models to .*\/new\/repo: accumulate, identity_fp32, /,
    );
    const configs = await readEmbeddedConfigs();
    configs.delete('repeat');
    for (const name of configs.keys()) {
      assert.equal(await readFile(join(dir, name, 'config.pbtxt'), 'utf8'), configs.get(name), name);
    }
    // Copies: one link each, so editing the export never edits node_modules.
    const onnx = await stat(join(dir, 'text_recognition', '1', 'model.onnx'));
    assert.equal(onnx.nlink, 1);
    assert.ok(onnx.size > 1_000_000);
    // The ensemble: its config and an empty version directory (Triton needs one); nothing else left behind.
    assert.deepEqual(await readdir(join(dir, 'text_recognition_pipeline', '1')), []);
    assert.deepEqual(await readdir(join(root, 'new')), ['repo']);
    assert.ok((await tree(dir)).every((p) => !p.endsWith('@') && !p.includes('.inferbench-export')));

    const server = await startServer({ modelRepository: dir, httpThreadCount: 0 });
    try {
      const index = server.core.repositoryIndex(false);
      assert.deepEqual(
        index.map((m) => [m.name, m.state]).sort(),
        [...configs.keys()].map((n) => [n, 'READY']).sort(),
      );
      const res = await postJson(`${server.httpUrl}/v2/models/simple/infer`, {
        inputs: [
          { name: 'INPUT0', datatype: 'INT32', shape: [1, 16], data: range(16) },
          { name: 'INPUT1', datatype: 'INT32', shape: [1, 16], data: range(16, () => 1) },
        ],
      });
      assert.equal(res.status, 200, res.text);
      const out = (res.json() as { outputs: { name: string; data: number[] }[] }).outputs;
      assert.deepEqual(
        out.find((o) => o.name === 'OUTPUT0')?.data,
        range(16, (i) => i + 1),
      );
      const pipeline = await postJson(`${server.httpUrl}/v2/models/text_recognition_pipeline/infer`, {
        inputs: [
          {
            name: 'image',
            datatype: 'UINT8',
            shape: [1, 48, 192, 3],
            data: range(48 * 192 * 3, (i) => i % 256),
          },
        ],
      });
      assert.equal(pipeline.status, 200, pipeline.text);
    } finally {
      await server.stop({ timeoutMs: 5000 });
    }
  });

  it('--model repeat: the built-in-backend model as its config and an empty version directory, loaded READY', async () => {
    const dir = join(root, 'repeat');
    const r = await models('export', dir, '--model', 'repeat');
    assert.equal(r.code, 0, r.stderr);
    assert.doesNotMatch(r.stderr, /note:/);
    assert.deepEqual(await tree(dir), ['repeat/', 'repeat/1/', 'repeat/config.pbtxt']);
    const server = await startServer({ modelRepository: dir, httpThreadCount: 0 });
    try {
      assert.deepEqual(
        server.core.repositoryIndex(false).map((m) => [m.name, m.state]),
        [['repeat', 'READY']],
      );
    } finally {
      await server.stop({ timeoutMs: 5000 });
    }
  });

  it('--model: only that model, an ensemble with its composing models; an unknown name is exit 3', async () => {
    const dir = join(root, 'some');
    const r = await models('export', dir, '--model', 'text_recognition_pipeline', '--model', 'simple');
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(await readdir(dir), [
      'ocr_ctc_argmax',
      'ocr_preprocess',
      'simple',
      'text_direction',
      'text_recognition',
      'text_recognition_pipeline',
    ]);
    const unknown = await models('export', join(root, 'unknown'), '--model', 'nope');
    assert.equal(unknown.code, ExitCode.BadOptions);
    assert.match(
      unknown.stderr,
      /^error: no bundled model 'nope'; the bundled models are text_recognition, /,
    );
    await assert.rejects(stat(join(root, 'unknown')), { code: 'ENOENT' });
  });

  it('a non-empty directory is refused (untouched) unless --force; --force keeps other entries', async () => {
    const dir = join(root, 'busy');
    await mkdir(join(dir, 'simple', '1'), { recursive: true });
    await writeFile(join(dir, 'simple', 'config.pbtxt'), 'name: "old"');
    await writeFile(join(dir, 'notes.txt'), 'mine');
    const before = await tree(dir);
    const refused = await models('export', dir, '--model', 'simple');
    assert.equal(refused.code, ExitCode.BadOptions);
    assert.match(
      refused.stderr,
      /^error: .*busy is not empty \(2 entries\): give an empty or new directory, or --force/,
    );
    assert.equal(refused.stderr.trim().split('\n').length, 1);
    assert.deepEqual(await tree(dir), before);

    const forced = await models('export', dir, '--model', 'simple', '--force');
    assert.equal(forced.code, 0, forced.stderr);
    assert.match(forced.stderr, /\(replaced: simple\)/);
    assert.equal(await readFile(join(dir, 'notes.txt'), 'utf8'), 'mine');
    assert.match(await readFile(join(dir, 'simple', 'config.pbtxt'), 'utf8'), /name: "simple"/);
    assert.deepEqual(await tree(dir), [
      'notes.txt',
      'simple/',
      'simple/1/',
      'simple/1/model.onnx',
      'simple/config.pbtxt',
    ]);
  });

  it('--force never follows a symlink out of the target: the link is replaced, its target untouched', async () => {
    const outside = join(root, 'outside');
    await mkdir(join(outside, '1'), { recursive: true });
    await writeFile(join(outside, 'config.pbtxt'), 'precious');
    const dir = join(root, 'linked');
    await mkdir(dir);
    await symlink(outside, join(dir, 'simple'));
    await symlink('/etc/passwd', join(dir, 'identity_fp32'));
    const r = await models('export', dir, '--model', 'simple', '--model', 'identity_fp32', '--force');
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(await tree(outside), ['1/', 'config.pbtxt']);
    assert.equal(await readFile(join(outside, 'config.pbtxt'), 'utf8'), 'precious');
    assert.ok((await lstat(join(dir, 'simple'))).isDirectory());
    assert.ok((await lstat(join(dir, 'identity_fp32', '1', 'model.onnx'))).isFile());
  });

  it('hostile targets: exit 3 and one line, nothing written', async () => {
    const file = join(root, 'a-file');
    await writeFile(file, 'x');
    const emptyTarget = join(root, 'empty-target');
    await mkdir(emptyTarget);
    const link = join(root, 'link-to-empty');
    await symlink(emptyTarget, link);
    const cases: [string, RegExp][] = [
      ['', /the export directory must not be empty/],
      ['   ', /the export directory must not be empty/],
      [`${root}/nul\0x`, /contains a NUL character/],
      [link, /is a symbolic link; give the directory itself/],
      [file, /exists and is not a directory/],
      [join(file, 'sub'), /cannot (use|create the parent directory of) .*ENOTDIR/],
      [join(file, 'new\nline'), /cannot (use|create the parent directory of) ".*\\nline".*ENOTDIR/],
      ['/proc/self/repo', /is under \/proc, not a place for a model repository/],
      ['/sys/repo', /is under \/sys/],
      ['/dev/shm/../null', /is under \/dev/],
      ['/', /^error: \/ is not empty/],
    ];
    for (const [target, message] of cases) {
      const r = await models('export', target, '--model', 'simple');
      assert.equal(r.code, ExitCode.BadOptions, `${JSON.stringify(target)}: ${r.stderr}`);
      assert.match(r.stderr, message, JSON.stringify(target));
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
      assert.doesNotMatch(r.stderr, /\n\s+at /);
    }
    assert.deepEqual(await readdir(emptyTarget), []);
  });
});
