/**
 * The main thread's side of one ingress thread: runs the thread's requests against the one real
 * InferenceCore (so every model keeps one queue, and statistics and metrics count each request once, where
 * it is scheduled) and posts the answers back. Synchronous calls are answered on the reply port, then the
 * thread's flag is raised.
 */

import type { MessagePort } from 'node:worker_threads';
import type { InferenceCore } from '../core/api.ts';
import { RequestAbort } from '../core/request-abort.ts';
import { markRequestOwned } from '../core/request-buffers.ts';
import type { InferRequest } from '../core/types.ts';
import { CoalescingPoster } from './coalescing-poster.ts';
import {
  ASYNC_METHODS,
  type FromIngress,
  SYNC_METHODS,
  type SyncReply,
  type ToIngress,
  toWireError,
  transferableResponse,
} from './ingress-protocol.ts';

const SYNC = new Set<string>(SYNC_METHODS);
const ASYNC = new Set<string>(ASYNC_METHODS);

export interface CoreHost {
  /** Handles one message of the thread; returns false when it is not a core message (lifecycle). */
  handle(message: FromIngress): boolean;
  /** Requests of this thread that the core has not answered yet. */
  inFlight(): number;
}

export function createCoreHost(
  core: InferenceCore,
  port: MessagePort | { postMessage: MessagePort['postMessage'] },
  replyPort: MessagePort,
  flag: SharedArrayBuffer,
): CoreHost {
  const flagView = new Int32Array(flag);
  const aborts = new Map<number, RequestAbort>();

  const post = (message: ToIngress, transfer?: ArrayBuffer[]): void => {
    port.postMessage(message, transfer);
  };
  // Answers to inference requests leave once per event-loop turn (see coalescing-poster.ts).
  const answers = new CoalescingPoster<ToIngress>(port, (message, e) => {
    if (message.t === 'done') answers.post({ t: 'failed', id: message.id, error: toWireError(e) });
  });

  const infer = (id: number, wire: InferRequest & { streamed?: boolean }): void => {
    for (const t of wire.inputs) markRequestOwned(t.data.buffer);
    if (wire.streamed) {
      delete wire.streamed;
      // A decoupled model's responses go back as it sends them, through the same poster as the final
      // answer so they arrive before it.
      wire.responseSink = (response) => {
        const out = transferableResponse(response);
        answers.post({ t: 'partial', id, response: out.response }, out.transfer);
      };
    }
    const signal = new RequestAbort();
    aborts.set(id, signal);
    wire.signal = signal;
    core.infer(wire).then(
      (response) => {
        aborts.delete(id);
        let out: ReturnType<typeof transferableResponse>;
        try {
          out = transferableResponse(response);
        } catch (e) {
          answers.post({ t: 'failed', id, error: toWireError(e) });
          return;
        }
        // The answer to the thread's only request in flight leaves at once (see coalescing-poster.ts).
        answers.post({ t: 'done', id, response: out.response }, out.transfer, aborts.size === 0);
      },
      (e: unknown) => {
        aborts.delete(id);
        answers.post({ t: 'failed', id, error: toWireError(e) });
      },
    );
  };

  const syncCall = (method: string, args: unknown[]): void => {
    let reply: SyncReply;
    try {
      if (!SYNC.has(method)) throw new Error(`unknown core method '${method}'`);
      const fn = (core as unknown as Record<string, (...a: unknown[]) => unknown>)[method] as (
        ...a: unknown[]
      ) => unknown;
      reply = { ok: true, value: fn.apply(core, args) };
    } catch (e) {
      reply = { ok: false, error: toWireError(e) };
    }
    try {
      replyPort.postMessage(reply);
    } catch (e) {
      replyPort.postMessage({ ok: false, error: toWireError(e) } satisfies SyncReply);
    }
    Atomics.store(flagView, 0, 1);
    Atomics.notify(flagView, 0);
  };

  const asyncCall = (id: number, method: string, args: unknown[]): void => {
    const run = async (): Promise<void> => {
      if (!ASYNC.has(method)) throw new Error(`unknown core method '${method}'`);
      const fn = (core as unknown as Record<string, (...a: unknown[]) => Promise<void>>)[method] as (
        ...a: unknown[]
      ) => Promise<void>;
      await fn.apply(core, args);
    };
    run().then(
      () => post({ t: 'adone', id }),
      (e: unknown) => post({ t: 'afailed', id, error: toWireError(e) }),
    );
  };

  return {
    handle(message) {
      switch (message.t) {
        case 'group':
          for (const m of message.messages) this.handle(m);
          return true;
        case 'infer':
          infer(message.id, message.request as InferRequest);
          return true;
        case 'abort':
          aborts.get(message.id)?.abort();
          return true;
        case 'call':
          syncCall(message.method, message.args);
          return true;
        case 'acall':
          asyncCall(message.id, message.method, message.args);
          return true;
        default:
          return false;
      }
    },
    inFlight: () => aborts.size,
  };
}
