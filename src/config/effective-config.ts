/**
 * `inferbench print-config`: the config a run would use — the file, the flags over it, and the defaults that
 * resolving filled in — in the config-file format, so the output can be saved and run with `-c` as is. The
 * defaults come from the resolved run (cli/print-config.ts).
 */
import { stringify } from 'yaml';
import { type BenchConfig, benchConfigSchema } from './bench-config-schema.ts';

/** Explicit values (file + flags) over the resolved defaults, in the schema's key order, validated. */
export function effectiveConfig(explicit: BenchConfig, resolvedDefaults: BenchConfig): BenchConfig {
  const defaults = resolvedDefaults as Record<string, unknown>;
  const given = explicit as Record<string, unknown>;
  const ordered: Record<string, unknown> = {};
  for (const key of Object.keys(benchConfigSchema.shape)) {
    const value = given[key] ?? defaults[key];
    if (value !== undefined) ordered[key] = value;
  }
  // Validated, so what print-config prints always loads again with -c.
  return benchConfigSchema.parse(ordered);
}

/** The YAML text print-config writes. */
export function renderConfigYaml(config: BenchConfig): string {
  return `# Effective inferbench config (file + flags + defaults). Run it with: inferbench -c <this file>\n${stringify(config, { lineWidth: 0 })}`;
}
