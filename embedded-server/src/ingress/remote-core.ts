/**
 * The InferenceCore as an ingress thread sees it: a proxy to the one real core on the main thread. `infer`
 * posts the request (tensor bytes transferred, not copied) and settles when the main thread answers; the
 * transports' synchronous calls (health, metadata, config, statistics, index) block this thread on an
 * Atomics flag until the main thread has put the answer on the reply port — they are rare and short, and an
 * ingress thread has nothing else to keep responsive while one runs except its other connections.
 */

import { type MessagePort, receiveMessageOnPort } from 'node:worker_threads';
import type { ModelConfig } from '../../../src/protocol/gen/model_config_pb.ts';
import { InferenceError } from '../../../src/protocol/status.ts';
import { msToS } from '../../../src/protocol/units.ts';
import type {
  InferenceCore,
  ModelIndexEntry,
  ModelMetadata,
  ModelStatisticsJson,
  ServerMetadata,
} from '../core/api.ts';
import type { RequestAbortSignal } from '../core/request-abort.ts';
import type { InferRequest, InferResponse } from '../core/types.ts';
import { CoalescingPoster } from './coalescing-poster.ts';
import {
  type AsyncMethod,
  type FromIngress,
  fromWireError,
  type SyncMethod,
  type SyncReply,
  type ToIngress,
  transferableTensors,
  type WireRequest,
} from './ingress-protocol.ts';

/** How long a synchronous call may wait for the main thread before it fails with UNAVAILABLE. */
export const SYNC_CALL_TIMEOUT_MS = 30_000;

interface Pending {
  resolve: (value: InferResponse) => void;
  reject: (e: Error) => void;
  signal: RequestAbortSignal | undefined;
  onAbort: (() => void) | undefined;
  sink: ((response: InferResponse) => void) | undefined;
}

export class RemoteCore implements InferenceCore {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private readonly pendingCalls = new Map<number, { resolve: () => void; reject: (e: Error) => void }>();
  private readonly flag: Int32Array;
  /** Requests and aborts leave once per event-loop turn (see coalescing-poster.ts). */
  private readonly outbox: CoalescingPoster<FromIngress>;

  /**
   * `port`: the two-way channel to the main thread; `replyPort`: where synchronous answers land;
   * `flag`: one Int32 the main thread raises after posting a synchronous answer.
   */
  constructor(
    private readonly port: MessagePort,
    private readonly replyPort: MessagePort,
    flag: SharedArrayBuffer,
  ) {
    this.flag = new Int32Array(flag);
    this.outbox = new CoalescingPoster<FromIngress>(port, (message, e) => {
      if (message.t !== 'infer') return;
      const p = this.pending.get(message.id);
      if (!p) return;
      this.pending.delete(message.id);
      if (p.onAbort) p.signal?.removeEventListener('abort', p.onAbort);
      p.reject(e instanceof Error ? e : new Error(String(e)));
    });
  }

  /** Handles the main thread's answers; returns false for messages that are not about the core. */
  handle(message: ToIngress): boolean {
    switch (message.t) {
      case 'group':
        for (const m of message.messages) this.handle(m);
        return true;
      case 'partial':
        this.pending.get(message.id)?.sink?.(message.response);
        return true;
      case 'done':
      case 'failed': {
        const p = this.pending.get(message.id);
        if (!p) return true;
        this.pending.delete(message.id);
        if (p.onAbort) p.signal?.removeEventListener('abort', p.onAbort);
        if (message.t === 'done') p.resolve(message.response);
        else p.reject(fromWireError(message.error));
        return true;
      }
      case 'adone':
      case 'afailed': {
        const p = this.pendingCalls.get(message.id);
        if (!p) return true;
        this.pendingCalls.delete(message.id);
        if (message.t === 'adone') p.resolve();
        else p.reject(fromWireError(message.error));
        return true;
      }
      default:
        return false;
    }
  }

  /** Requests posted and not yet answered. */
  inFlight(): number {
    return this.pending.size + this.pendingCalls.size;
  }

  private call<T>(method: SyncMethod, args: unknown[]): T {
    Atomics.store(this.flag, 0, 0);
    this.port.postMessage({ t: 'call', method, args } satisfies FromIngress);
    const waited = Atomics.wait(this.flag, 0, 0, SYNC_CALL_TIMEOUT_MS);
    const received = receiveMessageOnPort(this.replyPort);
    if (!received) {
      throw new InferenceError(
        'UNAVAILABLE',
        `the server core did not answer ${method} within ${msToS(SYNC_CALL_TIMEOUT_MS)} s (${waited})`,
      );
    }
    const reply = received.message as SyncReply;
    if (!reply.ok) throw fromWireError(reply.error);
    return reply.value as T;
  }

  private asyncCall(method: AsyncMethod, args: unknown[]): Promise<void> {
    const id = this.nextId++;
    return new Promise<void>((resolve, reject) => {
      this.pendingCalls.set(id, { resolve, reject });
      this.port.postMessage({ t: 'acall', id, method, args } satisfies FromIngress);
    });
  }

  isLive(): boolean {
    return this.call('isLive', []);
  }
  isReady(): boolean {
    return this.call('isReady', []);
  }
  isExiting(): boolean {
    return this.call('isExiting', []);
  }
  serverMetadata(): ServerMetadata {
    return this.call('serverMetadata', []);
  }
  modelMetadata(name: string, version: string): ModelMetadata {
    return this.call('modelMetadata', [name, version]);
  }
  modelReady(name: string, version: string): boolean {
    return this.call('modelReady', [name, version]);
  }
  modelConfig(name: string, version: string): ModelConfig {
    return this.call('modelConfig', [name, version]);
  }
  modelStatistics(name: string, version: string): ModelStatisticsJson[] {
    return this.call('modelStatistics', [name, version]);
  }
  repositoryIndex(readyOnly: boolean): ModelIndexEntry[] {
    return this.call('repositoryIndex', [readyOnly]);
  }
  loadModel(name: string, options?: { configJson?: string }): Promise<void> {
    return this.asyncCall('loadModel', [name, options]);
  }
  unloadModel(name: string, options?: { unloadDependents?: boolean }): Promise<void> {
    return this.asyncCall('unloadModel', [name, options]);
  }

  infer(request: InferRequest): Promise<InferResponse> {
    const id = this.nextId++;
    let tensors: ReturnType<typeof transferableTensors>;
    try {
      tensors = transferableTensors(request.inputs);
    } catch (e) {
      return Promise.reject(e);
    }
    const wire: WireRequest = {
      id: request.id,
      modelName: request.modelName,
      modelVersion: request.modelVersion,
      inputs: tensors.tensors,
      outputs: request.outputs,
      parameters: request.parameters,
      priority: request.priority,
      timeoutUs: request.timeoutUs,
      binaryDataOutput: request.binaryDataOutput,
      receivedNs: request.receivedNs,
    };
    // Sequence batcher fields (correlation ID as bigint or string: both survive the structured clone).
    if (request.sequence) wire.sequence = request.sequence;
    if (request.endpoint) wire.endpoint = request.endpoint;
    const sink = request.responseSink;
    if (sink) wire.streamed = true;
    return new Promise<InferResponse>((resolve, reject) => {
      const signal = request.signal;
      let onAbort: (() => void) | undefined;
      if (signal) {
        onAbort = () => this.outbox.post({ t: 'abort', id });
        signal.addEventListener('abort', onAbort, { once: true });
      }
      // The thread's only request in flight leaves at once (coalescing-poster.ts: nothing to group it with).
      const alone = this.pending.size === 0;
      this.pending.set(id, { resolve, reject, signal, onAbort, sink });
      this.outbox.post({ t: 'infer', id, request: wire }, tensors.transfer, alone);
      if (signal?.aborted) onAbort?.();
    });
  }
}
