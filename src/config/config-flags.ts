/**
 * A config file and the command line meet in one shape: `RawFlags`, the strings commander produces. The file is
 * converted into flags and merged UNDER the flags the user actually typed, so `resolve-settings.ts` stays the one
 * place that validates and applies defaults (precedence: command line > config file > defaults). The reverse
 * conversion serves `inferbench print-config` and the shards' config. Both walk the option table
 * (src/options/profile-options.ts): each row with a config key says where it sits in the file and how its value
 * converts.
 */
import { create } from '@bufbuild/protobuf';
import { fromText, mergeFromText, toText } from '@bufbuild/protobuf/txtpb';
import type { ConfigKey, OptionSpec } from '../options/option-spec.ts';
import { PROFILE_OPTIONS, type RawFlags } from '../options/profile-options.ts';
import { ModelConfigSchema } from '../protocol/gen/model_config_pb.ts';
import type { BenchConfig } from './bench-config-schema.ts';

/** The table's rows that have a config key, in the table's (and the file's) order. */
const CONFIG_ROWS: readonly (readonly [key: string, config: ConfigKey])[] = Object.entries(
  PROFILE_OPTIONS as Record<string, OptionSpec>,
).flatMap(([key, spec]) => (spec.config ? [[key, spec.config] as const] : []));

const pathOf = (key: string, config: ConfigKey): string[] => (config.path ?? key).split('.');

function valueAt(source: Readonly<Record<string, unknown>>, path: readonly string[]): unknown {
  let value: unknown = source;
  for (const part of path) {
    if (value === null || typeof value !== 'object') return undefined;
    value = (value as Record<string, unknown>)[part];
  }
  return value;
}

function setAt(target: Record<string, unknown>, path: readonly string[], value: unknown): void {
  let object = target;
  for (const part of path.slice(0, -1)) {
    object[part] ??= {};
    object = object[part] as Record<string, unknown>;
  }
  object[path[path.length - 1] as string] = value;
}

/** The config file as flags (what commander would have produced had each value been typed). */
export function configToFlags(config: BenchConfig): RawFlags {
  const flags: Record<string, unknown> = {};
  for (const [key, spec] of CONFIG_ROWS) {
    const value = valueAt(config, pathOf(key, spec));
    if (value === undefined) continue;
    const flag = spec.toFlag
      ? (spec.toFlag as (v: unknown) => unknown)(value)
      : spec.numeric
        ? String(value)
        : value;
    if (flag !== undefined) flags[key] = flag;
  }
  return flags as RawFlags;
}

/** Command-line flags over the file's (a flag the user set replaces the file's value, lists included). */
export function mergeFlags(fromFile: RawFlags, fromCommandLine: RawFlags): RawFlags {
  const merged: RawFlags = { ...fromFile };
  for (const [key, value] of Object.entries(fromCommandLine)) {
    if (value !== undefined && key !== 'config') merged[key] = value;
  }
  return merged;
}

function asNumber(text: unknown): unknown {
  return typeof text === 'string' && /^-?\d+(\.\d+)?$/.test(text.trim()) ? Number(text) : text;
}

/** Flags back into the config-file shape (for `print-config`); keys in the table's order. */
export function flagsToConfig(flags: RawFlags): BenchConfig {
  const out: Record<string, unknown> = {};
  for (const [key, spec] of CONFIG_ROWS) {
    const flag = flags[key];
    const value = spec.fromFlags
      ? spec.fromFlags(flags)
      : spec.numeric
        ? asNumber(flag)
        : Array.isArray(flag)
          ? flag.length > 0
            ? [...flag]
            : undefined
          : flag;
    if (value !== undefined) setAt(out, pathOf(key, spec), value);
  }
  return out as BenchConfig;
}

/**
 * Merges `override` (config.pbtxt text) into `base` with protobuf merge semantics, except that a repeated field
 * the override sets (instance_group, input…) replaces the base's list instead of being appended to it. Map
 * fields (parameters) merge by key; a scalar can be set to any value, 0 included.
 */
export function mergeModelConfigText(base: string, override: string): string {
  const merged = base.trim() === '' ? create(ModelConfigSchema) : fromText(ModelConfigSchema, base);
  const patch = fromText(ModelConfigSchema, override);
  const target = merged as unknown as Record<string, unknown>;
  const source = patch as unknown as Record<string, unknown>;
  for (const field of ModelConfigSchema.fields) {
    const value = source[field.localName];
    if (field.fieldKind === 'list' && Array.isArray(value) && value.length > 0) target[field.localName] = [];
  }
  return toText(ModelConfigSchema, mergeFromText(ModelConfigSchema, merged, override));
}
