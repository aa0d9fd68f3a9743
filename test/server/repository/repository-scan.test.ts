import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { create } from '@bufbuild/protobuf';
import type { OnnxSignature } from '../../../embedded-server/src/repository/onnx-signature.ts';
import {
  loadModelConfig,
  missingConfigMessage,
  scanRepository,
} from '../../../embedded-server/src/repository/repository-scan.ts';
import { parseVersionDir, selectVersions } from '../../../embedded-server/src/repository/version-policy.ts';
import { ModelVersionPolicySchema } from '../../../src/protocol/gen/model_config_pb.ts';

describe('version policy', () => {
  const available = [3n, 1n, 10n, 2n];
  it('defaults to the latest version', () => {
    assert.deepEqual(selectVersions(undefined, available, 'm'), { versions: [10n], problems: [] });
  });
  it('latest N picks the N numerically largest', () => {
    const policy = create(ModelVersionPolicySchema, {
      policyChoice: { case: 'latest', value: { numVersions: 2 } },
    });
    assert.deepEqual(selectVersions(policy, available, 'm').versions, [3n, 10n]);
  });
  it('all picks every version', () => {
    const policy = create(ModelVersionPolicySchema, { policyChoice: { case: 'all', value: {} } });
    assert.deepEqual(selectVersions(policy, available, 'm').versions, [1n, 2n, 3n, 10n]);
  });
  it('specific picks the listed versions and reports missing ones', () => {
    const policy = create(ModelVersionPolicySchema, {
      policyChoice: { case: 'specific', value: { versions: [2n, 7n] } },
    });
    assert.deepEqual(selectVersions(policy, available, 'm'), {
      versions: [2n],
      problems: ["version 7 is specified for model 'm', but the version directory is not present"],
    });
  });
  it('classifies directory names as Triton', () => {
    assert.deepEqual(parseVersionDir('12'), { version: 12n });
    assert.deepEqual(parseVersionDir('0'), { version: 0n });
    assert.deepEqual(parseVersionDir('warmup'), { ignored: true });
    assert.deepEqual(parseVersionDir('configs'), { ignored: true });
    assert.match((parseVersionDir('007') as { skipped: string }).skipped, /leading zeros/);
    assert.match(
      (parseVersionDir('1a') as { skipped: string }).skipped,
      /fails to convert to integral number/,
    );
  });
});

const SIGNATURE: OnnxSignature = {
  inputs: [{ name: 'IN', datatype: 'FP32', dims: [-1, 4] }],
  outputs: [{ name: 'OUT', datatype: 'FP32', dims: [-1, 4] }],
};

describe('repository scan', () => {
  let repo: string;
  const read: string[] = [];
  const readSignature = async (path: string): Promise<OnnxSignature> => {
    read.push(path);
    return SIGNATURE;
  };

  before(async () => {
    repo = await mkdtemp(join(tmpdir(), 'inferbench-repo-test-'));
    // odd: versions 1, 3, 007 (leading zeros), v2 (not a number), warmup, configs, a model.onnx directory in 3.
    const odd = join(repo, 'odd');
    for (const d of ['1', '3/model.onnx', '007', 'v2', 'warmup', 'configs'])
      await mkdir(join(odd, d), { recursive: true });
    await writeFile(join(odd, '1', 'model.onnx'), 'x');
    await writeFile(join(odd, '3', 'model.onnx', 'model.onnx'), 'x');
    // The platform is given: Triton detects the backend from the lexicographically first subdirectory ('007').
    await writeFile(
      join(odd, 'config.pbtxt'),
      'platform: "onnxruntime_onnx"\nversion_policy { all { } }\nmax_batch_size: 2\n',
    );
    // noconf: no config.pbtxt at all, one version.
    await mkdir(join(repo, 'noconf', '1'), { recursive: true });
    await writeFile(join(repo, 'noconf', '1', 'model.onnx'), 'x');
    // empty: no version directory; broken: unparsable config; hidden entries are skipped.
    await mkdir(join(repo, 'empty'));
    await writeFile(join(repo, 'empty', 'config.pbtxt'), 'platform: "onnxruntime_onnx"');
    await mkdir(join(repo, 'broken', '1'), { recursive: true });
    await writeFile(join(repo, 'broken', 'config.pbtxt'), 'max_batch_size: "eight"');
    await mkdir(join(repo, '.hidden'));
    await writeFile(join(repo, 'README'), 'not a model');
  });
  after(async () => {
    await rm(repo, { recursive: true, force: true });
  });

  it('lists model directories with their versions and problems', async () => {
    const models = await scanRepository(repo);
    assert.deepEqual(
      models.map((m) => m.name),
      ['broken', 'empty', 'noconf', 'odd'],
    );
    const odd = models.find((m) => m.name === 'odd')!;
    assert.deepEqual(odd.versions, [
      { version: '1', modelPath: join(repo, 'odd', '1', 'model.onnx') },
      { version: '3', modelPath: join(repo, 'odd', '3', 'model.onnx', 'model.onnx') },
    ]);
    assert.equal(odd.problems.length, 2);
    assert.match(odd.problems.join('\n'), /'007' which contains leading zeros/);
    assert.match(odd.problems.join('\n'), /'v2' which fails to convert/);
    assert.deepEqual(models.find((m) => m.name === 'empty')!.problems, ['No model version was found']);
    const broken = models.find((m) => m.name === 'broken')!;
    assert.deepEqual(broken.versions, []);
    assert.match(broken.problems[0]!, /^failed to read text proto from .*broken\/config\.pbtxt/);
  });

  it('loads a config-less model through autofill from the first selected version', async () => {
    read.length = 0;
    const loaded = await loadModelConfig(join(repo, 'noconf'), { readSignature });
    assert.deepEqual(read, [join(repo, 'noconf', '1', 'model.onnx')]);
    assert.equal(loaded.config.name, 'noconf');
    assert.equal(loaded.config.backend, 'onnxruntime');
    assert.equal(loaded.config.maxBatchSize, 4);
    assert.deepEqual(loaded.config.input[0]?.dims, [4n]);
    assert.equal(loaded.warnings.length, 1);
    assert.match(loaded.warnings[0]!, /^autofilled max_batch_size to 4 for model 'noconf'/);
  });

  it('honours the config policy and a JSON config given over the load API', async () => {
    const loaded = await loadModelConfig(join(repo, 'odd'), { readSignature });
    assert.deepEqual(
      loaded.versions.map((v) => v.version),
      ['1', '3'],
    );
    assert.equal(loaded.config.maxBatchSize, 2);
    const overridden = await loadModelConfig(join(repo, 'odd'), {
      readSignature,
      configJson: JSON.stringify({
        platform: 'onnxruntime_onnx',
        max_batch_size: 1,
        version_policy: { specific: { versions: [3, 5] } },
      }),
    });
    assert.deepEqual(
      overridden.versions.map((v) => v.version),
      ['3'],
    );
    assert.equal(overridden.config.maxBatchSize, 1);
    assert.deepEqual(overridden.warnings, [
      "version 5 is specified for model 'odd', but the version directory is not present",
    ]);
  });

  it('with auto-complete disabled: no config file is refused, a partial config is validated as written', async () => {
    await assert.rejects(loadModelConfig(join(repo, 'noconf'), { readSignature, autoComplete: false }), {
      message: missingConfigMessage(join(repo, 'noconf', 'config.pbtxt')),
      code: 'INTERNAL',
    });
    // odd's config has max_batch_size but no inputs/outputs: not completed, so the graph check refuses it.
    await assert.rejects(loadModelConfig(join(repo, 'odd'), { readSignature, autoComplete: false }), {
      message: "unable to load model 'odd', configuration expects 0 inputs, model provides 1",
    });
    // A config given over the load API replaces the missing file; it is served as written.
    const loaded = await loadModelConfig(join(repo, 'noconf'), {
      readSignature,
      autoComplete: false,
      configJson: JSON.stringify({
        platform: 'onnxruntime_onnx',
        max_batch_size: 2,
        input: [{ name: 'IN', data_type: 'TYPE_FP32', dims: [4] }],
      }),
    });
    assert.equal(loaded.configSource, 'load API');
    assert.equal(loaded.config.maxBatchSize, 2);
    assert.equal(loaded.config.output.length, 0);
    assert.equal(loaded.config.schedulingChoice.case, undefined);
    assert.deepEqual(loaded.warnings, []);
  });

  it('refuses a model without versions', async () => {
    await assert.rejects(loadModelConfig(join(repo, 'empty'), { readSignature }), {
      message: 'No model version was found',
      code: 'UNAVAILABLE',
    });
  });
});
