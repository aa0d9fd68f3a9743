/**
 * Reading an option's value the way its table row says: the name an error message uses, its limit, integer
 * counts and percentages with their default. perf_analyzer's texts (`Failed to parse -b. …`) come from parse-number.ts.
 */
import { Option } from 'commander';
import { OptionError } from '../errors.ts';
import type { FlagLimit, OptionSpec } from './option-spec.ts';
import { parseCountFlag, parseDecimalFlag } from './parse-number.ts';
import { PROFILE_OPTIONS, type ProfileOptionKey, type RawFlags } from './profile-options.ts';

const ROWS = PROFILE_OPTIONS as Record<ProfileOptionKey, OptionSpec>;

/** The flag as messages name it: the short form when there is one (`-p`), else the long one. */
export function flagName(key: ProfileOptionKey): string {
  const flags = ROWS[key].flags;
  if (flags === undefined) return key;
  const option = new Option(flags);
  return (option.short ?? option.long) as string;
}

/** Every limited option's maximum, by the name messages use (`-b`, `--concurrency-range`). */
export const FLAG_MAXIMA: Readonly<Record<string, FlagLimit>> = Object.fromEntries(
  (Object.keys(ROWS) as ProfileOptionKey[]).flatMap((key) => {
    const limit = ROWS[key].limit;
    return limit ? [[flagName(key), limit] as const] : [];
  }),
);

/** The limit of a limited option, by key. */
export function limitOf(key: ProfileOptionKey): FlagLimit {
  const limit = ROWS[key].limit;
  if (!limit) throw new Error(`option ${key} has no limit in the option table`);
  return limit;
}

type Table = typeof PROFILE_OPTIONS;
/** The rows read by `countOf`, and those of them with a default (their value is always a number). */
type CountKey = { [K in keyof Table]: Table[K] extends { count: object } ? K : never }[keyof Table];
type DefaultedKey = {
  [K in keyof Table]: Table[K] extends { count: { default: number } } ? K : never;
}[keyof Table];

/** An integer count option: its value parsed against its row's rule and limit, or the row's default. */
export function countOf<K extends CountKey>(
  flags: RawFlags,
  key: K,
): K extends DefaultedKey ? number : number | undefined;
export function countOf(flags: RawFlags, key: CountKey): number | undefined {
  const row = ROWS[key];
  const text = flags[key] as string | undefined;
  if (text === undefined) return row.count?.default;
  return parseCountFlag(flagName(key), text, {
    ...(row.count?.allowZero ? { allowZero: true } : {}),
    ...(row.limit ? { limit: row.limit } : {}),
  });
}

type FractionKey = { [K in keyof Table]: Table[K] extends { fraction: object } ? K : never }[keyof Table];

/** A percentage option in [0, 100] as a fraction (`--max-error-rate 5` → 0.05), or its row's default fraction. */
export function fractionOf(flags: RawFlags, key: FractionKey): number {
  const text = flags[key] as string | undefined;
  const row = ROWS[key];
  if (text === undefined) return row.fraction?.default as number;
  const name = flagName(key);
  const pct = parseDecimalFlag(name, text);
  if (pct < 0 || pct > 100) throw new OptionError(`Failed to parse ${name}. The value must be in [0, 100].`);
  return pct / 100;
}
