/**
 * HTTP InferClient: up to `connections` keep-alive HTTP/1.1 connections (http1-connection.ts) with one
 * request each at a time (pipelining 1, perf_analyzer's one-request-per-connection semantics). `prepare`
 * serialises the whole request once, head and body, so sending is one socket write of ready bytes; a request
 * that finds every connection busy waits in a FIFO queue. Failures resolve as outcomes, never as rejections.
 *
 * Timestamps: sendStartNs when `infer` is called (queueing included); sendEndNs after the socket write was
 * handed to Node; responseStartNs when the response head is parsed; endNs when the body is fully read.
 * `timeoutMs` bounds the wait for the response head and, separately, each gap while reading the body
 * (undici's headersTimeout/bodyTimeout semantics): a request that hits either is an outcome of kind "timeout".
 * Response bodies are read and dropped, unless `keepResponses` is on: then a successful one is copied once
 * into the outcome (for the profile export).
 *
 * The server API (metadata, config, statistics) stays on undici: `createHttpPool` below.
 */
import { isIP } from 'node:net';
import type { ConnectionOptions } from 'node:tls';
import { Pool } from 'undici';
import { OptionError } from '../errors.ts';
import { encodeHttpInferRequest, INFERENCE_HEADER } from '../protocol/http-infer-codec.ts';
import type { ClientOptions, InferClient, InferOutcome, PreparedRequest, RequestSpec } from './client.ts';
import { Http1Connection, type Http1Endpoint, type Http1Exchange } from './http1-connection.ts';
import { type HttpTarget, httpTarget } from './server-url.ts';
import { loadTlsMaterial } from './tls-files.ts';

export { httpErrorMessage } from './http1-connection.ts';

interface HttpPrepared extends PreparedRequest {
  /** The whole request: request line, headers and body. */
  readonly bytes: Uint8Array;
}

/** The undici Pool of the server API client (metadata, config, statistics). */
export function createHttpPool(
  options: ClientOptions,
  target: HttpTarget = httpTarget(options.url, options.tls?.enabled),
): Pool {
  const tls = loadTlsMaterial(target.secure ? { ...options.tls, enabled: true } : undefined);
  return new Pool(target.origin, {
    connections: Math.max(1, options.connections),
    pipelining: 1,
    ...(tls
      ? {
          connect: {
            ca: tls.ca,
            cert: tls.cert,
            key: tls.key,
            rejectUnauthorized: tls.verifyPeer,
            ...(tls.verifyHost ? {} : { checkServerIdentity: () => undefined }),
          },
        }
      : {}),
  });
}

/** Path of the model's infer (or other) route: `/v2/models/<m>[/versions/<v>]<suffix>`. */
export function modelPath(basePath: string, model: string, version: string, suffix: string): string {
  const v = version ? `/versions/${encodeURIComponent(version)}` : '';
  return `${basePath}/v2/models/${encodeURIComponent(model)}${v}${suffix}`;
}

/** RFC 9110 token: what a header name may contain. */
const TOKEN_RE = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** Headers the client frames itself; a user value would corrupt the framing. */
const FRAMING_HEADERS = new Set(['content-length', 'transfer-encoding']);

/** `-H` headers as `name: value\r\n` lines, minus those in `replaced` (lowercase); refuses what cannot be sent. */
export function headerLines(headers: Record<string, string>, replaced: ReadonlySet<string>): string {
  let out = '';
  for (const [name, value] of Object.entries(headers)) {
    const lower = name.toLowerCase();
    if (!TOKEN_RE.test(name)) throw new OptionError(`invalid HTTP header name '${name}'`);
    if (/[\r\n\0]/.test(value)) throw new OptionError(`invalid value for HTTP header '${name}'`);
    if (FRAMING_HEADERS.has(lower))
      throw new OptionError(`the HTTP header '${name}' is set by the client and cannot be given`);
    if (replaced.has(lower)) continue;
    out += `${name}: ${value}\r\n`;
  }
  return out;
}

/** Where to connect for an http(s) target, with the TLS options of `--ssl-https-*`. */
export function http1Endpoint(options: ClientOptions, target: HttpTarget): Http1Endpoint {
  const url = new URL(target.origin);
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const port = Number(url.port || (target.secure ? 443 : 80));
  const material = loadTlsMaterial(target.secure ? { ...options.tls, enabled: true } : undefined);
  if (!material) return { host, port };
  const tls: ConnectionOptions = {
    ca: material.ca,
    cert: material.cert,
    key: material.key,
    rejectUnauthorized: material.verifyPeer,
    ALPNProtocols: ['http/1.1'],
    ...(isIP(host) ? {} : { servername: host }),
    ...(material.verifyHost ? {} : { checkServerIdentity: () => undefined }),
  };
  return { host, port, tls };
}

export function createHttpClient(options: ClientOptions): InferClient {
  const target = httpTarget(options.url, options.tls?.enabled);
  const endpoint = http1Endpoint(options, target);
  const hostHeader = new URL(target.origin).host;
  const clock = options.clock;
  const maxConnections = Math.max(1, options.connections);
  const connections: Http1Connection[] = [];
  /** Free connections, the most recently used last. */
  const idle: Http1Connection[] = [];
  /** Requests waiting for a free connection, FIFO from `waitingHead`. */
  let waiting: Http1Exchange[] = [];
  let waitingHead = 0;
  let closed = false;
  /** keepResponses: successful outcomes carry their body. */
  let keep = false;

  const onFree = (connection: Http1Connection): void => {
    if (closed) return;
    if (waitingHead < waiting.length) {
      const next = waiting[waitingHead++] as Http1Exchange;
      if (waitingHead === waiting.length) {
        waiting = [];
        waitingHead = 0;
      }
      connection.send(next);
    } else {
      idle.push(connection);
    }
  };

  const closedOutcome = (sendStartNs: number): InferOutcome => {
    const endNs = clock.nowNs();
    return {
      ok: false,
      errorKind: 'transport:CLIENT_CLOSED',
      errorMessage: 'the client was closed',
      sendStartNs,
      sendEndNs: sendStartNs,
      responseStartNs: endNs,
      endNs,
      responseBytes: 0,
    };
  };

  return {
    protocol: 'http',
    prepare(spec: RequestSpec): PreparedRequest {
      if (!spec.binaryInputs) {
        const half = spec.inputs.find((t) => t.datatype === 'FP16' || t.datatype === 'BF16');
        if (half) {
          throw new OptionError(
            `input ${half.name} is ${half.datatype}, which JSON cannot carry: use --input-tensor-format binary`,
          );
        }
      }
      const { body, headerLength } = encodeHttpInferRequest(spec);
      const ours: Record<string, string> = {
        'content-type': headerLength === undefined ? 'application/json' : 'application/octet-stream',
      };
      if (headerLength !== undefined) ours[INFERENCE_HEADER.toLowerCase()] = String(headerLength);
      const userHost = Object.keys(options.headers).some((k) => k.toLowerCase() === 'host');
      const path = modelPath(target.basePath, spec.modelName, spec.modelVersion, '/infer');
      const head =
        `POST ${path} HTTP/1.1\r\n` +
        (userHost ? '' : `host: ${hostHeader}\r\n`) +
        headerLines(options.headers, new Set(Object.keys(ours))) +
        headerLines(ours, new Set()) +
        `content-length: ${body.byteLength}\r\n\r\n`;
      const bytes = Buffer.concat([Buffer.from(head, 'latin1'), body]);
      const prepared: HttpPrepared = { spec, byteLength: body.byteLength, bytes };
      return prepared;
    },
    infer(request: PreparedRequest, timeoutMs: number): Promise<InferOutcome> {
      const { bytes } = request as HttpPrepared;
      const sendStartNs = clock.nowNs();
      if (closed) return Promise.resolve(closedOutcome(sendStartNs));
      return new Promise((resolve) => {
        const exchange: Http1Exchange = { bytes, timeoutMs, sendStartNs, keep, resolve };
        let connection = idle.pop();
        if (!connection && connections.length < maxConnections) {
          connection = new Http1Connection(endpoint, clock, onFree);
          connections.push(connection);
        }
        if (connection) connection.send(exchange);
        else waiting.push(exchange);
      });
    },
    keepResponses(on: boolean): void {
      keep = on;
    },
    /** Closes the sockets at once; a request still in flight or waiting resolves as a transport error (never hangs). */
    async close(): Promise<void> {
      closed = true;
      for (const connection of connections) connection.destroy();
      const left = waiting.slice(waitingHead);
      waiting = [];
      waitingHead = 0;
      for (const exchange of left) exchange.resolve(closedOutcome(exchange.sendStartNs));
    },
  };
}
