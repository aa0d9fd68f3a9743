/**
 * Exit codes and error classes of the CLI, in one place (perf_analyzer's constants.h kept where they exist,
 * so scripts written for perf_analyzer keep reading them the same way).
 *
 * | code | meaning |
 * | ---- | ------- |
 * | 0    | success: every requested level measured (or the sweep stopped at the latency limit) |
 * | 1    | a threshold/gate or a `compare` regression failed (never used for crashes) |
 * | 2    | the first load level did not stabilize (perf_analyzer's STABILITY_ERROR) |
 * | 3    | bad options, config file or input data; an unsupported flag; a numeric flag over its maximum
 *          (the option table's `limit`, src/options/profile-options.ts); an output path that cannot be written (checked before the run, or a write
 *          that failed anyway: the other outputs are still written); `models export` refused its target
 *          (src/cli/models-command.ts) (perf_analyzer's OPTION_ERROR) |
 * | 4    | request errors: a window over `--max-error-rate` (the sweep stops), or a measured level whose error
 *          rate is above `--error-rate-threshold` (default 5 %; the sweep goes on, the level is marked) |
 * | 5    | no valid request completed in a window (server stopped, unreachable, every request failed) / the
 *          server could not be reached at the start; the record and CSV are still written for what was measured |
 * | 6    | the model exists but is not ready: it failed to load (the server's reason is printed) |
 * | 99   | unexpected internal error (perf_analyzer's GENERIC_ERROR) |
 * | 130  | interrupted (SIGINT) before any level was measured (the record and CSV are still written) |
 * | 129, 143 | ended by SIGHUP / SIGTERM (128 + the signal number, as a shell reports it) |
 */
export const ExitCode = {
  Success: 0,
  GateFailed: 1,
  Unstable: 2,
  BadOptions: 3,
  ErrorsOverLimit: 4,
  NoData: 5,
  ModelUnavailable: 6,
  Unexpected: 99,
  Interrupted: 130,
} as const;

/** The exit status for a process ended by `signal`: 128 + its number, as shells report it. */
export function signalExitCode(signal: 'SIGHUP' | 'SIGINT' | 'SIGTERM'): number {
  return 128 + { SIGHUP: 1, SIGINT: 2, SIGTERM: 15 }[signal];
}

export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

/** Base class: every error the CLI expects carries the exit code it should end the process with. */
export class InferbenchError extends Error {
  readonly exitCode: ExitCodeValue;
  constructor(message: string, exitCode: ExitCodeValue, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.exitCode = exitCode;
  }
}

/** Bad flag, flag combination, config file or input data. */
export class OptionError extends InferbenchError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, ExitCode.BadOptions, options);
  }
}

/** A perf_analyzer flag we recognise but do not implement: refused by name, never silently ignored. */
export class UnsupportedOptionError extends OptionError {}

/** The server could not be reached, or said something that makes a run impossible (unknown model…). */
export class ServerError extends InferbenchError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, ExitCode.NoData, options);
  }
}

/** The model is in the server's repository but not ready (a load error): the message carries the reason. */
export class ModelUnavailableError extends InferbenchError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, ExitCode.ModelUnavailable, options);
  }
}

export class UnstableError extends InferbenchError {
  constructor(message: string) {
    super(message, ExitCode.Unstable);
  }
}

export class ErrorRateError extends InferbenchError {
  constructor(message: string) {
    super(message, ExitCode.ErrorsOverLimit);
  }
}

export class GateError extends InferbenchError {
  constructor(message: string) {
    super(message, ExitCode.GateFailed);
  }
}

/** Maps anything thrown to the exit code the process should end with. */
export function exitCodeOf(error: unknown): ExitCodeValue {
  return error instanceof InferbenchError ? error.exitCode : ExitCode.Unexpected;
}
