/**
 * Triton's error codes and how they map onto HTTP statuses and gRPC status codes
 * (server:src/http_server.cc HttpCodeFromError, server:src/grpc/grpc_utils.cc). Shared so the server answers
 * and the load generator classifies errors with one table.
 */

export type StatusCode =
  | 'UNKNOWN'
  | 'INTERNAL'
  | 'NOT_FOUND'
  | 'INVALID_ARG'
  | 'UNAVAILABLE'
  | 'UNSUPPORTED'
  | 'ALREADY_EXISTS'
  | 'CANCELLED';

/** gRPC numeric status codes used here (from @grpc/grpc-js `status`, repeated to keep the kernel dependency-free). */
export const GrpcCode = {
  OK: 0,
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  UNAUTHENTICATED: 16,
} as const;

const HTTP_STATUS: Record<StatusCode, number> = {
  INTERNAL: 500,
  NOT_FOUND: 404,
  UNAVAILABLE: 503,
  UNSUPPORTED: 501,
  UNKNOWN: 400,
  INVALID_ARG: 400,
  ALREADY_EXISTS: 400,
  CANCELLED: 400,
};

const GRPC_STATUS: Record<StatusCode, number> = {
  UNKNOWN: GrpcCode.UNKNOWN,
  INTERNAL: GrpcCode.INTERNAL,
  NOT_FOUND: GrpcCode.NOT_FOUND,
  INVALID_ARG: GrpcCode.INVALID_ARGUMENT,
  UNAVAILABLE: GrpcCode.UNAVAILABLE,
  UNSUPPORTED: GrpcCode.UNIMPLEMENTED,
  ALREADY_EXISTS: GrpcCode.ALREADY_EXISTS,
  CANCELLED: GrpcCode.CANCELLED,
};

export function httpStatusOf(code: StatusCode): number {
  return HTTP_STATUS[code];
}

export function grpcStatusOf(code: StatusCode): number {
  return GRPC_STATUS[code];
}

/**
 * An error that carries a Triton status code. The message is the exact text a Triton client would see
 * in `{"error": …}` or the gRPC status details.
 */
export class InferenceError extends Error {
  readonly code: StatusCode;
  constructor(code: StatusCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'InferenceError';
    this.code = code;
  }
  get httpStatus(): number {
    return httpStatusOf(this.code);
  }
  get grpcStatus(): number {
    return grpcStatusOf(this.code);
  }
}

export function isInferenceError(e: unknown): e is InferenceError {
  return e instanceof InferenceError;
}
