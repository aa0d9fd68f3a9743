/**
 * The shape of one row of the option table (profile-options.ts): everything about an option in one place —
 * its flag names, help text and help group, how the command line collects its value, and its config-file key
 * with the schema of what a file may hold there. commander options, the bench-config schema and the
 * file ↔ flags conversion are all derived from these rows.
 */
import type { z } from 'zod';

/** How the command line collects the value (the type it has in `RawFlags`). */
export type OptionValue =
  /** `--flag <v>`: a string, validated when the run is resolved. */
  | 'text'
  /** `--flag <v>` where the first one given wins (perf_analyzer's --request-count). */
  | 'first-text'
  /** `--flag`: true when given (`--no-flag`: false). */
  | 'switch'
  /** `--flag <v>`, repeatable: every value, in order. */
  | 'list'
  /** `-v`, repeatable: how many times. */
  | 'count'
  /** Config file only: model name → config.pbtxt text. */
  | 'text-map';

export type ValueOf<V extends OptionValue> = V extends 'text' | 'first-text'
  ? string
  : V extends 'switch'
    ? boolean
    : V extends 'list'
      ? string[]
      : V extends 'count'
        ? number
        : Record<string, string>;

/** The help headings of the profile flags, in the order `--help` prints them. */
export const HELP_GROUPS = {
  target: 'Model and server:',
  load: 'Load:',
  measurement: 'Measurement:',
  input: 'Input data:',
  output: 'Output and gates:',
  metrics: 'Server metrics:',
  wire: 'HTTP and gRPC:',
  tls: 'TLS:',
  /** commander's own heading: -h, --version and the flags of no other group. */
  other: 'Options:',
} as const;

export type HelpGroup = keyof typeof HELP_GROUPS;

/** Where an option sits in a config file, and how its value converts to and from the flag's. */
export interface ConfigKey {
  /** Path in the file (`embedded.modelRepository`); default: the option's key. */
  path?: string;
  /** What the file may hold there (plain validation, no transforms: the JSON Schema is derived from it). */
  schema: z.ZodType;
  /** A number in the file, a string on the command line (converted as if typed, and back for print-config). */
  numeric?: boolean;
  /** File value → flag value (default: `numeric` ones become strings; the rest as is). */
  toFlag?: (value: never) => unknown;
  /**
   * Flag values → file value, for print-config and the shards' config (default: a numeric flag back to a
   * number, the rest as is). Gets every flag: one file key may gather several flags (`inputData` ← -z).
   */
  fromFlags?: (flags: Readonly<Record<string, unknown>>) => unknown;
}

/** The largest value a numeric option accepts, and why (completes "The value must be <= max (…)"). */
export interface FlagLimit {
  max: number;
  why: string;
}

export interface OptionSpec {
  /** commander flags (`-p, --measurement-interval <ms>`); absent: a config-file key only. */
  flags?: string;
  help?: string;
  value: OptionValue;
  /** The help group (absent: config only). */
  group?: HelpGroup;
  /** The config-file key; absent: command line only. */
  config?: ConfigKey;
  /**
   * The largest value accepted (exit 3 over it). Limits are generous: they refuse what cannot work (a V8 fatal
   * error, a timer over 2^31 − 1 ms, 100000 threads), never a real benchmark.
   */
  limit?: FlagLimit;
  /** An integer count (`countOf`): > 0, or >= 0 with `allowZero`; `default` when not given. */
  count?: { allowZero?: boolean; default?: number };
  /** A percentage in [0, 100] read as a fraction (`fractionOf`); `default` is the fraction when not given. */
  fraction?: { default: number };
}
