/**
 * The one in-memory tensor shape shared by the server and the load generator: raw little-endian,
 * row-major bytes whatever the wire encoding was (JSON, binary extension, gRPC raw or typed contents).
 * Keeping a single representation means one copy at most between the socket and ONNX Runtime.
 */
import type { Datatype } from './datatypes.ts';

export interface Tensor {
  readonly name: string;
  readonly datatype: Datatype;
  /** Full shape, including the batch dimension when the model batches. */
  readonly shape: readonly number[];
  /**
   * Raw element bytes. For BYTES: each element as a 4-byte little-endian length followed by its bytes.
   * May be a view into a larger buffer (request body, batched ORT output): never assume byteOffset 0.
   */
  readonly data: Uint8Array;
}
