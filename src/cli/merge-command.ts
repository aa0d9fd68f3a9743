/**
 * `inferbench merge RECORD.json… [--from-logs FILE]`: the shard records of one sharded run → one record and
 * the usual outputs, as if one generator had run (src/distributed/merge-records.ts): the perf_analyzer text on
 * stdout, --json, -f/--csv, --html, and --threshold gates. Exit code: the merged run's own (0, 2, 4, 5 as one
 * generator would have ended), 1 when a threshold fails, 3 when the records do not belong together.
 */
import { mergeShardRecords, type ShardInput } from '../distributed/merge-records.ts';
import { recordsFromLog } from '../distributed/record-log.ts';
import { OptionError } from '../errors.ts';
import { parseThreshold, type Threshold } from '../gate/thresholds.ts';
import { renderHtmlReport } from '../html/report-html.ts';
import { renderCsv } from '../report/csv.ts';
import { parseRunResult, serializeRunResult } from '../report/json-record.ts';
import type { RunResult } from '../report/model.ts';
import { renderTextReport } from '../report/text-report.ts';
import type { CompareIo } from './compare-command.ts';
import { applyGates, exitCodeAfterGates, renderThresholdSection } from './gates.ts';
import { readRunRecord } from './read-record.ts';

export interface MergeFlags {
  json?: string;
  csv?: string;
  html?: string;
  fromLogs?: string[];
  threshold?: string[];
  quiet?: boolean;
}

/** Reads the inputs, merges, gates; returns the record and the exit code (the caller writes nothing yet). */
export function mergeInputs(files: readonly string[], flags: MergeFlags, io: CompareIo): ShardInput[] {
  const inputs: ShardInput[] = files.map((path) => ({ source: path, record: readRunRecord(path, io.files) }));
  for (const log of flags.fromLogs ?? []) {
    if (!io.files.exists(log)) throw new OptionError(`cannot read '${log}': the file does not exist`);
    for (const found of recordsFromLog(io.files.readText(log), log))
      inputs.push({ source: found.source, record: parseRunResult(found.text, found.source) });
  }
  return inputs;
}

/** Writes the merged record's outputs and gates it; returns the exit code. */
export function emitMerged(
  merged: RunResult,
  flags: Omit<MergeFlags, 'threshold' | 'fromLogs'>,
  thresholds: readonly Threshold[],
  io: CompareIo,
): number {
  const { result, verdicts } = applyGates(merged, thresholds);
  for (const warning of result.warnings) io.stderr.write(`${warning}\n`);
  if (!flags.quiet) io.stdout.write(renderTextReport(result, { verbose: false }));
  if (flags.json !== undefined) io.files.writeText(flags.json, serializeRunResult(result), false);
  if (flags.csv !== undefined)
    io.files.writeText(flags.csv, renderCsv(result, { verboseCsv: false, extraCsvColumns: false }), false);
  if (flags.html !== undefined) io.files.writeText(flags.html, renderHtmlReport(result), false);
  if (verdicts.length > 0) io.stderr.write(renderThresholdSection(verdicts));
  return exitCodeAfterGates(result.exitCode, verdicts);
}

export function runMerge(files: readonly string[], flags: MergeFlags, io: CompareIo): number {
  if (files.length === 0 && (flags.fromLogs ?? []).length === 0)
    throw new OptionError('merge needs the shard records: RECORD.json… and/or --from-logs FILE.');
  const thresholds = (flags.threshold ?? []).map((text) => {
    const parsed = parseThreshold(text);
    if ('error' in parsed) throw new OptionError(`Failed to parse --threshold. ${parsed.error}`);
    return parsed.value;
  });
  const merged = mergeShardRecords(mergeInputs(files, flags, io));
  return emitMerged(merged, flags, thresholds, io);
}
