/**
 * What the command-line layer hands to the run and gets back. The CLI resolves flags into a `ResolvedRun`;
 * the runner (wired by the lead: start the embedded server when asked, create transport + input data, call the
 * profiler) turns it into a `RunResult`; the CLI renders that. Keeping this seam typed lets the CLI be tested
 * end to end with a fake runner.
 */
import type { Threshold } from '../gate/thresholds.ts';
import type { SequenceSettings } from '../load/sequence-schedule.ts';
import type { ProfileSettings } from '../profile/settings.ts';
import type { ModelInfo, RunResult } from '../report/model.ts';
import type { RequestTrace } from '../report/request-trace.ts';
import type { TlsOptions } from '../transport/client.ts';
import type { RequestParameterValue } from './parse-request-parameter.ts';
import type { ProgressEvent } from './progress.ts';

/** Where the requests go. */
export type Target =
  | { kind: 'remote' }
  /**
   * Our bundled server, started by the runner on 127.0.0.1 (port 0); `settings.url` is '' until the runner
   * knows the port (use `bindEmbeddedUrl`). `modelRepository` undefined = the embedded repository.
   * `mainJob` = the default `inferbench` run (no -u, no -m): text_recognition sweep.
   */
  | {
      kind: 'embedded';
      modelRepository?: string;
      mainJob: boolean;
      /** Config file `embedded.configOverrides`: model → config.pbtxt text merged into its config. */
      configOverrides?: Record<string, string>;
    };

export interface OutputOptions {
  /** -f: perf_analyzer's CSV. */
  csvFile?: string;
  verboseCsv: boolean;
  extraCsvColumns: boolean;
  /** --json: our versioned RunResult record. */
  jsonFile?: string;
  /** --html: the self-contained HTML report. */
  htmlFile?: string;
  /** --profile-export-file: perf_analyzer-style export (checked not to exist at resolve time). */
  profileExportFile?: string;
  /** --profile-export-max-output-bytes: response bytes kept for the export's `response_outputs`. */
  profileExportMaxOutputBytes?: number;
  /** -v given at least once (pass lines, client overhead, detailed client-library line). */
  verbose: boolean;
  /** -v -v: client-library verbosity (passed on to transports for debugging). */
  extraVerbose: boolean;
  /** --quiet: no progress and no stdout report; files are still written. */
  quiet: boolean;
  /** --no-progress turns the stderr progress line off. */
  progress: boolean;
}

/** Input data options in the shape `src/data/` takes (perf_analyzer §1.4). */
export interface InputDataOptions {
  /** 'random' (default), 'zero', or a path (JSON file or directory). */
  source: string;
  /** Further --input-data JSON files (perf_analyzer appends their streams). */
  additionalFiles: string[];
  /** --shape, without the batch dimension. */
  shapes: Record<string, number[]>;
  stringLength: number;
  stringData?: string;
  /** Seed of random tensor data and BYTES strings (same --seed as the Poisson schedule). */
  seed: number;
  /** --max-request-bytes: bound on one request's tensor bytes (src/data/request-bytes.ts). */
  maxRequestBytes?: number;
}

export interface TransportOptions {
  headers: Record<string, string>;
  grpcCompression: 'none' | 'gzip' | 'deflate';
  /** HTTP: send inputs with the binary tensor extension (--input-tensor-format binary). */
  binaryInputs: boolean;
  /** HTTP: ask for binary outputs (--output-tensor-format binary; honoured, unlike perf_analyzer). */
  binaryOutputs: boolean;
  tls?: TlsOptions;
  /** --request-parameter (gRPC only). */
  requestParameters: Record<string, RequestParameterValue>;
}

export interface ResolvedRun {
  /** Deep-frozen. Record it as `RunResult.config` (renderers read it back from there). */
  settings: ProfileSettings;
  target: Target;
  output: OutputOptions;
  input: InputDataOptions;
  transport: TransportOptions;
  /** --threshold / config `thresholds`: checked after the run (exit code 1 when one fails). */
  thresholds: Threshold[];
  /** --repeat N: run the whole measurement N times (fresh connections, same seeds) into one record; absent = 1. */
  repeat?: number;
  /** perf_analyzer-style warnings produced while resolving (printed to stderr before the run). */
  warnings: string[];
  /** The sequence options; the run applies them when the model is a sequence model (sequence-options.ts). */
  sequence?: SequenceSettings;
  /** --shards N --local: run N shard processes on this host and merge them (src/cli/local-shards.ts). */
  localShards?: { count: number; startAtMs?: number };
  /** --print-record (shards): the record also goes to stdout as tagged lines (src/distributed/record-log.ts). */
  printRecord?: boolean;
}

export interface RunContext {
  /**
   * The settings the run really uses, once the model is known (a sequence model turns async on): the CLI
   * prints the settings block from them. Runners that never call it get the block from the resolved settings.
   */
  onSettings?: (settings: ProfileSettings) => void;
  /** Progress events for the stderr status line (and each level's stdout block, on level_end). */
  onEvent: (event: ProgressEvent) => void;
  /** The model's facts, once known (before the first level): the stdout blocks need its response-cache flag. */
  onModel?: (model: ModelInfo) => void;
  /** Aborted on SIGINT: finish the current window, mark the level interrupted, return what was measured. */
  signal: AbortSignal;
}

/** What a run returns: its record, and what stays out of the record (per-request times, for the profile export). */
export interface MeasuredRun extends RunResult {
  requestTrace?: RequestTrace;
}

/** The run itself (implemented by the lead; injected into `main` so the CLI is testable without servers). */
export type RunBenchmark = (resolved: ResolvedRun, context: RunContext) => Promise<MeasuredRun>;
