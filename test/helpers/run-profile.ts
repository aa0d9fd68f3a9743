/**
 * Runs the real profile path in-process: `main()` with the real runBenchmark (transport, profiler, renderers)
 * against a server the test started, with the files it writes kept in memory. Returns the exit code, stdout,
 * stderr and, when asked for with `--json run.json` / `--profile-export-file export.json`, the parsed record
 * and export.
 */
import { main } from '../../src/cli/main.ts';
import { parseRunResult } from '../../src/report/json-record.ts';
import type { RunResult } from '../../src/report/model.ts';
import { memoryFiles } from '../client/cli/harness.ts';

export interface ProfileRun {
  code: number;
  stdout: string;
  stderr: string;
  files: Map<string, string>;
  /** The --json record, when the command line wrote `run.json`. */
  record?: RunResult;
  /** The parsed --profile-export-file, when the command line wrote `export.json`. */
  exported?: ProfileExport;
}

/** perf_analyzer's export, as far as the tests read it (timestamps as bigint: they exceed 2^53). */
export interface ProfileExport {
  experiments: {
    experiment: { mode: string; value: number };
    requests: { timestamp: bigint; response_timestamps: bigint[] }[];
    window_boundaries: bigint[];
    windows: { request_count: number }[];
  }[];
}

/** `existing`: paths the CLI's file checks should see as present (input files that are on disk). */
export async function runProfile(argv: string[], existing: Record<string, string> = {}): Promise<ProfileRun> {
  let stdout = '';
  let stderr = '';
  const { files, stored } = memoryFiles(existing);
  const code = await main(
    argv,
    {
      stdout: { write: (t: string) => (stdout += t) },
      stderr: { write: (t: string) => (stderr += t), isTTY: false },
    },
    { files },
  );
  const json = stored.get('run.json');
  const exported = stored.get('export.json');
  return {
    code,
    stdout,
    stderr,
    files: stored,
    record: json === undefined ? undefined : parseRunResult(json),
    exported: exported === undefined ? undefined : parseExport(exported),
  };
}

/** JSON.parse with every integer of 16+ digits read as a bigint (exact ns timestamps). */
export function parseExport(text: string): ProfileExport {
  const marked = text.replace(/([:[,])(-?\d{16,})(?=[,\]}])/g, '$1"__big__$2"');
  return JSON.parse(marked, (_key, value: unknown) =>
    typeof value === 'string' && value.startsWith('__big__') ? BigInt(value.slice(7)) : value,
  ) as ProfileExport;
}
