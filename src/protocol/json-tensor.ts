/**
 * Tensor data in KServe-v2 JSON (`"data": [...]`) ↔ raw little-endian bytes, with Triton's strict
 * element rules (reference §1.7). Out-of-range integers are rejected (Triton silently wraps them: a
 * documented deviation). Error texts are Triton's, surfaced as INVALID_ARG (400, not Triton's 500).
 */
import { serializeBytesElements } from './bytes-tensor.ts';
import { type Datatype, datatypeInfo, elementCount } from './datatypes.ts';
import { JsonFloat, type JsonValue } from './exact-json.ts';
import { InferenceError } from './status.ts';
import type { Tensor } from './tensor.ts';

/** One element of a tensor as JSON carries it (bigint for 64-bit integers beyond 2^53). */
export type JsonElement = number | bigint | boolean | string;

const INT_RANGES: Partial<Record<Datatype, readonly [bigint, bigint]>> = {
  INT8: [-(2n ** 7n), 2n ** 7n - 1n],
  INT16: [-(2n ** 15n), 2n ** 15n - 1n],
  INT32: [-(2n ** 31n), 2n ** 31n - 1n],
  INT64: [-(2n ** 63n), 2n ** 63n - 1n],
  UINT8: [0n, 2n ** 8n - 1n],
  UINT16: [0n, 2n ** 16n - 1n],
  UINT32: [0n, 2n ** 32n - 1n],
  UINT64: [0n, 2n ** 64n - 1n],
};

const INT64_MAX_TEXT = '9223372036854775807';

function invalid(message: string): InferenceError {
  return new InferenceError('INVALID_ARG', message);
}

/** Flattens nested arrays row-major; Triton ignores the nesting and only checks the element count. */
function flatten(data: JsonValue, out: JsonValue[]): void {
  if (Array.isArray(data)) {
    for (const d of data) flatten(d, out);
  } else {
    out.push(data);
  }
}

function isJsonInteger(v: JsonValue): v is number | bigint {
  return typeof v === 'bigint' || (typeof v === 'number' && Number.isInteger(v));
}

function checkedInteger(v: JsonValue, datatype: Datatype, inputName: string): bigint | number {
  const unsigned = datatype.startsWith('U');
  if (!isJsonInteger(v) || (unsigned && v < 0)) {
    throw invalid(
      unsigned
        ? "Unable to parse 'data': attempt to access JSON non-unsigned-integer as unsigned-integer"
        : "Unable to parse 'data': attempt to access JSON non-signed-integer as signed-integer",
    );
  }
  const [lo, hi] = INT_RANGES[datatype] as readonly [bigint, bigint];
  const big = typeof v === 'bigint' ? v : BigInt(v);
  if (big < lo || big > hi) {
    throw invalid(
      `Unable to parse 'data': value ${big} is out of range for datatype ${datatype} of input '${inputName}' (expected ${lo} to ${hi})`,
    );
  }
  return v;
}

function checkedNumber(v: JsonValue): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  if (v instanceof JsonFloat) return v.value;
  throw invalid("Unable to parse 'data': attempt to access JSON non-number as double");
}

/** Options of jsonDataToTensorBytes. */
export interface JsonDataOptions {
  /** Largest tensor byte size accepted (Triton: --http-max-input-size, 64 MiB). */
  maxInputBytes?: number;
}

/**
 * Converts the `data` member of one JSON input into raw tensor bytes for `datatype`/`shape`.
 * Throws InferenceError INVALID_ARG with Triton's texts (element types, counts, FP16/BF16, overflow).
 */
export function jsonDataToTensorBytes(
  data: JsonValue,
  datatype: Datatype,
  shape: readonly number[],
  inputName: string,
  options: JsonDataOptions = {},
): Uint8Array {
  if (datatype === 'FP16' || datatype === 'BF16') {
    throw invalid(
      `receiving ${datatype} data via JSON is not supported. Please use the binary data format for input ${inputName}`,
    );
  }
  let expected: number;
  try {
    expected = elementCount(shape);
  } catch {
    throw invalid(
      `invalid shape for input '${inputName}': shape [${shape.join(',')}] causes total element count to exceed maximum size of ${INT64_MAX_TEXT}`,
    );
  }
  const info = datatypeInfo(datatype);
  const maxInputBytes = options.maxInputBytes ?? Number.POSITIVE_INFINITY;
  if (info.byteSize * expected > maxInputBytes) {
    throw invalid(
      `JSON input '${inputName}' has a byte_size (${info.byteSize * expected} bytes) that exceeds the maximum allowed value of ${maxInputBytes} bytes. Use --http-max-input-size to increase the limit.`,
    );
  }
  const leaves: JsonValue[] = [];
  flatten(data, leaves);
  if (leaves.length < expected)
    throw invalid("Failed to parse 'data' field: shape does not match true shape");
  if (leaves.length > expected)
    throw invalid("Unable to parse 'data': Shape does not match true shape of 'data' field");

  if (datatype === 'BYTES') {
    const strings = leaves.map((v, k) => {
      if (typeof v !== 'string')
        throw invalid("Unable to parse 'data': attempt to access JSON non-string as string");
      // A lone surrogate (valid in a JSON string) has no UTF-8 form: TextEncoder would put U+FFFD there.
      if (LONE_SURROGATE.test(v)) {
        throw invalid(
          `Unable to parse 'data': element ${k} of BYTES input '${inputName}' holds a lone UTF-16 surrogate, which has no UTF-8 form; send such bytes with the binary tensor extension`,
        );
      }
      return v;
    });
    return serializeBytesElements(strings);
  }
  const bytes = new Uint8Array(expected * info.byteSize);
  if (datatype === 'BOOL') {
    for (let k = 0; k < expected; k++) {
      const v = leaves[k];
      if (typeof v !== 'boolean')
        throw invalid("Unable to parse 'data': attempt to access JSON non-boolean as boolean");
      bytes[k] = v ? 1 : 0;
    }
    return bytes;
  }
  const Ctor = info.arrayType;
  if (Ctor === undefined) throw invalid(`invalid datatype for input ${inputName}`);
  if (datatype === 'FP32' || datatype === 'FP64') {
    const view = new (Ctor as Float32ArrayConstructor | Float64ArrayConstructor)(bytes.buffer);
    for (let k = 0; k < expected; k++) view[k] = checkedNumber(leaves[k] as JsonValue);
    return bytes;
  }
  if (datatype === 'INT64' || datatype === 'UINT64') {
    const view = new (Ctor as BigInt64ArrayConstructor | BigUint64ArrayConstructor)(bytes.buffer);
    for (let k = 0; k < expected; k++)
      view[k] = BigInt(checkedInteger(leaves[k] as JsonValue, datatype, inputName));
    return bytes;
  }
  const view = new (Ctor as Int32ArrayConstructor)(bytes.buffer);
  for (let k = 0; k < expected; k++)
    view[k] = Number(checkedInteger(leaves[k] as JsonValue, datatype, inputName));
  return bytes;
}

/** Matches an unpaired surrogate only: with the `u` flag a well-formed pair is one code point. */
const LONE_SURROGATE = /\p{Cs}/u;
/** Fatal: bytes that are not UTF-8 are refused, never replaced by U+FFFD. */
const utf8Decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * Raw tensor bytes → flat JSON elements (numbers, exact bigint for 64-bit values beyond 2^53, booleans,
 * UTF-8 strings, NUL included). FP16/BF16 outputs cannot be JSON: INVALID_ARG with Triton's text; neither can
 * BYTES elements that are not UTF-8: INVALID_ARG naming the binary extension.
 */
export function tensorToJsonElements(tensor: Tensor): JsonElement[] {
  const { datatype, data } = tensor;
  if (datatype === 'FP16' || datatype === 'BF16') {
    throw invalid(
      `sending ${datatype} data via JSON is not supported. Please use the binary data format for output`,
    );
  }
  if (datatype === 'BYTES') {
    const out: string[] = [];
    const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
    let offset = 0;
    while (offset + 4 <= data.byteLength) {
      const length = view.getUint32(offset, true);
      try {
        out.push(utf8Decoder.decode(data.subarray(offset + 4, offset + 4 + length)));
      } catch {
        // JSON strings carry Unicode text; other bytes would come back altered (U+FFFD), so refuse them.
        throw invalid(
          `BYTES tensor '${tensor.name}' element ${out.length} is not valid UTF-8, which JSON cannot carry: ` +
            'request it with the binary tensor extension (binary_data: true)',
        );
      }
      offset += 4 + length;
    }
    return out;
  }
  if (datatype === 'BOOL') return Array.from(data, (b) => b !== 0);
  const info = datatypeInfo(datatype);
  const Ctor = info.arrayType as Exclude<typeof info.arrayType, undefined>;
  const count = Math.floor(data.byteLength / info.byteSize);
  // Typed arrays need aligned offsets: copy only when the view is misaligned.
  const aligned = data.byteOffset % info.byteSize === 0 ? data : data.slice();
  const typed = new Ctor(aligned.buffer as ArrayBuffer, aligned.byteOffset, count);
  if (typed instanceof BigInt64Array || typed instanceof BigUint64Array) {
    const out = new Array<number | bigint>(count);
    const maxSafe = BigInt(Number.MAX_SAFE_INTEGER);
    for (let k = 0; k < count; k++) {
      const v = typed[k] as bigint;
      out[k] = v <= maxSafe && v >= -maxSafe ? Number(v) : v;
    }
    return out;
  }
  return Array.from(typed as ArrayLike<number>);
}
