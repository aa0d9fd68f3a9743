/**
 * The one place where anything thrown becomes an exit code and a stderr line. perf_analyzer prints
 * `error: <message>`; we do the same, and keep its code numbers (src/errors.ts) so scripts keep working.
 */
import { CommanderError } from 'commander';
import { ExitCode, type ExitCodeValue, exitCodeOf, InferbenchError } from '../errors.ts';

export interface ErrorSink {
  write(text: string): unknown;
}

/** Commander outcomes that are not failures. */
const COMMANDER_SUCCESS = new Set(['commander.helpDisplayed', 'commander.help', 'commander.version']);

/** Prints what the user needs to see for `error` (nothing when commander already did) and returns the exit code. */
export function reportError(error: unknown, stderr: ErrorSink): ExitCodeValue {
  if (error instanceof CommanderError) {
    // commander has already written its own message (unknown option, missing value, …) through configureOutput.
    return COMMANDER_SUCCESS.has(error.code) ? ExitCode.Success : ExitCode.BadOptions;
  }
  if (error instanceof InferbenchError) {
    stderr.write(`error: ${error.message}\n`);
    return exitCodeOf(error);
  }
  const detail = error instanceof Error ? (error.stack ?? error.message) : String(error);
  stderr.write(`error: unexpected internal error: ${detail}\n`);
  return ExitCode.Unexpected;
}
