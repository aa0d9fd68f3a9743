/**
 * HTTP InferClient over an undici Pool: `connections` keep-alive sockets with pipelining 1 (perf_analyzer's
 * one-request-per-connection semantics), bodies pre-encoded by `prepare`, every response body drained so
 * the socket is released. Failures resolve as outcomes, never as rejections.
 *
 * Timestamps: sendStartNs just before `pool.request`; responseStartNs when `request()` resolves (status and
 * headers received); endNs after the body is fully read. undici's `request()` exposes no "request written"
 * hook, so sendEndNs = sendStartNs (the send of a pre-encoded body is one socket write, so the error is small).
 * `timeoutMs` bounds the wait for the headers and, separately, each gap while reading the body
 * (undici's headersTimeout/bodyTimeout): a request that hits either is an outcome of kind "timeout".
 */
import { Pool } from 'undici';
import { OptionError } from '../errors.ts';
import { encodeHttpInferRequest, INFERENCE_HEADER } from '../protocol/http-infer-codec.ts';
import type { ClientOptions, InferClient, InferOutcome, PreparedRequest, RequestSpec } from './client.ts';
import { type HttpTarget, httpTarget } from './server-url.ts';
import { loadTlsMaterial } from './tls-files.ts';

interface HttpPrepared extends PreparedRequest {
  readonly path: string;
  readonly body: Uint8Array;
  readonly headers: Record<string, string>;
}

/** The undici Pool both the infer client and the server API client use. */
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

/** Error kind of a thrown undici/socket error: "timeout" or "transport:<code>". */
export function httpErrorKind(err: unknown): string {
  const code = (err as { code?: string }).code ?? (err as { cause?: { code?: string } }).cause?.code;
  const name = (err as { name?: string }).name;
  if (
    code === 'UND_ERR_HEADERS_TIMEOUT' ||
    code === 'UND_ERR_BODY_TIMEOUT' ||
    code === 'UND_ERR_CONNECT_TIMEOUT' ||
    name === 'TimeoutError'
  ) {
    return 'timeout';
  }
  return `transport:${code ?? name ?? 'unknown'}`;
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

function errorMessageOf(err: unknown): string {
  const e = err as { message?: string; cause?: { message?: string } };
  return e.cause?.message ? `${e.message}: ${e.cause.message}` : (e.message ?? String(err));
}

export function createHttpClient(options: ClientOptions): InferClient {
  const target = httpTarget(options.url, options.tls?.enabled);
  const pool = createHttpPool(options, target);
  const clock = options.clock;

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
      const headers: Record<string, string> = {
        ...options.headers,
        'content-type': headerLength === undefined ? 'application/json' : 'application/octet-stream',
      };
      if (headerLength !== undefined) headers[INFERENCE_HEADER.toLowerCase()] = String(headerLength);
      const prepared: HttpPrepared = {
        spec,
        byteLength: body.byteLength,
        path: modelPath(target.basePath, spec.modelName, spec.modelVersion, '/infer'),
        body,
        headers,
      };
      return prepared;
    },
    async infer(request: PreparedRequest, timeoutMs: number): Promise<InferOutcome> {
      const { path, body, headers } = request as HttpPrepared;
      const sendStartNs = clock.nowNs();
      let responseStartNs = sendStartNs;
      let responseBytes = 0;
      try {
        const timeouts = timeoutMs > 0 ? { headersTimeout: timeoutMs, bodyTimeout: timeoutMs } : {};
        const res = await pool.request({ path, method: 'POST', headers, body, ...timeouts });
        responseStartNs = clock.nowNs();
        if (res.statusCode >= 200 && res.statusCode < 300) {
          for await (const chunk of res.body) responseBytes += (chunk as Buffer).byteLength;
          const endNs = clock.nowNs();
          return { ok: true, sendStartNs, sendEndNs: sendStartNs, responseStartNs, endNs, responseBytes };
        }
        const text = await res.body.text();
        const endNs = clock.nowNs();
        return {
          ok: false,
          errorKind: `http:${res.statusCode}`,
          errorMessage: httpErrorMessage(text, res.statusCode),
          sendStartNs,
          sendEndNs: sendStartNs,
          responseStartNs,
          endNs,
          responseBytes: Buffer.byteLength(text),
        };
      } catch (err) {
        const endNs = clock.nowNs();
        return {
          ok: false,
          errorKind: httpErrorKind(err),
          errorMessage: errorMessageOf(err),
          sendStartNs,
          sendEndNs: sendStartNs,
          responseStartNs: responseStartNs === sendStartNs ? endNs : responseStartNs,
          endNs,
          responseBytes,
        };
      }
    },
    /** Closes the sockets at once; a request still in flight resolves as a transport error (never hangs). */
    async close(): Promise<void> {
      await pool.destroy();
    },
  };
}
