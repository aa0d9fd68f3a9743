/**
 * The KServe-v2 HTTP/REST front of the reference server (reference §1): Triton's route table, status
 * codes and error bodies, JSON and binary-extension inference, request decompression and response
 * compression. Plain node:http with keep-alive: the routes are few and fixed, and a framework would only
 * add copies between the socket and the codec. Every rule about models lives in the InferenceCore.
 */

import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import type { Clock } from '../../../src/protocol/clock.ts';
import {
  isJsonObject,
  JsonSyntaxError,
  type JsonValue,
  type JsonWritable,
  parseExactJson,
  stringifyExactJson,
} from '../../../src/protocol/exact-json.ts';
import {
  binaryOutputSelector,
  DEFAULT_MAX_INPUT_BYTES,
  decodeHttpInferRequest,
  decodeRawHttpInferRequest,
  encodeHttpInferResponse,
  INFERENCE_HEADER,
  parseInferenceHeaderLength,
} from '../../../src/protocol/http-infer-codec.ts';
import { modelConfigToJson } from '../../../src/protocol/model-config-json.ts';
import { InferenceError } from '../../../src/protocol/status.ts';
import type { InferenceCore, ModelIndexEntry } from '../core/api.ts';
import { RequestAbort } from '../core/request-abort.ts';
import { markRequestOwned } from '../core/request-buffers.ts';
import type { StageStamps, StageTraceRecorder } from '../stats/stage-trace.ts';
import { asInferenceError, toInferRequest } from './infer-request-mapping.ts';
import { jsonSizeError, type TransportLimits, transportLimits } from './transport-limits.ts';

const unzip = promisify(zlib.unzip);
const gzip = promisify(zlib.gzip);
const deflate = promisify(zlib.deflate);

export interface HttpServerOptions {
  core: InferenceCore;
  host: string;
  /** 0 = any free port. */
  port: number;
  clock: Clock;
  /** Largest request body (after decompression), bytes; Triton's --http-max-input-size, 64 MiB. */
  maxInputBytes?: number;
  /** The other bounds (JSON size, timeouts, connections); `maxInputBytes` wins over its httpMaxInputBytes. */
  limits?: Partial<TransportLimits>;
  /** When given, every inference request is stage-stamped and recorded here (benchmarks). */
  stageTrace?: StageTraceRecorder;
  /** False: listen on no port; connections arrive through `inject` (ingress threads). Default true. */
  listen?: boolean;
}

export interface HttpServerHandle {
  port: number;
  /** Serves a connection accepted elsewhere (an ingress thread's sockets come from the main thread). */
  inject(socket: Socket): void;
  /** graceful: stop accepting connections and wait for in-flight requests; otherwise drop every connection. */
  close(graceful: boolean): Promise<void>;
  activeConnections(): number;
}

/** A finished response: status, headers and body chunks (written in order, never concatenated). */
interface Reply {
  status: number;
  headers: Record<string, string | number>;
  chunks: Uint8Array[];
}

function jsonReply(status: number, value: JsonWritable): Reply {
  return {
    status,
    headers: { 'Content-Type': 'application/json' },
    chunks: [Buffer.from(stringifyExactJson(value))],
  };
}

function emptyReply(status: number): Reply {
  return { status, headers: {}, chunks: [] };
}

function errorReply(e: unknown): Reply {
  const err = asInferenceError(e);
  return jsonReply(err.httpStatus, { error: err.message });
}

const NOT_FOUND: Reply = jsonReply(404, { error: 'Not Found' });
const METHOD_NOT_ALLOWED: Reply = jsonReply(405, { error: 'Method Not Allowed' });

type Handler = (ctx: RouteContext) => Promise<Reply> | Reply;

interface RouteContext {
  req: http.IncomingMessage;
  res: http.ServerResponse;
  /** Path parameters: model name, version ('' when absent), repository name. */
  params: { model: string; version: string; repository: string };
  body(): Promise<Buffer>;
  /** Stage stamps of this request when the server traces stages. */
  stamps: StageStamps | undefined;
}

interface Route {
  pattern: RegExp;
  method: 'GET' | 'POST';
  handler: Handler;
}

function statusOnly(ok: boolean): Reply {
  return emptyReply(ok ? 200 : 400);
}

function parseOptionalJsonBody(body: Buffer, maxJsonBytes: number): JsonValue | undefined {
  if (body.byteLength === 0) return undefined;
  if (body.byteLength > maxJsonBytes) throw jsonSizeError(body.byteLength, maxJsonBytes);
  try {
    return parseExactJson(body.toString('utf8'));
  } catch (e) {
    if (e instanceof JsonSyntaxError) {
      throw new InferenceError(
        'INVALID_ARG',
        `failed to parse the request JSON buffer: ${e.reason} at ${e.offset}`,
      );
    }
    throw e;
  }
}

function indexEntryJson(e: ModelIndexEntry): JsonWritable {
  return {
    name: e.name,
    version: e.version,
    state: e.state,
    reason: e.reason === undefined || e.reason === '' ? undefined : e.reason,
  };
}

function parametersOf(json: JsonValue | undefined): Record<string, JsonValue> {
  if (json === undefined) return {};
  if (!isJsonObject(json)) throw new InferenceError('INVALID_ARG', 'the request body must be a JSON object');
  const params = json.parameters;
  if (params === undefined) return {};
  if (!isJsonObject(params))
    throw new InferenceError('INVALID_ARG', "Unable to parse 'parameters': expected an object");
  return params;
}

/** Picks gzip/deflate/identity from Accept-Encoding q-values (Triton: highest weight wins, default identity). */
export function chooseResponseEncoding(acceptEncoding: string | undefined): 'gzip' | 'deflate' | undefined {
  if (!acceptEncoding) return undefined;
  let best: { enc: 'gzip' | 'deflate' | 'identity'; q: number } = { enc: 'identity', q: 0 };
  for (const part of acceptEncoding.split(',')) {
    const [rawName, ...opts] = part.trim().split(';');
    const name = (rawName ?? '').trim().toLowerCase();
    if (name !== 'gzip' && name !== 'deflate' && name !== 'identity') continue;
    let q = 1;
    for (const o of opts) {
      const m = /^\s*q\s*=\s*([0-9.]+)\s*$/.exec(o);
      if (m) q = Number(m[1]);
    }
    if (q > best.q) best = { enc: name, q };
  }
  return best.enc === 'identity' ? undefined : best.enc;
}

function buildRoutes(
  core: InferenceCore,
  clock: Clock,
  maxInputBytes: number,
  maxJsonBytes: number,
): Route[] {
  const model = '/v2/models/([^/]+)(?:/versions/([0-9]+))?';
  const infer: Handler = async ({ req, res, params, body, stamps }) => {
    // All-JSON body (no binary part) declared over the JSON limit: refused before a byte of it is read.
    const declared = Number(req.headers['content-length'] ?? Number.NaN);
    if (
      declared > maxJsonBytes &&
      req.headers[INFERENCE_HEADER_LOWER] === undefined &&
      !req.headers['content-encoding']
    ) {
      throw jsonSizeError(declared, maxJsonBytes);
    }
    const raw = await body();
    stamps?.mark('bodyRead', clock.nowNs());
    const headerLength = parseInferenceHeaderLength(
      req.headers[INFERENCE_HEADER.toLowerCase()] as string | undefined,
      raw.byteLength,
    );
    const jsonBytes = headerLength ?? raw.byteLength;
    if (jsonBytes > maxJsonBytes) throw jsonSizeError(jsonBytes, maxJsonBytes);
    const wire =
      headerLength === 0
        ? decodeRawHttpInferRequest(raw, params.model, core.modelConfig(params.model, params.version))
        : decodeHttpInferRequest(raw, headerLength, params.model, { maxInputBytes });
    const abort = new RequestAbort();
    const onClose = (): void => {
      if (!res.writableFinished) abort.abort();
    };
    res.once('close', onClose);
    const request = toInferRequest(wire, {
      modelName: params.model,
      modelVersion: params.version,
      receivedNs: clock.nowNs(),
      abort,
    });
    if (stamps) {
      stamps.mark('decoded', request.receivedNs);
      request.stamps = stamps;
    }
    const response = await core.infer(request);
    stamps?.mark('responseReady', clock.nowNs());
    const encoded = encodeHttpInferResponse(
      response,
      binaryOutputSelector(request.outputs, request.binaryDataOutput),
    );
    stamps?.mark('encoded', clock.nowNs());
    const headers: Record<string, string | number> = { 'Content-Type': encoded.contentType };
    if (encoded.headerLength !== undefined) headers[INFERENCE_HEADER] = encoded.headerLength;
    return { status: 200, headers, chunks: encoded.chunks };
  };
  return [
    {
      pattern: /^\/v2\/health\/live$/,
      method: 'GET',
      handler: () =>
        core.isExiting() ? jsonReply(503, { error: 'Server exiting' }) : statusOnly(core.isLive()),
    },
    {
      pattern: /^\/v2\/health\/ready$/,
      method: 'GET',
      handler: () =>
        core.isExiting() ? jsonReply(503, { error: 'Server exiting' }) : statusOnly(core.isReady()),
    },
    {
      pattern: /^\/v2$/,
      method: 'GET',
      handler: () => {
        const m = core.serverMetadata();
        return jsonReply(200, { name: m.name, version: m.version, extensions: m.extensions });
      },
    },
    {
      pattern: /^\/v2\/models\/stats$/,
      method: 'GET',
      handler: () => jsonReply(200, { model_stats: core.modelStatistics('', '') as unknown as JsonWritable }),
    },
    {
      pattern: new RegExp(`^${model}$`),
      method: 'GET',
      handler: ({ params }) => {
        const m = core.modelMetadata(params.model, params.version);
        return jsonReply(200, {
          name: m.name,
          versions: m.versions,
          platform: m.platform,
          inputs: m.inputs.map((t) => ({ name: t.name, datatype: t.datatype, shape: t.shape })),
          outputs: m.outputs.map((t) => ({ name: t.name, datatype: t.datatype, shape: t.shape })),
        });
      },
    },
    {
      pattern: new RegExp(`^${model}/ready$`),
      method: 'GET',
      handler: ({ params }) =>
        core.modelReady(params.model, params.version)
          ? emptyReply(200)
          : jsonReply(400, { error: 'Model version not ready' }),
    },
    {
      pattern: new RegExp(`^${model}/config$`),
      method: 'GET',
      handler: ({ params }) =>
        jsonReply(200, modelConfigToJson(core.modelConfig(params.model, params.version))),
    },
    {
      pattern: new RegExp(`^${model}/stats$`),
      method: 'GET',
      handler: ({ params }) =>
        jsonReply(200, {
          model_stats: core.modelStatistics(params.model, params.version) as unknown as JsonWritable,
        }),
    },
    { pattern: new RegExp(`^${model}/infer$`), method: 'POST', handler: infer },
    {
      pattern: /^\/v2\/repository(?:\/([^/]+))?\/index$/,
      method: 'POST',
      handler: async ({ body }) => {
        const json = parseOptionalJsonBody(await body(), maxJsonBytes);
        let readyOnly = false;
        if (json !== undefined) {
          if (!isJsonObject(json))
            throw new InferenceError('INVALID_ARG', 'the request body must be a JSON object');
          if (json.ready !== undefined) {
            if (typeof json.ready !== 'boolean') {
              throw new InferenceError('INVALID_ARG', "Invalid value for 'ready': expected a boolean");
            }
            readyOnly = json.ready;
          }
        }
        return jsonReply(200, core.repositoryIndex(readyOnly).map(indexEntryJson));
      },
    },
    {
      pattern: /^\/v2\/repository\/[^/]+\/models\/[^/]+\/(?:load|unload)$/,
      method: 'POST',
      handler: () =>
        errorReply(new InferenceError('UNSUPPORTED', "'repository_name' specification is not supported")),
    },
    {
      pattern: /^\/v2\/repository\/models\/([^/]+)\/load$/,
      method: 'POST',
      handler: async ({ params, body }) => {
        const parameters = parametersOf(parseOptionalJsonBody(await body(), maxJsonBytes));
        let configJson: string | undefined;
        for (const [key, v] of Object.entries(parameters)) {
          if (key === 'config') {
            if (typeof v !== 'string') {
              throw new InferenceError(
                'INVALID_ARG',
                "Unable to parse 'config': attempt to access JSON non-string as string",
              );
            }
            configJson = v;
          } else if (key.startsWith('file:')) {
            throw new InferenceError(
              'UNSUPPORTED',
              `model file override '${key}' is not supported by this server`,
            );
          }
        }
        await core.loadModel(params.model, configJson === undefined ? undefined : { configJson });
        return emptyReply(200);
      },
    },
    {
      pattern: /^\/v2\/repository\/models\/([^/]+)\/unload$/,
      method: 'POST',
      handler: async ({ params, body }) => {
        const parameters = parametersOf(parseOptionalJsonBody(await body(), maxJsonBytes));
        const dependents = parameters.unload_dependents;
        if (dependents !== undefined && typeof dependents !== 'boolean') {
          throw new InferenceError(
            'INVALID_ARG',
            "Unable to parse 'unload_dependents': attempt to access JSON non-boolean as boolean",
          );
        }
        await core.unloadModel(params.model, { unloadDependents: dependents === true });
        return emptyReply(200);
      },
    },
  ];
}

function sizeError(bytes: number, maxInputBytes: number): InferenceError {
  return new InferenceError(
    'INVALID_ARG',
    `request JSON size of ${bytes} bytes exceeds the maximum allowed input size of ${maxInputBytes} bytes. Use --http-max-input-size to increase the limit.`,
  );
}

/**
 * The body's chunks, read with plain stream events (an async iterator costs several promises per request).
 * Past `limitBytes` it fails with the size error and drops the request, as the iterator did.
 */
function collectChunks(
  req: http.IncomingMessage,
  limitBytes: number | undefined,
): Promise<{ chunks: Buffer[]; total: number }> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let total = 0;
    if (req.readableEnded) {
      resolve({ chunks, total });
      return;
    }
    const finish = (error?: Error): void => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', finish);
      req.off('close', onClose);
      if (error) reject(error);
      else resolve({ chunks, total });
    };
    const onData = (chunk: Buffer): void => {
      total += chunk.byteLength;
      if (limitBytes !== undefined && total > limitBytes) {
        finish(sizeError(total, limitBytes));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = (): void => finish();
    const onClose = (): void => finish(new Error('the request was closed before its body ended'));
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', finish);
    req.on('close', onClose);
  });
}

/** Node lower-cases request header names. */
const INFERENCE_HEADER_LOWER = INFERENCE_HEADER.toLowerCase();

/** Reads (and decompresses) a request body within the size limit. */
async function readBody(req: http.IncomingMessage, maxInputBytes: number): Promise<Buffer> {
  const encoding = (req.headers['content-encoding'] ?? 'identity').trim().toLowerCase();
  if (encoding !== 'identity' && encoding !== 'gzip' && encoding !== 'deflate') {
    throw new InferenceError('UNSUPPORTED', 'Unsupported compression type');
  }
  const declared = Number(req.headers['content-length'] ?? Number.NaN);
  if (encoding === 'identity' && declared > maxInputBytes) throw sizeError(declared, maxInputBytes);
  // A compressed body is bounded too (it can only be smaller than what it inflates to, which is bounded below).
  const { chunks, total } = await collectChunks(req, maxInputBytes);
  if (encoding === 'identity' && req.headers[INFERENCE_HEADER_LOWER] !== undefined) {
    // Tensor bytes in the body (binary extension or raw): one exclusive buffer (never Node's shared pool,
    // never the socket's read buffer, which also holds the headers and maybe the next request), so a model
    // instance may take it whole without copying the tensors. JSON bodies skip this copy.
    const body = Buffer.allocUnsafeSlow(total);
    let offset = 0;
    for (const c of chunks) {
      body.set(c, offset);
      offset += c.byteLength;
    }
    markRequestOwned(body.buffer);
    return body;
  }
  const raw = chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, total);
  if (encoding === 'identity') return raw;
  try {
    return await unzip(raw, { maxOutputLength: maxInputBytes });
  } catch (e) {
    if ((e as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE')
      throw sizeError(maxInputBytes + 1, maxInputBytes);
    throw new InferenceError('INVALID_ARG', `failed to decompress the request body: ${(e as Error).message}`);
  }
}

async function sendReply(
  req: http.IncomingMessage,
  res: http.ServerResponse,
  reply: Reply,
  closing: boolean,
): Promise<void> {
  if (res.destroyed) return;
  let chunks = reply.chunks;
  const headers = { ...reply.headers };
  const encoding =
    reply.chunks.length > 0 ? chooseResponseEncoding(req.headers['accept-encoding']) : undefined;
  if (encoding !== undefined) {
    const plain = Buffer.concat(chunks);
    chunks = [encoding === 'gzip' ? await gzip(plain) : await deflate(plain)];
    headers['Content-Encoding'] = encoding;
  }
  let length = 0;
  for (const c of chunks) length += c.byteLength;
  headers['Content-Length'] = length;
  if (closing) headers.Connection = 'close';
  res.writeHead(reply.status, headers);
  res.cork();
  for (const c of chunks) res.write(c);
  res.uncork();
  res.end();
}

/** Starts the HTTP server; resolves once it listens. */
export async function startHttpServer(options: HttpServerOptions): Promise<HttpServerHandle> {
  const { core, clock } = options;
  const limits = transportLimits({
    ...options.limits,
    httpMaxInputBytes: options.maxInputBytes ?? options.limits?.httpMaxInputBytes ?? DEFAULT_MAX_INPUT_BYTES,
  });
  const maxInputBytes = limits.httpMaxInputBytes;
  const routes = buildRoutes(core, clock, maxInputBytes, limits.httpMaxJsonBytes);
  const sockets = new Set<Socket>();
  let inFlight = 0;
  let closing = false;
  let drained: (() => void) | undefined;

  const stageTrace = options.stageTrace;
  const handle = async (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> => {
    const stamps = stageTrace?.begin(clock.nowNs());
    const path = (req.url ?? '/').split('?', 1)[0] as string;
    let reply: Reply = NOT_FOUND;
    let bodyRead = false;
    try {
      let matchedPath = false;
      for (const route of routes) {
        const m = route.pattern.exec(path);
        if (!m) continue;
        matchedPath = true;
        if (req.method !== route.method) continue;
        const params = {
          model: m[1] === undefined ? '' : decodeURIComponent(m[1]),
          version: m[2] ?? '',
          repository: '',
        };
        reply = await route.handler({
          req,
          res,
          params,
          stamps,
          body: () => {
            bodyRead = true;
            return readBody(req, maxInputBytes);
          },
        });
        matchedPath = false;
        break;
      }
      if (matchedPath) reply = METHOD_NOT_ALLOWED;
    } catch (e) {
      reply = e instanceof URIError ? NOT_FOUND : errorReply(e);
      if (reply.status === 501 && (e as InferenceError).message === 'Unsupported compression type') {
        reply.headers['Accept-Encoding'] = 'gzip, deflate';
      }
    }
    // A body left unread (error before reading it) must not be parsed as the next request: close then.
    const mustClose = closing || (!bodyRead && !req.complete);
    await sendReply(req, res, reply, mustClose);
    if (stamps && reply.status === 200 && !Number.isNaN(stamps.get('completed'))) {
      stamps.mark('written', clock.nowNs());
      stageTrace?.record(stamps);
    }
  };

  const server = http.createServer(
    {
      keepAlive: true,
      // Partial headers or bodies are not held forever (408 and close); Node checks every interval.
      requestTimeout: limits.requestTimeoutMs,
      headersTimeout: Math.min(limits.headersTimeoutMs, limits.requestTimeoutMs),
      connectionsCheckingInterval: Math.max(100, Math.min(30_000, Math.floor(limits.headersTimeoutMs / 4))),
    },
    (req, res) => {
      inFlight++;
      handle(req, res)
        .catch((e: unknown) => {
          if (!res.headersSent) res.writeHead(500, { 'Content-Type': 'application/json' });
          res.end(stringifyExactJson({ error: e instanceof Error ? e.message : String(e) }));
        })
        .finally(() => {
          inFlight--;
          if (inFlight === 0 && drained) drained();
        });
    },
  );
  server.keepAliveTimeout = limits.idleTimeoutMs;
  server.on('connection', (socket: Socket) => {
    // Over the connection limit: closed at once, before a byte is read (the client sees a reset).
    if (sockets.size >= limits.maxConnections) {
      socket.destroy();
      return;
    }
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });

  if (options.listen !== false) {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port, options.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } else {
    // Node starts its connection tracking (idle-connection close, header timeouts) on 'listening'.
    server.emit('listening');
  }

  return {
    port: options.listen !== false ? (server.address() as AddressInfo).port : 0,
    inject: (socket: Socket) => {
      if (closing) {
        socket.destroy();
        return;
      }
      server.emit('connection', socket);
    },
    activeConnections: () => sockets.size,
    close: async (graceful: boolean) => {
      closing = true;
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      if (graceful) {
        if (inFlight > 0) await new Promise<void>((resolve) => (drained = resolve));
        server.closeIdleConnections();
      } else {
        server.closeAllConnections();
      }
      await closed;
      // The server reports closed before the sockets' own 'close' events: wait for them too.
      await Promise.all([...sockets].map((s) => new Promise((resolve) => s.once('close', resolve))));
    },
  };
}
