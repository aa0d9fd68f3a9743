/**
 * Triton's example ensemble (reference/configs/ensemble_ocr_pipeline.pbtxt, the tutorial's Part 5 OCR pipeline,
 * copied verbatim into test/fixtures/configs/) loads and serves on the reference server when its composing
 * models are ONNX. The tutorial's text_detection and text_recognition are ONNX; its three pre/post-processing
 * steps are Python there, so ONNX graphs with the same model and tensor names (built here from code, with
 * simple arithmetic in place of the OpenCV work) take their place. The ensemble config itself is not edited.
 */
import assert from 'node:assert/strict';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type RunningServer, startServer } from '../../../embedded-server/src/index.ts';
import {
  buildOnnxModel,
  OnnxDataType,
  type OnnxTensorSpec,
} from '../../../embedded-server/src/onnx/onnx-builder.ts';
import { http, postJson, type TempRepository, tempRepository } from '../../helpers/real-server.ts';

const FIXTURE = new URL('../../fixtures/configs/ensemble_ocr_pipeline.pbtxt', import.meta.url);
const F = OnnxDataType.FLOAT;

function int64s(name: string, values: number[]): OnnxTensorSpec {
  const raw = new Uint8Array(values.length * 8);
  const view = new DataView(raw.buffer);
  for (const [i, v] of values.entries()) view.setBigInt64(i * 8, BigInt(v), true);
  return { name, dataType: OnnxDataType.INT64, dims: [values.length], rawData: raw };
}

function config(
  name: string,
  inputs: [string, string, string][],
  outputs: [string, string, string][],
): string {
  const io = (list: [string, string, string][]) =>
    list.map(([n, t, d]) => `{ name: "${n}" data_type: ${t} dims: ${d} }`).join(', ');
  return `name: "${name}"
platform: "onnxruntime_onnx"
max_batch_size: 256
input [ ${io(inputs)} ]
output [ ${io(outputs)} ]
instance_group [ { count: 1 kind: KIND_CPU } ]
parameters { key: "intra_op_thread_count" value: { string_value: "1" } }
`;
}

/** The five composing models: the tutorial's names and tensor names, ONNX graphs written from code. */
const COMPOSING = {
  // UINT8 bytes → FP32 image [h, 1, 3]: n/3 pixels in one column (the text detector takes any [h, w, 3]).
  detection_preprocessing: {
    config: config(
      'detection_preprocessing',
      [['detection_preprocessing_input', 'TYPE_UINT8', '[ -1 ]']],
      [['detection_preprocessing_output', 'TYPE_FP32', '[ -1, 1, 3 ]']],
    ),
    onnx: buildOnnxModel({
      inputs: [{ name: 'detection_preprocessing_input', elemType: OnnxDataType.UINT8, dims: ['b', 'n'] }],
      outputs: [{ name: 'detection_preprocessing_output', elemType: F, dims: ['b', 'h', 1, 3] }],
      initializers: [int64s('shape', [0, -1, 1, 3])],
      nodes: [
        {
          opType: 'Cast',
          inputs: ['detection_preprocessing_input'],
          outputs: ['f'],
          attributes: { to: { kind: 'int', value: F } },
        },
        { opType: 'Reshape', inputs: ['f', 'shape'], outputs: ['detection_preprocessing_output'] },
      ],
    }),
  },
  // Image → score map [h, w, 1] and geometry [h, w, 5] (EAST's two outputs).
  text_detection: {
    config: config(
      'text_detection',
      [['input_images:0', 'TYPE_FP32', '[ -1, -1, 3 ]']],
      [
        ['feature_fusion/Conv_7/Sigmoid:0', 'TYPE_FP32', '[ -1, -1, 1 ]'],
        ['feature_fusion/concat_3:0', 'TYPE_FP32', '[ -1, -1, 5 ]'],
      ],
    ),
    onnx: buildOnnxModel({
      inputs: [{ name: 'input_images:0', elemType: F, dims: ['b', 'h', 'w', 3] }],
      outputs: [
        { name: 'feature_fusion/Conv_7/Sigmoid:0', elemType: F, dims: ['b', 'h', 'w', 1] },
        { name: 'feature_fusion/concat_3:0', elemType: F, dims: ['b', 'h', 'w', 5] },
      ],
      nodes: [
        {
          opType: 'ReduceMean',
          inputs: ['input_images:0'],
          outputs: ['mean'],
          attributes: { axes: { kind: 'ints', value: [3] }, keepdims: { kind: 'int', value: 1 } },
        },
        { opType: 'Sigmoid', inputs: ['mean'], outputs: ['feature_fusion/Conv_7/Sigmoid:0'] },
        {
          opType: 'Concat',
          inputs: ['input_images:0', 'mean', 'mean'],
          outputs: ['feature_fusion/concat_3:0'],
          attributes: { axis: { kind: 'int', value: 3 } },
        },
      ],
    }),
  },
  // Score map, geometry and image → "crops" (here: all of them side by side, flattened).
  detection_postprocessing: {
    config: config(
      'detection_postprocessing',
      [
        ['detection_postprocessing_input_1', 'TYPE_FP32', '[ -1, -1, 1 ]'],
        ['detection_postprocessing_input_2', 'TYPE_FP32', '[ -1, -1, 5 ]'],
        ['detection_postprocessing_input_3', 'TYPE_FP32', '[ -1, -1, 3 ]'],
      ],
      [['detection_postprocessing_output', 'TYPE_FP32', '[ -1 ]']],
    ),
    onnx: buildOnnxModel({
      inputs: [
        { name: 'detection_postprocessing_input_1', elemType: F, dims: ['b', 'h', 'w', 1] },
        { name: 'detection_postprocessing_input_2', elemType: F, dims: ['b', 'h', 'w', 5] },
        { name: 'detection_postprocessing_input_3', elemType: F, dims: ['b', 'h', 'w', 3] },
      ],
      outputs: [{ name: 'detection_postprocessing_output', elemType: F, dims: ['b', 'k'] }],
      nodes: [
        {
          opType: 'Concat',
          inputs: [
            'detection_postprocessing_input_1',
            'detection_postprocessing_input_2',
            'detection_postprocessing_input_3',
          ],
          outputs: ['all'],
          attributes: { axis: { kind: 'int', value: 3 } },
        },
        {
          opType: 'Flatten',
          inputs: ['all'],
          outputs: ['detection_postprocessing_output'],
          attributes: { axis: { kind: 'int', value: 1 } },
        },
      ],
    }),
  },
  text_recognition: {
    config: config(
      'text_recognition',
      [['input.1', 'TYPE_FP32', '[ -1 ]']],
      [['308', 'TYPE_FP32', '[ -1 ]']],
    ),
    onnx: buildOnnxModel({
      inputs: [{ name: 'input.1', elemType: F, dims: ['b', 'k'] }],
      outputs: [{ name: '308', elemType: F, dims: ['b', 'k'] }],
      nodes: [{ opType: 'Sigmoid', inputs: ['input.1'], outputs: ['308'] }],
    }),
  },
  // Scores → text (BYTES, TYPE_STRING in the config).
  recognition_postprocessing: {
    config: config(
      'recognition_postprocessing',
      [['recognition_postprocessing_input', 'TYPE_FP32', '[ -1 ]']],
      [['recognition_postprocessing_output', 'TYPE_STRING', '[ -1 ]']],
    ),
    onnx: buildOnnxModel({
      inputs: [{ name: 'recognition_postprocessing_input', elemType: F, dims: ['b', 'k'] }],
      outputs: [
        { name: 'recognition_postprocessing_output', elemType: OnnxDataType.STRING, dims: ['b', 'k'] },
      ],
      nodes: [
        {
          opType: 'Cast',
          inputs: ['recognition_postprocessing_input'],
          outputs: ['recognition_postprocessing_output'],
          attributes: { to: { kind: 'int', value: OnnxDataType.STRING } },
        },
      ],
    }),
  },
};

const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));

describe("Triton's example OCR ensemble config with ONNX composing models", () => {
  let repo: TempRepository;
  let server: RunningServer;
  before(async () => {
    repo = await tempRepository(COMPOSING);
    // The ensemble: the upstream file as it is, in a version directory of its own (no model file).
    await mkdir(join(repo.dir, 'ensemble_model', '1'), { recursive: true });
    await writeFile(join(repo.dir, 'ensemble_model', 'config.pbtxt'), await readFile(FIXTURE));
    server = await startServer({ modelRepository: repo.dir, host: '127.0.0.1' });
  });
  after(async () => {
    await server?.stop({ timeoutMs: 5000 });
    await repo?.remove();
  });

  it('loads: the ensemble and its five composing models are READY', async () => {
    const index = JSON.parse((await postJson(`${server.httpUrl}/v2/repository/index`, {})).text);
    assert.deepEqual(
      index.filter((m: { state: string }) => m.state !== 'READY'),
      [],
      'every model READY',
    );
    for (const name of ['ensemble_model', ...Object.keys(COMPOSING)]) {
      const res = await http(`${server.httpUrl}/v2/models/${name}/ready`);
      assert.equal(res.status, 200, `${name}: ${res.text}`);
    }
    const meta = await http(`${server.httpUrl}/v2/models/ensemble_model`);
    const body = JSON.parse(meta.text);
    assert.equal(body.platform, 'ensemble');
    assert.deepEqual(body.outputs, [{ name: 'recognized_text', datatype: 'BYTES', shape: [-1, -1] }]);
  });

  it('serves: a request walks all five steps and answers with the text', async () => {
    const pixels = [10, 20, 30, 0, 0, 0, 255, 255, 255, 1, 2, 3];
    const res = await postJson(`${server.httpUrl}/v2/models/ensemble_model/infer`, {
      inputs: [{ name: 'input_image', datatype: 'UINT8', shape: [1, pixels.length], data: pixels }],
    });
    assert.equal(res.status, 200, res.text);
    const out = JSON.parse(res.text).outputs[0];
    assert.equal(out.name, 'recognized_text');
    assert.equal(out.datatype, 'BYTES');
    // 4 pixels × (score 1 + geometry 5 + image 3) values, each through text_recognition's sigmoid.
    assert.deepEqual(out.shape, [1, 36]);
    const [r, g, b] = pixels as [number, number, number];
    const mean = (r + g + b) / 3;
    const expected = [sigmoid(mean), r, g, b, mean, mean, r, g, b].map(sigmoid);
    const got = (out.data as string[]).slice(0, 9).map(Number);
    for (const [i, v] of got.entries()) {
      assert.ok(Math.abs(v - (expected[i] as number)) < 1e-5, `${i}: ${v}`);
    }
    // Every step counted the one request.
    for (const name of ['ensemble_model', ...Object.keys(COMPOSING)]) {
      const stats = JSON.parse((await http(`${server.httpUrl}/v2/models/${name}/stats`)).text);
      assert.equal(stats.model_stats[0].inference_stats.success.count, 1, name);
    }
  });
});
