/**
 * A successful response's bytes, kept by an InferClient for `--profile-export-file`'s `response_outputs`
 * (only while asked to: `InferClient.keepResponses`). On the hot path a kept response costs one copy of the
 * bytes and nothing else; it is decoded into tensors only when the export is written.
 */
import { grpcResponseToWire } from '../protocol/grpc-infer-codec.ts';
import { decodeModelInferResponse, decodeModelStreamInferResponse } from '../protocol/grpc-service.ts';
import { decodeHttpInferResponse } from '../protocol/http-infer-codec.ts';
import type { Tensor } from '../protocol/tensor.ts';

/** How the bytes are framed: an HTTP body, a ModelInferResponse, or a ModelStreamInferResponse. */
export type ResponseEncoding = 'http' | 'grpc' | 'grpc-stream';

export interface KeptResponse {
  readonly encoding: ResponseEncoding;
  /**
   * The HTTP body or gRPC message. It owns its whole ArrayBuffer (offset 0, full length, never Node's shared
   * Buffer pool), so a worker thread can transfer it to the main thread as it is.
   */
  readonly bytes: Uint8Array;
  /** HTTP with binary outputs: the JSON header's length (Inference-Header-Content-Length); else undefined. */
  readonly headerLength?: number;
}

/** A copy of `bytes` in an ArrayBuffer of its own, as KeptResponse requires. */
export function ownedCopy(bytes: Uint8Array): Uint8Array {
  const copy = new Uint8Array(bytes.byteLength);
  copy.set(bytes);
  return copy;
}

/** The response's output tensors (views into `kept.bytes` where the encoding allows). Throws if malformed. */
export function keptResponseOutputs(kept: KeptResponse): Tensor[] {
  switch (kept.encoding) {
    case 'http':
      return decodeHttpInferResponse(kept.bytes, kept.headerLength).outputs;
    case 'grpc':
      return grpcResponseToWire(decodeModelInferResponse(kept.bytes)).outputs;
    case 'grpc-stream': {
      const response = decodeModelStreamInferResponse(kept.bytes).inferResponse;
      if (!response) throw new Error('the stream response holds no infer_response');
      return grpcResponseToWire(response).outputs;
    }
  }
}
