/**
 * inferbench as a library: what the CLI does, callable from code (as autocannon, k6 and ghz are scripted).
 *
 *   import { compare, profile, startServer } from 'inferbench';
 *   const server = await startServer();
 *   const run = await profile({ url: `127.0.0.1:${server.httpPort}`, model: 'simple', concurrencyRange: '1:4:2' });
 *   await server.stop();
 *
 * `profile` takes the keys of a `-c` config file (see `inferbench print-config` and the JSON Schema
 * `inferbench/bench-config.schema.json`) and resolves to the run record that `--json` writes (schema
 * `inferbench/run-result.schema.json`). The CLI's `profile` and `compare` commands call the same functions
 * (src/cli/profile-run.ts, src/gate/compare.ts); the CLI adds only printing and output files.
 */
import { existsSync, readFileSync } from 'node:fs';
import { measureProfile, resolveProfileConfig } from './cli/profile-run.ts';
import type { ProgressEvent } from './cli/progress.ts';
import { runBenchmark } from './cli/run-benchmark.ts';
import type { BenchConfig } from './config/bench-config-schema.ts';
import { benchConfigJsonSchemaText } from './config/bench-config-schema.ts';
import { comparableFromRecord } from './gate/comparable.ts';
import {
  type CompareOptions,
  type CompareResult,
  compareRuns,
  DEFAULT_COMPARE_METRICS,
  DEFAULT_COMPARE_OPTIONS,
} from './gate/compare.ts';
import { parseRunResult as parseRecordText } from './report/json-record.ts';
import type { RunResult } from './report/model.ts';
import { runResultJsonSchemaText } from './report/run-result-schema.ts';

export type { RunningServer, StartServerOptions, StopOptions } from '../embedded-server/src/index.ts';
export { startServer } from '../embedded-server/src/index.ts';
export { InferbenchError } from './errors.ts';
export type { MetricChange } from './gate/compare.ts';
export type {
  DurationStat,
  GateVerdict,
  LatencySummary,
  LevelResult,
  LevelStatus,
  LoadMode,
  Measurement,
  ModelInfo,
  RunResult,
  ServerStatsDelta,
  WindowResult,
} from './report/model.ts';
export type { BenchConfig, CompareOptions, CompareResult, ProgressEvent };

/** Settings of one profile run: the keys of a `-c` config file, as an object. */
export type ProfileConfig = Partial<BenchConfig>;

export interface ProfileOptions {
  /** Aborting finishes the current window, marks the level interrupted and resolves with what was measured. */
  signal?: AbortSignal;
  /** Progress: level and window starts and ends (the CLI's status line and per-level blocks come from these). */
  onEvent?: (event: ProgressEvent) => void;
}

/**
 * Profiles a model (`inferbench profile -c <file>` with the file given as an object) and resolves to the run
 * record. Output-file keys (csvFile, jsonFile, …) are ignored: the record is returned, not written. Bad
 * settings reject with an `InferbenchError` whose `exitCode` is the CLI's (3) and whose message names the key.
 */
export async function profile(config: ProfileConfig, options: ProfileOptions = {}): Promise<RunResult> {
  const files = { exists: existsSync, readText: (path: string) => readFileSync(path, 'utf8') };
  const { resolved } = resolveProfileConfig(config, files);
  const { result } = await measureProfile(resolved, runBenchmark, {
    onEvent: options.onEvent ?? (() => undefined),
    signal: options.signal ?? new AbortController().signal,
  });
  return result;
}

/**
 * Compares runs as `inferbench compare` does: each metric's change at each level with a bootstrap interval and
 * a verdict (improved, unchanged, regressed, inconclusive). Several records per side are repeats.
 */
export function compare(
  baseline: RunResult | readonly RunResult[],
  current: RunResult | readonly RunResult[],
  options: Partial<CompareOptions> = {},
): CompareResult {
  const side = (runs: RunResult | readonly RunResult[], name: string) =>
    (Array.isArray(runs) ? runs : [runs]).map((run: RunResult, i: number) =>
      comparableFromRecord(run, `${name}[${i}]`),
    );
  return compareRuns(side(baseline, 'baseline'), side(current, 'current'), {
    ...DEFAULT_COMPARE_OPTIONS,
    metrics: [...DEFAULT_COMPARE_METRICS],
    ...options,
  });
}

/** Parses and validates a run record (the `--json` file's text); throws naming what is wrong. */
export function parseRunResult(text: string, source?: string): RunResult {
  return parseRecordText(text, source);
}

/** The JSON Schema (draft 2020-12) of the run record. */
export function runResultJsonSchema(): Record<string, unknown> {
  return JSON.parse(runResultJsonSchemaText()) as Record<string, unknown>;
}

/** The JSON Schema of the settings `profile()` and `-c` files take. */
export function profileConfigJsonSchema(): Record<string, unknown> {
  return JSON.parse(benchConfigJsonSchemaText()) as Record<string, unknown>;
}
