/**
 * Runs `main()` in-process with a fake runner and an in-memory file system, capturing stdout, stderr, the files
 * written and the ResolvedRun the runner was handed.
 */
import { type CliFiles, type MainDeps, main } from '../../../src/cli/main.ts';
import type { ResolvedRun, RunBenchmark } from '../../../src/cli/run-types.ts';
import type { RunResult } from '../../../src/report/model.ts';
import { concurrencySweep } from '../report/fixtures.ts';

export interface Captured {
  code: number;
  stdout: string;
  stderr: string;
  /** Every file, the ones given in `files` included. */
  files: Map<string, string>;
  resolved?: ResolvedRun;
}

/** An in-memory CliFiles: `stored` holds every file, the initial ones included. */
export function memoryFiles(initial: Record<string, string> = {}): {
  files: CliFiles;
  stored: Map<string, string>;
} {
  const stored = new Map(Object.entries(initial));
  const files: CliFiles = {
    exists: (p) => stored.has(p),
    readText: (p) => {
      const text = stored.get(p);
      if (text === undefined) throw new Error(`ENOENT: ${p}`);
      return text;
    },
    writeText: (p, text, exclusive) => {
      if (exclusive && stored.has(p)) throw new Error(`${p} exists`);
      stored.set(p, text);
    },
  };
  return { files, stored };
}

export async function runMain(
  argv: string[],
  options: {
    files?: Record<string, string>;
    result?: (r: ResolvedRun) => RunResult;
    deps?: Partial<MainDeps>;
    stderrIsTTY?: boolean;
    /** Called with everything written to stdout so far, after each write. */
    onStdout?: (stdoutSoFar: string) => void;
  } = {},
): Promise<Captured> {
  let stdout = '';
  let stderr = '';
  const { files, stored } = memoryFiles(options.files);
  const captured: { resolved?: ResolvedRun } = {};
  const runBenchmark: RunBenchmark = async (resolved) => {
    captured.resolved = resolved;
    const out = options.result ? options.result(resolved) : concurrencySweep();
    return { ...out, config: { ...out.config } };
  };
  const code = await main(
    argv,
    {
      stdout: {
        write: (t: string) => {
          stdout += t;
          options.onStdout?.(stdout);
        },
      },
      stderr: { write: (t: string) => (stderr += t), isTTY: options.stderrIsTTY ?? false },
    },
    { runBenchmark, files, version: '9.9.9', ...options.deps },
  );
  return { code, stdout, stderr, files: stored, ...captured };
}
