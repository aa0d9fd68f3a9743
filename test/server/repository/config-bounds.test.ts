/**
 * Paths and sizes from a model config, from config.pbtxt or over the load API: model and warmup files stay
 * inside the model directory (no `..`, absolute path or symlink escape), refusals reveal nothing outside it,
 * and instance counts are bounded per model and server-wide before any thread starts.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { type RunningServer, startServer } from '../../../embedded-server/src/index.ts';
import { simpleAddSubModel } from '../../../embedded-server/src/onnx/tiny-models.ts';
import { relativePathProblem } from '../../../embedded-server/src/repository/contained-path.ts';
import {
  http,
  postJson,
  SIMPLE_CONFIG,
  type TempRepository,
  tempRepository,
} from '../../helpers/real-server.ts';

function configOf(name: string, extra = ''): string {
  return `${SIMPLE_CONFIG.replace('name: "simple"', `name: "${name}"`)}\n${extra}`;
}

/** The simple config as load-API JSON, with `patch` merged in. */
function overrideJson(name: string, patch: Record<string, unknown>): string {
  return JSON.stringify({
    name,
    platform: 'onnxruntime_onnx',
    max_batch_size: 8,
    input: [
      { name: 'INPUT0', data_type: 'TYPE_INT32', dims: [16] },
      { name: 'INPUT1', data_type: 'TYPE_INT32', dims: [16] },
    ],
    output: [
      { name: 'OUTPUT0', data_type: 'TYPE_INT32', dims: [16] },
      { name: 'OUTPUT1', data_type: 'TYPE_INT32', dims: [16] },
    ],
    instance_group: [{ count: 1, kind: 'KIND_CPU' }],
    ...patch,
  });
}

describe('config paths stay inside the model directory', () => {
  it('relativePathProblem refuses every value with a .. segment, a leading / or a NUL (property)', () => {
    const segment = fc.oneof(fc.constantFrom('..', '.', '', 'a', 'model.onnx', '\0', '\\'), fc.string());
    fc.assert(
      fc.property(fc.array(segment, { minLength: 1, maxLength: 6 }), (parts) => {
        const value = parts.join('/');
        const problem = relativePathProblem(value, { allowSubdirs: true });
        const hostile =
          parts.includes('..') || value.startsWith('/') || value.includes('\0') || value.includes('\\');
        if (hostile) assert.notEqual(problem, undefined, value);
        if (problem === undefined) {
          assert.ok(!value.split('/').includes('..') && !value.startsWith('/'), value);
        }
      }),
      { numRuns: 500 },
    );
    assert.equal(relativePathProblem('model.onnx', { allowSubdirs: false }), undefined);
    assert.equal(
      relativePathProblem('sub/model.onnx', { allowSubdirs: false }),
      'must be a file name, not a path',
    );
    assert.equal(
      relativePathProblem('x'.repeat(1025), { allowSubdirs: true }),
      'is longer than 1024 characters',
    );
  });

  let repo: TempRepository;
  let outside: string;
  let server: RunningServer;
  before(async () => {
    outside = await mkdtemp(join(tmpdir(), 'inferbench-outside-'));
    await writeFile(join(outside, 'model.onnx'), simpleAddSubModel());
    repo = await tempRepository({
      simple: { config: SIMPLE_CONFIG, onnx: simpleAddSubModel() },
      absolute: {
        config: configOf('absolute', 'default_model_filename: "/proc/self/environ"'),
        onnx: simpleAddSubModel(),
      },
      dotdot: {
        config: configOf('dotdot', 'default_model_filename: "../../simple/1/model.onnx"'),
        onnx: simpleAddSubModel(),
      },
      linked: {
        config: configOf('linked', 'default_model_filename: "link.onnx"'),
        onnx: simpleAddSubModel(),
      },
      device: {
        config: configOf('device', 'default_model_filename: "zero.onnx"'),
        onnx: simpleAddSubModel(),
      },
    });
    await symlink(join(outside, 'model.onnx'), join(repo.dir, 'linked', '1', 'link.onnx'));
    await symlink('/dev/zero', join(repo.dir, 'device', '1', 'zero.onnx'));
    server = await startServer({
      modelRepository: repo.dir,
      modelControlMode: 'explicit',
      loadModels: ['*'],
    });
  });
  after(async () => {
    await server?.stop({ timeoutMs: 5000 });
    await repo?.remove();
    await rm(outside, { recursive: true, force: true });
  });

  it('a config.pbtxt naming a model file outside leaves the model UNAVAILABLE with a reason that shows only the value', () => {
    const reasons = Object.fromEntries(
      server.core.repositoryIndex(false).map((e) => [e.name, e.reason ?? e.state]),
    );
    assert.equal(reasons.simple, 'READY');
    assert.match(
      reasons.absolute ?? '',
      /default_model_filename '\/proc\/self\/environ' is an absolute path/,
    );
    assert.match(
      reasons.dotdot ?? '',
      /default_model_filename '\.\.\/\.\.\/simple\/1\/model\.onnx' contains '\.\.'/,
    );
    assert.match(
      reasons.linked ?? '',
      /default_model_filename '1\/link\.onnx' resolves outside the model directory/,
    );
    assert.match(reasons.device ?? '', /resolves outside the model directory/);
    for (const reason of Object.values(reasons))
      assert.ok(!String(reason).includes(outside), 'no path outside is shown');
  });

  it('the load API refuses the same names with a 400, and the same text whether the file exists or not', async () => {
    const load = (patch: Record<string, unknown>) =>
      postJson(`${server.httpUrl}/v2/repository/models/simple/load`, {
        parameters: { config: overrideJson('simple', patch) },
      });
    const shadow = await load({ default_model_filename: '/etc/shadow' });
    const missing = await load({ default_model_filename: '/etc/does-not-exist' });
    assert.equal(shadow.status, 400, shadow.text);
    assert.equal(missing.status, 400);
    const text = (r: { json: () => unknown }) =>
      (r.json() as { error: string }).error.replace(/'[^']*'/, "'X'");
    assert.equal(text(shadow), text(missing), 'existence is not revealed');
    const dotdot = await load({ default_model_filename: '../../../../../../proc/self/environ' });
    assert.equal(dotdot.status, 400);
    assert.match(dotdot.text, /contains '\.\.'/);
    const warmup = await load({
      model_warmup: [
        {
          name: 'w',
          batch_size: 1,
          inputs: {
            INPUT0: { data_type: 'TYPE_INT32', dims: [16], input_data_file: '../../../../etc/passwd' },
            INPUT1: { data_type: 'TYPE_INT32', dims: [16], zero_data: true },
          },
        },
      ],
    });
    assert.equal(warmup.status, 400, warmup.text);
    assert.match(warmup.text, /input_data_file '\.\.\/\.\.\/\.\.\/\.\.\/etc\/passwd' contains '\.\.'/);
    assert.ok(!warmup.text.includes('root:'), 'nothing of the file is shown');
    // The refused reloads kept the old version serving.
    const ok = await postJson(`${server.httpUrl}/v2/models/simple/infer`, {
      inputs: [
        { name: 'INPUT0', datatype: 'INT32', shape: [1, 16], data: new Array(16).fill(1) },
        { name: 'INPUT1', datatype: 'INT32', shape: [1, 16], data: new Array(16).fill(1) },
      ],
    });
    assert.equal(ok.status, 200);
  });
});

describe('instance bounds', () => {
  let repo: TempRepository;
  before(async () => {
    repo = await tempRepository({
      many: { config: configOf('many').replace('count: 1', 'count: 100000'), onnx: simpleAddSubModel() },
      two_a: { config: configOf('two_a').replace('count: 1', 'count: 2'), onnx: simpleAddSubModel() },
      two_b: { config: configOf('two_b').replace('count: 1', 'count: 2'), onnx: simpleAddSubModel() },
    });
  });
  after(async () => {
    await repo?.remove();
  });

  it('refuses a per-model count over the limit before starting a thread, and a server-wide total', async () => {
    const server = await startServer({
      modelRepository: repo.dir,
      modelControlMode: 'explicit',
      loadModels: ['many', 'two_a'],
      maxInstancesTotal: 3,
    });
    try {
      const index = server.core.repositoryIndex(false);
      const many = index.find((e) => e.name === 'many');
      assert.equal(many?.state, 'UNAVAILABLE');
      assert.match(
        many?.reason ?? '',
        /instance_group 'many_0' count is 100000, over the limit of 64 \(raise it with --max-instances-per-model\)/,
      );
      assert.equal(index.find((e) => e.name === 'two_a')?.state, 'READY');
      // 2 in use + 2 more > 3: refused with the budget named, and nothing leaked from the attempt.
      const r = await http(`${server.httpUrl}/v2/repository/models/two_b/load`, { method: 'POST' });
      assert.equal(r.status, 400, r.text);
      assert.match(
        r.text,
        /needs 2 instance\(s\), but 2 of the server's 3 are in use \(raise the limit with --max-instances-total\)/,
      );
      // Unloading gives the budget back.
      assert.equal(
        (await http(`${server.httpUrl}/v2/repository/models/two_a/unload`, { method: 'POST' })).status,
        200,
      );
      const again = await http(`${server.httpUrl}/v2/repository/models/two_b/load`, { method: 'POST' });
      assert.equal(again.status, 200, again.text);
      const override = await postJson(`${server.httpUrl}/v2/repository/models/two_a/load`, {
        parameters: {
          config: overrideJson('two_a', { instance_group: [{ count: 1_000_000, kind: 'KIND_CPU' }] }),
        },
      });
      assert.equal(override.status, 400);
      assert.match(override.text, /count is 1000000, over the limit of 64/);
    } finally {
      await server.stop({ timeoutMs: 5000 });
    }
  });

  it('refuses warmup samples too large to hold, with the sample and the limit named', async () => {
    const server = await startServer({ modelRepository: repo.dir, modelControlMode: 'explicit' });
    try {
      const r = await postJson(`${server.httpUrl}/v2/repository/models/two_a/load`, {
        parameters: {
          config: overrideJson('two_a', {
            model_warmup: [
              {
                name: 'big',
                batch_size: 1,
                inputs: { INPUT0: { data_type: 'TYPE_INT32', dims: [100000, 100000], zero_data: true } },
              },
            ],
          }),
        },
      });
      assert.equal(r.status, 400, r.text);
      assert.match(
        r.text,
        /model_warmup 'big' input 'INPUT0' size in bytes is 40000000000, over the limit of 67108864/,
      );
      const count = await postJson(`${server.httpUrl}/v2/repository/models/two_a/load`, {
        parameters: {
          config: overrideJson('two_a', {
            model_warmup: [{ name: 'c', batch_size: 1, count: 1e9, inputs: {} }],
          }),
        },
      });
      assert.equal(count.status, 400);
      assert.match(count.text, /model_warmup 'c' count is 1000000000, over the limit of 10000/);
    } finally {
      await server.stop({ timeoutMs: 5000 });
    }
  });
});
