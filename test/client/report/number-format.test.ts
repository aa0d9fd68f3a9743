import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { formatCppDouble, formatFixed2, truncUs } from '../../../src/report/number-format.ts';

describe('formatCppDouble (C++ default ostream, precision 6)', () => {
  it('matches the known perf_analyzer outputs', () => {
    const pairs: [number, string][] = [
      [1407.8412, '1407.84'],
      [678.77500001, '678.775'],
      [676.23, '676.23'],
      [0.5, '0.5'],
      [1e6, '1e+06'],
      [123456.7, '123457'],
      [100, '100'],
      [999999.5, '1e+06'],
      [0.0001, '0.0001'],
      [0.00001234, '1.234e-05'],
      [1.5e21, '1.5e+21'],
      [0, '0'],
      [-0, '-0'],
      [-2.5, '-2.5'],
      [407.866, '407.866'],
    ];
    for (const [value, text] of pairs) assert.equal(formatCppDouble(value), text, `value ${value}`);
  });

  it('always reads back as the value rounded to 6 significant digits, without trailing zeros', () => {
    fc.assert(
      fc.property(fc.double({ noNaN: true, noDefaultInfinity: true, min: -1e30, max: 1e30 }), (value) => {
        const text = formatCppDouble(value);
        // `===` so that -0 (printed "-0", as C++ does) equals 0.
        assert.ok(Number(text) === Number(value.toPrecision(6)), `${value} → ${text}`);
        assert.doesNotMatch(text, /\.\d*0(e|$)/);
        assert.doesNotMatch(text, /\.(e|$)/);
        const digits = text.replace(/e.*$/, '').replace(/[-.]/g, '').replace(/^0+/, '');
        assert.ok(digits.length <= 6, text);
      }),
    );
  });

  it('prints nan and inf like C++', () => {
    assert.equal(formatCppDouble(Number.NaN), 'nan');
    assert.equal(formatCppDouble(Number.POSITIVE_INFINITY), 'inf');
  });
});

describe('fixed and µs helpers', () => {
  it('formats rates with two decimals and truncates µs', () => {
    assert.equal(formatFixed2(196.866), '196.87');
    assert.equal(formatFixed2(3.3898), '3.39');
    assert.equal(truncUs(5959.99), 5959);
    assert.equal(truncUs(Number.NaN), 0);
  });
});
