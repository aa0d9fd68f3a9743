/**
 * Reading the files `compare` and `report` take: our JSON run record or a perf_analyzer CSV, told apart by
 * content (a record is a JSON object), so a renamed file still works. Every problem is an OptionError (exit 3)
 * naming the file.
 */

import { OptionError } from '../errors.ts';
import { type ComparableRun, comparableFromCsv, comparableFromRecord } from '../gate/comparable.ts';
import { parseRunResult } from '../report/json-record.ts';
import type { RunResult } from '../report/model.ts';
import type { FileView } from './resolve-settings.ts';

function readText(path: string, files: FileView): string {
  if (!files.exists(path)) throw new OptionError(`cannot read '${path}': the file does not exist`);
  return files.readText(path);
}

/** A run record written by `--json`. */
export function readRunRecord(path: string, files: FileView): RunResult {
  return parseRunResult(readText(path, files), path);
}

/** A record or a perf_analyzer CSV, as comparable levels. */
export function readComparable(path: string, files: FileView): ComparableRun {
  const text = readText(path, files);
  if (text.trimStart().startsWith('{')) return comparableFromRecord(parseRunResult(text, path), path);
  try {
    return comparableFromCsv(text, path);
  } catch (error) {
    const message = (error as Error).message;
    throw new OptionError(message.startsWith(path) ? message : `${path}: ${message}`, { cause: error });
  }
}
