/**
 * One tensor as a value of the profile export's `request_inputs` / `response_outputs`, as JSON text, the way
 * perf_analyzer renders it (§4.3), where it can:
 * - a numeric or BOOL tensor of one element is a scalar, of more a flat array (the shape is lost), of none `[]`;
 *   64-bit integers are exact (beyond 2^53 too); FP32 is written as the double it widens to (0.1f →
 *   0.10000000149011612, as rapidjson writes it); NaN and ±Infinity, which JSON cannot hold, are `null`;
 * - FP16 and BF16 are decoded to numbers (perf_analyzer cannot render them);
 * - BYTES: each element's 4-byte length prefix is stripped and its bytes read as UTF-8 (invalid sequences
 *   become U+FFFD). One element is one string, as perf_analyzer writes it; several are an array of strings,
 *   where perf_analyzer (which strips only the first prefix) would write one garbled string; none is `[]`.
 */
import { datatypeInfo } from '../protocol/datatypes.ts';
import type { Tensor } from '../protocol/tensor.ts';

const utf8 = new TextDecoder();

export function exportTensorValueJson(tensor: Tensor): string {
  const { datatype, data } = tensor;
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const items: string[] = [];
  if (datatype === 'BYTES') {
    let offset = 0;
    while (offset + 4 <= data.byteLength) {
      const length = view.getUint32(offset, true);
      const end = Math.min(data.byteLength, offset + 4 + length);
      items.push(JSON.stringify(utf8.decode(data.subarray(offset + 4, end))));
      offset = end;
    }
  } else {
    const size = datatypeInfo(datatype).byteSize;
    const read = elementReader(datatype, view);
    for (let offset = 0; offset + size <= data.byteLength; offset += size) items.push(read(offset));
  }
  return items.length === 1 ? items[0]! : `[${items.join(',')}]`;
}

/** The JSON text of the element at a byte offset. */
function elementReader(datatype: Exclude<Tensor['datatype'], 'BYTES'>, v: DataView): (o: number) => string {
  switch (datatype) {
    case 'BOOL':
      return (o) => (v.getUint8(o) !== 0 ? 'true' : 'false');
    case 'UINT8':
      return (o) => String(v.getUint8(o));
    case 'UINT16':
      return (o) => String(v.getUint16(o, true));
    case 'UINT32':
      return (o) => String(v.getUint32(o, true));
    case 'UINT64':
      return (o) => v.getBigUint64(o, true).toString();
    case 'INT8':
      return (o) => String(v.getInt8(o));
    case 'INT16':
      return (o) => String(v.getInt16(o, true));
    case 'INT32':
      return (o) => String(v.getInt32(o, true));
    case 'INT64':
      return (o) => v.getBigInt64(o, true).toString();
    case 'FP16':
      return (o) => numberJson(halfToNumber(v.getUint16(o, true)));
    case 'BF16':
      return (o) => numberJson(bfloat16ToNumber(v.getUint16(o, true)));
    case 'FP32':
      return (o) => numberJson(v.getFloat32(o, true));
    case 'FP64':
      return (o) => numberJson(v.getFloat64(o, true));
  }
}

function numberJson(value: number): string {
  return Number.isFinite(value) ? String(value) : 'null';
}

/** IEEE 754 binary16 bits → the number they stand for (exact in a double). */
export function halfToNumber(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const fraction = bits & 0x3ff;
  if (exponent === 0) return sign * fraction * 2 ** -24;
  if (exponent === 0x1f) return fraction === 0 ? sign * Number.POSITIVE_INFINITY : Number.NaN;
  return sign * (1 + fraction / 1024) * 2 ** (exponent - 15);
}

const bf16Scratch = new DataView(new ArrayBuffer(4));

/** bfloat16 bits (the top half of a binary32) → the number they stand for. */
export function bfloat16ToNumber(bits: number): number {
  bf16Scratch.setUint32(0, bits << 16);
  return bf16Scratch.getFloat32(0);
}
