/**
 * The versioned run record on disk (`--json <file>`): written with a stable key order so two records diff
 * cleanly, and read back only after validation, so re-rendering, comparing and gating never trust a
 * hand-edited or foreign file blindly.
 */
import { z } from 'zod';
import { OptionError } from '../errors.ts';
import { RUN_RESULT_SCHEMA_VERSION, type RunResult } from './model.ts';
import { runResultSchema } from './run-result-schema.ts';

/** Keys that lead the top-level object; everything else (at every depth) is sorted by name. */
const LEADING_KEYS = ['schemaVersion', 'tool'];

/** Serialises a RunResult: validated, `schemaVersion` and `tool` first, other keys sorted, 2-space indent. */
export function serializeRunResult(result: RunResult): string {
  const checked = runResultSchema.parse(result);
  return JSON.stringify(sortKeys(checked, true), null, 2) + '\n';
}

/** Parses and validates a record; throws OptionError (exit 3) naming what is wrong. */
export function parseRunResult(text: string, source = 'run record'): RunResult {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new OptionError(`${source} is not valid JSON: ${(error as Error).message}`, { cause: error });
  }
  const version = (raw as { schemaVersion?: unknown } | null)?.schemaVersion;
  if (version !== RUN_RESULT_SCHEMA_VERSION) {
    throw new OptionError(
      `${source} has schemaVersion ${JSON.stringify(version)}; this inferbench reads schemaVersion ${RUN_RESULT_SCHEMA_VERSION}`,
    );
  }
  const parsed = runResultSchema.safeParse(raw);
  if (!parsed.success)
    throw new OptionError(`${source} is not a valid run record:\n${z.prettifyError(parsed.error)}`);
  return parsed.data;
}

function sortKeys(value: unknown, top: boolean): unknown {
  if (Array.isArray(value)) return value.map((v) => sortKeys(v, false));
  if (value === null || typeof value !== 'object') return value;
  const entries = Object.entries(value as Record<string, unknown>);
  const rank = (key: string): number =>
    top && LEADING_KEYS.includes(key) ? LEADING_KEYS.indexOf(key) : LEADING_KEYS.length;
  entries.sort(([a], [b]) => rank(a) - rank(b) || (a < b ? -1 : a > b ? 1 : 0));
  return Object.fromEntries(entries.map(([k, v]) => [k, sortKeys(v, false)]));
}
