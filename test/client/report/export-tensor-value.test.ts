import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { serializeBytesElements } from '../../../src/protocol/bytes-tensor.ts';
import type { Datatype } from '../../../src/protocol/datatypes.ts';
import type { Tensor } from '../../../src/protocol/tensor.ts';
import {
  bfloat16ToNumber,
  exportTensorValueJson,
  halfToNumber,
} from '../../../src/report/export-tensor-value.ts';

const tensor = (datatype: Datatype, data: ArrayBufferView, shape = [-1]): Tensor => ({
  name: 'T',
  datatype,
  shape,
  data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
});

/** A view at an odd offset of a larger buffer (the wire hands such views on). */
function misaligned(bytes: Uint8Array): Uint8Array {
  const big = new Uint8Array(bytes.byteLength + 3);
  big.set(bytes, 3);
  return big.subarray(3);
}

describe('profile export tensor values (perf_analyzer §4.3)', () => {
  it('one numeric element is a scalar, more a flat array (the shape is lost), none []', () => {
    assert.equal(exportTensorValueJson(tensor('INT32', Int32Array.of(-7), [1, 1])), '-7');
    assert.equal(exportTensorValueJson(tensor('INT32', Int32Array.of(1, 2, 3, 4), [2, 2])), '[1,2,3,4]');
    assert.equal(exportTensorValueJson(tensor('INT32', new Int32Array(0), [0])), '[]');
  });

  it('writes every integer type exactly, 64-bit ones beyond 2^53 too', () => {
    assert.equal(exportTensorValueJson(tensor('UINT8', Uint8Array.of(0, 255))), '[0,255]');
    assert.equal(exportTensorValueJson(tensor('INT8', Int8Array.of(-128, 127))), '[-128,127]');
    assert.equal(exportTensorValueJson(tensor('UINT16', Uint16Array.of(65535))), '65535');
    assert.equal(exportTensorValueJson(tensor('INT16', Int16Array.of(-32768))), '-32768');
    assert.equal(exportTensorValueJson(tensor('UINT32', Uint32Array.of(4294967295))), '4294967295');
    assert.equal(
      exportTensorValueJson(tensor('INT64', BigInt64Array.of(-9007199254740993n, 5n))),
      '[-9007199254740993,5]',
    );
    assert.equal(
      exportTensorValueJson(tensor('UINT64', BigUint64Array.of(18446744073709551615n))),
      '18446744073709551615',
    );
  });

  it('BOOL is true/false', () => {
    assert.equal(exportTensorValueJson(tensor('BOOL', Uint8Array.of(1))), 'true');
    assert.equal(exportTensorValueJson(tensor('BOOL', Uint8Array.of(0, 2, 1))), '[false,true,true]');
  });

  it('FP32 as the double it widens to, FP64 as is; NaN and infinities as null', () => {
    assert.equal(
      exportTensorValueJson(tensor('FP32', Float32Array.of(0.1, -2.5, 1e-45))),
      '[0.10000000149011612,-2.5,1.401298464324817e-45]',
    );
    assert.equal(exportTensorValueJson(tensor('FP64', Float64Array.of(0.1))), '0.1');
    assert.equal(
      exportTensorValueJson(tensor('FP32', Float32Array.of(Number.NaN, Number.POSITIVE_INFINITY, -0))),
      '[null,null,0]',
    );
  });

  it('decodes FP16 and BF16 to numbers (perf_analyzer cannot)', () => {
    // 1, −2, largest normal, smallest subnormal, ∞, NaN, −0.
    const half = Uint16Array.of(0x3c00, 0xc000, 0x7bff, 0x0001, 0x7c00, 0x7e00, 0x8000);
    assert.equal(
      exportTensorValueJson(tensor('FP16', half)),
      '[1,-2,65504,5.960464477539063e-8,null,null,0]',
    );
    assert.equal(halfToNumber(0x3555), 0.333251953125);
    assert.equal(halfToNumber(0xfc00), Number.NEGATIVE_INFINITY);
    // bfloat16: the top half of the FP32 bits.
    const bf16 = Uint16Array.of(0x3f80, 0xc000, 0x3dcd, 0x7f80);
    assert.equal(exportTensorValueJson(tensor('BF16', bf16)), '[1,-2,0.10009765625,null]');
    assert.equal(bfloat16ToNumber(0x8000), -0);
    assert.equal(exportTensorValueJson(tensor('FP16', Uint16Array.of(0x3800))), '0.5');
  });

  it('reads little-endian elements from views at any offset', () => {
    const bytes = misaligned(new Uint8Array(Float32Array.of(1.5, -3).buffer));
    assert.equal(exportTensorValueJson({ name: 'T', datatype: 'FP32', shape: [2], data: bytes }), '[1.5,-3]');
    const ints = misaligned(new Uint8Array(BigInt64Array.of(-1n).buffer));
    assert.equal(exportTensorValueJson({ name: 'T', datatype: 'INT64', shape: [1], data: ints }), '-1');
  });

  it('BYTES: one element is one string without its length prefix (perf_analyzer), several an array', () => {
    const one = serializeBytesElements(['hello "world"\n']);
    assert.equal(exportTensorValueJson(tensor('BYTES', one, [1])), '"hello \\"world\\"\\n"');
    const several = serializeBytesElements(['héllo', '', 'x']);
    assert.equal(exportTensorValueJson(tensor('BYTES', misaligned(several), [3])), '["héllo","","x"]');
    assert.equal(exportTensorValueJson(tensor('BYTES', new Uint8Array(0), [0])), '[]');
    // Not UTF-8: replacement characters, still valid JSON.
    const raw = serializeBytesElements([Uint8Array.of(0xff, 0x41)]);
    assert.equal(JSON.parse(exportTensorValueJson(tensor('BYTES', raw, [1]))), '\ufffdA');
    // A length past the end is cut at the end rather than read out of bounds.
    const truncated = serializeBytesElements(['abcdef']).subarray(0, 7);
    assert.equal(exportTensorValueJson(tensor('BYTES', truncated, [1])), '"abc"');
  });
});
