/**
 * The bundled `text_recognition_pipeline` ensemble on the embedded repository: its outputs equal running its
 * steps by hand (ocr_preprocess → text_recognition → ocr_ctc_argmax, and text_direction on the same
 * preprocessed crop), the preprocessing is PP-OCR's normalisation, and each composing model counts the step.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { EMBEDDED_MODELS } from '../../../embedded-server/src/embedded-repository.ts';
import { type RunningServer, startServer } from '../../../embedded-server/src/index.ts';
import { http, postJson } from '../../helpers/real-server.ts';

const H = 48;
const W = 192;

/** A deterministic crop: dark strokes on a light background, so the recogniser sees something text-like. */
function crop(seed: number): Uint8Array {
  const out = new Uint8Array(H * W * 3);
  let s = seed >>> 0;
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      s = (s * 1664525 + 1013904223) >>> 0;
      const stroke = y > 12 && y < 36 && (x % 24 < 4 || (y > 22 && y < 26 && x % 48 < 30));
      const v = stroke ? 20 + (s % 30) : 220 + (s % 30);
      out.set([v, v, v], (y * W + x) * 3);
    }
  }
  return out;
}

interface Output {
  name: string;
  datatype: string;
  shape: number[];
  data: number[];
}

describe('bundled text_recognition_pipeline', () => {
  let server: RunningServer;
  const infer = async (model: string, inputs: unknown[]): Promise<Output[]> => {
    const r = await postJson(`${server.httpUrl}/v2/models/${model}/infer`, { inputs });
    assert.equal(r.status, 200, `${model}: ${r.text}`);
    return (r.json() as { outputs: Output[] }).outputs;
  };
  const successCount = async (model: string): Promise<number> =>
    (
      (await http(`${server.httpUrl}/v2/models/${model}/stats`)).json() as {
        model_stats: { inference_stats: { success: { count: number } } }[];
      }
    ).model_stats[0]?.inference_stats.success.count ?? -1;

  before(async () => {
    server = await startServer();
  });

  after(async () => {
    await server?.stop({ timeoutMs: 10_000 });
  });

  it('is listed among the embedded models', () => {
    const names = EMBEDDED_MODELS.map((m) => m.name);
    for (const n of ['text_recognition_pipeline', 'ocr_preprocess', 'ocr_ctc_argmax'])
      assert.ok(names.includes(n), n);
  });

  it("equals running its four steps by hand; preprocessing is PP-OCR's x/127.5 − 1", async () => {
    const image = [...crop(7)];
    const imageInput = { name: 'image', datatype: 'UINT8', shape: [1, H, W, 3], data: image };
    const before = await Promise.all(
      ['ocr_preprocess', 'text_recognition', 'ocr_ctc_argmax', 'text_direction'].map(successCount),
    );
    const pipeline = await infer('text_recognition_pipeline', [imageInput]);
    assert.deepEqual(
      pipeline.map((o) => [o.name, o.datatype, o.shape.length]),
      [
        ['char_indices', 'INT64', 2],
        ['direction', 'FP32', 2],
      ],
    );
    const after = await Promise.all(
      ['ocr_preprocess', 'text_recognition', 'ocr_ctc_argmax', 'text_direction'].map(successCount),
    );
    assert.deepEqual(
      after.map((n, i) => n - (before[i] as number)),
      [1, 1, 1, 1],
      'each composing model ran its step once',
    );

    const [x] = await infer('ocr_preprocess', [imageInput]);
    assert.deepEqual(x?.shape, [1, 3, H, W]);
    // Channel c of pixel (y, w) lands at [c][y][w], scaled to [-1, 1] in float32.
    const scale = Math.fround(1 / 127.5);
    for (const [c, y, w] of [
      [0, 0, 0],
      [1, 20, 100],
      [2, 47, 191],
    ] as const) {
      const pixel = image[(y * W + w) * 3 + c] as number;
      assert.equal(x?.data[c * H * W + y * W + w], Math.fround(Math.fround(pixel * scale) - 1));
    }
    const xInput = { name: 'x', datatype: 'FP32', shape: x?.shape, data: x?.data };
    const [probs] = await infer('text_recognition', [xInput]);
    const [indices] = await infer('ocr_ctc_argmax', [
      { name: 'probs', datatype: 'FP32', shape: probs?.shape, data: probs?.data },
    ]);
    const [direction] = await infer('text_direction', [xInput]);
    const byName = new Map(pipeline.map((o) => [o.name, o]));
    assert.deepEqual(byName.get('char_indices')?.shape, indices?.shape);
    assert.deepEqual(byName.get('char_indices')?.data, indices?.data);
    assert.deepEqual(byName.get('direction')?.data, direction?.data);
    assert.equal(indices?.shape[1], probs?.shape[1], 'one index per timestep');
  });

  it('a batch of 2 crops gives each crop its own result', async () => {
    const a = [...crop(1)];
    const b = [...crop(2)];
    const both = await infer('text_recognition_pipeline', [
      { name: 'image', datatype: 'UINT8', shape: [2, H, W, 3], data: [...a, ...b] },
    ]);
    const one = await infer('text_recognition_pipeline', [
      { name: 'image', datatype: 'UINT8', shape: [1, H, W, 3], data: b },
    ]);
    const t = one[0]?.shape[1] as number;
    assert.deepEqual(both[0]?.shape, [2, t]);
    assert.deepEqual(both[0]?.data.slice(t), one[0]?.data);
  });
});
