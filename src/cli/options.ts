/**
 * The command-line surface: perf_analyzer's flags (same names, same short flags, so existing scripts run
 * unchanged) plus ours, declared with commander. Values are collected as strings here and validated in
 * `resolve-settings.ts`, which is pure and carries perf_analyzer's error texts.
 *
 * Two entry points share the profile flags: `perf_analyzer [flags]` (drop-in) and
 * `inferbench [profile] [flags]` / `inferbench serve [flags]`.
 */
import { Command, Option } from 'commander';
import type { OptionSpec } from '../options/option-spec.ts';
import { PROFILE_OPTIONS, type RawFlags } from '../options/profile-options.ts';
import { INFERBENCH_EXAMPLES, PROFILE_EXAMPLES } from './help-examples.ts';
import { applyProfileHelpLayout, normaliseDefaults, wrapWords } from './help-layout.ts';
import type { K8sFlags } from './k8s-command.ts';
import type { MergeFlags } from './merge-command.ts';
import { UNSUPPORTED_FLAG_NAMES, unsupportedOptions } from './unsupported.ts';

/** The main job: what `inferbench` runs with no -u and no -m (embedded server, text_recognition sweep). */
export const MAIN_JOB = {
  modelName: 'text_recognition',
  /** PP-OCRv4 recognition takes x [batch, 3, 48, W]; W = 320 is a typical text-line crop. */
  shapes: { x: [3, 48, 320] },
  concurrencyRange: { start: 1, end: 4, step: 1 },
  /** Written unless -f / --json say otherwise (the directory is created). */
  csvFile: 'inferbench-results/text_recognition.csv',
  jsonFile: 'inferbench-results/text_recognition.json',
} as const;

const collect = (value: string, previous: string[] | undefined): string[] => [...(previous ?? []), value];
const firstWins = (value: string, previous: string | undefined): string => previous ?? value;
const countUp = (_value: string, previous: number | undefined): number => (previous ?? 0) + 1;

/** The commander option of one table row (values collected as the row's `value` says). */
function commanderOption(key: string, spec: OptionSpec, flags: string, programName: string): Option {
  // inferbench's -c is --config; perf_analyzer's deprecated -c stays refused by name there.
  const option = new Option(
    key === 'config' && programName !== 'inferbench' ? '--config <file>' : flags,
    spec.help,
  );
  if (spec.value === 'list') option.argParser(collect);
  if (spec.value === 'first-text') option.argParser(firstWins);
  if (spec.value === 'count') option.argParser(countUp);
  return option;
}

/** commander's attribute name → the table's key (`m` → `model`, `f` → `csv`, `threshold` → `thresholds`). */
const KEY_OF_ATTRIBUTE = new Map<string, string>(
  Object.entries(PROFILE_OPTIONS as Record<string, OptionSpec>).flatMap(([key, spec]) =>
    spec.flags === undefined ? [] : [[new Option(spec.flags).attributeName(), key] as const],
  ),
);

/** Adds every profile flag (perf_analyzer's and ours, from the option table) to `cmd`. */
export function addProfileOptions(cmd: Command, programName: string): Command {
  for (const [key, spec] of Object.entries(PROFILE_OPTIONS as Record<string, OptionSpec>)) {
    if (spec.flags !== undefined) cmd.addOption(commanderOption(key, spec, spec.flags, programName));
  }
  for (const option of unsupportedOptions().filter((o) => programName !== 'inferbench' || o.short !== '-c'))
    cmd.addOption(option);
  applyProfileHelpLayout(cmd);
  cmd.addHelpText('after', helpFooter(programName));
  return cmd;
}

function helpFooter(programName: string): string {
  const unsupportedNames = UNSUPPORTED_FLAG_NAMES.filter((n) => programName !== 'inferbench' || n !== '-c');
  const embedded =
    programName === 'inferbench'
      ? `
Embedded server (inferbench only):
  With -u, inferbench benchmarks that server (like perf_analyzer). Without -u,
  it starts its bundled server on 127.0.0.1 (a free port), serving
  --model-repository or the bundled repository (text_recognition,
  text_direction, simple, identity_fp32), and benchmarks -m on it.
  Without -u and without -m it runs the main job:
    -m ${MAIN_JOB.modelName} --shape x:${MAIN_JOB.shapes.x.join(',')} --concurrency-range ${MAIN_JOB.concurrencyRange.start}:${MAIN_JOB.concurrencyRange.end}:${MAIN_JOB.concurrencyRange.step}
  (PP-OCRv4 text recognition, 4 levels of 5000 ms windows; any flag you give
  overrides these). The perf_analyzer entry point never starts a server:
  without -u it uses localhost:8000. "inferbench serve --help" describes the
  server on its own.

Config files and gates (inferbench only):
  -c FILE runs a benchmark config (YAML/JSON, bench-configs/; schema
  bench-configs/bench-config.schema.json); flags you type override its values.
  --threshold 'p95_latency<=20ms' (repeatable) gates the run: exit 1.
  inferbench print-config [-c FILE] [flags]    the effective config as YAML
  inferbench compare BASELINE... CURRENT       per-level change with a
                                               confidence interval; exit 1 on
                                               a regression
  inferbench report RECORD.json [--html FILE]  re-render a --json record
                                               (--baseline overlays another)
`
      : '';
  return `
Measurement:
  Windows are real: -p 5000 measures 5000 ms (perf_analyzer slept 1.2 x -p).
  A level is stable when the last --stability-windows windows (default: 3)
  have max/min <= 1 + -s/100 for throughput and latency; the reported figures
  merge those windows. Failed requests are counted by kind and the run goes on
  (perf_analyzer aborted on the first one) unless --max-error-rate is
  exceeded. Open-loop latency is measured from the intended send time; the
  uncorrected figure is printed too.

Exit codes:
  0 ok, 1 gate failed, 2 first level unstable, 3 bad options, unsupported
  flag or unknown model, 4 error rate too high, 5 no data / server
  unreachable, 6 model failed to load, 99 internal error, 130 interrupted
  (SIGINT), 129/143 SIGHUP/SIGTERM.

Recognised but unsupported perf_analyzer flags (refused with exit code 3):
${wrapWords(unsupportedNames.join(' '), 76)
  .map((line) => `  ${line}`)
  .join('\n')}
  --shared-memory system|cuda, --service-kind other than triton,
  --model-repository together with -u
${embedded}`;
}

/** `inferbench compare` options (strings; validated in the command). */
export interface CompareFlags {
  baseline?: string[];
  current?: string[];
  confidence?: string;
  minEffect?: string;
  failOnInconclusive?: boolean;
  /** Old name of --min-effect. */
  tolerance?: string;
  errorRateTolerance?: string;
  metrics?: string;
  format?: string;
  output?: string;
  junit?: string;
  markdown?: string;
}

/** `inferbench report` options. */
export interface ReportFlags {
  html?: string;
  baseline?: string;
  csv?: string;
  text?: boolean;
  threshold?: string[];
}

export interface ProgramHandlers {
  /** `flags` holds only what the user set on the command line (no commander defaults), so a config file can sit under it. */
  profile(flags: RawFlags): Promise<void>;
  serve(args: string[]): Promise<void>;
  /** `inferbench setup-gpu <args>`: its own parser (src/gpu/setup-gpu.ts). */
  setupGpu?(args: string[]): Promise<void>;
  /** `inferbench completion <shell>`. */
  completion?(shell: string): Promise<void>;
  compare?(files: string[], flags: CompareFlags): Promise<void>;
  report?(record: string, flags: ReportFlags): Promise<void>;
  merge?(files: string[], flags: MergeFlags): Promise<void>;
  k8s?(flags: RawFlags & K8sFlags): Promise<void>;
  printConfig?(flags: RawFlags): Promise<void>;
  /** `inferbench analyze <args>`: parsed by its own command (analyze-command.ts). */
  analyze?(args: string[]): Promise<void>;
  /** `inferbench models <args>`: list / export the bundled models (models-command.ts). */
  models?(args: string[]): Promise<void>;
}

/** Parsed options under the table's keys (other commands' options and unsupported flags keep commander's names). */
function keyed(entries: [attribute: string, value: unknown][]): RawFlags {
  return Object.fromEntries(
    entries.map(([attribute, value]) => [KEY_OF_ATTRIBUTE.get(attribute) ?? attribute, value]),
  );
}

/** The options the user set on the command line (commander's own defaults, e.g. --no-progress's `true`, left out). */
export function userSetOptions(cmd: Command): RawFlags {
  return keyed(
    Object.entries(cmd.opts()).filter(([attribute]) => cmd.getOptionValueSource(attribute) !== 'default'),
  );
}

export interface ProgramIo {
  writeOut(text: string): void;
  writeErr(text: string): void;
}

/** perf_analyzer-compatible entry: every flag on the program itself, no subcommands. */
export function createPerfAnalyzerProgram(
  version: string,
  io: ProgramIo,
  handlers: ProgramHandlers,
): Command {
  const program = new Command('perf_analyzer')
    .description('perf_analyzer-compatible benchmark for KServe v2 / Triton servers (inferbench)')
    .version(`Perf Analyzer Version ${version} (inferbench)`, '--version')
    .exitOverride()
    .configureOutput(io);
  addProfileOptions(program, 'perf_analyzer').action(async function (this: Command) {
    await handlers.profile(userSetOptions(this));
  });
  return program;
}

/**
 * inferbench entry: real subcommands (profile, serve, compare, report, print-config, setup-gpu, completion).
 * `inferbench [flags]` means `inferbench profile [flags]` (main.ts adds the word when the first argument is a
 * flag); any other first word must be a command, so a typo gets commander's "Did you mean …?".
 */
export function createInferbenchProgram(version: string, io: ProgramIo, handlers: ProgramHandlers): Command {
  const program = new Command('inferbench')
    .usage('[command] [options]')
    .description(
      `Benchmark KServe v2 inference servers (perf_analyzer-compatible), with a reference server in the box.\n\n${INFERBENCH_EXAMPLES}`,
    )
    .version(`inferbench ${version}`, '--version')
    .helpCommand('help [command]', 'show the help of a command')
    .exitOverride()
    .configureOutput(io);
  program.addHelpText(
    'after',
    '\nWithout a command, inferbench runs "profile":\n  inferbench -m simple  =  inferbench profile -m simple\n' +
      'Run "inferbench <command> --help" for the flags of a command.\n',
  );
  const profile = new Command('profile')
    .description(`benchmark a model: perf_analyzer's flags (the default command)\n\n${PROFILE_EXAMPLES}`)
    .summary('benchmark a model (the default command; perf_analyzer flags)')
    .version(`inferbench ${version}`, '--version')
    .exitOverride()
    .configureOutput(io);
  addProfileOptions(profile, 'inferbench').action(async function (this: Command) {
    await handlers.profile(userSetOptions(this));
  });
  program.addCommand(profile);
  addPassThroughCommand(program, io, 'serve', 'run the embedded KServe v2 reference server', handlers.serve);
  addPassThroughCommand(
    program,
    io,
    'analyze',
    'find the best model configuration (brute or quick search through the repository load API)',
    async (args) => handlers.analyze?.(args),
  );
  addPassThroughCommand(
    program,
    io,
    'models',
    'list the bundled models, or export them as a model repository for any KServe-v2 server',
    async (args) => handlers.models?.(args),
  );
  addGateCommands(program, io, handlers);
  addPassThroughCommand(
    program,
    io,
    'setup-gpu',
    "install ONNX Runtime's CUDA provider for the embedded server, or --check that CUDA works",
    async (args) => handlers.setupGpu?.(args),
  );
  program
    .command('completion')
    .description('print a shell completion script: bash, zsh or fish')
    .argument('<shell>', 'bash, zsh or fish')
    .addHelpText(
      'after',
      '\nInstall:\n' +
        "  bash: echo 'source <(inferbench completion bash)' >> ~/.bashrc\n" +
        "  zsh:  echo 'source <(inferbench completion zsh)' >> ~/.zshrc\n" +
        '  fish: inferbench completion fish > ~/.config/fish/completions/inferbench.fish\n',
    )
    .exitOverride()
    .configureOutput(io)
    .action(async (shell: string) => {
      await handlers.completion?.(shell);
    });
  normaliseDefaults(program);
  return program;
}

/** A command whose arguments go unparsed to its own parser (which prints its own --help). */
function addPassThroughCommand(
  program: Command,
  io: ProgramIo,
  name: string,
  description: string,
  run: (args: string[]) => Promise<void>,
): void {
  program
    .command(name)
    .description(`${description} (see "inferbench ${name} --help")`)
    .helpOption(false)
    .allowUnknownOption()
    .allowExcessArguments()
    .argument('[args...]')
    .exitOverride()
    .configureOutput(io)
    .action(async (args: string[]) => {
      await run(args);
    });
}

/** `compare`, `report` and `print-config`: commands over records and configs that run no benchmark. */
function addGateCommands(program: Command, io: ProgramIo, handlers: ProgramHandlers): void {
  program
    .command('compare')
    .description(
      'compare runs with confidence intervals: BASELINE... CURRENT, or --baseline B... --current C... (JSON records or perf_analyzer CSVs); exit 1 on a regression',
    )
    .argument(
      '[files...]',
      'baselines then the current run; with --baseline: the current runs; with --current: the baselines',
    )
    .option('--baseline <file>', 'a baseline run (repeatable: repeated runs)', collect)
    .option('--current <file>', 'a current run (repeatable: repeated runs)', collect)
    .option('--confidence <pct>', 'confidence of the intervals (default 95%)')
    .option(
      '--min-effect <pct>',
      'smallest change worth failing on: a regression needs its whole interval beyond it (default 5%)',
    )
    .option('--fail-on-inconclusive', 'exit 1 also when a metric is inconclusive')
    .option('--tolerance <pct>', 'old name of --min-effect')
    .option('--error-rate-tolerance <pct>', 'allowed increase of error_rate in points (default 0.1%)')
    .option('--metrics <list>', 'comma-separated metrics (default throughput,p50/p95/p99_latency,error_rate)')
    .option('--format <fmt>', 'stdout format: text (default), markdown or junit')
    .option('--output <file>', 'write the --format output to a file instead of stdout')
    .option('--markdown <file>', 'also write Markdown (for a pull-request comment)')
    .option('--junit <file>', 'also write JUnit XML (for CI test reports)')
    .exitOverride()
    .configureOutput(io)
    .action(async (files: string[], flags: CompareFlags) => {
      await handlers.compare?.(files, flags);
    });
  program
    .command('report')
    .description('re-render a run record (--json) without re-running it')
    .argument('<record>', 'a run record written by --json')
    .option('--html <file>', 'write the self-contained HTML report')
    .option('--baseline <record>', 'overlay this run in the HTML report (compare mode)')
    .option('--csv <file>', "write perf_analyzer's CSV")
    .option('--text', 'print the perf_analyzer-style text report (the default when no file is asked for)')
    .option(
      '--threshold <expr>',
      'check a threshold against the record (repeatable; exit 1 on failure)',
      collect,
    )
    .exitOverride()
    .configureOutput(io)
    .action(async (record: string, flags: ReportFlags) => {
      await handlers.report?.(record, flags);
    });
  program
    .command('merge')
    .description('merge the records of a sharded run (--shard) into one, as if one generator had run')
    .argument('[records...]', 'the shard records (--json of each shard)')
    .option(
      '--from-logs <file>',
      'also read records printed by --print-record (e.g. kubectl logs output; repeatable)',
      collect,
    )
    .option('--json <file>', 'write the merged run record')
    .option('-f, --csv <file>', "write perf_analyzer's CSV")
    .option('--html <file>', 'write the self-contained HTML report')
    .option(
      '--threshold <expr>',
      'check a threshold on the merged record (repeatable; exit 1 on failure)',
      collect,
    )
    .option('--quiet', 'no stdout report (files are still written)')
    .exitOverride()
    .configureOutput(io)
    .action(async (records: string[], flags: MergeFlags) => {
      await handlers.merge?.(records, flags);
    });
  const k8s = new Command('k8s')
    .description(
      'write Kubernetes manifests for a sharded run: an Indexed Job of --shards N pods and a ConfigMap',
    )
    .exitOverride()
    .configureOutput(io);
  addProfileOptions(k8s, 'inferbench');
  k8s
    .addOption(new Option('--image <ref>', 'container image built from the Dockerfile (required)'))
    .addOption(new Option('--name <name>', 'Job name (default inferbench)'))
    .addOption(new Option('--namespace <ns>', 'namespace of the Job and ConfigMap'))
    .addOption(new Option('--start-in <s>', 'shared start this many seconds from now (default 300)'))
    .addOption(new Option('--cpu <q>', 'CPU request and limit per pod (default 1)'))
    .addOption(new Option('--memory <q>', 'memory request and limit per pod (default 1Gi)'))
    .addOption(new Option('--out <file>', 'write the YAML to a file (default stdout)'))
    .action(async function (this: Command) {
      await handlers.k8s?.(userSetOptions(this) as RawFlags & K8sFlags);
    });
  program.addCommand(k8s);
  const printConfig = new Command('print-config')
    .description('print the effective config (file + flags + defaults) as YAML, without running')
    .exitOverride()
    .configureOutput(io);
  addProfileOptions(printConfig, 'inferbench').action(async function (this: Command) {
    await handlers.printConfig?.(userSetOptions(this));
  });
  program.addCommand(printConfig);
}

/** Parses profile flags alone (no subcommand, no action) into RawFlags; throws CommanderError on bad syntax. */
export function parseProfileArgs(argv: readonly string[], programName: string, io?: ProgramIo): RawFlags {
  const cmd = new Command(programName).exitOverride();
  if (io) cmd.configureOutput(io);
  addProfileOptions(cmd, programName);
  cmd.parse([...argv], { from: 'user' });
  return keyed(Object.entries(cmd.opts()));
}
