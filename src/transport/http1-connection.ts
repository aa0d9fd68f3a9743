/**
 * One keep-alive HTTP/1.1 connection of the infer client: it writes a fully pre-serialised request (head and
 * body in one buffer, one socket write) and reads its response with Http1ResponseParser, one request at a time
 * (pipelining 1, perf_analyzer's semantics). Replaces undici on the hot path, whose per-request Request
 * validation, body stream and two event-loop hops per reuse cost more than the rest of the client together.
 *
 * It (re)connects lazily: on the first request, and on the next one after the server closed the socket.
 * Never rejects: every exchange ends in exactly one InferOutcome (status, timeout or transport error).
 * Timeouts: `timeoutMs` bounds connect + wait for the response head, then separately each gap while reading
 * the body (undici's headersTimeout / bodyTimeout semantics); a connection without one gets CONNECT_TIMEOUT_MS
 * for its connect alone. A timed-out connection is closed (its late response must not reach the next request).
 *
 * Why not undici (a chosen package, used for the server API): measured against undici's lowest-level API,
 * `Pool.dispatch` with a prebuilt Buffer body, header pairs prepared once and a minimal legacy handler (no
 * Request/Response objects, no body stream), in one `npm run bench:client` run with both clients and autocannon
 * interleaved (bench-results/history/client-identity-undici-dispatch.md, 2026-11-21): undici cost 69.7–94.1 µs
 * of client CPU per request against 47.9–59.7 µs here (+44–58 %; its per-dispatch Request validation, the llhttp
 * callbacks, a stream read path and a keep-alive timer per response), and its rate fell to 0.90 / 0.97 / 0.94 /
 * 0.98 × autocannon at c = 1 / 8 / 64 / 256 (this client: 0.98 / 0.98 / 1.00 / 1.04). The rule for switching
 * (CPU within ~10 %, ≥ 0.97 × autocannon at every concurrency) was not met, so this client stays.
 */

import net from 'node:net';
import tls from 'node:tls';
import type { Clock, TimerHandle } from '../protocol/clock.ts';
import { msToNs } from '../protocol/units.ts';
import type { InferOutcome } from './client.ts';
import { Http1ResponseParser, type ResponseHead } from './http1-response-parser.ts';
import { ownedCopy } from './kept-response.ts';

/** undici's default connect timeout, kept so an unreachable host fails as it did. */
export const CONNECT_TIMEOUT_MS = 10_000;
/** Error bodies (non-2xx) are kept up to this size for the message. */
const MAX_ERROR_BODY_BYTES = 64 * 1024;
/** Node's own read size. */
const READ_BUFFER_BYTES = 64 * 1024;

/**
 * One read buffer for every plain connection of this thread: a read is parsed before the next one can land
 * (the parser copies the little it keeps), so the connections can share it.
 */
let readBuffer: Buffer | undefined;
function sharedReadBuffer(): Buffer {
  readBuffer ??= Buffer.allocUnsafe(READ_BUFFER_BYTES);
  return readBuffer;
}

export interface Http1Endpoint {
  host: string;
  port: number;
  /** TLS options for https; undefined = plain TCP. */
  tls?: tls.ConnectionOptions;
}

/** One request to send: its bytes and what to report back. */
export interface Http1Exchange {
  bytes: Uint8Array;
  timeoutMs: number;
  sendStartNs: number;
  /** Keep a successful response's body in the outcome (`InferOutcome.response`, for the profile export). */
  keep: boolean;
  resolve: (outcome: InferOutcome) => void;
}

interface InFlight {
  exchange: Http1Exchange;
  sendEndNs: number;
  responseStartNs: number;
  statusCode: number;
  keepAlive: boolean;
  responseBytes: number;
  errorBody: Buffer[] | undefined;
  /** Kept body (exchange.keep, 2xx): one buffer of the Content-Length, filled as the body arrives … */
  kept: Uint8Array | undefined;
  /** … or, with no Content-Length, copies of the pieces, joined at the end. */
  keptParts: Uint8Array[] | undefined;
  inferenceHeaderLength: number | undefined;
  timer: TimerHandle | undefined;
}

/** Message of a Triton error body `{"error": "..."}`, or the raw text when it is not one. */
export function httpErrorMessage(text: string, statusCode: number): string {
  try {
    const parsed = JSON.parse(text) as { error?: unknown };
    if (typeof parsed.error === 'string') return parsed.error;
  } catch {
    // not JSON: fall through to the raw text
  }
  return text || `HTTP ${statusCode}`;
}

export class Http1Connection {
  private socket: net.Socket | undefined;
  private connectTimer: TimerHandle | undefined;
  private current: InFlight | undefined;
  private socketError: (Error & { code?: string }) | undefined;
  private closed = false;
  private readonly parser: Http1ResponseParser;

  constructor(
    private readonly endpoint: Http1Endpoint,
    private readonly clock: Clock,
    /** Called when the connection is free for the next request. */
    private readonly onFree: (connection: Http1Connection) => void,
  ) {
    this.parser = new Http1ResponseParser({
      onHead: (head) => this.onHead(head),
      onBody: (chunk) => this.onBody(chunk),
      onComplete: () => this.onComplete(),
    });
  }

  /** Sends one request; the connection must be free. */
  send(exchange: Http1Exchange): void {
    if (this.current) throw new Error('Http1Connection: a request is already in flight');
    if (this.closed) {
      exchange.resolve(this.failure(exchange, 'transport:CLIENT_CLOSED', 'the client was closed', 0));
      return;
    }
    const socket = this.socket ?? this.connect(exchange.timeoutMs);
    const inFlight: InFlight = {
      exchange,
      sendEndNs: exchange.sendStartNs,
      responseStartNs: 0,
      statusCode: 0,
      keepAlive: true,
      responseBytes: 0,
      errorBody: undefined,
      kept: undefined,
      keptParts: undefined,
      inferenceHeaderLength: undefined,
      timer: undefined,
    };
    this.current = inFlight;
    if (exchange.timeoutMs > 0) {
      inFlight.timer = this.clock.setTimer(
        () => this.timeOut(inFlight, `no response head within ${exchange.timeoutMs} ms`),
        msToNs(exchange.timeoutMs),
      );
    }
    this.parser.expectResponse();
    socket.write(exchange.bytes);
    inFlight.sendEndNs = this.clock.nowNs();
  }

  /** Closes the socket now; a request in flight ends as a transport error. */
  destroy(): void {
    this.closed = true;
    this.dropSocket();
    const inFlight = this.current;
    if (inFlight) this.fail(inFlight, 'transport:CLIENT_CLOSED', 'the client was closed');
  }

  private connect(timeoutMs: number): net.Socket {
    const { host, port } = this.endpoint;
    const onData = (data: Buffer): void => {
      if (socket !== this.socket) return;
      try {
        this.parser.execute(data);
      } catch (error) {
        const e = error as Error & { code?: string };
        const inFlight = this.current;
        this.dropSocket();
        if (inFlight) this.fail(inFlight, `transport:${e.code ?? 'HTTP_PARSE'}`, e.message);
      }
    };
    let socket: net.Socket;
    if (this.endpoint.tls) {
      socket = tls.connect({ ...this.endpoint.tls, host, port });
      socket.setNoDelay(true);
      socket.on('data', onData);
    } else {
      // Plain TCP reads straight into the shared buffer, without a stream chunk per read.
      socket = net.connect({
        host,
        port,
        noDelay: true,
        onread: {
          buffer: sharedReadBuffer(),
          callback: (bytes: number, buffer: Uint8Array) => {
            onData(Buffer.from(buffer.buffer, buffer.byteOffset, bytes));
            return true;
          },
        },
      });
    }
    this.socket = socket;
    this.socketError = undefined;
    if (timeoutMs <= 0) {
      this.connectTimer = this.clock.setTimer(() => {
        this.connectTimer = undefined;
        const inFlight = this.current;
        if (inFlight) this.timeOut(inFlight, `connect timeout after ${CONNECT_TIMEOUT_MS} ms`);
        else this.dropSocket();
      }, msToNs(CONNECT_TIMEOUT_MS));
      socket.once(this.endpoint.tls ? 'secureConnect' : 'connect', () => this.cancelConnectTimer());
    }
    socket.on('error', (error: Error & { code?: string }) => {
      if (socket === this.socket) this.socketError = error;
    });
    socket.on('close', () => {
      if (socket !== this.socket) return;
      this.cancelConnectTimer();
      this.socket = undefined;
      const inFlight = this.current;
      if (!inFlight) {
        this.parser.finish();
        return;
      }
      if (this.parser.finish()) return; // a body read until close: the response is complete
      const err = this.socketError;
      this.fail(
        inFlight,
        `transport:${err?.code ?? 'EOF'}`,
        err?.message ?? 'the server closed the connection before the response was complete',
      );
    });
    return socket;
  }

  private cancelConnectTimer(): void {
    this.connectTimer?.cancel();
    this.connectTimer = undefined;
  }

  /** Forgets the socket and closes it (its events are ignored from now on). */
  private dropSocket(): void {
    this.cancelConnectTimer();
    const socket = this.socket;
    this.socket = undefined;
    if (this.parser.active) this.parser.finish();
    socket?.destroy();
  }

  private onHead(head: ResponseHead): void {
    const inFlight = this.current;
    if (!inFlight) return;
    inFlight.responseStartNs = this.clock.nowNs();
    inFlight.statusCode = head.statusCode;
    inFlight.keepAlive = head.keepAlive;
    if (head.statusCode < 200 || head.statusCode >= 300) inFlight.errorBody = [];
    else if (inFlight.exchange.keep) {
      // The read buffer is reused by the next read: the body is copied as it arrives, once.
      const length = this.parser.bodyLength;
      if (length === undefined) inFlight.keptParts = [];
      else inFlight.kept = new Uint8Array(length);
      inFlight.inferenceHeaderLength = head.inferenceHeaderLength;
    }
    this.rearmBodyTimer(inFlight);
  }

  private onBody(chunk: Uint8Array): void {
    const inFlight = this.current;
    if (!inFlight) return;
    if (inFlight.kept) inFlight.kept.set(chunk, inFlight.responseBytes);
    else if (inFlight.keptParts) inFlight.keptParts.push(ownedCopy(chunk));
    inFlight.responseBytes += chunk.byteLength;
    const errorBody = inFlight.errorBody;
    if (errorBody && inFlight.responseBytes <= MAX_ERROR_BODY_BYTES) errorBody.push(Buffer.from(chunk));
    this.rearmBodyTimer(inFlight);
  }

  private rearmBodyTimer(inFlight: InFlight): void {
    if (!inFlight.timer) return;
    inFlight.timer.cancel();
    const { timeoutMs } = inFlight.exchange;
    inFlight.timer = this.clock.setTimer(
      () => this.timeOut(inFlight, `response body stalled for ${timeoutMs} ms`),
      msToNs(timeoutMs),
    );
  }

  private onComplete(): void {
    const inFlight = this.current;
    if (!inFlight) return;
    const endNs = this.clock.nowNs();
    inFlight.timer?.cancel();
    this.current = undefined;
    if (!inFlight.keepAlive) this.dropSocket();
    const { exchange, statusCode } = inFlight;
    const times = {
      sendStartNs: exchange.sendStartNs,
      sendEndNs: inFlight.sendEndNs,
      responseStartNs: inFlight.responseStartNs,
      endNs,
    };
    if (statusCode >= 200 && statusCode < 300) {
      const outcome: InferOutcome = { ok: true, ...times, responseBytes: inFlight.responseBytes };
      const bytes = inFlight.kept ?? (inFlight.keptParts && joined(inFlight.keptParts));
      if (bytes) {
        outcome.response =
          inFlight.inferenceHeaderLength === undefined
            ? { encoding: 'http', bytes }
            : { encoding: 'http', bytes, headerLength: inFlight.inferenceHeaderLength };
      }
      exchange.resolve(outcome);
    } else {
      const text = Buffer.concat(inFlight.errorBody ?? []).toString('utf8');
      exchange.resolve({
        ok: false,
        errorKind: `http:${statusCode}`,
        errorMessage: httpErrorMessage(text, statusCode),
        ...times,
        responseBytes: inFlight.responseBytes,
      });
    }
    this.onFree(this);
  }

  private timeOut(inFlight: InFlight, message: string): void {
    if (this.current !== inFlight) return;
    this.dropSocket();
    this.fail(inFlight, 'timeout', message);
  }

  /** Ends the request in flight with an error and frees the connection (a closed one stays unusable). */
  private fail(inFlight: InFlight, errorKind: string, errorMessage: string): void {
    if (this.current !== inFlight) return;
    inFlight.timer?.cancel();
    this.current = undefined;
    const outcome = this.failure(inFlight.exchange, errorKind, errorMessage, inFlight.responseBytes);
    if (inFlight.responseStartNs > 0) outcome.responseStartNs = inFlight.responseStartNs;
    outcome.sendEndNs = inFlight.sendEndNs;
    inFlight.exchange.resolve(outcome);
    this.onFree(this);
  }

  private failure(
    exchange: Http1Exchange,
    errorKind: string,
    errorMessage: string,
    responseBytes: number,
  ): InferOutcome {
    const endNs = this.clock.nowNs();
    return {
      ok: false,
      errorKind,
      errorMessage,
      sendStartNs: exchange.sendStartNs,
      sendEndNs: exchange.sendStartNs,
      responseStartNs: endNs,
      endNs,
      responseBytes,
    };
  }
}

/** Pieces joined into one buffer of its own. */
function joined(parts: readonly Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0]!;
  let length = 0;
  for (const p of parts) length += p.byteLength;
  const out = new Uint8Array(length);
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.byteLength;
  }
  return out;
}
