/**
 * `inferbench analyze -m MODEL [flags]`: searches model configurations (src/analyze/) on the bundled server,
 * which it starts itself, or on a server given with -u (Triton with --model-control-mode=explicit). Configs
 * go through the repository load API with a `config` override, so no repository file is written; the best
 * one is written only where --output-model-repository says. Every profile flag (windows, stability, input
 * data, protocol…) applies to each level measured, because each level is a `profile` run (run-benchmark.ts).
 */

import { mkdtemp, rm, stat, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Command, Option } from 'commander';
import type { AnalyzeConfig } from '../analyze/analyze-config-schema.ts';
import { renderAnalyzeHtml } from '../analyze/analyze-html.ts';
import {
  ANALYZE_RECORD_KIND,
  ANALYZE_RECORD_VERSION,
  type AnalyzeRecord,
  rankingEntries,
  serializeAnalyzeRecord,
  trialsToResume,
} from '../analyze/analyze-record.ts';
import { renderAnalyzeCsv, renderAnalyzeTable } from '../analyze/analyze-report.ts';
import {
  type AnalyzeFlags,
  type AnalyzeSettings,
  loadsFrom,
  resolveAnalyzeSettings,
} from '../analyze/analyze-settings.ts';
import {
  applyCandidate,
  baseSettingsOf,
  configJsonText,
  configPbtxt,
  schedulingConflict,
} from '../analyze/model-config-edit.ts';
import {
  checkOutputRepository,
  type OutputRepositoryPlan,
  writeOutputRepository,
} from '../analyze/output-repository.ts';
import { type ConfigScore, compareScores, scoreTrial } from '../analyze/ranking.ts';
import {
  httpRepositoryClient,
  LoadRefusedError,
  type RepositoryClient,
} from '../analyze/repository-client.ts';
import { runSearch, type SearchProgress, type SearchResult } from '../analyze/search.ts';
import { enumerateSpace, resolveSearchSpace, SearchSpaceError } from '../analyze/search-space.ts';
import { serverMeasurer } from '../analyze/server-measurer.ts';
import { type ConfigTrial, type LoadPoint, levelsMeasured } from '../analyze/trial.ts';
import { configToFlags, mergeFlags } from '../config/config-flags.ts';
import { loadBenchConfig } from '../config/load-config.ts';
import { ExitCode, OptionError, ServerError } from '../errors.ts';
import type { ProfileOptionKey, RawFlags } from '../options/profile-options.ts';
import type { ModelConfig } from '../protocol/gen/model_config_pb.ts';
import { msToS, usToMs } from '../protocol/units.ts';
import { startEmbeddedServerProcess } from './embedded-process.ts';
import { reportError } from './exit.ts';
import type { CliFiles, CliIo } from './main.ts';
import { addProfileOptions, userSetOptions } from './options.ts';
import { bindEmbeddedUrl, resolveSettings } from './resolve-settings.ts';
import type { ResolvedRun, RunBenchmark } from './run-types.ts';

export interface AnalyzeDeps {
  runBenchmark: RunBenchmark;
  files: CliFiles;
  signal: AbortSignal;
  version: string;
  /** Monotonic milliseconds (progress and ETA). */
  nowMs?: () => number;
}

/**
 * `serve` flags for the embedded server analyze starts: explicit model control (the default mode, none,
 * refuses the load API), and only the model under test loaded, as a Triton would be started for this.
 */
export function embeddedServeArgs(model: string): string[] {
  return ['--model-control-mode', 'explicit', '--load-model', model];
}

const collect = (value: string, previous: string[] | undefined): string[] => [...(previous ?? []), value];

export function createAnalyzeCommand(io: { writeOut(t: string): void; writeErr(t: string): void }): Command {
  const cmd = new Command('analyze')
    .description(
      'find the best model configuration: try configs through the repository load API and measure each (brute or quick search)',
    )
    .exitOverride()
    .configureOutput(io);
  addProfileOptions(cmd, 'inferbench');
  const opt = (flags: string, description: string) => new Option(flags, description);
  for (const o of [
    opt('--mode <mode>', 'quick (hill climbing, default) or brute (every config)'),
    opt(
      '--objective <metric[:weight]>',
      'what to maximise/minimise, e.g. throughput (default), p95_latency:0.5 (repeatable)',
    ).argParser(collect),
    opt(
      '--constraint <expr>',
      "a limit every chosen level must meet, e.g. 'p95_latency<=20ms' (repeatable)",
    ).argParser(collect),
    opt('--max-batch-size <list>', 'max_batch_size values, e.g. 1,2,4,8'),
    opt('--dynamic-batching <list>', 'on, off or on,off'),
    opt('--max-queue-delay <list>', 'max_queue_delay_microseconds values (µs), e.g. 0,100,1000'),
    opt(
      '--preferred-batch-size <sizes>',
      "one preferred_batch_size choice: sizes like 4,8, 'none' or 'max' (repeatable)",
    ).argParser(collect),
    opt('--instance-count <list>', 'instance counts, e.g. 1,2,3'),
    opt('--instance-kind <list>', 'cpu, gpu or cpu,gpu'),
    opt(
      '--batch-buckets <value>',
      'one inferbench.batch_buckets choice: auto, off or sizes like 1,8,32 (repeatable)',
    ).argParser(collect),
    opt('--concurrency <list>', 'load levels per config, e.g. 1,2,4,8,16 (default; or --concurrency-range)'),
    opt('--request-rate <list>', 'open-loop load levels per config (req/s), e.g. 100,200,400'),
    opt('--max-configs <n>', 'try at most this many configs'),
    opt(
      '--saturation-gain <pct>',
      "stop a config's load sweep when throughput gains less than this (default 5%; 0 = never)",
    ),
    opt(
      '--confirm-top <n>',
      're-measure the best level of the top n configs before settling on a leader (default 2; 0 = never)',
    ),
    opt(
      '--output-model-repository <dir>',
      'write the best config there as <dir>/<model>/config.pbtxt (with the model files when local)',
    ),
    opt(
      '--override-output-model-repository',
      'replace <dir>/<model>/config.pbtxt when it exists (the old one kept as .bak)',
    ),
    opt('--repository-url <url>', "the server's HTTP address for the load API (default: -u with -i http)"),
    opt('--resume <record>', 'continue the search recorded in this --json file (same model and load levels)'),
    opt(
      '--leave-best-loaded',
      'remote server: leave the best config loaded (default: reload the model from its repository)',
    ),
  ]) {
    cmd.addOption(o);
  }
  return cmd;
}

const ANALYZE_KEYS: readonly (keyof AnalyzeFlags)[] = [
  'mode',
  'objective',
  'constraint',
  'maxBatchSize',
  'dynamicBatching',
  'maxQueueDelay',
  'preferredBatchSize',
  'instanceCount',
  'instanceKind',
  'batchBuckets',
  'concurrency',
  'requestRate',
  'maxConfigs',
  'saturationGain',
  'confirmTop',
  'outputModelRepository',
  'overrideOutputModelRepository',
  'repositoryUrl',
  'resume',
  'leaveBestLoaded',
];

function splitFlags(all: RawFlags): { profile: RawFlags; analyze: AnalyzeFlags } {
  const profile: RawFlags = { ...all };
  const analyze: Record<string, unknown> = {};
  for (const key of ANALYZE_KEYS) {
    if (all[key] !== undefined) analyze[key] = all[key];
    delete profile[key];
  }
  return { profile, analyze: analyze as AnalyzeFlags };
}

/** Profile flags that make no sense per level of a search. */
function refuseProfileFlags(flags: RawFlags): void {
  const refused: [ProfileOptionKey, string][] = [
    ['binarySearch', '--binary-search'],
    ['requestIntervals', '--request-intervals'],
    ['profileExportFile', '--profile-export-file'],
    ['thresholds', '--threshold (use --constraint)'],
    ['embeddedConfigOverrides', 'embedded.configOverrides (analyze sets the config itself)'],
  ];
  for (const [key, name] of refused) {
    if (flags[key] !== undefined) throw new OptionError(`analyze does not take ${name}`);
  }
}

export async function runAnalyzeCommand(
  argv: readonly string[],
  io: CliIo,
  deps: AnalyzeDeps,
): Promise<number> {
  try {
    const cmd = createAnalyzeCommand({
      writeOut: (t) => void io.stdout.write(t),
      writeErr: (t) => void io.stderr.write(t),
    });
    let parsed: RawFlags | undefined;
    cmd.action(function (this: Command) {
      parsed = userSetOptions(this);
    });
    await cmd.parseAsync([...argv], { from: 'user' });
    if (!parsed) return ExitCode.Success;
    return await analyze(parsed, io, deps);
  } catch (error) {
    return reportError(error, io.stderr);
  }
}

interface Prepared {
  run: ResolvedRun;
  settings: AnalyzeSettings;
  loads: LoadPoint[];
  model: string;
}

function prepare(cliFlags: RawFlags, files: CliFiles): Prepared {
  const fromFile = cliFlags.config === undefined ? undefined : loadBenchConfig(cliFlags.config, files);
  const merged = mergeFlags(fromFile ? configToFlags(fromFile) : {}, cliFlags);
  const { profile, analyze } = splitFlags(merged);
  refuseProfileFlags(profile);
  if (profile.model === undefined) throw new OptionError('analyze needs -m MODEL');
  const settings = resolveAnalyzeSettings(analyze, (fromFile?.analyze ?? {}) as AnalyzeConfig);
  const outputs = { csv: profile.csv, json: profile.json, html: profile.html };
  const forRun: RawFlags = { ...profile, csv: undefined, json: undefined, html: undefined };
  // Request-rate levels need the run in request-rate mode (distribution, seed and in-flight cap).
  if (settings.loads?.[0]?.mode === 'request_rate' && forRun.requestRateRange === undefined) {
    forRun.requestRateRange = String(settings.loads[0].value);
    delete forRun.concurrencyRange;
  }
  const resolved = resolveSettings(forRun, { programName: 'inferbench', files });
  const rangeGiven = profile.concurrencyRange !== undefined || profile.requestRateRange !== undefined;
  const load = resolved.settings.load;
  const loads = loadsFrom(
    settings.loads,
    { mode: load.mode, ...('range' in load ? { range: load.range } : {}) },
    rangeGiven,
  );
  const output = {
    ...resolved.output,
    csvFile: outputs.csv,
    jsonFile: outputs.json,
    htmlFile: outputs.html,
  };
  for (const [flag, path] of [
    ['--resume', settings.resume],
    ['--json', outputs.json],
  ] as const) {
    if (path !== undefined && path.trim() === '') throw new OptionError(`${flag}: empty path`);
  }
  return { run: { ...resolved, output }, settings, loads, model: profile.model };
}

interface ServerUnderTest {
  run: ResolvedRun;
  repositoryUrl: string;
  /** The model's directory on this machine (embedded server), for --output-model-repository. */
  modelDir?: string;
  label: string;
  stop(): Promise<void>;
}

async function isDirectory(path: string): Promise<boolean> {
  return (await stat(path).catch(() => undefined))?.isDirectory() ?? false;
}

/** The model's directory on this machine when analyze serves it itself (undefined for a remote server). */
async function localModelDir(prepared: Prepared): Promise<string | undefined> {
  const { run, model } = prepared;
  if (run.target.kind !== 'embedded') return undefined;
  let repository = run.target.modelRepository;
  if (repository === undefined) {
    const { materializeEmbeddedRepository } = await import(
      '../../embedded-server/src/embedded-repository.ts'
    );
    repository = await materializeEmbeddedRepository();
  }
  const modelDir = join(resolve(repository), model);
  if (!(await isDirectory(modelDir))) {
    throw new OptionError(`model '${model}' is not in the repository ${repository}`);
  }
  return modelDir;
}

/** The embedded server over a private repository holding only the model (a symlink): nothing else loads. */
async function startServer(
  prepared: Prepared,
  modelDir: string | undefined,
  io: CliIo,
): Promise<ServerUnderTest> {
  const { run, model, settings } = prepared;
  if (run.target.kind !== 'embedded' || modelDir === undefined) {
    const protocol = run.settings.protocol;
    const repositoryUrl = settings.repositoryUrl ?? (protocol === 'http' ? run.settings.url : undefined);
    if (repositoryUrl === undefined) {
      throw new OptionError(
        "with -i grpc, give --repository-url: the server's HTTP address for the repository load API",
      );
    }
    return { run, repositoryUrl, label: run.settings.url, stop: async () => undefined };
  }
  const privateDir = await mkdtemp(join(tmpdir(), 'inferbench-analyze-'));
  const dispose = () => rm(privateDir, { recursive: true, force: true });
  try {
    await symlink(modelDir, join(privateDir, model));
    const server = await startEmbeddedServerProcess({
      modelRepository: privateDir,
      serveArgs: embeddedServeArgs(model),
      onLog: run.output.verbose ? (line) => io.stderr.write(`[server] ${line}\n`) : undefined,
    });
    const inferUrl = run.settings.protocol === 'grpc' ? server.grpcUrl : server.httpUrl;
    const bound = bindEmbeddedUrl(run, { inferUrl, metricsUrl: server.metricsUrl });
    return {
      run: { ...bound, target: { kind: 'remote' } },
      repositoryUrl: server.httpUrl,
      modelDir,
      label: 'embedded',
      stop: async () => {
        try {
          await server.stop();
        } finally {
          await dispose();
        }
      },
    };
  } catch (error) {
    await dispose();
    throw error;
  }
}

/** Reads the model's config and checks the load API takes a config override (reloading the same config). */
async function preflight(repository: RepositoryClient, model: string): Promise<ModelConfig> {
  const base = await repository.config(model);
  try {
    await repository.load(model, configJsonText(base));
  } catch (error) {
    if (error instanceof LoadRefusedError) {
      throw new ServerError(
        `the server at ${repository.origin} refuses to load model '${model}' with a config override: ${error.message}. analyze needs the repository load API (Triton: --model-control-mode=explicit; inferbench serve: --model-control-mode explicit)`,
      );
    }
    throw error;
  }
  return base;
}

function progressLine(p: SearchProgress): string {
  if (p.remeasure) {
    const at = `${p.remeasure.mode === 'concurrency' ? 'concurrency' : 'rate'} ${p.remeasure.value}`;
    return `[analyze re-measure] ${p.key} at ${at} (elapsed ${formatDuration(p.elapsedMs)})\n`;
  }
  const eta = p.etaMs === undefined ? '' : `, ETA ≤ ${formatDuration(p.etaMs)}`;
  return `[analyze ${p.trial}/≤${p.plannedAtMost}] ${p.key} (elapsed ${formatDuration(p.elapsedMs)}${eta})\n`;
}

function formatDuration(ms: number): string {
  const s = Math.round(msToS(ms));
  return s < 120 ? `${s} s` : `${Math.floor(s / 60)} min ${s % 60} s`;
}

function trialLine(score: ConfigScore): string {
  const t = score.trial;
  if (t.outcome === 'load_failed') return `  refused by the server: ${t.error}\n`;
  if (t.outcome === 'error') return `  failed: ${t.error}\n`;
  const level = score.level;
  const figures = level
    ? `${level.mode === 'concurrency' ? 'concurrency' : 'rate'} ${level.value}: ${(level.figures.throughput ?? 0).toFixed(1)} infer/s, p95 ${usToMs(level.figures.p95_latency ?? 0).toFixed(2)} ms`
    : 'no usable level';
  const stopped = t.levelsStoppedBy ?? '';
  const verdict = score.feasible || stopped.includes(score.reason ?? '') ? '' : ` — ${score.reason}`;
  return `  ${figures}${verdict} (${t.levels.length} level${t.levels.length === 1 ? '' : 's'}; ${stopped})\n`;
}

async function analyze(flags: RawFlags, io: CliIo, deps: AnalyzeDeps): Promise<number> {
  const prepared = prepare(flags, deps.files);
  const { settings, loads, model } = prepared;
  const { output } = prepared.run;
  for (const warning of prepared.run.warnings) io.stderr.write(`${warning}\n`);
  const previous: ConfigTrial[] | undefined =
    settings.resume === undefined
      ? undefined
      : deps.files.exists(settings.resume)
        ? trialsToResume(deps.files.readText(settings.resume), settings.resume, model, loads)
        : (() => {
            throw new OptionError(`--resume ${settings.resume}: no such file`);
          })();
  const showProgress = !output.quiet && output.progress;
  const nowMs = deps.nowMs ?? (() => performance.now());
  const startedAtWallMs = Date.now();
  const modelDir = await localModelDir(prepared);
  let outputPlan: OutputRepositoryPlan | undefined;
  if (settings.outputModelRepository !== undefined) {
    outputPlan = {
      dir: settings.outputModelRepository,
      model,
      override: settings.overrideOutputModelRepository,
      ...(modelDir ? { sourceModelDir: modelDir } : {}),
    };
    await checkOutputRepository(outputPlan);
  }
  const server = await startServer(prepared, modelDir, io);
  let result: SearchResult | undefined;
  let base: ModelConfig | undefined;
  let record: AnalyzeRecord | undefined;
  let repository: RepositoryClient | undefined;
  try {
    repository = httpRepositoryClient(server.repositoryUrl, server.run.transport.headers);
    base = await preflight(repository, model);
    const conflict = schedulingConflict(
      base,
      settings.spec.dynamicBatching !== undefined ||
        settings.spec.maxQueueDelayUs !== undefined ||
        settings.spec.preferredBatchSize !== undefined,
    );
    if (conflict) throw new OptionError(conflict);
    let space: ReturnType<typeof resolveSearchSpace>;
    try {
      space = resolveSearchSpace(settings.spec, baseSettingsOf(base));
    } catch (error) {
      if (error instanceof SearchSpaceError) throw new OptionError(error.message);
      throw error;
    }
    const clientBatchSize = server.run.settings.batchSize;
    const enumeration = enumerateSpace(space, clientBatchSize);
    if (enumeration.candidates.length === 0) {
      const reasons = [...new Set(enumeration.invalid.map((i) => i.reason))].join('; ');
      throw new OptionError(`the search space has no valid config: ${reasons || 'it is empty'}`);
    }
    const baseText = configPbtxt(base);
    const makeRecord = (
      r: Pick<SearchResult, 'trials' | 'measurements' | 'reused' | 'stoppedBy'> & { complete: boolean },
    ): AnalyzeRecord => {
      const ranked = r.trials
        .map((t) => scoreTrial(t, settings.objectives, settings.constraints))
        .sort(compareScores);
      const top = ranked[0];
      return {
        kind: ANALYZE_RECORD_KIND,
        version: ANALYZE_RECORD_VERSION,
        tool: { name: 'inferbench', version: deps.version },
        startedAtWallMs,
        finishedAtWallMs: Date.now(),
        model,
        server: server.label,
        mode: settings.mode,
        objectives: settings.objectiveTexts,
        constraints: settings.constraints.map((c) => c.source),
        loads,
        baseConfig: baseText,
        spaceConfigs: enumeration.candidates.length,
        measurements: r.measurements,
        reused: r.reused,
        complete: r.complete,
        ...(r.stoppedBy ? { stoppedBy: r.stoppedBy } : {}),
        trials: r.trials,
        ranking: rankingEntries(ranked),
        ...(top?.feasible && base
          ? { best: { key: top.trial.key, config: configPbtxt(applyCandidate(base, top.trial.candidate)) } }
          : {}),
      };
    };
    if (showProgress) {
      io.stderr.write(
        `Analyzing '${model}' (${settings.mode}): ${enumeration.candidates.length} configs in the space, loads ${loads.map((l) => l.value).join(',')} ${loads[0]?.mode === 'request_rate' ? 'req/s' : 'concurrent'}${previous ? `, resuming ${settings.resume}` : ''}\n`,
      );
    }
    result = await runSearch({
      space,
      mode: settings.mode,
      loads,
      objectives: settings.objectives,
      constraints: settings.constraints,
      saturationGain: settings.saturationGain,
      confirmTop: settings.confirmTop,
      clientBatchSize,
      ...(settings.maxConfigs !== undefined ? { maxConfigs: settings.maxConfigs } : {}),
      ...(previous ? { previous } : {}),
      measurer: serverMeasurer({
        run: server.run,
        model,
        base,
        repository,
        runBenchmark: deps.runBenchmark,
        context: { onEvent: () => undefined, signal: deps.signal },
      }),
      nowMs,
      signal: deps.signal,
      onProgress: (p) => {
        if (showProgress) io.stderr.write(progressLine(p));
      },
      onTrial: (trial, trials) => {
        if (showProgress)
          io.stderr.write(trialLine(scoreTrial(trial, settings.objectives, settings.constraints)));
        // The checkpoint --resume reads: rewritten after every config.
        if (output.jsonFile !== undefined) {
          const measurements = levelsMeasured(trials);
          const checkpoint = makeRecord({ trials: [...trials], measurements, reused: 0, complete: false });
          deps.files.writeText(output.jsonFile, serializeAnalyzeRecord(checkpoint), false);
        }
      },
    });
    record = makeRecord({ ...result, complete: !result.stoppedBy });
    // Leave the server as it was: reload the model from its repository (or keep the best, when asked).
    if (server.label !== 'embedded') {
      const best = result.ranked[0];
      if (settings.leaveBestLoaded && best?.feasible) {
        await repository.load(model, configJsonText(applyCandidate(base, best.trial.candidate)));
      } else {
        await repository
          .load(model)
          .catch((e: Error) =>
            io.stderr.write(`warning: could not reload '${model}' from its repository: ${e.message}\n`),
          );
      }
    }
  } finally {
    await server.stop();
  }
  return finish(record as AnalyzeRecord, result as SearchResult, prepared, outputPlan, io, deps);
}

async function finish(
  record: AnalyzeRecord,
  result: SearchResult,
  prepared: Prepared,
  outputPlan: OutputRepositoryPlan | undefined,
  io: CliIo,
  deps: AnalyzeDeps,
): Promise<number> {
  const { output } = prepared.run;
  if (!output.quiet) io.stdout.write(renderAnalyzeTable(record));
  if (output.csvFile !== undefined) deps.files.writeText(output.csvFile, renderAnalyzeCsv(record), false);
  if (output.jsonFile !== undefined)
    deps.files.writeText(output.jsonFile, serializeAnalyzeRecord(record), false);
  if (output.htmlFile !== undefined) deps.files.writeText(output.htmlFile, renderAnalyzeHtml(record), false);
  if (outputPlan && record.best) {
    const written = await writeOutputRepository(outputPlan, record.best.config);
    if (!output.quiet) io.stdout.write(`Best config written to ${written.configPath}\n`);
    if (written.note) io.stderr.write(`note: ${written.note}\n`);
  } else if (outputPlan) {
    io.stderr.write('No config met the constraints: nothing written to --output-model-repository.\n');
  }
  if (result.interrupted && result.measurements === 0 && result.reused === 0) return ExitCode.Interrupted;
  // Like a failed gate: the search ran, and no config meets the constraints.
  if (!record.best && prepared.settings.constraints.length > 0) return ExitCode.GateFailed;
  if (!record.best) return ExitCode.NoData;
  return ExitCode.Success;
}
