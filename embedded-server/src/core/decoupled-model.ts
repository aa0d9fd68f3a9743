/**
 * Decoupled models (`model_transaction_policy { decoupled: true }`): any number of responses per request,
 * zero included, then the FINAL flag. Triton serves them over gRPC ModelStreamInfer only; its HTTP endpoint
 * and the unary ModelInfer RPC refuse them (UNSUPPORTED: HTTP 501, gRPC UNIMPLEMENTED) with these texts
 * (server `src/http_server.cc`, `src/grpc/infer_handler.cc`).
 */
import type { ModelConfig } from '../../../src/protocol/gen/model_config_pb.ts';
import { InferenceError } from '../../../src/protocol/status.ts';
import type { InferRequest } from './types.ts';

export const HTTP_DECOUPLED_REFUSAL =
  "HTTP end point doesn't support models with decoupled transaction policy";
export const GRPC_DECOUPLED_REFUSAL =
  "ModelInfer RPC doesn't support models with decoupled transaction policy";

export function isDecoupled(config: ModelConfig): boolean {
  return config.modelTransactionPolicy?.decoupled ?? false;
}

/** Throws Triton's refusal when a decoupled model gets a request that has no stream to answer on. */
export function assertCanAnswer(config: ModelConfig, request: InferRequest): void {
  if (!isDecoupled(config) || request.responseSink) return;
  throw new InferenceError(
    'UNSUPPORTED',
    request.endpoint === 'grpc' ? GRPC_DECOUPLED_REFUSAL : HTTP_DECOUPLED_REFUSAL,
  );
}
