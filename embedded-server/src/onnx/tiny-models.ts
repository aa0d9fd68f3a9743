/**
 * Tiny ONNX models built from code: Triton's quick-start `simple` model, identities for every datatype,
 * and two test models (a deliberately slow one and one that fails at run time) for scheduler and
 * error-path tests. All load and run in onnxruntime-node on the CPU.
 */
import type { Datatype } from '../../../src/protocol/datatypes.ts';
import { buildOnnxModel, OnnxDataType, type OnnxTensorSpec, onnxTypeOf } from './onnx-builder.ts';

export type {
  OnnxAttributeValue,
  OnnxModelSpec,
  OnnxNodeSpec,
  OnnxTensorSpec,
  OnnxValueSpec,
} from './onnx-builder.ts';
export { buildOnnxModel, OnnxDataType, onnxTypeOf } from './onnx-builder.ts';

function int64Tensor(name: string, values: readonly number[]): OnnxTensorSpec {
  const data = BigInt64Array.from(values.map(BigInt));
  return { name, dataType: OnnxDataType.INT64, dims: [values.length], rawData: new Uint8Array(data.buffer) };
}

function floatTensor(name: string, dims: readonly number[], values: Float32Array): OnnxTensorSpec {
  return { name, dataType: OnnxDataType.FLOAT, dims, rawData: new Uint8Array(values.buffer) };
}

/**
 * Triton's `simple`: INPUT0, INPUT1 INT32 [batch,16] → OUTPUT0 = INPUT0 + INPUT1, OUTPUT1 = INPUT0 − INPUT1.
 * perf_analyzer's quick start runs against exactly this model.
 */
export function simpleAddSubModel(): Uint8Array {
  const dims = ['batch', 16];
  const int32 = OnnxDataType.INT32;
  return buildOnnxModel({
    graphName: 'simple',
    inputs: [
      { name: 'INPUT0', elemType: int32, dims },
      { name: 'INPUT1', elemType: int32, dims },
    ],
    outputs: [
      { name: 'OUTPUT0', elemType: int32, dims },
      { name: 'OUTPUT1', elemType: int32, dims },
    ],
    nodes: [
      { opType: 'Add', inputs: ['INPUT0', 'INPUT1'], outputs: ['OUTPUT0'] },
      { opType: 'Sub', inputs: ['INPUT0', 'INPUT1'], outputs: ['OUTPUT1'] },
    ],
  });
}

/** INPUT0 → Identity → OUTPUT0 of any datatype ORT supports (not BF16); default dims [batch, n]. */
export function identityModel(
  datatype: Datatype,
  dims: readonly (number | string)[] = ['batch', 'n'],
): Uint8Array {
  const elemType = onnxTypeOf(datatype);
  return buildOnnxModel({
    graphName: `identity_${datatype.toLowerCase()}`,
    inputs: [{ name: 'INPUT0', elemType, dims }],
    outputs: [{ name: 'OUTPUT0', elemType, dims }],
    nodes: [{ opType: 'Identity', inputs: ['INPUT0'], outputs: ['OUTPUT0'] }],
  });
}

export interface SlowIdentityOptions {
  /** Number of chained [m,m]×[m,m] MatMuls per execution. */
  iterations: number;
  /** Matrix side m; default 128 (≈ 2.1 M multiply-adds per iteration). */
  matrixSize?: number;
}

/**
 * FP32 INPUT0 [batch, n] → OUTPUT0 = INPUT0 (bit-exact up to the sign of zero), after a fixed amount of CPU
 * work per execution whatever the batch size: a chain of `iterations` MatMuls of an identity matrix.
 * The chain is tied to the input's shape (not its values) so ORT cannot constant-fold it, and its result
 * is added ×0 to the output so it cannot be pruned. A fixed per-batch cost is what makes dynamic
 * batching pay off, so scheduler tests see the same effect as with real models.
 */
export function slowIdentityModel(options: SlowIdentityOptions): Uint8Array {
  const { iterations } = options;
  const m = options.matrixSize ?? 128;
  if (!Number.isInteger(iterations) || iterations < 1)
    throw new RangeError(`iterations must be >= 1, got ${iterations}`);
  const eye = new Float32Array(m * m);
  for (let i = 0; i < m; i++) eye[i * m + i] = 1;
  const dims = ['batch', 'n'];
  const nodes = [
    { opType: 'Shape', inputs: ['INPUT0'], outputs: ['in_shape'] },
    {
      opType: 'Cast',
      inputs: ['in_shape'],
      outputs: ['in_shape_f'],
      attributes: { to: { kind: 'int', value: 1 } },
    },
    { opType: 'ReduceSum', inputs: ['in_shape_f'], outputs: ['shape_sum'] },
    { opType: 'Mul', inputs: ['shape_sum', 'zero'], outputs: ['shape_zero'] },
    { opType: 'Add', inputs: ['eye', 'shape_zero'], outputs: ['m_0'] },
  ] as const;
  const chain = Array.from({ length: iterations }, (_, i) => ({
    opType: 'MatMul',
    inputs: [`m_${i}`, 'eye'],
    outputs: [`m_${i + 1}`],
  }));
  return buildOnnxModel({
    graphName: 'slow_identity',
    inputs: [{ name: 'INPUT0', elemType: OnnxDataType.FLOAT, dims }],
    outputs: [{ name: 'OUTPUT0', elemType: OnnxDataType.FLOAT, dims }],
    initializers: [floatTensor('eye', [m, m], eye), floatTensor('zero', [], new Float32Array([0]))],
    nodes: [
      ...nodes,
      ...chain,
      { opType: 'ReduceSum', inputs: [`m_${iterations}`], outputs: ['work_sum'] },
      { opType: 'Mul', inputs: ['work_sum', 'zero'], outputs: ['work_zero'] },
      { opType: 'Add', inputs: ['INPUT0', 'work_zero'], outputs: ['OUTPUT0'] },
    ],
  });
}

/**
 * FP32 INPUT0 [batch, n] → OUTPUT0 [batch, 4] = Reshape(INPUT0, [batch, 4]). Loads fine (the target shape
 * comes from the input at run time); runs for n = 4 and fails inside ORT for any other n with
 * "The input tensor cannot be reshaped to the requested shape". One model covers both the error path and
 * "the instance still works afterwards".
 */
export function failingModel(): Uint8Array {
  return buildOnnxModel({
    graphName: 'failing_reshape',
    inputs: [{ name: 'INPUT0', elemType: OnnxDataType.FLOAT, dims: ['batch', 'n'] }],
    outputs: [{ name: 'OUTPUT0', elemType: OnnxDataType.FLOAT, dims: ['batch', 4] }],
    initializers: [int64Tensor('index0', [0]), int64Tensor('four', [4])],
    nodes: [
      { opType: 'Shape', inputs: ['INPUT0'], outputs: ['in_shape'] },
      {
        opType: 'Gather',
        inputs: ['in_shape', 'index0'],
        outputs: ['batch_dim'],
        attributes: { axis: { kind: 'int', value: 0 } },
      },
      {
        opType: 'Concat',
        inputs: ['batch_dim', 'four'],
        outputs: ['target'],
        attributes: { axis: { kind: 'int', value: 0 } },
      },
      { opType: 'Reshape', inputs: ['INPUT0', 'target'], outputs: ['OUTPUT0'] },
    ],
  });
}
