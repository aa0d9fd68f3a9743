import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ScratchArena } from '../../../embedded-server/src/runtime/scratch-arena.ts';
import { concatBatch } from '../../../embedded-server/src/runtime/tensor-map.ts';

describe('ScratchArena (worker batch memory)', () => {
  it('hands out 8-byte-aligned, non-overlapping views within a run, reused after reset', () => {
    const arena = new ScratchArena();
    arena.take(100); // first run: nothing to reuse yet, sizes the arena
    arena.reset();
    const a = arena.take(13);
    const b = arena.take(40);
    assert.equal(a.buffer, b.buffer, 'both from the arena');
    assert.equal(b.byteOffset % 8, 0);
    assert.ok(b.byteOffset >= a.byteOffset + a.byteLength, 'no overlap');
    a.fill(1);
    b.fill(2);
    assert.ok(a.every((x) => x === 1));
    arena.reset();
    const c = arena.take(40);
    assert.equal(c.buffer, a.buffer, 'the same memory serves the next run');
  });

  it('a run that outgrows the arena gets fresh memory, and the arena grows to it at the next reset', () => {
    const arena = new ScratchArena();
    arena.take(16);
    arena.reset();
    const small = arena.take(16);
    const big = arena.take(1000);
    assert.notEqual(big.buffer, small.buffer, 'overflow is fresh memory, not a view past the end');
    arena.reset();
    const again = [arena.take(16), arena.take(1000)];
    assert.equal(again[0]?.buffer, again[1]?.buffer, 'grown: both fit now');
  });

  it('replaces a buffer that left the thread (transfer detaches it)', () => {
    const arena = new ScratchArena();
    arena.take(64);
    arena.reset();
    const view = arena.take(64);
    structuredClone(view.buffer, { transfer: [view.buffer as ArrayBuffer] });
    assert.equal(view.buffer.byteLength, 0);
    arena.reset();
    const next = arena.take(64);
    assert.equal(next.byteLength, 64);
    next.fill(7);
    assert.equal(next[63], 7);
  });

  it('concatBatch into stale arena memory still pads with zero rows', () => {
    const arena = new ScratchArena();
    arena.take(64);
    arena.reset();
    arena.take(64).fill(0xff); // leave garbage behind
    arena.reset();
    const part = { shape: [1, 2], data: new Uint8Array(Float32Array.from([1, 2]).buffer) };
    const padded = concatBatch('x', [part], { rows: 4, bytesElements: false }, (n) => arena.take(n));
    assert.deepEqual(padded.shape, [4, 2]);
    assert.deepEqual(
      [...new Float32Array(padded.data.buffer, padded.data.byteOffset, 8)],
      [1, 2, 0, 0, 0, 0, 0, 0],
    );
  });
});
