/**
 * Writes ONNX `ModelProto` bytes from a small declarative spec, so that tests and the sample repository
 * get real models without downloads or a Python toolchain. Field numbers follow onnx.proto (proto2, so
 * repeated scalars are written unpacked, which every parser reads).
 */
import { BinaryWriter, WireType } from '@bufbuild/protobuf/wire';
import type { Datatype } from '../../../src/protocol/datatypes.ts';

/** `onnx.TensorProto.DataType` values. */
export const OnnxDataType = {
  FLOAT: 1,
  UINT8: 2,
  INT8: 3,
  UINT16: 4,
  INT16: 5,
  INT32: 6,
  INT64: 7,
  STRING: 8,
  BOOL: 9,
  FLOAT16: 10,
  DOUBLE: 11,
  UINT32: 12,
  UINT64: 13,
  BFLOAT16: 16,
} as const;

export type OnnxDataTypeValue = (typeof OnnxDataType)[keyof typeof OnnxDataType];

const FROM_DATATYPE: Record<Datatype, OnnxDataTypeValue> = {
  BOOL: OnnxDataType.BOOL,
  UINT8: OnnxDataType.UINT8,
  UINT16: OnnxDataType.UINT16,
  UINT32: OnnxDataType.UINT32,
  UINT64: OnnxDataType.UINT64,
  INT8: OnnxDataType.INT8,
  INT16: OnnxDataType.INT16,
  INT32: OnnxDataType.INT32,
  INT64: OnnxDataType.INT64,
  FP16: OnnxDataType.FLOAT16,
  BF16: OnnxDataType.BFLOAT16,
  FP32: OnnxDataType.FLOAT,
  FP64: OnnxDataType.DOUBLE,
  BYTES: OnnxDataType.STRING,
};

/** Protocol datatype → ONNX element type (BYTES is ONNX STRING). */
export function onnxTypeOf(datatype: Datatype): OnnxDataTypeValue {
  return FROM_DATATYPE[datatype];
}

/** A graph input or output: dims are sizes, or strings for symbolic (`dim_param`) dimensions. */
export interface OnnxValueSpec {
  name: string;
  elemType: OnnxDataTypeValue;
  dims: readonly (number | string)[];
}

/** A constant tensor (graph initializer or tensor attribute); `rawData` is little-endian element bytes. */
export interface OnnxTensorSpec {
  name: string;
  dataType: OnnxDataTypeValue;
  dims: readonly number[];
  rawData: Uint8Array;
}

export type OnnxAttributeValue =
  | { kind: 'int'; value: number | bigint }
  | { kind: 'float'; value: number }
  | { kind: 'string'; value: string }
  | { kind: 'ints'; value: readonly (number | bigint)[] }
  | { kind: 'floats'; value: readonly number[] }
  | { kind: 'tensor'; value: OnnxTensorSpec };

export interface OnnxNodeSpec {
  opType: string;
  inputs: readonly string[];
  outputs: readonly string[];
  name?: string;
  attributes?: Readonly<Record<string, OnnxAttributeValue>>;
}

export interface OnnxModelSpec {
  inputs: readonly OnnxValueSpec[];
  outputs: readonly OnnxValueSpec[];
  nodes: readonly OnnxNodeSpec[];
  initializers?: readonly OnnxTensorSpec[];
  /** Default "inferbench". */
  graphName?: string;
  /** Default-domain opset; default 13 (must be ≥ 13). */
  opset?: number;
}

/** `onnx.AttributeProto.AttributeType` values. */
const ATTRIBUTE_TYPE = { float: 1, int: 2, string: 3, tensor: 4, floats: 6, ints: 7 } as const;
const IR_VERSION = 8;
const MIN_OPSET = 13;

function writeTensor(w: BinaryWriter, t: OnnxTensorSpec): void {
  for (const d of t.dims) w.tag(1, WireType.Varint).int64(d);
  w.tag(2, WireType.Varint).int32(t.dataType);
  w.tag(8, WireType.LengthDelimited).string(t.name);
  w.tag(9, WireType.LengthDelimited).bytes(t.rawData);
}

function writeValueInfo(w: BinaryWriter, v: OnnxValueSpec): void {
  w.tag(1, WireType.LengthDelimited).string(v.name);
  w.tag(2, WireType.LengthDelimited).fork(); // TypeProto
  w.tag(1, WireType.LengthDelimited).fork(); // TypeProto.Tensor
  w.tag(1, WireType.Varint).int32(v.elemType);
  w.tag(2, WireType.LengthDelimited).fork(); // TensorShapeProto
  for (const d of v.dims) {
    w.tag(1, WireType.LengthDelimited).fork(); // Dimension
    if (typeof d === 'string') w.tag(2, WireType.LengthDelimited).string(d);
    else w.tag(1, WireType.Varint).int64(d);
    w.join();
  }
  w.join().join().join();
}

function writeAttribute(w: BinaryWriter, name: string, a: OnnxAttributeValue): void {
  w.tag(1, WireType.LengthDelimited).string(name);
  switch (a.kind) {
    case 'float':
      w.tag(2, WireType.Bit32).float(a.value);
      break;
    case 'int':
      w.tag(3, WireType.Varint).int64(a.value);
      break;
    case 'string':
      w.tag(4, WireType.LengthDelimited).string(a.value);
      break;
    case 'tensor':
      w.tag(5, WireType.LengthDelimited).fork();
      writeTensor(w, a.value);
      w.join();
      break;
    case 'floats':
      for (const f of a.value) w.tag(7, WireType.Bit32).float(f);
      break;
    case 'ints':
      for (const i of a.value) w.tag(8, WireType.Varint).int64(i);
      break;
  }
  w.tag(20, WireType.Varint).int32(ATTRIBUTE_TYPE[a.kind]);
}

function writeNode(w: BinaryWriter, n: OnnxNodeSpec, index: number): void {
  for (const i of n.inputs) w.tag(1, WireType.LengthDelimited).string(i);
  for (const o of n.outputs) w.tag(2, WireType.LengthDelimited).string(o);
  w.tag(3, WireType.LengthDelimited).string(n.name ?? `${n.opType.toLowerCase()}_${index}`);
  w.tag(4, WireType.LengthDelimited).string(n.opType);
  for (const [name, value] of Object.entries(n.attributes ?? {})) {
    w.tag(5, WireType.LengthDelimited).fork();
    writeAttribute(w, name, value);
    w.join();
  }
}

/** Serialises a model (ir_version 8, default-domain opset ≥ 13) to ONNX protobuf bytes. */
export function buildOnnxModel(spec: OnnxModelSpec): Uint8Array {
  const opset = spec.opset ?? MIN_OPSET;
  if (!Number.isInteger(opset) || opset < MIN_OPSET)
    throw new RangeError(`opset must be >= ${MIN_OPSET}, got ${opset}`);
  const w = new BinaryWriter();
  w.tag(1, WireType.Varint).int64(IR_VERSION);
  w.tag(2, WireType.LengthDelimited).string('inferbench');
  w.tag(7, WireType.LengthDelimited).fork(); // GraphProto
  spec.nodes.forEach((n, i) => {
    w.tag(1, WireType.LengthDelimited).fork();
    writeNode(w, n, i);
    w.join();
  });
  w.tag(2, WireType.LengthDelimited).string(spec.graphName ?? 'inferbench');
  for (const t of spec.initializers ?? []) {
    w.tag(5, WireType.LengthDelimited).fork();
    writeTensor(w, t);
    w.join();
  }
  for (const v of spec.inputs) {
    w.tag(11, WireType.LengthDelimited).fork();
    writeValueInfo(w, v);
    w.join();
  }
  for (const v of spec.outputs) {
    w.tag(12, WireType.LengthDelimited).fork();
    writeValueInfo(w, v);
    w.join();
  }
  w.join();
  w.tag(8, WireType.LengthDelimited).fork(); // OperatorSetIdProto, default domain ''
  w.tag(1, WireType.LengthDelimited).string('');
  w.tag(2, WireType.Varint).int64(opset);
  w.join();
  return w.finish();
}
