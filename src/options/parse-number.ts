/**
 * Numeric flag values with perf_analyzer's error texts (`Failed to parse -b. Invalid value provided: x`), so
 * scripts that match them keep working. Whole-string parsing: `12abc` is refused (perf_analyzer's std::stoi
 * would take 12; silently reading half a value is worse).
 */
import { OptionError } from '../errors.ts';
import type { FlagLimit } from './option-spec.ts';

const INTEGER = /^[+-]?\d+$/;
const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/** `-b` or `--max-trials`: the flag as the user typed it, used in messages. */
export function invalidValue(flag: string, value: string): OptionError {
  return new OptionError(`Failed to parse ${flag}. Invalid value provided: ${value}`);
}

export function parseIntegerFlag(flag: string, value: string): number {
  const trimmed = value.trim();
  if (!INTEGER.test(trimmed)) throw invalidValue(flag, value);
  const n = Number(trimmed);
  if (!Number.isSafeInteger(n)) throw invalidValue(flag, value);
  return n;
}

export function parseDecimalFlag(flag: string, value: string): number {
  const trimmed = value.trim();
  if (!DECIMAL.test(trimmed)) throw invalidValue(flag, value);
  return Number(trimmed);
}

/**
 * An integer flag that must be > 0 (or ≥ 0 with `allowZero`) and at most `limit.max` (the option table's `limit`), with a
 * message naming the rule.
 */
export function parseCountFlag(
  flag: string,
  value: string,
  { allowZero = false, limit }: { allowZero?: boolean; limit?: FlagLimit } = {},
): number {
  const trimmed = value.trim();
  // A huge integer is "too large", not "invalid", however many digits it has.
  if (limit && /^\+?\d+$/.test(trimmed) && Number(trimmed) > limit.max) throw overLimit(flag, limit);
  const n = parseIntegerFlag(flag, value);
  if (allowZero ? n < 0 : n <= 0) {
    throw new OptionError(`Failed to parse ${flag}. The value must be ${allowZero ? '>= 0' : '> 0'}.`);
  }
  return n;
}

/** The refusal of a value over its flag's maximum. */
export function overLimit(flag: string, limit: FlagLimit): OptionError {
  return new OptionError(`Failed to parse ${flag}. The value must be <= ${limit.max} (${limit.why}).`);
}

/** `--percentile`: -1 (= not set) or an integer in (0, 100), perf_analyzer's rule and text. */
export function parsePercentile(value: string): number | undefined {
  const message =
    'Failed to parse --percentile. The value must be -1 for not reporting or in range (0, 100).';
  if (!INTEGER.test(value.trim())) throw new OptionError(message);
  const n = Number(value.trim());
  if (n === -1) return undefined;
  if (n <= 0 || n >= 100) throw new OptionError(message);
  return n;
}
