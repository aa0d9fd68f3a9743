/**
 * The lone-request path between an ingress thread and the main thread: a request that is its thread's only
 * one in flight (concurrency 1) leaves at once instead of at the end of the event-loop turn, and so does its
 * answer; with others in flight both sides still coalesce. Each request is answered exactly once either way.
 * Both ends run here over a real MessageChannel (no threads needed to see what is posted when).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MessageChannel, type MessagePort, receiveMessageOnPort } from 'node:worker_threads';
import type { InferenceCore } from '../../../embedded-server/src/core/api.ts';
import type { InferRequest, InferResponse } from '../../../embedded-server/src/core/types.ts';
import { createCoreHost } from '../../../embedded-server/src/ingress/core-host.ts';
import type { FromIngress, ToIngress } from '../../../embedded-server/src/ingress/ingress-protocol.ts';
import { RemoteCore } from '../../../embedded-server/src/ingress/remote-core.ts';

function drain<T>(port: MessagePort): T[] {
  const out: T[] = [];
  for (let r = receiveMessageOnPort(port); r; r = receiveMessageOnPort(port)) out.push(r.message as T);
  return out;
}

/** The messages inside groups, in order. */
function flat<T extends { t: string }>(messages: T[]): T[] {
  return messages.flatMap((m) =>
    m.t === 'group' ? flat((m as unknown as { messages: T[] }).messages) : [m],
  );
}

const immediate = () => new Promise<void>((resolve) => setImmediate(resolve));
/** Lets promise callbacks run (several microtask turns), but not the check phase (setImmediate). */
async function microtasks(): Promise<void> {
  for (let i = 0; i < 10; i++) await null;
}

function request(k: number): InferRequest {
  return {
    id: `r${k}`,
    modelName: 'm',
    modelVersion: '',
    inputs: [
      { name: 'INPUT0', datatype: 'FP32', shape: [1, 1], data: new Uint8Array(new Float32Array([k]).buffer) },
    ],
    outputs: [],
    parameters: {},
    priority: 0,
    timeoutUs: 0,
    binaryDataOutput: false,
    receivedNs: 0,
  };
}

function response(id: string): InferResponse {
  return { id, modelName: 'm', modelVersion: '1', outputs: [] };
}

describe('RemoteCore (ingress side): lone requests', () => {
  it('posts a lone request at once, coalesces the next ones while it is in flight, and settles each once', async () => {
    const { port1, port2 } = new MessageChannel();
    const reply = new MessageChannel();
    const core = new RemoteCore(port1, reply.port1, new SharedArrayBuffer(4));
    const first = core.infer(request(1));
    const sent = drain<FromIngress>(port2);
    assert.deepEqual(
      sent.map((m) => m.t),
      ['infer'],
      'the lone request left synchronously',
    );
    const second = core.infer(request(2));
    const third = core.infer(request(3));
    assert.deepEqual(drain(port2), [], 'with one in flight, the next requests wait for the end of the turn');
    await immediate();
    const grouped = drain<FromIngress>(port2);
    assert.deepEqual(
      grouped.map((m) => m.t),
      ['group'],
    );
    const ids = flat([...sent, ...grouped]).map((m) => (m as { id: number }).id);
    assert.equal(new Set(ids).size, 3);
    for (const [i, id] of ids.entries()) {
      assert.equal(core.handle({ t: 'done', id, response: response(`r${i + 1}`) } satisfies ToIngress), true);
    }
    // A duplicate answer (never sent, but must not settle anything twice or throw).
    core.handle({ t: 'done', id: ids[0] as number, response: response('dup') });
    assert.deepEqual(
      (await Promise.all([first, second, third])).map((r) => r.id),
      ['r1', 'r2', 'r3'],
    );
    assert.equal(core.inFlight(), 0);
    // In flight again from zero: lone again.
    const fourth = core.infer(request(4));
    const again = drain<FromIngress>(port2);
    assert.deepEqual(
      again.map((m) => m.t),
      ['infer'],
    );
    core.handle({
      t: 'failed',
      id: (again[0] as { id: number }).id,
      error: { code: 'INTERNAL', message: 'x' },
    });
    await assert.rejects(fourth, /x/);
    port1.close();
    reply.port1.close();
  });
});

describe('core host (main side): answers to lone requests', () => {
  it('posts the answer to a thread’s only request at once, and coalesces answers while others are in flight', async () => {
    const { port1, port2 } = new MessageChannel();
    const reply = new MessageChannel();
    const pending = new Map<string, (r: InferResponse) => void>();
    let inferCalls = 0;
    const fakeCore = {
      infer(req: InferRequest): Promise<InferResponse> {
        inferCalls += 1;
        return new Promise((resolve) => pending.set(req.id, resolve));
      },
    } as unknown as InferenceCore;
    const host = createCoreHost(fakeCore, port1, reply.port1, new SharedArrayBuffer(4));
    const wire = (k: number) => {
      const { signal: _s, ...rest } = request(k);
      return rest;
    };

    host.handle({ t: 'infer', id: 1, request: wire(1) });
    assert.equal(host.inFlight(), 1);
    pending.get('r1')?.(response('r1'));
    await microtasks();
    assert.deepEqual(
      drain<ToIngress>(port2).map((m) => [m.t, (m as { id: number }).id]),
      [['done', 1]],
      'the only request in flight is answered before the turn ends',
    );

    host.handle({
      t: 'group',
      messages: [2, 3].map((id) => ({ t: 'infer', id, request: wire(id) }) as FromIngress),
    });
    pending.get('r2')?.(response('r2'));
    await microtasks();
    assert.deepEqual(drain(port2), [], 'one more in flight: the answer waits for the end of the turn');
    pending.get('r3')?.(response('r3'));
    await microtasks();
    assert.deepEqual(drain(port2), [], 'the last answer queues behind the waiting one (order kept)');
    await immediate();
    const answers = flat(drain<ToIngress>(port2));
    assert.deepEqual(
      answers.map((m) => [m.t, (m as { id: number }).id]),
      [
        ['done', 2],
        ['done', 3],
      ],
    );
    assert.equal(inferCalls, 3, 'each request reached the core once');
    assert.equal(host.inFlight(), 0);
    port1.close();
    reply.port1.close();
  });
});
