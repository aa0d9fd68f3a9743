/**
 * The CLI shell: parse → resolve → run (injected) → render. Everything the process touches (streams, files,
 * the benchmark run, the serve command, SIGINT) comes in through `MainDeps`, so the whole command line is
 * testable in-process with a fake runner.
 */
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, writeFileSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Command } from 'commander';
import type { BenchConfig } from '../config/bench-config-schema.ts';
import { configToFlags, flagsToConfig, mergeFlags } from '../config/config-flags.ts';
import { effectiveConfig, renderConfigYaml } from '../config/effective-config.ts';
import { loadBenchConfig } from '../config/load-config.ts';
import { recordLogLines } from '../distributed/record-log.ts';
import { ExitCode, type ExitCodeValue, signalExitCode } from '../errors.ts';
import { renderHtmlReport } from '../html/report-html.ts';
import type { RawFlags } from '../options/profile-options.ts';
import type { ProfileSettings } from '../profile/settings.ts';
import {
  CLAMPED_NETWORK_TIME_WARNING,
  hasClampedNetworkTime,
  renderComposingCsvs,
  renderCsv,
} from '../report/csv.ts';
import { serializeRunResult } from '../report/json-record.ts';
import type { RunResult } from '../report/model.ts';
import { profileExportChunks, renderProfileExport } from '../report/profile-export.ts';
import type { RequestTrace } from '../report/request-trace.ts';
import { generatorWarningLines } from '../report/text-level.ts';
import { renderSettingsLines } from '../report/text-settings.ts';
import { renderSummary } from '../report/text-summary.ts';
import { runCompare } from './compare-command.ts';
import { commandFlags, completionScript, completionSpecOf } from './completion.ts';
import { reportError } from './exit.ts';
import { checkOpenFileLimit } from './fd-limit.ts';
import { filesWrittenLine, recordingWrites } from './files-written.ts';
import { exitCodeAfterGates, renderThresholdSection } from './gates.ts';
import { type K8sFlags, runK8s } from './k8s-command.ts';
import { createLevelPrinter } from './level-printer.ts';
import { type MergeFlags, runMerge } from './merge-command.ts';
import {
  type CompareFlags,
  createInferbenchProgram,
  createPerfAnalyzerProgram,
  type ReportFlags,
} from './options.ts';
import { checkOutputPaths, dataOnStdout, type PathProbe, STDOUT_PATH } from './output-paths.ts';
import { resolvedDefaults } from './print-config.ts';
import { measureProfile, type ProfiledRun } from './profile-run.ts';
import { createProgress, type ProgressStream, progressPlanOf } from './progress.ts';
import { runReport } from './report-command.ts';
import { type FileView, resolveSettings } from './resolve-settings.ts';
import type { ResolvedRun, RunBenchmark } from './run-types.ts';
import { packageVersion } from './version.ts';

export interface CliIo {
  stdout: ProgressStream;
  stderr: ProgressStream;
}

export interface CliFiles extends FileView {
  /** Looks at output paths before the run (output-paths.ts); default: the real file system. */
  probe?: PathProbe;
  /** `exclusive`: fail if the file exists (perf_analyzer's profile export rule). */
  writeText(path: string, text: string, exclusive: boolean): void;
  /** Writes the chunks one after the other (a file larger than one string can be); else writeText is used. */
  writeChunks?(path: string, chunks: Iterable<string>, exclusive: boolean): void;
}

export interface MainDeps {
  programName: 'inferbench' | 'perf_analyzer';
  runBenchmark: RunBenchmark;
  /** `inferbench serve <args>`: the embedded server's own command line. */
  runServe: (args: string[]) => Promise<number>;
  /** `inferbench setup-gpu <args>` (src/gpu/setup-gpu.ts). */
  runSetupGpu: (args: string[], io: CliIo) => Promise<number>;
  files: CliFiles;
  /** Aborted on SIGINT (the bin shims wire it); never aborted by default. */
  signal: AbortSignal;
  version: string;
}

const nodeFiles: CliFiles = {
  exists: (path) => existsSync(path),
  readText: (path) => readFileSync(path, 'utf8'),
  writeText: (path, text, exclusive) => {
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, text, { flag: exclusive ? 'wx' : 'w' });
  },
  writeChunks: (path, chunks, exclusive) => {
    mkdirSync(dirname(path), { recursive: true });
    const fd = openSync(path, exclusive ? 'wx' : 'w');
    try {
      for (const chunk of chunks) writeSync(fd, chunk);
    } finally {
      closeSync(fd);
    }
  },
};

/** The real run, loaded on first use so `--help` and option errors stay instant. */
const defaultRunBenchmark: RunBenchmark = async (resolved, context) => {
  const { runBenchmark } = await import('./run-benchmark.ts');
  return runBenchmark(resolved, context);
};

const defaultServe = async (args: string[]): Promise<number> => {
  const { runServeCommand } = await import('../../embedded-server/src/serve.ts');
  return runServeCommand(args);
};

const defaultSetupGpu = async (args: string[], io: CliIo): Promise<number> => {
  const { runSetupGpu } = await import('../gpu/setup-gpu.ts');
  return runSetupGpu(args, io);
};

/**
 * Runs one command line (`argv` = the arguments after the program name) and resolves with the exit code.
 * Never throws: every failure is reported on stderr and mapped to its code (src/errors.ts).
 */
export async function main(
  argv: readonly string[],
  io: CliIo = { stdout: process.stdout, stderr: process.stderr },
  deps: Partial<MainDeps> = {},
): Promise<number> {
  const d: MainDeps = {
    programName: 'inferbench',
    runBenchmark: defaultRunBenchmark,
    runServe: defaultServe,
    runSetupGpu: defaultSetupGpu,
    files: nodeFiles,
    signal: new AbortController().signal,
    version: packageVersion(),
    ...deps,
  };
  let invocation:
    | { kind: 'profile' | 'print-config'; flags: RawFlags }
    | { kind: 'serve' | 'setup-gpu' | 'analyze' | 'models'; args: string[] }
    | { kind: 'completion'; shell: string }
    | { kind: 'compare'; files: string[]; flags: CompareFlags }
    | { kind: 'report'; record: string; flags: ReportFlags }
    | { kind: 'merge'; files: string[]; flags: MergeFlags }
    | { kind: 'k8s'; flags: RawFlags & K8sFlags }
    | undefined;
  const handlers = {
    profile: async (flags: RawFlags) => {
      invocation = { kind: 'profile', flags };
    },
    serve: async (args: string[]) => {
      invocation = { kind: 'serve', args };
    },
    setupGpu: async (args: string[]) => {
      invocation = { kind: 'setup-gpu', args };
    },
    completion: async (shell: string) => {
      invocation = { kind: 'completion', shell };
    },
    analyze: async (args: string[]) => {
      invocation = { kind: 'analyze', args };
    },
    models: async (args: string[]) => {
      invocation = { kind: 'models', args };
    },
    compare: async (files: string[], flags: CompareFlags) => {
      invocation = { kind: 'compare', files, flags };
    },
    report: async (record: string, flags: ReportFlags) => {
      invocation = { kind: 'report', record, flags };
    },
    k8s: async (flags: RawFlags & K8sFlags) => {
      invocation = { kind: 'k8s', flags };
    },
    merge: async (files: string[], flags: MergeFlags) => {
      invocation = { kind: 'merge', files, flags };
    },
    printConfig: async (flags: RawFlags) => {
      invocation = { kind: 'print-config', flags };
    },
  };
  const programIo = {
    writeOut: (t: string) => void io.stdout.write(t),
    writeErr: (t: string) => void io.stderr.write(t),
  };
  try {
    let program: Command;
    let args = [...argv];
    if (d.programName === 'perf_analyzer') {
      program = createPerfAnalyzerProgram(d.version, programIo, handlers);
    } else {
      program = createInferbenchProgram(d.version, programIo, handlers);
      args = withDefaultCommand(args);
    }
    await program.parseAsync(args, { from: 'user' });
    if (!invocation) return 0;
    const commandIo = { stdout: io.stdout, stderr: io.stderr, files: d.files };
    switch (invocation.kind) {
      case 'serve':
        return await d.runServe(invocation.args);
      case 'setup-gpu':
        return await d.runSetupGpu(invocation.args, io);
      case 'completion': {
        const { serveCommand } = await import('../../embedded-server/src/serve-options.ts');
        const spec = completionSpecOf(program, 'profile', BUNDLED_MODEL_NAMES, {
          serve: commandFlags(serveCommand()),
          'setup-gpu': SETUP_GPU_FLAGS,
        });
        io.stdout.write(completionScript(invocation.shell, spec));
        return 0;
      }
      case 'analyze': {
        const { runAnalyzeCommand } = await import('./analyze-command.ts');
        return await runAnalyzeCommand(invocation.args, io, d);
      }
      case 'models': {
        const { runModelsCommand } = await import('./models-command.ts');
        return await runModelsCommand(invocation.args, io);
      }
      case 'compare':
        return runCompare(invocation.files, invocation.flags, commandIo);
      case 'report':
        return runReport(invocation.record, invocation.flags, commandIo);
      case 'merge':
        return runMerge(invocation.files, invocation.flags, commandIo);
      case 'k8s': {
        const { flags } = withConfigFile(invocation.flags, d.files);
        return runK8s(flags, io, d.files);
      }
      case 'print-config': {
        const { flags, explicit } = withConfigFile(invocation.flags, d.files);
        const resolved = resolveSettings(flags, { programName: d.programName, files: d.files });
        io.stdout.write(renderConfigYaml(effectiveConfig(explicit, resolvedDefaults(resolved))));
        return 0;
      }
      case 'profile': {
        const { flags } = withConfigFile(invocation.flags, d.files);
        const resolved = resolveSettings(flags, { programName: d.programName, files: d.files });
        checkOutputPaths(resolved.output, d.files.probe);
        checkOpenFileLimit(resolved.settings);
        if (resolved.localShards) {
          const { runLocalShards } = await import('./local-shards.ts');
          return await runLocalShards(flags, resolved, io, d.signal, d.files);
        }
        return await profile(resolved, io, d);
      }
    }
  } catch (error) {
    return reportError(error, io.stderr);
  }
}

/** The bundled repository's models (offered after -m by the shell completion). */
const BUNDLED_MODEL_NAMES = ['text_recognition', 'text_direction', 'simple', 'identity_fp32'];
/** setup-gpu parses its own flags (node:util parseArgs); these are they. */
const SETUP_GPU_FLAGS = ['--cuda', '--from', '--dry-run', '--check', '--help', '-h'];
/** Commands whose own parser prints their help: `inferbench help serve` = `inferbench serve --help`. */
const PASS_THROUGH_COMMANDS = ['serve', 'setup-gpu', 'analyze', 'models'];

/**
 * `inferbench` with no arguments or with a flag first means `inferbench profile …` (perf_analyzer habits keep
 * working); `-h`/`--help`/`--version` alone stay the program's own, so `inferbench --help` lists the commands.
 * Any other first word is a command name: commander suggests the closest one for a typo.
 */
export function withDefaultCommand(argv: readonly string[]): string[] {
  const first = argv[0];
  if (first === 'help' && PASS_THROUGH_COMMANDS.includes(argv[1] ?? '')) return [argv[1] as string, '--help'];
  if (first === undefined) return ['profile'];
  const programOwn = ['-h', '--help', '--version'];
  if (first.startsWith('-') && !programOwn.includes(first)) return ['profile', ...argv];
  if (programOwn.includes(first) && argv.length > 1) return ['profile', ...argv];
  return [...argv];
}

/**
 * The command-line flags over the `-c` file's values (precedence: flags the user typed > file > defaults,
 * which resolve-settings applies). `explicit` is the merged result in config-file form, for print-config.
 */
function withConfigFile(cliFlags: RawFlags, files: CliFiles): { flags: RawFlags; explicit: BenchConfig } {
  const fromFile =
    cliFlags.config === undefined ? {} : configToFlags(loadBenchConfig(cliFlags.config, files));
  const flags = mergeFlags(fromFile, cliFlags);
  return { flags, explicit: flagsToConfig(flags) };
}

async function profile(resolved: ResolvedRun, io: CliIo, d: MainDeps): Promise<number> {
  const { output } = resolved;
  // With `--json -` or `-f -`, stdout carries that file alone: the human report goes to stderr.
  const text = dataOnStdout(output) ? io.stderr : io.stdout;
  for (const warning of resolved.warnings) io.stderr.write(`${warning}\n`);
  let settingsShown = output.quiet;
  const showSettings = (settings: ProfileSettings): void => {
    if (settingsShown) return;
    settingsShown = true;
    text.write(renderSettingsLines(settings).join('\n') + '\n\n');
  };
  const progress = createProgress(io.stderr, output.progress, progressPlanOf(resolved.settings));
  const levels = output.quiet
    ? undefined
    : createLevelPrinter(text, resolved.settings, { verbose: output.verbose });
  let measured: ProfiledRun;
  try {
    measured = await measureProfile(resolved, d.runBenchmark, {
      onEvent: (e) => {
        progress.onEvent(e);
        if (e.type === 'level_end') {
          // The settings block comes first, also from a runner that never reported its settings.
          showSettings(resolved.settings);
          levels?.onLevel(e.level);
        }
      },
      onModel: (model) => levels?.onModel(model),
      signal: d.signal,
      onSettings: showSettings,
    });
  } finally {
    progress.close();
    // A runner that did not report its settings (or failed before it could): the resolved ones.
    showSettings(resolved.settings);
  }
  // The per-request times go to the profile export only, never into the record.
  const { result, verdicts, requestTrace } = measured;
  for (const warning of [...result.warnings, ...generatorWarningLines(result)])
    io.stderr.write(`${warning}\n`);
  if (levels) {
    levels.finish(result);
    text.write(renderSummary(result));
  }
  const written: string[] = [];
  const writeCode = writeOutputs(result, resolved, io, recordingWrites(d.files, written), requestTrace);
  if (verdicts.length > 0) io.stderr.write(renderThresholdSection(verdicts));
  if (written.length > 0 && !output.quiet) io.stderr.write(filesWrittenLine(written));
  // A shard in a Kubernetes Job: the record also goes into the pod's log (merge --from-logs reads it).
  if (resolved.printRecord && result.distributed) {
    const shard = result.distributed.shards[0]!;
    for (const line of recordLogLines(serializeRunResult(result), shard.index, result.distributed.count))
      io.stdout.write(`${line}\n`);
  }
  const code = exitCodeAfterGates(result.exitCode, verdicts);
  return code === ExitCode.Success ? writeCode : code;
}

/**
 * The files a run asked for, each written on its own: one that fails (the paths were checked before the run,
 * but a disk can fill) is reported on stderr and the others are still written. Returns the exit code of the
 * writing: 0, or 3 when an output could not be written (99 when the record itself could not be formed).
 */
function writeOutputs(
  result: RunResult,
  resolved: ResolvedRun,
  io: CliIo,
  files: CliFiles,
  requestTrace: RequestTrace | undefined,
): ExitCodeValue {
  const { output } = resolved;
  let code: ExitCodeValue = ExitCode.Success;
  const write = (
    flag: string,
    path: string,
    render: () => string | Iterable<string>,
    exclusive = false,
  ): void => {
    try {
      const content = render();
      if (path === STDOUT_PATH) {
        for (const chunk of typeof content === 'string' ? [content] : content) io.stdout.write(chunk);
      } else if (typeof content === 'string') {
        files.writeText(path, content, exclusive);
      } else if (files.writeChunks) {
        files.writeChunks(path, content, exclusive);
      } else {
        files.writeText(path, [...content].join(''), exclusive);
      }
    } catch (error) {
      const internal = !(error instanceof Error && 'code' in error);
      io.stderr.write(
        `error: ${flag} ${path} was not written: ${error instanceof Error ? error.message : String(error)}\n`,
      );
      if (code === ExitCode.Success) code = internal ? ExitCode.Unexpected : ExitCode.BadOptions;
    }
  };
  if (output.csvFile !== undefined) {
    const csvFile = output.csvFile;
    write('-f', csvFile, () =>
      renderCsv(result, { verboseCsv: output.verboseCsv, extraCsvColumns: output.extraCsvColumns }),
    );
    if (csvFile !== STDOUT_PATH) {
      for (const composing of renderComposingCsvs(result, csvFile)) {
        write('-f', composing.path, () => composing.content);
      }
    }
    if (hasClampedNetworkTime(result)) io.stderr.write(`${CLAMPED_NETWORK_TIME_WARNING}\n`);
  }
  if (output.jsonFile !== undefined) write('--json', output.jsonFile, () => serializeRunResult(result));
  if (output.htmlFile !== undefined) write('--html', output.htmlFile, () => renderHtmlReport(result));
  if (output.profileExportFile !== undefined) {
    write(
      '--profile-export-file',
      output.profileExportFile,
      () =>
        files.writeChunks
          ? profileExportChunks(result, requestTrace)
          : renderProfileExport(result, requestTrace),
      true,
    );
  }
  return code;
}

/**
 * The process entry used by the bin shims: SIGINT handling as perf_analyzer (first signal: finish the current
 * window and report what was measured; second: exit at once with 130), then `main`.
 */
export async function runCli(programName: MainDeps['programName'], argv: readonly string[]): Promise<number> {
  const controller = new AbortController();
  const serving = programName === 'inferbench' && argv[0] === 'serve';
  const onSigint = (): void => {
    if (controller.signal.aborted) {
      process.stderr.write('Exiting immediately...\n');
      process.exit(ExitCode.Interrupted);
    }
    process.stderr.write('Interrupt signal (2) received.\nWaiting for in-flight inferences to complete.\n');
    controller.abort();
  };
  // SIGTERM/SIGHUP (kill, a closed terminal): end now with 128+n. process.exit runs the 'exit' hooks, which
  // kill the embedded server; were they skipped (SIGKILL), the server notices the closed pipe by itself.
  const onTerminate = (signal: 'SIGHUP' | 'SIGTERM'): void => {
    process.stderr.write(`${signal} received, exiting.\n`);
    process.exit(signalExitCode(signal));
  };
  if (!serving) {
    process.on('SIGINT', onSigint);
    process.on('SIGTERM', onTerminate);
    process.on('SIGHUP', onTerminate);
  }
  try {
    return await main(argv, undefined, { programName, signal: controller.signal });
  } finally {
    process.off('SIGINT', onSigint);
    process.off('SIGTERM', onTerminate);
    process.off('SIGHUP', onTerminate);
  }
}
