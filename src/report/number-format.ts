/**
 * Number formatting that matches perf_analyzer's C++ `std::ostream` output byte for byte, so logs and CSVs
 * written by inferbench parse exactly like perf_analyzer's (`1407.84`, `678.775`, `1e+06`).
 */

/**
 * C++ default stream formatting of a double (`std::cout << x` with precision 6): `%g` semantics — 6 significant
 * digits, scientific notation when the exponent is < -4 or ≥ 6, trailing zeros and a trailing point removed,
 * exponent with a sign and at least two digits.
 */
export function formatCppDouble(value: number, precision = 6): string {
  if (Number.isNaN(value)) return 'nan';
  if (!Number.isFinite(value)) return value > 0 ? 'inf' : '-inf';
  if (value === 0) return Object.is(value, -0) ? '-0' : '0';
  // toExponential rounds to `precision` significant digits first; the exponent after rounding decides the style.
  const exp = value.toExponential(precision - 1);
  const [mantissa, expPart] = exp.split('e') as [string, string];
  const exponent = Number(expPart);
  if (exponent < -4 || exponent >= precision) {
    const sign = exponent < 0 ? '-' : '+';
    const digits = String(Math.abs(exponent)).padStart(2, '0');
    return `${stripZeros(mantissa)}e${sign}${digits}`;
  }
  return stripZeros(value.toFixed(Math.max(0, precision - 1 - exponent)));
}

/** `std::fixed << std::setprecision(2)`: perf_analyzer's format for rates and percentages. */
export function formatFixed2(value: number): string {
  return value.toFixed(2);
}

/** perf_analyzer prints µs as integers obtained by truncating division (ns / 1000). */
export function truncUs(valueUs: number): number {
  return Number.isFinite(valueUs) ? Math.trunc(valueUs) : 0;
}

function stripZeros(text: string): string {
  if (!text.includes('.')) return text;
  return text.replace(/0+$/, '').replace(/\.$/, '');
}
