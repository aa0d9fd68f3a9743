/**
 * Kept responses (for the profile export's response_outputs) from worker-thread shards: the event buffer posts
 * them beside its rows, transferred rather than copied, and the main thread's windows give each logged request
 * its own response and request index, also when rows before it were discarded (warm-up).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MessageChannel } from 'node:worker_threads';
import { type FromShard, ShardEventBuffer } from '../../../src/load/shard-protocol.ts';
import { ShardWindows } from '../../../src/load/shard-windows.ts';
import { RequestLogBudget } from '../../../src/measure/request-log.ts';
import { FakeClock } from '../../../src/protocol/clock.ts';
import type { InferOutcome } from '../../../src/transport/client.ts';
import type { KeptResponse } from '../../../src/transport/kept-response.ts';

const MS = 1_000_000;
type Batch = Extract<FromShard, { type: 'batch' }>;

const ok = (endNs: number, response?: KeptResponse): InferOutcome => ({
  ok: true,
  sendStartNs: endNs - MS,
  sendEndNs: endNs - MS,
  responseStartNs: endNs,
  endNs,
  responseBytes: response?.bytes.byteLength ?? 0,
  ...(response ? { response } : {}),
});

const bytesOf = (...values: number[]): Uint8Array => Uint8Array.from(values);

describe('kept responses from shards', () => {
  it('are posted beside the events, each ArrayBuffer in the transfer list, and arrive intact', async () => {
    const clock = new FakeClock(100 * MS);
    const posted: { batch: Batch; transfer: ArrayBuffer[] }[] = [];
    const buffer = new ShardEventBuffer(clock, (batch, transfer) => posted.push({ batch, transfer }));
    const http: KeptResponse = { encoding: 'http', bytes: bytesOf(1, 2, 3), headerLength: 2 };
    const grpc: KeptResponse = { encoding: 'grpc-stream', bytes: bytesOf(9) };
    buffer.onCompleted(ok(101 * MS, http), undefined, 2);
    buffer.onCompleted(ok(102 * MS), undefined, 0);
    buffer.onCompleted(ok(103 * MS, grpc), undefined, 1);
    buffer.flush();
    assert.equal(posted.length, 1);
    const { batch, transfer } = posted[0]!;
    assert.deepEqual(batch.responses, [http.bytes, grpc.bytes]);
    assert.deepEqual(transfer, [batch.events.buffer, http.bytes.buffer, grpc.bytes.buffer]);

    // Through a real port: the worker's buffers are moved (detached there), not copied.
    const { port1, port2 } = new MessageChannel();
    const received = new Promise<Batch>((resolve) => port2.once('message', resolve));
    port1.postMessage(batch, transfer);
    const arrived = await received;
    port1.close();
    port2.close();
    assert.equal(http.bytes.byteLength, 0, 'detached in the sender');
    assert.deepEqual(
      arrived.responses.map((b) => [...b]),
      [[1, 2, 3], [9]],
    );

    const windows = new ShardWindows(clock, false, { mark: () => undefined, flush: async () => [] });
    windows.recordRequestsTo(new RequestLogBudget());
    windows.begin(); // at 100 ms
    windows.ingest(arrived.events, arrived.eventCount, [], arrived.responses);
    clock.advanceNs(10 * MS);
    const w = await windows.end();
    assert.deepEqual([...w.requests!.requestIndex()], [2, 0, 1]);
    const responses = w.requests!.responses();
    assert.equal(responses.length, 3);
    assert.deepEqual(
      {
        encoding: responses[0]!.encoding,
        bytes: [...responses[0]!.bytes],
        header: responses[0]!.headerLength,
      },
      { encoding: 'http', bytes: [1, 2, 3], header: 2 },
    );
    assert.equal(responses[1], undefined);
    assert.deepEqual(
      {
        encoding: responses[2]!.encoding,
        bytes: [...responses[2]!.bytes],
        header: responses[2]!.headerLength,
      },
      { encoding: 'grpc-stream', bytes: [9], header: undefined },
    );
  });

  it('stay with their rows when earlier rows of the batch are discarded (warm-up)', async () => {
    const clock = new FakeClock(100 * MS);
    let batch: Batch | undefined;
    const buffer = new ShardEventBuffer(clock, (b) => {
      batch = b;
    });
    for (let i = 0; i < 4; i++) {
      buffer.onCompleted(ok((101 + i) * MS, { encoding: 'grpc', bytes: bytesOf(i) }), undefined, i);
    }
    buffer.flush();
    const windows = new ShardWindows(clock, false, { mark: () => undefined, flush: async () => [] });
    windows.recordRequestsTo(new RequestLogBudget());
    windows.levelStart();
    const warm = windows.waitForDiscarded(2);
    windows.ingest(batch!.events, batch!.eventCount, [], batch!.responses);
    await warm;
    clock.advanceNs(10 * MS);
    windows.begin();
    const w = await windows.end();
    assert.equal(w.okCount, 2);
    assert.deepEqual([...w.requests!.requestIndex()], [2, 3]);
    assert.deepEqual(
      w.requests!.responses().map((r) => [...r!.bytes]),
      [[2], [3]],
    );
  });
});
