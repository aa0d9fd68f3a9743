import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  BatchGatherer,
  BufferPool,
  MAX_POOLED_BUFFERS,
} from '../../../embedded-server/src/runtime/batch-gather.ts';
import { concatBatch } from '../../../embedded-server/src/runtime/tensor-map.ts';
import type { WireInput } from '../../../embedded-server/src/runtime/worker-protocol.ts';
import type { Datatype } from '../../../src/protocol/datatypes.ts';

/** One message's input: each part in its own buffer, after `pad` bytes of something else (an HTTP header). */
function wire(
  name: string,
  datatype: Datatype,
  parts: { shape: number[]; bytes: Uint8Array }[],
  pad = 0,
): WireInput {
  const buffers: ArrayBuffer[] = [];
  for (const p of parts) {
    const b = new ArrayBuffer(pad + p.bytes.byteLength);
    new Uint8Array(b).set(p.bytes, pad);
    buffers.push(b);
  }
  return {
    name,
    datatype,
    shapes: parts.map((p) => p.shape),
    buffers,
    byteOffsets: parts.map(() => pad),
    byteLengths: parts.map((p) => p.bytes.byteLength),
  };
}

function rowsOf(n: number, rowBytes: number, seed: number): Uint8Array {
  return Uint8Array.from({ length: n * rowBytes }, (_, i) => (seed * 31 + i * 7) & 255);
}

/** The bytes the ORT thread would feed: its concatenation of the parts (the path without a gather thread). */
function fed(input: WireInput, padRows?: number): Uint8Array {
  const parts = input.buffers.map((b, i) => ({
    shape: input.shapes[i] as number[],
    data: new Uint8Array(b, input.byteOffsets[i], input.byteLengths[i]),
  }));
  const pad =
    padRows === undefined ? undefined : { rows: padRows, bytesElements: input.datatype === 'BYTES' };
  return Uint8Array.from(concatBatch(input.name, parts, pad).data);
}

const noBuckets = { bucketSizes: [], capacityRows: 8 };

describe('BatchGatherer', () => {
  it('merges the messages of a batch into one buffer per input: the same bytes, in order, as the ORT thread would concatenate', () => {
    const g = new BatchGatherer(new BufferPool(), noBuckets);
    const a = wire(
      'IN',
      'FP32',
      [
        { shape: [1, 2], bytes: rowsOf(1, 8, 1) },
        { shape: [2, 2], bytes: rowsOf(2, 8, 2) },
      ],
      13,
    );
    const b = wire('IN', 'FP32', [{ shape: [1, 2], bytes: rowsOf(1, 8, 3) }]);
    g.add([a], ['OUT'], 2);
    g.add([b], ['OUT'], 1);
    assert.equal(g.count(), 3);
    assert.equal(g.rows(), 4);
    const batch = g.finish();
    assert.equal(batch.rows, 4);
    assert.deepEqual(batch.outputNames, ['OUT']);
    const input = batch.inputs[0] as WireInput;
    assert.equal(input.buffers.length, 1, 'one buffer: the ORT thread feeds it as it is');
    assert.deepEqual(input.shapes, [[4, 2]]);
    const expected = Uint8Array.from([...fed(a), ...fed(b)]);
    assert.deepEqual(fed(input), expected);
    assert.deepEqual(batch.transfer, [input.buffers[0]]);
  });

  it('keeps every row of a two-input model aligned', () => {
    const g = new BatchGatherer(new BufferPool(), noBuckets);
    for (let i = 0; i < 3; i++) {
      g.add(
        [
          wire('A', 'INT32', [{ shape: [1, 3], bytes: rowsOf(1, 12, i) }]),
          wire('B', 'UINT8', [{ shape: [1, 5], bytes: rowsOf(1, 5, 10 + i) }]),
        ],
        [],
        1,
      );
    }
    const batch = g.finish();
    assert.equal(batch.rows, 3);
    assert.deepEqual(
      batch.inputs.map((x) => x.shapes),
      [[[3, 3]], [[3, 5]]],
    );
    assert.deepEqual(
      fed(batch.inputs[1] as WireInput),
      Uint8Array.from([...rowsOf(1, 5, 10), ...rowsOf(1, 5, 11), ...rowsOf(1, 5, 12)]),
    );
  });

  it('pads the merged batch with zero rows up to the bucket that holds it, in place', () => {
    const g = new BatchGatherer(new BufferPool(), { bucketSizes: [1, 4, 8], capacityRows: 8 });
    const a = wire('IN', 'FP32', [{ shape: [3, 2], bytes: rowsOf(3, 8, 5) }]);
    g.add([a], [], 1);
    const batch = g.finish();
    assert.equal(batch.rows, 3, 'the real rows travel beside the padded shape');
    const input = batch.inputs[0] as WireInput;
    assert.deepEqual(input.shapes, [[4, 2]]);
    assert.deepEqual(fed(input), fed(a, 4), 'what the ORT thread pads is what the gather thread padded');
  });

  it('does not pad beyond the largest bucket, nor where the buffer has no room', () => {
    const g = new BatchGatherer(new BufferPool(), { bucketSizes: [2, 4], capacityRows: 0 });
    g.add([wire('IN', 'UINT8', [{ shape: [3, 1], bytes: rowsOf(3, 1, 1) }])], [], 1);
    const batch = g.finish();
    // capacityRows 0: the buffer holds exactly the first message; the ORT thread pads with a copy.
    assert.deepEqual(batch.inputs[0]?.shapes, [[3, 1]]);
    const big = new BatchGatherer(new BufferPool(), { bucketSizes: [2, 4], capacityRows: 4 });
    big.add([wire('IN', 'UINT8', [{ shape: [5, 1], bytes: rowsOf(5, 1, 1) }])], [], 1);
    assert.deepEqual(big.finish().inputs[0]?.shapes, [[5, 1]], 'above every bucket: exact shape');
  });

  it("grows past the reserved rows (a batch larger than max_batch_size is the ORT thread's to refuse, not lost)", () => {
    const g = new BatchGatherer(new BufferPool(), { bucketSizes: [], capacityRows: 2 });
    const parts = [0, 1, 2, 3, 4].map((i) =>
      wire('IN', 'INT16', [{ shape: [1, 4], bytes: rowsOf(1, 8, i) }]),
    );
    for (const p of parts) g.add([p], [], 1);
    const input = g.finish().inputs[0] as WireInput;
    assert.deepEqual(input.shapes, [[5, 4]]);
    assert.deepEqual(fed(input), Uint8Array.from(parts.flatMap((p) => [...fed(p)])));
  });

  it('leaves BYTES inputs, inputs without a batch dim and disagreeing parts as parts, so the ORT thread refuses or concatenates them as before', () => {
    const strings = wire('S', 'BYTES', [{ shape: [1], bytes: Uint8Array.of(1, 0, 0, 0, 65) }]);
    const g = new BatchGatherer(new BufferPool(), noBuckets);
    g.add([strings], [], 1);
    g.add([wire('S', 'BYTES', [{ shape: [1], bytes: Uint8Array.of(0, 0, 0, 0) }])], [], 1);
    const s = g.finish();
    assert.equal(s.rows, undefined, 'not merged: the ORT thread takes the rows from the parts');
    assert.equal(s.inputs[0]?.buffers.length, 2);

    const scalar = new BatchGatherer(new BufferPool(), noBuckets);
    scalar.add([wire('X', 'FP32', [{ shape: [], bytes: rowsOf(1, 4, 1) }])], [], 1);
    assert.equal(scalar.finish().inputs[0]?.buffers.length, 1);

    // Shapes that differ beyond the batch dim: what was merged becomes one part, the rest follow as parts.
    const mixed = new BatchGatherer(new BufferPool(), noBuckets);
    mixed.add([wire('IN', 'FP32', [{ shape: [1, 2], bytes: rowsOf(1, 8, 1) }])], [], 1);
    mixed.add([wire('IN', 'FP32', [{ shape: [1, 2], bytes: rowsOf(1, 8, 2) }])], [], 1);
    mixed.add([wire('IN', 'FP32', [{ shape: [1, 3], bytes: rowsOf(1, 12, 3) }])], [], 1);
    const m = mixed.finish();
    assert.equal(m.rows, undefined);
    assert.deepEqual(m.inputs[0]?.shapes, [
      [2, 2],
      [1, 3],
    ]);
    assert.throws(() => fed(m.inputs[0] as WireInput), /shapes differ beyond the batch dimension/);
  });

  it('keeps a part whose byte length does not match its shape as a part (the ORT thread reports it)', () => {
    const g = new BatchGatherer(new BufferPool(), noBuckets);
    // 7 bytes for a [1, 2] FP32 row: malformed.
    g.add([wire('IN', 'FP32', [{ shape: [1, 2], bytes: rowsOf(1, 7, 1) }])], [], 1);
    const b = g.finish();
    assert.equal(b.rows, undefined);
    assert.equal(b.inputs[0]?.byteLengths[0], 7);
  });

  it('refuses to merge a negative or huge batch dim that does not match the bytes', () => {
    const g = new BatchGatherer(new BufferPool(), noBuckets);
    g.add([wire('IN', 'UINT8', [{ shape: [-1, 2], bytes: rowsOf(1, 2, 1) }])], [], 1);
    assert.equal(g.finish().rows, undefined);
    const h = new BatchGatherer(new BufferPool(), noBuckets);
    h.add([wire('IN', 'UINT8', [{ shape: [2 ** 31, 2], bytes: rowsOf(1, 2, 1) }])], [], 1);
    assert.equal(h.finish().rows, undefined, 'no 4 GiB allocation for a lying shape');
  });

  it('inputs that disagree on rows are sent unpadded, for the ORT thread to refuse', () => {
    const g = new BatchGatherer(new BufferPool(), { bucketSizes: [4], capacityRows: 4 });
    g.add(
      [
        wire('A', 'UINT8', [{ shape: [1, 1], bytes: rowsOf(1, 1, 1) }]),
        wire('B', 'UINT8', [{ shape: [2, 1], bytes: rowsOf(2, 1, 1) }]),
      ],
      [],
      1,
    );
    const b = g.finish();
    assert.equal(b.rows, undefined);
    assert.deepEqual(
      b.inputs.map((x) => x.shapes),
      [[[1, 1]], [[2, 1]]],
    );
  });

  it('property: any sequence of messages gathers to exactly the concatenation of their parts', () => {
    fc.assert(
      fc.property(
        fc.array(fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 1, maxLength: 3 }), {
          minLength: 1,
          maxLength: 6,
        }),
        fc.integer({ min: 0, max: 6 }),
        (messages, capacityRows) => {
          const g = new BatchGatherer(new BufferPool(), { bucketSizes: [], capacityRows });
          const all: WireInput[] = [];
          messages.forEach((rows, m) => {
            const w = wire(
              'IN',
              'INT32',
              rows.map((r, i) => ({ shape: [r, 2], bytes: rowsOf(r, 8, m * 10 + i) })),
              m % 2,
            );
            all.push(w);
            g.add([w], [], rows.length);
          });
          const input = g.finish().inputs[0] as WireInput;
          const expected = all.flatMap((w) =>
            w.buffers.flatMap((b, i) => [...new Uint8Array(b, w.byteOffsets[i], w.byteLengths[i])]),
          );
          assert.deepEqual([...fed(input)], expected);
        },
      ),
      { numRuns: 100 },
    );
  });
});

describe('BufferPool', () => {
  it('reuses the smallest free buffer that is large enough, and keeps a bounded number', () => {
    const pool = new BufferPool();
    const small = new ArrayBuffer(10);
    const large = new ArrayBuffer(100);
    pool.give(large);
    pool.give(small);
    assert.equal(pool.take(8), small);
    assert.equal(pool.take(50), large);
    assert.equal(pool.take(50).byteLength, 50, 'none left: a new one');
    for (let i = 0; i < MAX_POOLED_BUFFERS + 3; i++) pool.give(new ArrayBuffer(16));
    assert.equal(pool.size(), MAX_POOLED_BUFFERS);
    pool.give(new ArrayBuffer(0));
    assert.equal(pool.size(), MAX_POOLED_BUFFERS, 'a detached (empty) buffer is never pooled');
  });

  it('a gathered batch takes its buffer from the pool', () => {
    const pool = new BufferPool();
    const reused = new ArrayBuffer(64);
    pool.give(reused);
    const g = new BatchGatherer(pool, { bucketSizes: [], capacityRows: 4 });
    g.add([wire('IN', 'UINT8', [{ shape: [1, 8], bytes: rowsOf(1, 8, 1) }])], [], 1);
    assert.equal(g.finish().inputs[0]?.buffers[0], reused);
  });
});
