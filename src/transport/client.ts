/**
 * The seam between load generation and the wire. A transport pre-encodes each distinct request once
 * (`prepare`) and then sends the same bytes again and again (`infer`), so per-request work stays tiny.
 * Implementations: http-client.ts (keep-alive HTTP/1.1 sockets, JSON or binary tensor extension),
 * grpc-client.ts (unary calls on node:http2, grpc-unary-http2.ts; bidi streams on @grpc/grpc-js).
 */
import type { Clock } from '../protocol/clock.ts';
import type { Tensor } from '../protocol/tensor.ts';
import type { KeptResponse } from './kept-response.ts';

/** What one request carries, before encoding. */
export interface RequestSpec {
  modelName: string;
  modelVersion: string; // '' = server's choice
  inputs: Tensor[];
  /** Outputs to ask for; empty = all. */
  outputs: string[];
  /** HTTP: ask for binary outputs (binary tensor extension). Ignored by gRPC, which is always raw. */
  binaryOutputs: boolean;
  /** HTTP: send inputs with the binary tensor extension (true) or as JSON (false). */
  binaryInputs: boolean;
  /** Request-level parameters (priority, timeout, custom). */
  parameters: Record<string, string | number | boolean>;
}

/** Opaque, transport-specific pre-encoded request. */
export interface PreparedRequest {
  readonly spec: RequestSpec;
  /** Encoded size in bytes (for reports). */
  readonly byteLength: number;
}

/** Timestamps (Clock ns) and result of one request. Never throws for a failed inference: failures are data. */
export interface InferOutcome {
  ok: boolean;
  /** Stable error class for counting: "http:503", "grpc:UNAVAILABLE", "timeout", "transport:ECONNRESET", "stream:error". */
  errorKind?: string;
  errorMessage?: string;
  /** Just before the request was handed to the client library. */
  sendStartNs: number;
  /** When the request body was fully written (best effort; equals sendStartNs when unknown). */
  sendEndNs: number;
  /** First byte (HTTP headers / gRPC message) of the response. */
  responseStartNs: number;
  /** Response fully read. */
  endNs: number;
  responseBytes: number;
  /** A successful request's response bytes, while the client keeps responses (`keepResponses`); else absent. */
  response?: KeptResponse;
  /**
   * gRPC streaming: responses received for the request, the FINAL flag's empty response not counted (a
   * decoupled model sends 0..n); absent = one. `endNs` is then the last counted response's arrival (or the
   * FINAL flag's when there was none), perf_analyzer's request end.
   */
  responseCount?: number;
  /** gRPC streaming: arrival of the request's first response (or of its FINAL flag when it had none). */
  firstResponseNs?: number;
}

export interface InferClient {
  readonly protocol: 'http' | 'grpc';
  prepare(spec: RequestSpec): PreparedRequest;
  /** Sends one request; resolves (never rejects) with its outcome. `timeoutMs` 0 = no timeout. */
  infer(request: PreparedRequest, timeoutMs: number): Promise<InferOutcome>;
  /**
   * From now on, successful outcomes carry a copy of their response (`InferOutcome.response`), or no longer do
   * (for `--profile-export-file`'s response outputs; off by default, and then it costs nothing). A client that
   * cannot keep responses leaves this out.
   */
  keepResponses?(on: boolean): void;
  close(): Promise<void>;
}

/** The `--ssl-*` options: PEM file paths and the two verification switches (the files are read by tls-files.ts). */
export interface TlsOptions {
  /** HTTPS / TLS gRPC on. */
  enabled: boolean;
  caFile?: string;
  certFile?: string;
  keyFile?: string;
  verifyPeer?: boolean;
  verifyHost?: boolean;
}

export interface ClientOptions {
  /** `host:port`, with or without `http://` / `https://`. */
  url: string;
  clock: Clock;
  /** Connections (HTTP) or channels (gRPC) to open; perf_analyzer semantics want one per in-flight request for HTTP. */
  connections: number;
  headers: Record<string, string>;
  /** gRPC: use the bidirectional ModelStreamInfer stream. */
  streaming?: boolean;
  tls?: TlsOptions;
  grpcCompression?: 'none' | 'gzip' | 'deflate';
}
