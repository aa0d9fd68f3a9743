import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isMultiValue, parseRange } from '../../../src/cli/parse-range.ts';
import { parseRequestParameter } from '../../../src/cli/parse-request-parameter.ts';
import { headersOf, parseHeader } from '../../../src/options/parse-header.ts';
import {
  parseCountFlag,
  parseDecimalFlag,
  parseIntegerFlag,
  parsePercentile,
} from '../../../src/options/parse-number.ts';

const rangeError = 'Failed to parse --concurrency-range. The value does not match <start:end:step>.';

describe('parseRange', () => {
  it('keeps which fields were given', () => {
    assert.deepEqual(parseRange('--concurrency-range', '4', 'integer'), { start: 4 });
    assert.deepEqual(parseRange('--concurrency-range', '1:8', 'integer'), { start: 1, end: 8 });
    assert.deepEqual(parseRange('--concurrency-range', '1:8:2', 'integer'), { start: 1, end: 8, step: 2 });
    assert.deepEqual(parseRange('--request-rate-range', '10.5:20:2.5', 'decimal'), {
      start: 10.5,
      end: 20,
      step: 2.5,
    });
  });

  it("refuses with perf_analyzer's texts", () => {
    assert.throws(() => parseRange('--concurrency-range', '1:2:3:4', 'integer'), { message: rangeError });
    assert.throws(() => parseRange('--concurrency-range', '1::2', 'integer'), { message: rangeError });
    assert.throws(() => parseRange('--concurrency-range', '1.5', 'integer'), {
      message: 'Failed to parse --concurrency-range. Invalid value provided: 1.5',
    });
    assert.throws(
      () => parseRange('--concurrency-range', '0:4', 'integer'),
      /start of the range must be > 0/,
    );
    assert.throws(
      () => parseRange('--concurrency-range', '1:4:0', 'integer'),
      /step of the range must be > 0/,
    );
  });

  it('knows multi-value ranges', () => {
    assert.equal(isMultiValue({ start: 4 }), false);
    assert.equal(isMultiValue({ start: 4, end: 4 }), false);
    assert.equal(isMultiValue({ start: 1, end: 4 }), true);
    assert.equal(isMultiValue({ start: 1, end: 0 }), true);
  });
});

describe('parseHeader', () => {
  it('splits at the first ":" and keeps the value untrimmed', () => {
    assert.deepEqual(parseHeader('A: b'), { name: 'A', value: ' b' });
    assert.deepEqual(parseHeader('Authorization:Bearer a:b'), { name: 'Authorization', value: 'Bearer a:b' });
    assert.deepEqual(headersOf(['X:1', 'X:2', 'Y:']), { X: '1, 2', Y: '' });
    assert.throws(() => parseHeader('nocolon'), { name: 'OptionError' });
    for (const bad of ['bad key:v', 'a(b):v', 'é:v', 'X:line\nbreak', 'X:a\rb', 'X:nul\0']) {
      assert.throws(() => parseHeader(bad), { name: 'OptionError' }, bad);
    }
    assert.deepEqual(parseHeader("X-a.b_c!#$%&'*+^`|~:v"), { name: "X-a.b_c!#$%&'*+^`|~", value: 'v' });
  });
});

describe('numbers', () => {
  it("parses whole values only, with perf_analyzer's text", () => {
    assert.equal(parseIntegerFlag('-b', '8'), 8);
    assert.throws(() => parseIntegerFlag('-b', '8x'), {
      message: 'Failed to parse -b. Invalid value provided: 8x',
    });
    assert.equal(parseDecimalFlag('-s', '12.5'), 12.5);
    assert.throws(() => parseDecimalFlag('-s', 'ten'), {
      message: 'Failed to parse -s. Invalid value provided: ten',
    });
    assert.throws(() => parseCountFlag('-b', '0'), { message: 'Failed to parse -b. The value must be > 0.' });
    assert.equal(parseCountFlag('--warmup-request-count', '0', { allowZero: true }), 0);
  });

  it('percentile: -1 or (0, 100)', () => {
    const message =
      'Failed to parse --percentile. The value must be -1 for not reporting or in range (0, 100).';
    assert.equal(parsePercentile('95'), 95);
    assert.equal(parsePercentile('-1'), undefined);
    for (const bad of ['0', '100', '101', '-2', '95.5', 'p95'])
      assert.throws(() => parsePercentile(bad), { message });
  });
});

describe('parseRequestParameter', () => {
  it('types values and lower-cases the type', () => {
    assert.deepEqual(parseRequestParameter('priority:2:INT'), { name: 'priority', value: 2 });
    assert.deepEqual(parseRequestParameter('flag:true:bool'), { name: 'flag', value: true });
    assert.deepEqual(parseRequestParameter('tag:abc:string'), { name: 'tag', value: 'abc' });
    assert.throws(() => parseRequestParameter('a:b'), /must be <name>:<value>:<type>/);
    assert.throws(() => parseRequestParameter('a:x:int'), /is not an int/);
    assert.throws(() => parseRequestParameter('a:x:float'), /Unsupported type 'float'/);
  });
});
