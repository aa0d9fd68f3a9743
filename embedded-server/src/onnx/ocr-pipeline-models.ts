/**
 * The pre- and post-processing steps of the bundled `text_recognition_pipeline` ensemble, written as ONNX
 * graphs from code (no Python backend needed):
 * - `ocr_preprocess`: a UINT8 image crop, HWC as PP-OCR reads it, → FP32 CHW normalised to [-1, 1]
 *   (`x / 127.5 − 1`, PP-OCR's `(x / 255 − 0.5) / 0.5`), what the recogniser and the direction classifier take.
 * - `ocr_ctc_argmax`: per-timestep character probabilities → the most likely character index per timestep
 *   (ArgMax over the character axis; CTC decoding — dropping blanks and repeats — is left to the client).
 */
import { buildOnnxModel, OnnxDataType, type OnnxTensorSpec } from './onnx-builder.ts';

function floatScalar(name: string, value: number): OnnxTensorSpec {
  return {
    name,
    dataType: OnnxDataType.FLOAT,
    dims: [],
    rawData: new Uint8Array(Float32Array.of(value).buffer),
  };
}

/** `image` UINT8 [batch, 48, width, 3] → `x` FP32 [batch, 3, 48, width]. */
export function ocrPreprocessModel(): Uint8Array {
  return buildOnnxModel({
    graphName: 'ocr_preprocess',
    inputs: [{ name: 'image', elemType: OnnxDataType.UINT8, dims: ['batch', 48, 'width', 3] }],
    outputs: [{ name: 'x', elemType: OnnxDataType.FLOAT, dims: ['batch', 3, 48, 'width'] }],
    initializers: [floatScalar('scale', 1 / 127.5), floatScalar('one', 1)],
    nodes: [
      {
        opType: 'Cast',
        inputs: ['image'],
        outputs: ['image_f'],
        attributes: { to: { kind: 'int', value: OnnxDataType.FLOAT } },
      },
      {
        opType: 'Transpose',
        inputs: ['image_f'],
        outputs: ['chw'],
        attributes: { perm: { kind: 'ints', value: [0, 3, 1, 2] } },
      },
      { opType: 'Mul', inputs: ['chw', 'scale'], outputs: ['scaled'] },
      { opType: 'Sub', inputs: ['scaled', 'one'], outputs: ['x'] },
    ],
  });
}

/** `probs` FP32 [batch, T, classes] → `indices` INT64 [batch, T]. */
export function ocrCtcArgmaxModel(): Uint8Array {
  return buildOnnxModel({
    graphName: 'ocr_ctc_argmax',
    inputs: [{ name: 'probs', elemType: OnnxDataType.FLOAT, dims: ['batch', 'T', 'classes'] }],
    outputs: [{ name: 'indices', elemType: OnnxDataType.INT64, dims: ['batch', 'T'] }],
    nodes: [
      {
        opType: 'ArgMax',
        inputs: ['probs'],
        outputs: ['indices'],
        attributes: { axis: { kind: 'int', value: 2 }, keepdims: { kind: 'int', value: 0 } },
      },
    ],
  });
}
