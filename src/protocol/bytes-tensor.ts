/**
 * BYTES tensors in Triton's serialized form: per element a 4-byte little-endian length, then the bytes.
 * Used by the binary HTTP extension, gRPC raw contents and ORT string tensors alike, so both the server
 * and the load generator go through these two functions.
 */
import { InferenceError } from './status.ts';

const LENGTH_PREFIX_BYTES = 4;
const utf8Encoder = new TextEncoder();

/** Names used in Triton's error texts; the caller knows them, this module does not. */
export interface BytesTensorNames {
  inputName: string;
  modelName: string;
}

/** Serialises elements (strings are UTF-8 encoded) into one length-prefixed buffer. */
export function serializeBytesElements(elements: readonly (Uint8Array | string)[]): Uint8Array {
  const encoded = elements.map((e) => (typeof e === 'string' ? utf8Encoder.encode(e) : e));
  let total = 0;
  for (const e of encoded) total += LENGTH_PREFIX_BYTES + e.byteLength;
  const out = new Uint8Array(total);
  const view = new DataView(out.buffer);
  let offset = 0;
  for (const e of encoded) {
    view.setUint32(offset, e.byteLength, true);
    out.set(e, offset + LENGTH_PREFIX_BYTES);
    offset += LENGTH_PREFIX_BYTES + e.byteLength;
  }
  return out;
}

/**
 * Splits a serialized BYTES buffer into its elements (views, no copies). With `expectedCount`, the number
 * of elements must match (Triton's INVALID_ARG text); a truncated length prefix or element is always an error.
 */
export function parseBytesElements(
  data: Uint8Array,
  names: BytesTensorNames,
  expectedCount?: number,
): Uint8Array[] {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const elements: Uint8Array[] = [];
  let offset = 0;
  while (offset < data.byteLength) {
    const remaining = data.byteLength - offset;
    if (remaining < LENGTH_PREFIX_BYTES) {
      throw new InferenceError(
        'INVALID_ARG',
        `incomplete string length indicator for inference input '${names.inputName}' for model '${names.modelName}', expecting ${LENGTH_PREFIX_BYTES} bytes but only ${remaining} bytes available. Please make sure the string length indicator is in one buffer.`,
      );
    }
    const length = view.getUint32(offset, true);
    offset += LENGTH_PREFIX_BYTES;
    if (length > data.byteLength - offset) {
      throw new InferenceError(
        'INVALID_ARG',
        `incomplete string data for inference input '${names.inputName}' for model '${names.modelName}', expecting string of length ${length} but only ${data.byteLength - offset} bytes available.`,
      );
    }
    elements.push(data.subarray(offset, offset + length));
    offset += length;
  }
  if (expectedCount !== undefined && elements.length !== expectedCount) {
    throw new InferenceError(
      'INVALID_ARG',
      `unexpected number of string elements ${elements.length} for inference input '${names.inputName}' for model '${names.modelName}', expecting ${expectedCount}`,
    );
  }
  return elements;
}
