/**
 * Raw protocol tensor bytes ↔ ONNX Runtime tensors, and batch concatenation along dim 0. Both directions
 * avoid copies where the layout allows (aligned numeric data is viewed, not copied), because these run
 * once per batch on the hot path of every instance worker.
 */
import { Tensor as OrtTensor } from 'onnxruntime-node';
import {
  type Datatype,
  datatypeFromOrtType,
  datatypeInfo,
  elementCount,
} from '../../../src/protocol/datatypes.ts';

/** One tensor's raw bytes and shape (the worker's view of a protocol Tensor). */
export interface RawTensor {
  readonly shape: readonly number[];
  readonly data: Uint8Array;
}

/** A tensor failure with a message meant for the client (the batch fails with INTERNAL). */
export class TensorMapError extends Error {
  readonly code = 'TENSOR_MAP';
  constructor(message: string) {
    super(message);
    this.name = 'TensorMapError';
  }
}

/** Memory for a copy: `bytes` bytes whose contents the caller overwrites (default: a fresh zeroed array). */
export type AllocBytes = (bytes: number) => Uint8Array;

const freshBytes: AllocBytes = (bytes) => new Uint8Array(bytes);

/**
 * Concatenates request tensors along dim 0 in order: shape [Σ dim0, ...rest]. Row-major layout makes that
 * a byte concatenation for every datatype, BYTES included. With `padTo`, zero rows follow up to that many
 * rows (BYTES: zero-length elements) in the same single copy. One part without padding is returned as is.
 * The copy goes into memory from `alloc` (a worker passes its ScratchArena).
 */
export function concatBatch(
  name: string,
  parts: readonly RawTensor[],
  padTo?: { rows: number; bytesElements: boolean },
  alloc: AllocBytes = freshBytes,
): RawTensor {
  if (parts.length === 0) throw new TensorMapError(`no data for input '${name}'`);
  const first = parts[0] as RawTensor;
  const padding = padTo !== undefined && first.shape.length > 0;
  if (parts.length === 1 && !padding) return first;
  if (first.shape.length === 0)
    throw new TensorMapError(`input '${name}' has no batch dimension to concatenate along`);
  const rest = first.shape.slice(1);
  let batch = 0;
  let bytes = 0;
  for (const p of parts) {
    if (p.shape.length !== first.shape.length || p.shape.some((d, i) => i > 0 && d !== rest[i - 1])) {
      throw new TensorMapError(
        `input '${name}' shapes differ beyond the batch dimension: [${first.shape.join(',')}] vs [${p.shape.join(',')}]`,
      );
    }
    batch += p.shape[0] as number;
    bytes += p.data.byteLength;
  }
  let rows = batch;
  let padBytes = 0;
  if (padTo && padTo.rows > batch) {
    rows = padTo.rows;
    const rowElements = rest.reduce((a, b) => a * b, 1);
    // A BYTES element is a 4-byte length then its bytes: an empty one is 4 zero bytes.
    padBytes = padTo.bytesElements
      ? (rows - batch) * rowElements * 4
      : batch === 0
        ? 0
        : (bytes / batch) * (rows - batch);
  }
  const data = alloc(bytes + padBytes);
  let offset = 0;
  for (const p of parts) {
    data.set(p.data, offset);
    offset += p.data.byteLength;
  }
  if (padBytes > 0) data.fill(0, offset);
  return { shape: [rows, ...rest], data };
}

// ignoreBOM: a leading U+FEFF is data, not a marker to strip (requests are checked to be UTF-8 already).
const decoder = new TextDecoder('utf-8', { ignoreBOM: true });
const encoder = new TextEncoder();

/** Length-prefixed BYTES elements → strings (ORT's string tensors are UTF-8). */
export function decodeBytesElements(name: string, data: Uint8Array, count: number): string[] {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const out: string[] = new Array(count);
  let pos = 0;
  for (let i = 0; i < count; i++) {
    if (pos + 4 > data.byteLength)
      throw new TensorMapError(`input '${name}': BYTES data holds fewer than ${count} elements`);
    const len = view.getUint32(pos, true);
    pos += 4;
    if (pos + len > data.byteLength)
      throw new TensorMapError(`input '${name}': BYTES element ${i} runs past the data`);
    out[i] = decoder.decode(data.subarray(pos, pos + len));
    pos += len;
  }
  if (pos !== data.byteLength)
    throw new TensorMapError(`input '${name}': BYTES data holds more than ${count} elements`);
  return out;
}

/** Strings → length-prefixed BYTES elements (4-byte little-endian length, then UTF-8 bytes). */
export function encodeBytesElements(values: readonly string[]): Uint8Array {
  const encoded = values.map((v) => encoder.encode(v));
  const out = new Uint8Array(encoded.reduce((n, e) => n + 4 + e.byteLength, 0));
  const view = new DataView(out.buffer);
  let pos = 0;
  for (const e of encoded) {
    view.setUint32(pos, e.byteLength, true);
    out.set(e, pos + 4);
    pos += 4 + e.byteLength;
  }
  return out;
}

/** A protocol tensor as an ORT tensor; numeric data is viewed in place when aligned, else copied into `alloc`'s memory. */
export function toOrtTensor(
  name: string,
  datatype: Datatype,
  raw: RawTensor,
  alloc: AllocBytes = freshBytes,
): OrtTensor {
  const info = datatypeInfo(datatype);
  const dims = [...raw.shape];
  let count: number;
  try {
    count = elementCount(dims);
  } catch (e) {
    throw new TensorMapError(`input '${name}': ${(e as Error).message}`);
  }
  if (!info.ortType)
    throw new TensorMapError(`input '${name}': datatype ${datatype} is not supported by ONNX Runtime`);
  if (datatype === 'BYTES') return new OrtTensor('string', decodeBytesElements(name, raw.data, count), dims);
  if (raw.data.byteLength !== count * info.byteSize) {
    throw new TensorMapError(
      `input '${name}': ${raw.data.byteLength} bytes do not hold ${count} ${datatype} elements of shape [${dims.join(',')}]`,
    );
  }
  const ArrayType = info.arrayType as NonNullable<typeof info.arrayType>;
  let bytes = raw.data;
  if (bytes.byteOffset % info.byteSize !== 0) {
    bytes = alloc(raw.data.byteLength);
    bytes.set(raw.data);
  }
  const typed = new ArrayType(bytes.buffer as ArrayBuffer, bytes.byteOffset, count);
  return new OrtTensor(info.ortType as 'float32', typed as Float32Array, dims);
}

/** An ORT output as protocol datatype, shape and raw bytes (a view on ORT's buffer for numeric types). */
export function fromOrtTensor(
  name: string,
  tensor: OrtTensor,
): { datatype: Datatype; shape: number[]; data: Uint8Array } {
  const datatype = datatypeFromOrtType(tensor.type);
  if (!datatype)
    throw new TensorMapError(`output '${name}': ONNX Runtime type '${tensor.type}' has no protocol datatype`);
  const shape = [...tensor.dims];
  if (datatype === 'BYTES') return { datatype, shape, data: encodeBytesElements(tensor.data as string[]) };
  const typed = tensor.data as Exclude<OrtTensor['data'], string[]>;
  return { datatype, shape, data: new Uint8Array(typed.buffer, typed.byteOffset, typed.byteLength) };
}
