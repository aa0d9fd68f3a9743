/**
 * Messages between the ingress threads (HTTP/gRPC parsing, validation of the wire format, response encoding)
 * and the main thread (the one InferenceCore: every model's one dynamic-batching queue, statistics, metrics).
 * Tensor bytes cross as whole ArrayBuffers in the transfer list, never copied by the message system: an
 * HTTP body the transport allocated for the request alone moves as it is; any other input is first copied
 * into a buffer of its own on the ingress thread (that copy runs in parallel, off the main thread).
 */

import { InferenceError, type StatusCode } from '../../../src/protocol/status.ts';
import type { Tensor } from '../../../src/protocol/tensor.ts';
import type { InferenceCore } from '../core/api.ts';
import { isRequestOwned } from '../core/request-buffers.ts';
import type { InferRequest, InferResponse } from '../core/types.ts';
import type { MessageGroup } from './coalescing-poster.ts';

/** The InferenceCore methods an ingress thread calls synchronously (it blocks until the main thread answers). */
export const SYNC_METHODS = [
  'isLive',
  'isReady',
  'isExiting',
  'serverMetadata',
  'modelMetadata',
  'modelReady',
  'modelConfig',
  'modelStatistics',
  'repositoryIndex',
] as const satisfies readonly (keyof InferenceCore)[];
export type SyncMethod = (typeof SYNC_METHODS)[number];

/** The methods an ingress thread calls asynchronously, besides `infer`. */
export const ASYNC_METHODS = ['loadModel', 'unloadModel'] as const satisfies readonly (keyof InferenceCore)[];
export type AsyncMethod = (typeof ASYNC_METHODS)[number];

/** An error as it crosses threads: InferenceErrors keep their status code and Triton's text. */
export interface WireError {
  code: StatusCode | undefined;
  message: string;
}

export function toWireError(e: unknown): WireError {
  if (e instanceof InferenceError) return { code: e.code, message: e.message };
  return { code: undefined, message: e instanceof Error ? e.message : String(e) };
}

export function fromWireError(e: WireError): Error {
  return e.code === undefined ? new Error(e.message) : new InferenceError(e.code, e.message);
}

/**
 * An InferRequest without its signal, stamps and response sink (those stay on the ingress thread);
 * `streamed`: the ingress thread has a sink, so a decoupled model's responses come back as `partial`.
 */
export type WireRequest = Omit<InferRequest, 'signal' | 'stamps' | 'responseSink'> & { streamed?: boolean };

/** Ingress thread → main thread. */
export type FromIngress =
  /** Several messages posted in one event-loop turn (coalescing-poster.ts). */
  | MessageGroup<FromIngress>
  | { t: 'infer'; id: number; request: WireRequest }
  /** The client of request `id` went away (HTTP close, gRPC cancel). */
  | { t: 'abort'; id: number }
  /** Synchronous call: the answer comes on the reply port, then the ingress thread's flag is raised. */
  | { t: 'call'; method: SyncMethod; args: unknown[] }
  | { t: 'acall'; id: number; method: AsyncMethod; args: unknown[] }
  /** The transports have stopped (answer to `close`). */
  | { t: 'closed' }
  | { t: 'ready' }
  | { t: 'start-error'; message: string };

/** Main thread → ingress thread. */
export type ToIngress =
  | MessageGroup<ToIngress>
  | { t: 'done'; id: number; response: InferResponse }
  | { t: 'failed'; id: number; error: WireError }
  /** One response of a decoupled model to request `id` (more may follow; `done` carries the FINAL flag). */
  | { t: 'partial'; id: number; response: InferResponse }
  | { t: 'adone'; id: number }
  | { t: 'afailed'; id: number; error: WireError }
  /** A connection accepted on the main thread: the ingress thread owns its descriptor from now on. */
  | { t: 'conn'; fd: number; protocol: 'http' | 'grpc' }
  /** Stop the transports (graceful: let open requests finish), answer `closed`. */
  | { t: 'close'; graceful: boolean };

/** Reply-port message of a synchronous call. */
export type SyncReply = { ok: true; value: unknown } | { ok: false; error: WireError };

/**
 * Tensors whose bytes move to another thread: each input's bytes in a buffer that can be transferred. A
 * request-owned buffer (an HTTP body) moves whole, views and all; any other view is copied to its own buffer.
 */
export function transferableTensors(tensors: readonly Tensor[]): {
  tensors: Tensor[];
  transfer: ArrayBuffer[];
} {
  const transfer: ArrayBuffer[] = [];
  const out: Tensor[] = [];
  for (const t of tensors) {
    const buffer = t.data.buffer;
    if (buffer instanceof ArrayBuffer && isRequestOwned(buffer)) {
      if (!transfer.includes(buffer)) transfer.push(buffer);
      out.push(t);
      continue;
    }
    // A real copy: on a Node Buffer (a gRPC message's bytes) `slice()` is a view of the shared pool, and two
    // views of one pool in a transfer list fail the post ("Transfer list contains duplicate ArrayBuffer").
    const data = new Uint8Array(t.data);
    transfer.push(data.buffer);
    out.push({ name: t.name, datatype: t.datatype, shape: t.shape, data });
  }
  return { tensors: out, transfer };
}

/** A response whose output bytes are copied into buffers of their own (batch outputs and cache entries are shared). */
export function transferableResponse(response: InferResponse): {
  response: InferResponse;
  transfer: ArrayBuffer[];
} {
  const transfer: ArrayBuffer[] = [];
  const outputs = response.outputs.map((t) => {
    const data = new Uint8Array(t.data);
    transfer.push(data.buffer);
    return { name: t.name, datatype: t.datatype, shape: t.shape, data };
  });
  const out: InferResponse = {
    id: response.id,
    modelName: response.modelName,
    modelVersion: response.modelVersion,
    outputs,
  };
  if (response.parameters !== undefined) out.parameters = response.parameters;
  if (response.emptyFinal) out.emptyFinal = true;
  return { response: out, transfer };
}
