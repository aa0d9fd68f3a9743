/**
 * Tiny stateful ONNX models for the sequence batcher, built from code: the bundled `accumulate` model and a
 * control-echo model for tests. Both run in onnxruntime-node on the CPU.
 */
import { buildOnnxModel, OnnxDataType, type OnnxTensorSpec } from './onnx-builder.ts';

function int32Scalar(name: string, value: number): OnnxTensorSpec {
  return {
    name,
    dataType: OnnxDataType.INT32,
    dims: [],
    rawData: new Uint8Array(Int32Array.of(value).buffer),
  };
}

/**
 * `accumulate`: INPUT INT32 [batch, 1] → OUTPUT INT32 [batch, 1] = the running sum of INPUT over the sequence.
 * The sum lives in implicit state (STATE_IN → STATE_OUT, kept by the server per sequence); the START control
 * (INT32 0/1) zeroes the carried sum, so a sequence starts from 0 whatever state it is handed:
 * `OUTPUT = STATE_IN × (1 − START) + INPUT`, `STATE_OUT = OUTPUT`.
 */
export function accumulateModel(): Uint8Array {
  const int32 = OnnxDataType.INT32;
  const dims = ['batch', 1];
  return buildOnnxModel({
    graphName: 'accumulate',
    inputs: [
      { name: 'INPUT', elemType: int32, dims },
      { name: 'START', elemType: int32, dims },
      { name: 'STATE_IN', elemType: int32, dims },
    ],
    outputs: [
      { name: 'OUTPUT', elemType: int32, dims },
      { name: 'STATE_OUT', elemType: int32, dims },
    ],
    initializers: [int32Scalar('one', 1)],
    nodes: [
      { opType: 'Sub', inputs: ['one', 'START'], outputs: ['keep'] },
      { opType: 'Mul', inputs: ['STATE_IN', 'keep'], outputs: ['carried'] },
      { opType: 'Add', inputs: ['carried', 'INPUT'], outputs: ['OUTPUT'] },
      { opType: 'Identity', inputs: ['OUTPUT'], outputs: ['STATE_OUT'] },
    ],
  });
}

/**
 * Test model: echoes what the sequence batcher feeds it. INPUT INT32 [batch,1]; controls START, END, READY
 * (INT32 [batch,1]) and CORRID (UINT64 [batch,1]) → OUTPUT (= INPUT), START_OUT, END_OUT, READY_OUT, CORRID_OUT.
 */
export function sequenceControlEchoModel(): Uint8Array {
  const int32 = OnnxDataType.INT32;
  const dims = ['batch', 1];
  const echo = ['START', 'END', 'READY'] as const;
  return buildOnnxModel({
    graphName: 'sequence_control_echo',
    inputs: [
      { name: 'INPUT', elemType: int32, dims },
      ...echo.map((n) => ({ name: n, elemType: int32, dims })),
      { name: 'CORRID', elemType: OnnxDataType.UINT64, dims },
    ],
    outputs: [
      { name: 'OUTPUT', elemType: int32, dims },
      ...echo.map((n) => ({ name: `${n}_OUT`, elemType: int32, dims })),
      { name: 'CORRID_OUT', elemType: OnnxDataType.UINT64, dims },
    ],
    nodes: [
      { opType: 'Identity', inputs: ['INPUT'], outputs: ['OUTPUT'] },
      ...echo.map((n) => ({ opType: 'Identity', inputs: [n], outputs: [`${n}_OUT`] })),
      { opType: 'Identity', inputs: ['CORRID'], outputs: ['CORRID_OUT'] },
    ],
  });
}
