/**
 * `--concurrency-range` / `--request-rate-range` values (`start[:end[:step]]`), perf_analyzer's syntax and texts.
 * Which fields were given matters (binary search needs an explicit end; `--request-count` refuses a multi-value
 * range), so the parse keeps that.
 */
import { OptionError } from '../errors.ts';
import type { FlagLimit } from '../options/option-spec.ts';
import { overLimit, parseDecimalFlag, parseIntegerFlag } from '../options/parse-number.ts';

export interface ParsedRange {
  start: number;
  /** Absent when only `start` was given (perf_analyzer then keeps end = 1, i.e. one level). */
  end?: number;
  /** Absent when not given (default 1). */
  step?: number;
}

/** Parses `start[:end[:step]]`; integers for concurrency, decimals for request rates. */
export function parseRange(
  flag: string,
  text: string,
  kind: 'integer' | 'decimal',
  limit?: FlagLimit,
): ParsedRange {
  const fields = text.split(':');
  if (fields.length > 3 || fields.some((f) => f.trim() === '')) {
    throw new OptionError(`Failed to parse ${flag}. The value does not match <start:end:step>.`);
  }
  const parse = kind === 'integer' ? parseIntegerFlag : parseDecimalFlag;
  // A huge number is "too large", not "invalid", however many digits it has.
  if (limit && fields.some((f) => /^\+?(\d+\.?\d*|\.\d+)$/.test(f.trim()) && Number(f.trim()) > limit.max)) {
    throw overLimit(flag, limit);
  }
  const [start, end, step] = fields.map((f) => parse(flag, f));
  const top = Math.max(start!, end ?? 0);
  if (limit && (top > limit.max || (step !== undefined && step > limit.max))) throw overLimit(flag, limit);
  if (start! <= 0) throw new OptionError(`Failed to parse ${flag}. The start of the range must be > 0.`);
  if (end !== undefined && end < 0)
    throw new OptionError(`Failed to parse ${flag}. The end of the range must be >= 0.`);
  if (step !== undefined && step <= 0)
    throw new OptionError(`Failed to parse ${flag}. The step of the range must be > 0.`);
  return { start: start!, ...(end === undefined ? {} : { end }), ...(step === undefined ? {} : { step }) };
}

/** Whether the range names more than one level (end given, non-zero and above start, or 0 = open-ended). */
export function isMultiValue(range: ParsedRange): boolean {
  return range.end !== undefined && (range.end === 0 || range.end > range.start);
}
