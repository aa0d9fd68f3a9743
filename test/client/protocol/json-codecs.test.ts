import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { parseBytesElements, serializeBytesElements } from '../../../src/protocol/bytes-tensor.ts';
import { DATATYPES, type Datatype } from '../../../src/protocol/datatypes.ts';
import { JsonFloat, parseExactJson, stringifyExactJson } from '../../../src/protocol/exact-json.ts';
import { jsonDataToTensorBytes, tensorToJsonElements } from '../../../src/protocol/json-tensor.ts';
import { InferenceError } from '../../../src/protocol/status.ts';

function rejects(fn: () => unknown, message: string, code = 'INVALID_ARG'): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof InferenceError, `not an InferenceError: ${String(e)}`);
    assert.equal(e.message, message);
    assert.equal(e.code, code);
    return true;
  });
}

const names = { inputName: 'IN', modelName: 'm' };

describe('bytes-tensor', () => {
  it('serialises strings and bytes with 4-byte LE length prefixes and parses them back', () => {
    const buf = serializeBytesElements(['ab', new Uint8Array([0, 255]), '']);
    assert.deepEqual([...buf], [2, 0, 0, 0, 97, 98, 2, 0, 0, 0, 0, 255, 0, 0, 0, 0]);
    const parsed = parseBytesElements(buf, names, 3);
    assert.deepEqual(
      parsed.map((e) => [...e]),
      [[97, 98], [0, 255], []],
    );
  });

  it('rejects a wrong element count with Triton text', () => {
    rejects(
      () => parseBytesElements(serializeBytesElements(['a', 'b']), names, 3),
      "unexpected number of string elements 2 for inference input 'IN' for model 'm', expecting 3",
    );
  });

  it('rejects a truncated length prefix and truncated element', () => {
    rejects(
      () => parseBytesElements(new Uint8Array([1, 0]), names),
      "incomplete string length indicator for inference input 'IN' for model 'm', expecting 4 bytes but only 2 bytes available. Please make sure the string length indicator is in one buffer.",
    );
    rejects(
      () => parseBytesElements(new Uint8Array([5, 0, 0, 0, 1]), names),
      "incomplete string data for inference input 'IN' for model 'm', expecting string of length 5 but only 1 bytes available.",
    );
  });
});

describe('exact-json', () => {
  it('keeps 64-bit integers exact and marks integral float literals', () => {
    const v = parseExactJson('{"a":[9223372036854775807,-9007199254740993,1.0,1.5,2e3,NaN,-Infinity]}');
    assert.deepEqual((v as { a: unknown[] }).a.slice(0, 2), [9223372036854775807n, -9007199254740993n]);
    const a = (v as { a: unknown[] }).a;
    assert.ok(a[2] instanceof JsonFloat && a[2].value === 1);
    assert.equal(a[3], 1.5);
    assert.ok(a[4] instanceof JsonFloat && a[4].value === 2000);
    assert.ok(Number.isNaN(a[5]));
    assert.equal(a[6], Number.NEGATIVE_INFINITY);
    assert.equal(
      stringifyExactJson({ x: [18446744073709551615n, 1, true, 'q"'], y: undefined, z: new JsonFloat(3) }),
      '{"x":[18446744073709551615,1,true,"q\\""],"z":3.0}',
    );
  });

  it('reports rapidjson-like syntax errors with offsets', () => {
    assert.throws(() => parseExactJson('x'), /Invalid value\. at 0/);
    assert.throws(() => parseExactJson('[1,'), /Invalid value\. at 3/);
    assert.throws(() => parseExactJson('{"a" 1}'), /Missing a colon/);
    assert.throws(() => parseExactJson('[1] 2'), /must not be followed/);
    assert.throws(() => parseExactJson(`${'['.repeat(101)}${']'.repeat(101)}`), /Nesting depth exceeds 100/);
    assert.deepEqual(parseExactJson('"\\u00e9\\n"'), 'é\n');
  });
});

function elementsOf(datatype: Datatype, data: unknown): unknown[] {
  const bytes = jsonDataToTensorBytes(data as never, datatype, [2, 2], 'IN');
  return tensorToJsonElements({ name: 'IN', datatype, shape: [2, 2], data: bytes });
}

describe('json-tensor', () => {
  it('round-trips every JSON-capable datatype from nested and flat data', () => {
    const cases: [Datatype, unknown[]][] = [
      ['BOOL', [true, false, false, true]],
      ['UINT8', [0, 1, 254, 255]],
      ['UINT16', [0, 1, 65534, 65535]],
      ['UINT32', [0, 1, 4294967294, 4294967295]],
      ['UINT64', [0, 1, 9007199254740993n, 18446744073709551615n]],
      ['INT8', [-128, -1, 0, 127]],
      ['INT16', [-32768, -1, 0, 32767]],
      ['INT32', [-2147483648, -1, 0, 2147483647]],
      ['INT64', [-9223372036854775808n, -1, 9007199254740993n, 9223372036854775807n]],
      ['FP32', [0.5, -1.25, 3, 1e10]],
      ['FP64', [0.1, -1e300, 3, Number.POSITIVE_INFINITY]],
      ['BYTES', ['a', '', 'héllo', 'z']],
    ];
    for (const [dt, flat] of cases) {
      assert.deepEqual(elementsOf(dt, flat), flat, `${dt} flat`);
      assert.deepEqual(
        elementsOf(dt, [flat.slice(0, 2), [flat.slice(2, 3), [flat[3]]]]),
        flat,
        `${dt} nested`,
      );
    }
  });

  it('writes little-endian row-major bytes', () => {
    assert.deepEqual([...jsonDataToTensorBytes([1, 256], 'INT16', [2], 'x')], [1, 0, 0, 1]);
  });

  it('applies Triton element rules', () => {
    rejects(
      () => jsonDataToTensorBytes([1, 0], 'BOOL', [2], 'x'),
      "Unable to parse 'data': attempt to access JSON non-boolean as boolean",
    );
    rejects(
      () => jsonDataToTensorBytes(parseExactJson('[1.0]'), 'INT32', [1], 'x'),
      "Unable to parse 'data': attempt to access JSON non-signed-integer as signed-integer",
    );
    rejects(
      () => jsonDataToTensorBytes([1.5], 'INT32', [1], 'x'),
      "Unable to parse 'data': attempt to access JSON non-signed-integer as signed-integer",
    );
    rejects(
      () => jsonDataToTensorBytes([-1], 'UINT8', [1], 'x'),
      "Unable to parse 'data': attempt to access JSON non-unsigned-integer as unsigned-integer",
    );
    rejects(
      () => jsonDataToTensorBytes(['1'], 'FP32', [1], 'x'),
      "Unable to parse 'data': attempt to access JSON non-number as double",
    );
    rejects(
      () => jsonDataToTensorBytes([1], 'BYTES', [1], 'x'),
      "Unable to parse 'data': attempt to access JSON non-string as string",
    );
    rejects(
      () => jsonDataToTensorBytes([300], 'UINT8', [1], 'x'),
      "Unable to parse 'data': value 300 is out of range for datatype UINT8 of input 'x' (expected 0 to 255)",
    );
    rejects(
      () => jsonDataToTensorBytes([1], 'FP16', [1], 'x'),
      'receiving FP16 data via JSON is not supported. Please use the binary data format for input x',
    );
    rejects(
      () => jsonDataToTensorBytes([1], 'BF16', [1], 'x'),
      'receiving BF16 data via JSON is not supported. Please use the binary data format for input x',
    );
    rejects(
      () => tensorToJsonElements({ name: 'o', datatype: 'FP16', shape: [1], data: new Uint8Array(2) }),
      'sending FP16 data via JSON is not supported. Please use the binary data format for output',
    );
  });

  it('checks the element count against the shape with both Triton texts', () => {
    rejects(
      () => jsonDataToTensorBytes([1, 2, 3], 'INT32', [2, 2], 'x'),
      "Failed to parse 'data' field: shape does not match true shape",
    );
    rejects(
      () => jsonDataToTensorBytes([1, 2, 3, 4, 5], 'INT32', [2, 2], 'x'),
      "Unable to parse 'data': Shape does not match true shape of 'data' field",
    );
  });

  it('refuses tensors above the size limit', () => {
    rejects(
      () => jsonDataToTensorBytes([1, 2], 'FP32', [2], 'x', { maxInputBytes: 4 }),
      "JSON input 'x' has a byte_size (8 bytes) that exceeds the maximum allowed value of 4 bytes. Use --http-max-input-size to increase the limit.",
    );
  });

  it('property: raw bytes → JSON text → parse → bytes is the identity for integer and FP64 types', () => {
    const dts = DATATYPES.filter((d) => !['FP16', 'BF16', 'BYTES', 'FP32', 'BOOL'].includes(d));
    fc.assert(
      fc.property(fc.constantFrom(...dts), fc.uint8Array({ maxLength: 64 }), (dt, seed) => {
        const width =
          { UINT8: 1, INT8: 1, UINT16: 2, INT16: 2, UINT32: 4, INT32: 4, FP64: 8 }[dt as string] ?? 8;
        const data = seed.slice(0, seed.length - (seed.length % width));
        const shape = [data.length / width];
        const tensor = { name: 'x', datatype: dt, shape, data };
        const elements = tensorToJsonElements(tensor);
        if (dt === 'FP64' && elements.some((e) => Number.isNaN(e))) return; // NaN payload bits are not preserved
        const text = stringifyExactJson(elements);
        const back = jsonDataToTensorBytes(parseExactJson(text), dt, shape, 'x');
        assert.deepEqual([...back], [...data]);
      }),
      { numRuns: 300 },
    );
  });
});
