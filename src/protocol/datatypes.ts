/**
 * KServe-v2 tensor datatypes: protocol strings, config.pbtxt enum names, element sizes and typed arrays.
 * One table so that the server, the load generator and the tests can never disagree on a width.
 */

/** The datatype strings of the Open Inference Protocol (plus Triton's BF16). */
export const DATATYPES = [
  'BOOL',
  'UINT8',
  'UINT16',
  'UINT32',
  'UINT64',
  'INT8',
  'INT16',
  'INT32',
  'INT64',
  'FP16',
  'BF16',
  'FP32',
  'FP64',
  'BYTES',
] as const;

export type Datatype = (typeof DATATYPES)[number];

type TypedArrayCtor =
  | Uint8ArrayConstructor
  | Uint16ArrayConstructor
  | Uint32ArrayConstructor
  | BigUint64ArrayConstructor
  | Int8ArrayConstructor
  | Int16ArrayConstructor
  | Int32ArrayConstructor
  | BigInt64ArrayConstructor
  | Float32ArrayConstructor
  | Float64ArrayConstructor;

export interface DatatypeInfo {
  readonly datatype: Datatype;
  /** Name of the `inference.DataType` enum value in config.pbtxt (BYTES is TYPE_STRING there). */
  readonly configName: string;
  /** Numeric value of the `inference.DataType` enum. */
  readonly configEnum: number;
  /** Bytes per element; 0 for BYTES, whose elements are length-prefixed and variable. */
  readonly byteSize: number;
  /** Typed array that views raw little-endian element data; undefined for BYTES. FP16/BF16 are viewed as Uint16. */
  readonly arrayType: TypedArrayCtor | undefined;
  /** ONNX Runtime tensor type name (onnxruntime-common `Tensor.Type`), undefined when ORT has none. */
  readonly ortType: string | undefined;
}

const TABLE: readonly DatatypeInfo[] = [
  {
    datatype: 'BOOL',
    configName: 'TYPE_BOOL',
    configEnum: 1,
    byteSize: 1,
    arrayType: Uint8Array,
    ortType: 'bool',
  },
  {
    datatype: 'UINT8',
    configName: 'TYPE_UINT8',
    configEnum: 2,
    byteSize: 1,
    arrayType: Uint8Array,
    ortType: 'uint8',
  },
  {
    datatype: 'UINT16',
    configName: 'TYPE_UINT16',
    configEnum: 3,
    byteSize: 2,
    arrayType: Uint16Array,
    ortType: 'uint16',
  },
  {
    datatype: 'UINT32',
    configName: 'TYPE_UINT32',
    configEnum: 4,
    byteSize: 4,
    arrayType: Uint32Array,
    ortType: 'uint32',
  },
  {
    datatype: 'UINT64',
    configName: 'TYPE_UINT64',
    configEnum: 5,
    byteSize: 8,
    arrayType: BigUint64Array,
    ortType: 'uint64',
  },
  {
    datatype: 'INT8',
    configName: 'TYPE_INT8',
    configEnum: 6,
    byteSize: 1,
    arrayType: Int8Array,
    ortType: 'int8',
  },
  {
    datatype: 'INT16',
    configName: 'TYPE_INT16',
    configEnum: 7,
    byteSize: 2,
    arrayType: Int16Array,
    ortType: 'int16',
  },
  {
    datatype: 'INT32',
    configName: 'TYPE_INT32',
    configEnum: 8,
    byteSize: 4,
    arrayType: Int32Array,
    ortType: 'int32',
  },
  {
    datatype: 'INT64',
    configName: 'TYPE_INT64',
    configEnum: 9,
    byteSize: 8,
    arrayType: BigInt64Array,
    ortType: 'int64',
  },
  {
    datatype: 'FP16',
    configName: 'TYPE_FP16',
    configEnum: 10,
    byteSize: 2,
    arrayType: Uint16Array,
    ortType: 'float16',
  },
  {
    datatype: 'FP32',
    configName: 'TYPE_FP32',
    configEnum: 11,
    byteSize: 4,
    arrayType: Float32Array,
    ortType: 'float32',
  },
  {
    datatype: 'FP64',
    configName: 'TYPE_FP64',
    configEnum: 12,
    byteSize: 8,
    arrayType: Float64Array,
    ortType: 'float64',
  },
  {
    datatype: 'BYTES',
    configName: 'TYPE_STRING',
    configEnum: 13,
    byteSize: 0,
    arrayType: undefined,
    ortType: 'string',
  },
  {
    datatype: 'BF16',
    configName: 'TYPE_BF16',
    configEnum: 14,
    byteSize: 2,
    arrayType: Uint16Array,
    ortType: undefined,
  },
];

const BY_DATATYPE = new Map(TABLE.map((t) => [t.datatype, t]));
const BY_CONFIG_ENUM = new Map(TABLE.map((t) => [t.configEnum, t]));
const BY_CONFIG_NAME = new Map(TABLE.map((t) => [t.configName, t]));
const BY_ORT_TYPE = new Map(TABLE.filter((t) => t.ortType).map((t) => [t.ortType as string, t]));

/** True when `s` is one of the protocol datatype strings (case-sensitive, as Triton). */
export function isDatatype(s: unknown): s is Datatype {
  return typeof s === 'string' && BY_DATATYPE.has(s as Datatype);
}

export function datatypeInfo(datatype: Datatype): DatatypeInfo {
  return BY_DATATYPE.get(datatype) as DatatypeInfo;
}

/** Element width in bytes, 0 for BYTES. */
export function byteSizeOf(datatype: Datatype): number {
  return datatypeInfo(datatype).byteSize;
}

/** `inference.DataType` enum number → protocol string; undefined for TYPE_INVALID or unknown numbers. */
export function datatypeFromConfigEnum(value: number): Datatype | undefined {
  return BY_CONFIG_ENUM.get(value)?.datatype;
}

/** `TYPE_FP32` → `FP32`. */
export function datatypeFromConfigName(name: string): Datatype | undefined {
  return BY_CONFIG_NAME.get(name)?.datatype;
}

export function configEnumOf(datatype: Datatype): number {
  return datatypeInfo(datatype).configEnum;
}

export function configNameOf(datatype: Datatype): string {
  return datatypeInfo(datatype).configName;
}

/** ORT tensor type name → protocol datatype. */
export function datatypeFromOrtType(ortType: string): Datatype | undefined {
  return BY_ORT_TYPE.get(ortType)?.datatype;
}

/**
 * Number of elements of a shape; 1 for a scalar ([]). Throws RangeError on a negative dim or
 * when the count would exceed Number.MAX_SAFE_INTEGER (callers turn that into a protocol error).
 */
export function elementCount(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) throw new RangeError(`invalid dimension ${d}`);
    n *= d;
    if (n > Number.MAX_SAFE_INTEGER) throw new RangeError('element count overflow');
  }
  return n;
}
