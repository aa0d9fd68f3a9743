import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Tensor as OrtTensor } from 'onnxruntime-node';
import {
  concatBatch,
  decodeBytesElements,
  encodeBytesElements,
  fromOrtTensor,
  TensorMapError,
  toOrtTensor,
} from '../../../embedded-server/src/runtime/tensor-map.ts';

function bytes(typed: ArrayBufferView): Uint8Array {
  return new Uint8Array(typed.buffer, typed.byteOffset, typed.byteLength);
}

describe('concatBatch', () => {
  it('returns a single part as is (no copy)', () => {
    const part = { shape: [2, 2], data: bytes(Int32Array.from([1, 2, 3, 4])) };
    assert.equal(concatBatch('x', [part]), part);
  });

  it('concatenates along dim 0 in request order', () => {
    const r = concatBatch('x', [
      { shape: [1, 2], data: bytes(Int32Array.from([1, 2])) },
      { shape: [2, 2], data: bytes(Int32Array.from([3, 4, 5, 6])) },
    ]);
    assert.deepEqual(r.shape, [3, 2]);
    assert.deepEqual(
      new Int32Array(r.data.buffer, r.data.byteOffset, 6),
      Int32Array.from([1, 2, 3, 4, 5, 6]),
    );
  });

  it('concatenates BYTES (length-prefixed) the same way', () => {
    const r = concatBatch('s', [
      { shape: [1], data: encodeBytesElements(['ab']) },
      { shape: [2], data: encodeBytesElements(['', 'xyz']) },
    ]);
    assert.deepEqual(r.shape, [3]);
    assert.deepEqual(decodeBytesElements('s', r.data, 3), ['ab', '', 'xyz']);
  });

  it('refuses parts whose non-batch dims differ, and scalars', () => {
    assert.throws(
      () =>
        concatBatch('x', [
          { shape: [1, 2], data: new Uint8Array(8) },
          { shape: [1, 3], data: new Uint8Array(12) },
        ]),
      (e: unknown) => e instanceof TensorMapError && /shapes differ/.test(e.message),
    );
    assert.throws(
      () =>
        concatBatch('x', [
          { shape: [], data: new Uint8Array(4) },
          { shape: [], data: new Uint8Array(4) },
        ]),
      /no batch dimension/,
    );
  });
});

describe('BYTES elements', () => {
  it('round-trips UTF-8 strings through the 4-byte little-endian length prefix', () => {
    const data = encodeBytesElements(['', 'a', 'ünï']);
    assert.deepEqual([...data.subarray(0, 9)], [0, 0, 0, 0, 1, 0, 0, 0, 0x61]);
    assert.deepEqual(decodeBytesElements('s', data, 3), ['', 'a', 'ünï']);
  });

  it('detects too few, overrunning and surplus elements', () => {
    const data = encodeBytesElements(['ab', 'cd']);
    assert.throws(() => decodeBytesElements('s', data, 3), /fewer than 3/);
    assert.throws(() => decodeBytesElements('s', data.subarray(0, 11), 2), /runs past/);
    assert.throws(() => decodeBytesElements('s', data, 1), /more than 1/);
  });
});

describe('toOrtTensor / fromOrtTensor', () => {
  it('views aligned numeric data without copying', () => {
    const src = Float32Array.from([1, 2, 3, 4]);
    const t = toOrtTensor('x', 'FP32', { shape: [2, 2], data: bytes(src) });
    assert.equal(t.type, 'float32');
    assert.deepEqual(t.dims, [2, 2]);
    assert.equal((t.data as Float32Array).buffer, src.buffer);
  });

  it('copies misaligned numeric data (a view at an odd offset)', () => {
    const backing = new Uint8Array(9);
    backing.set(bytes(Int32Array.from([7, -8])), 1);
    const t = toOrtTensor('x', 'INT32', { shape: [2], data: backing.subarray(1) });
    assert.deepEqual(t.data, Int32Array.from([7, -8]));
  });

  it('maps FP16 to float16 bits and BOOL to bool', () => {
    assert.equal(
      toOrtTensor('h', 'FP16', { shape: [1], data: bytes(Uint16Array.of(0x3c00)) }).type,
      'float16',
    );
    assert.equal(toOrtTensor('b', 'BOOL', { shape: [2], data: Uint8Array.of(1, 0) }).type, 'bool');
  });

  it('refuses a byte count that does not match the shape, and BF16', () => {
    assert.throws(
      () => toOrtTensor('x', 'FP32', { shape: [3], data: new Uint8Array(8) }),
      /do not hold 3 FP32/,
    );
    assert.throws(
      () => toOrtTensor('x', 'BF16', { shape: [1], data: new Uint8Array(2) }),
      /BF16 is not supported/,
    );
  });

  it('converts outputs back to protocol datatype and raw bytes', () => {
    const num = fromOrtTensor('y', new OrtTensor('int64', BigInt64Array.from([1n, -1n]), [2]));
    assert.equal(num.datatype, 'INT64');
    assert.deepEqual(num.shape, [2]);
    assert.deepEqual([...num.data], [1, 0, 0, 0, 0, 0, 0, 0, 255, 255, 255, 255, 255, 255, 255, 255]);
    const str = fromOrtTensor('s', new OrtTensor('string', ['hi'], [1]));
    assert.equal(str.datatype, 'BYTES');
    assert.deepEqual([...str.data], [2, 0, 0, 0, 0x68, 0x69]);
  });
});
