/**
 * The bounds the HTTP and gRPC fronts put on what a client may send and hold: body sizes (before and after
 * decompression), the JSON part of a body (parsing JSON tensors costs ≈ 0.2–0.3 s per MiB of the event
 * loop of the thread that parses it, so a 60 MiB JSON body blocked it for seconds), gRPC message size
 * (decompressed too), request and idle timeouts, and a connection limit. Each has a `serve` flag; the
 * error texts name it.
 */
import { DEFAULT_MAX_INPUT_BYTES } from '../../../src/protocol/http-infer-codec.ts';
import { InferenceError } from '../../../src/protocol/status.ts';

export interface TransportLimits {
  /** `--http-max-input-size`: an HTTP body, and a compressed body once decompressed (Triton: 64 MiB). */
  readonly httpMaxInputBytes: number;
  /** `--http-max-json-size`: the JSON part of an HTTP body (all of it without binary tensors). */
  readonly httpMaxJsonBytes: number;
  /** `--grpc-max-message-size`: a received gRPC message, after decompression. */
  readonly grpcMaxMessageBytes: number;
  /** `--http-headers-timeout-secs`: time allowed for a request's headers to arrive. */
  readonly headersTimeoutMs: number;
  /** `--http-request-timeout-secs`: time allowed for a whole request (headers and body) to arrive. */
  readonly requestTimeoutMs: number;
  /** `--idle-timeout-secs`: a keep-alive HTTP connection or a gRPC connection idle this long is closed. */
  readonly idleTimeoutMs: number;
  /** `--max-connections`: open HTTP and gRPC connections, each counted against its own protocol. */
  readonly maxConnections: number;
}

export const DEFAULT_TRANSPORT_LIMITS: TransportLimits = Object.freeze({
  httpMaxInputBytes: DEFAULT_MAX_INPUT_BYTES,
  httpMaxJsonBytes: 4 * 1024 * 1024,
  grpcMaxMessageBytes: DEFAULT_MAX_INPUT_BYTES,
  headersTimeoutMs: 30_000,
  requestTimeoutMs: 120_000,
  idleTimeoutMs: 65_000,
  maxConnections: 2048,
});

/** Most bytes any size flag accepts (2 GiB - 1: gRPC's and Node's buffer ceiling). */
export const MAX_SIZE_FLAG_BYTES = 2 ** 31 - 1;
/** Most connections `--max-connections` accepts. */
export const MAX_CONNECTIONS_FLAG = 1_000_000;
/** Longest timeout any timeout flag accepts, seconds (one day). */
export const MAX_TIMEOUT_FLAG_SECS = 86_400;

/** Fills the limits not given from the defaults. */
export function transportLimits(partial: Partial<TransportLimits> = {}): TransportLimits {
  return { ...DEFAULT_TRANSPORT_LIMITS, ...partial };
}

/** The JSON part of a body over `--http-max-json-size`: refused before it is parsed. */
export function jsonSizeError(bytes: number, limit: number): InferenceError {
  return new InferenceError(
    'INVALID_ARG',
    `request JSON size of ${bytes} bytes exceeds the maximum allowed JSON size of ${limit} bytes: send tensors ` +
      'with the binary tensor extension, or use --http-max-json-size to increase the limit.',
  );
}
