/**
 * Unary gRPC calls straight on node:http2: one HTTP/2 connection, one stream per call carrying the request's
 * length-prefixed message, framed once at prepare time (and compressed once, with `--grpc-compression-algorithm`),
 * the response read as HTTP/2 DATA chunks and the status from the trailers (the gRPC over HTTP/2 protocol,
 * PROTOCOL-HTTP2.md in grpc/grpc). The load generator's unary ModelInfer goes through here and not through
 * grpc-js, whose call stack (load-balancing and subchannel calls, filters, a copy of every message to frame
 * it, a promise for call credentials, its stream decoder) cost 0.43 ms of client CPU per 110 KB request
 * against 0.15 ms here (docs/benchmarks.md, 2026-12-04, "gRPC client on node:http2"). grpc-js keeps the
 * streaming calls and the server API.
 *
 * The connection advertises wide receive windows (a large response is not throttled by Node's 65,535-byte
 * defaults), reconnects on the next call after the server closes it (GOAWAY, idle timeout, error), and maps
 * failures as grpc-js does: HTTP statuses and RST_STREAM codes to gRPC codes, an unreachable server to
 * UNAVAILABLE, a deadline (`grpc-timeout`, enforced here too) to "timeout".
 */
import http2 from 'node:http2';
import { gunzipSync, inflateSync } from 'node:zlib';
import type { Clock, TimerHandle } from '../protocol/clock.ts';
import { GrpcCode } from '../protocol/status.ts';
import { msToNs } from '../protocol/units.ts';
import type { InferOutcome } from './client.ts';
import { ownedCopy } from './kept-response.ts';

/** Receive windows the client advertises (stream and connection): responses up to a few MB in one go. */
export const CLIENT_WINDOW_BYTES = 16 * 1024 * 1024;

/** Where and how to connect. */
export interface Http2Target {
  /** `http://host:port` or `https://host:port`. */
  origin: string;
  /** TLS options of http2.connect (ca, cert, key, rejectUnauthorized, checkServerIdentity). */
  tls?: http2.SecureClientSessionOptions;
}

/** A request ready to send: its framed message and the headers of every call (without a deadline). */
export interface FramedRequest {
  readonly framed: Buffer;
  readonly headers: http2.OutgoingHttpHeaders;
}

/** `-H` metadata plus what gRPC needs; `encoding` is the request's compression ('identity' when none). */
export function unaryHeaders(
  path: string,
  metadata: http2.OutgoingHttpHeaders,
  encoding: 'identity' | 'gzip' | 'deflate',
): http2.OutgoingHttpHeaders {
  // The call's own headers win over `-H` metadata of the same name, and the two that are set per request (or
  // not at all) are never taken from it: a stray `grpc-encoding` would make the server inflate a plain message.
  const { 'grpc-encoding': _encoding, 'grpc-timeout': _timeout, ...user } = metadata;
  return {
    ...user,
    ':method': 'POST',
    ':path': path,
    'content-type': 'application/grpc',
    te: 'trailers',
    // Responses are read uncompressed (a server must not use an encoding the client did not accept).
    'grpc-accept-encoding': 'identity',
    ...(encoding === 'identity' ? {} : { 'grpc-encoding': encoding }),
    'user-agent': 'inferbench (node:http2)',
  };
}

/** The 5-byte gRPC message prefix (compressed flag, big-endian length) followed by the message. */
export function frameMessage(message: Uint8Array, compressed: boolean): Buffer {
  const framed = Buffer.allocUnsafe(5 + message.byteLength);
  framed[0] = compressed ? 1 : 0;
  framed.writeUInt32BE(message.byteLength, 1);
  framed.set(message, 5);
  return framed;
}

/** gRPC code of a response whose HTTP status is not 200 (grpc/grpc doc/http-grpc-status-mapping.md). */
export function grpcCodeOfHttpStatus(httpStatus: number): number {
  switch (httpStatus) {
    case 400:
      return GrpcCode.INTERNAL;
    case 401:
      return GrpcCode.UNAUTHENTICATED;
    case 403:
      return GrpcCode.PERMISSION_DENIED;
    case 404:
      return GrpcCode.UNIMPLEMENTED;
    case 429:
    case 502:
    case 503:
    case 504:
      return GrpcCode.UNAVAILABLE;
    default:
      return GrpcCode.UNKNOWN;
  }
}

/** gRPC code of a stream reset by the peer without a status (as grpc-js maps it). */
export function grpcCodeOfRstCode(rstCode: number): number {
  const c = http2.constants;
  switch (rstCode) {
    case c.NGHTTP2_REFUSED_STREAM:
      return GrpcCode.UNAVAILABLE;
    case c.NGHTTP2_CANCEL:
      return GrpcCode.CANCELLED;
    case c.NGHTTP2_ENHANCE_YOUR_CALM:
      return GrpcCode.RESOURCE_EXHAUSTED;
    case c.NGHTTP2_INADEQUATE_SECURITY:
      return GrpcCode.PERMISSION_DENIED;
    default:
      return GrpcCode.INTERNAL;
  }
}

/** `grpc-message` is percent-encoded; a malformed one is shown as sent. */
export function decodeGrpcMessage(raw: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    return raw;
  }
}

/** The `grpc-timeout` value of a deadline `ms` from now (at most 8 digits, as the protocol allows). */
export function grpcTimeoutHeader(ms: number): string {
  return ms < 1e8 ? `${Math.ceil(ms)}m` : `${Math.ceil(ms / 1000)}S`;
}

/** How a finished call's outcome is reported (grpcErrorKind of the caller). */
export type ErrorKindOf = (code: number) => string;

/** One call in flight: its stream's event handlers, its timestamps and what the response said so far. */
class UnaryHttp2Call {
  responseStartNs = 0;
  httpStatus = 0;
  status = -1;
  statusMessage = '';
  responseEncoding = '';
  /** The response body, kept only when its bytes are needed (kept responses, compressed messages). */
  chunks: Buffer[] = [];
  receivedBytes = 0;
  /** Bytes of the 5-byte message prefix read so far, its compressed flag and its big-endian length. */
  prefixRead = 0;
  compressedFlag = 0;
  messageLength = 0;
  timer: TimerHandle | undefined;
  timedOut = false;
  done = false;
  /** The stream's error event, if any (a connection that failed cancels its pending streams). */
  streamError: (Error & { code?: string; cause?: unknown }) | undefined;

  constructor(
    readonly connection: GrpcHttp2Connection,
    readonly stream: http2.ClientHttp2Stream,
    readonly sendStartNs: number,
    readonly keep: boolean,
    readonly resolve: (outcome: InferOutcome) => void,
  ) {}

  readHead(headers: http2.IncomingHttpHeaders): void {
    this.responseStartNs = this.connection.clock.nowNs();
    this.httpStatus = Number(headers[':status'] ?? 0);
    this.responseEncoding = String(headers['grpc-encoding'] ?? '');
    this.readStatus(headers); // a trailers-only response carries its status here
  }

  /**
   * A DATA chunk: the prefix is read as it arrives and the size counted; the bytes are kept only when the
   * outcome needs them, so a large response costs no copy and no memory past its chunks.
   */
  readData(chunk: Buffer): void {
    for (let i = 0; this.prefixRead < 5 && i < chunk.byteLength; i++, this.prefixRead++) {
      const byte = chunk[i] as number;
      if (this.prefixRead === 0) this.compressedFlag = byte;
      else this.messageLength = this.messageLength * 256 + byte;
    }
    this.receivedBytes += chunk.byteLength;
    if (this.keep || this.compressedFlag !== 0) this.chunks.push(chunk);
  }

  readStatus(headers: http2.IncomingHttpHeaders): void {
    const status = headers['grpc-status'];
    if (status === undefined) return;
    const code = Number(status);
    const message = headers['grpc-message'];
    if (!Number.isInteger(code) || code < 0) {
      this.status = GrpcCode.UNKNOWN;
      this.statusMessage = `the server sent an invalid grpc-status '${String(status)}'`;
      return;
    }
    this.status = code;
    if (typeof message === 'string') this.statusMessage = decodeGrpcMessage(message);
  }

  /** The stream is closed: one outcome from what arrived. */
  finish(): void {
    if (this.done) return;
    this.done = true;
    this.timer?.cancel();
    const { connection, sendStartNs } = this;
    const endNs = connection.clock.nowNs();
    const responseStartNs = this.responseStartNs || endNs;
    const failed = (code: number, message: string): InferOutcome => ({
      ok: false,
      errorKind: connection.errorKindOf(code),
      errorMessage: message,
      sendStartNs,
      sendEndNs: sendStartNs,
      responseStartNs,
      endNs,
      responseBytes: this.receivedBytes,
    });
    if (this.timedOut) {
      this.resolve({ ...failed(GrpcCode.DEADLINE_EXCEEDED, 'Deadline exceeded'), errorKind: 'timeout' });
      return;
    }
    if (this.status < 0) {
      this.resolve(this.withoutStatus(failed));
      return;
    }
    if (this.status !== GrpcCode.OK) {
      this.resolve(
        failed(this.status, this.statusMessage || `${this.status} ${connection.statusName(this.status)}`),
      );
      return;
    }
    if (this.receivedBytes === 0) {
      this.resolve(failed(GrpcCode.UNIMPLEMENTED, 'No message received'));
      return;
    }
    const message = this.message();
    if (typeof message === 'string') {
      this.resolve(failed(GrpcCode.INTERNAL, message));
      return;
    }
    const outcome: InferOutcome = {
      ok: true,
      sendStartNs,
      sendEndNs: sendStartNs,
      responseStartNs,
      endNs,
      responseBytes: message === undefined ? this.messageLength : message.byteLength,
    };
    if (this.keep && message) outcome.response = { encoding: 'grpc', bytes: ownedCopy(message) };
    this.resolve(outcome);
  }

  /** A stream that ended without a gRPC status: the HTTP status, the reset code or the connection's error. */
  private withoutStatus(failed: (code: number, message: string) => InferOutcome): InferOutcome {
    if (this.httpStatus !== 0 && this.httpStatus !== 200) {
      return failed(grpcCodeOfHttpStatus(this.httpStatus), `Received HTTP status code ${this.httpStatus}`);
    }
    // No response head and a connection that failed (refused, reset, TLS): the server is unavailable.
    const cause = this.streamError?.cause;
    const connectionError =
      cause instanceof Error
        ? cause
        : (this.connection.lastError ??
          (this.streamError?.code === 'ERR_HTTP2_STREAM_CANCEL' ? this.streamError : undefined));
    if (this.httpStatus === 0 && connectionError) {
      return failed(GrpcCode.UNAVAILABLE, `No connection established: ${connectionError.message}`);
    }
    const rst = this.stream.rstCode ?? http2.constants.NGHTTP2_NO_ERROR;
    if (rst !== http2.constants.NGHTTP2_NO_ERROR) {
      return failed(grpcCodeOfRstCode(rst), `Received RST_STREAM with code ${rst}`);
    }
    return failed(GrpcCode.UNKNOWN, 'the server ended the call without a gRPC status');
  }

  /**
   * The one response message of a non-empty body: its bytes (decompressed if the server compressed it) when
   * they were kept, undefined when only its size is needed (`messageLength`), or why it is malformed.
   */
  private message(): Uint8Array | undefined | string {
    const expected = 5 + this.messageLength;
    if (this.prefixRead < 5 || this.receivedBytes < expected) return 'a truncated gRPC message';
    if (this.receivedBytes > expected) return 'more than one message in a unary response';
    if (this.chunks.length === 0) return undefined;
    const body =
      this.chunks.length === 1 ? (this.chunks[0] as Buffer) : Buffer.concat(this.chunks, this.receivedBytes);
    const message = body.subarray(5);
    if (this.compressedFlag === 0) return message;
    try {
      if (this.responseEncoding === 'gzip') return gunzipSync(message);
      if (this.responseEncoding === 'deflate') return inflateSync(message);
    } catch (e) {
      return `the response does not decompress: ${(e as Error).message}`;
    }
    return `a compressed response with grpc-encoding '${this.responseEncoding}'`;
  }
}

/** One HTTP/2 connection to the server, opened on the first call and again after the server closes it. */
export class GrpcHttp2Connection {
  private session: http2.ClientHttp2Session | undefined;
  /** The error that closed the last session (an unreachable server's ECONNREFUSED). */
  lastError: Error | undefined;

  constructor(
    private readonly target: Http2Target,
    readonly clock: Clock,
    readonly errorKindOf: ErrorKindOf,
    readonly statusName: (code: number) => string,
  ) {}

  private open(): http2.ClientHttp2Session {
    const current = this.session;
    if (current && !current.closed && !current.destroyed) return current;
    const session = http2.connect(this.target.origin, {
      ...this.target.tls,
      settings: { initialWindowSize: CLIENT_WINDOW_BYTES },
    });
    this.lastError = undefined;
    session.on('connect', () => session.setLocalWindowSize(CLIENT_WINDOW_BYTES));
    session.on('error', (e: Error) => {
      this.lastError = e;
    });
    const forget = (): void => {
      if (this.session === session) this.session = undefined;
    };
    session.on('goaway', forget);
    session.on('close', forget);
    this.session = session;
    return session;
  }

  /** Sends one unary call; resolves (never rejects) with its outcome. */
  call(request: FramedRequest, timeoutMs: number, keep: boolean): Promise<InferOutcome> {
    return new Promise((resolve) => {
      const sendStartNs = this.clock.nowNs();
      const headers =
        timeoutMs > 0
          ? { ...request.headers, 'grpc-timeout': grpcTimeoutHeader(timeoutMs) }
          : request.headers;
      let stream: http2.ClientHttp2Stream;
      try {
        stream = this.open().request(headers);
      } catch (e) {
        // A session that can open no more streams (stream ids exhausted, closing): the next call reconnects.
        this.session?.close();
        this.session = undefined;
        const now = this.clock.nowNs();
        resolve({
          ok: false,
          errorKind: this.errorKindOf(GrpcCode.UNAVAILABLE),
          errorMessage: (e as Error).message,
          sendStartNs,
          sendEndNs: sendStartNs,
          responseStartNs: now,
          endNs: now,
          responseBytes: 0,
        });
        return;
      }
      const call = new UnaryHttp2Call(this, stream, sendStartNs, keep, resolve);
      stream.on('response', (h) => call.readHead(h));
      stream.on('data', (chunk: Buffer) => call.readData(chunk));
      stream.on('trailers', (h) => call.readStatus(h));
      // The outcome comes from 'close' (reset code, connection error).
      stream.on('error', (e: Error) => {
        call.streamError = e;
      });
      stream.on('close', () => call.finish());
      if (timeoutMs > 0) {
        call.timer = this.clock.setTimer(() => {
          call.timedOut = true;
          stream.close(http2.constants.NGHTTP2_CANCEL);
        }, msToNs(timeoutMs));
      }
      stream.end(request.framed);
    });
  }

  close(): void {
    this.session?.destroy();
    this.session = undefined;
  }
}
