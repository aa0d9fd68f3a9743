/**
 * A command line the server's CLI refuses (a bad `serve` flag, a refused `models export` target): reported in
 * one line, exit code 3.
 */

/** Exit code for bad options: the CLI's `ExitCode.BadOptions` (the server may not import src/errors.ts). */
export const BAD_OPTIONS_EXIT_CODE = 3;

export class BadOptionsError extends Error {
  readonly exitCode = BAD_OPTIONS_EXIT_CODE;
  constructor(name: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = name;
  }
}
