/**
 * Wire-neutral inference request and response: what the HTTP and gRPC codecs decode into and encode
 * from. The server maps these onto its InferRequest; the load generator builds them from a RequestSpec.
 * Tensors are raw little-endian bytes whatever the wire form was.
 */
import type { Tensor } from './tensor.ts';

/** A request/response/output parameter value as the wire can carry it (bigint: exact 64-bit integers). */
export type WireParameterValue = string | number | boolean | bigint;

export type WireParameters = Record<string, WireParameterValue>;

export interface WireRequestedOutput {
  name: string;
  parameters: WireParameters;
}

export interface WireInferRequest {
  /** '' when the request carried no id. */
  id: string;
  /** Every request parameter, reserved ones included (see infer-parameters.ts to split them). */
  parameters: WireParameters;
  inputs: Tensor[];
  /** Empty = all outputs. */
  outputs: WireRequestedOutput[];
}

export interface WireInferResponse {
  /** '' when the request carried no id (HTTP then omits the member). */
  id: string;
  modelName: string;
  modelVersion: string;
  parameters?: WireParameters;
  outputs: Tensor[];
}
