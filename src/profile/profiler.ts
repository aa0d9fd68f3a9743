/**
 * Runs a sweep of load levels and measures each one perf_analyzer's way (§3): warm-up (discarded), then
 * windows until the last K are stable, the latency limit is crossed, --max-trials is reached, the error rate
 * is exceeded or the run is interrupted; the level's figure is the merge of its last ≤ K windows. Unlike
 * perf_analyzer, failed requests are counted per window by kind and the run goes on unless --max-error-rate is
 * exceeded. Returns what was measured even when it stops early; the exit code follows src/errors.ts.
 */
import type { AlignedWindows } from '../distributed/aligned-windows.ts';
import { ExitCode, OptionError } from '../errors.ts';
import { createLoadDriver, type LoadDriver } from '../load/load-driver.ts';
import { customIntervalsRatePerSec } from '../load/schedule.ts';
import { ShardPool } from '../load/shard-pool.ts';
import type { ShardTransport } from '../load/shard-protocol.ts';
import { busiestThread } from '../load/shard-windows.ts';
import { LoopHealthMonitor } from '../measure/loop-health.ts';
import { mergeWindows } from '../measure/merge.ts';
import type { MetricsSampler } from '../measure/metrics-sampler.ts';
import type { RequestLogBudget } from '../measure/request-log.ts';
import { type ComposingModel, needsAllModelStats, windowServerDelta } from '../measure/server-stats.ts';
import type { StabilityPoint, StabilityVerdict } from '../measure/stability.ts';
import { type SummarizeOptions, summarizeWindow } from '../measure/summarize.ts';
import type { WindowData } from '../measure/window-data.ts';
import { WindowRecorder } from '../measure/window-recorder.ts';
import type { Clock } from '../protocol/clock.ts';
import { msToNs, NS_PER_S, usToNs, usToS } from '../protocol/units.ts';
import { accountLevel } from '../report/accounting.ts';
import type { LevelResult, LoadMode, MetricsSummary, WindowResult } from '../report/model.ts';
import type { LevelRequestTimes, RequestTrace } from '../report/request-trace.ts';
import type { InferClient, PreparedRequest, RequestSpec } from '../transport/client.ts';
import type { ModelStatsSnapshot, ServerApi } from '../transport/server-api.ts';
import type { ProfileEvent } from './events.ts';
import {
  addStabilityPoint,
  judgeLevel,
  type LevelContext,
  type StopReason,
  singleMeasurement,
  windowStopReason,
} from './level-rules.ts';
import { STABLE_FAILED } from './messages.ts';
import type { ProfileSettings } from './settings.ts';
import { binarySearchSweep, linearSweep, type Sweep } from './sweep.ts';
import { sweepStopCode } from './sweep-stop.ts';

export interface ProfileDeps {
  clock: Clock;
  client: InferClient;
  requests: PreparedRequest[];
  /** undefined = no server statistics. */
  serverApi?: ServerApi;
  /** Whether the server advertises the statistics extension (GET /v2 extensions). */
  statsAvailable: boolean;
  /** The model is an ensemble of these: their statistics are fetched and shown under it (perf_analyzer). */
  composingModels?: ComposingModel[];
  /**
   * Log every measured request (for --profile-export-file): send and response time, request index, and the
   * response bytes (the clients keep them while the budget's byte cap lasts), within this budget; the outcome
   * then carries them as `requestTrace`. Off (undefined) by default: it costs 20 bytes a request and the bytes.
   */
  recordRequests?: RequestLogBudget;
  metricsSampler?: MetricsSampler;
  /** Aborted on SIGINT: the current window finishes, the level is marked interrupted, the sweep stops. */
  signal?: AbortSignal;
  onEvent?: (event: ProfileEvent) => void;
  /**
   * How worker threads rebuild the client and the requests (prepared requests cannot cross threads); used
   * only when `settings.workerThreads > 1`, and then needs `clock` to be the system clock.
   */
  shards?: { transport: ShardTransport; specs: RequestSpec[] };
  /**
   * One shard of a multi-process run (--shard): levels and windows start at the shared timetable's instants,
   * and every level measures all its windows (no early stop: the merge judges the merged windows).
   */
  aligned?: AlignedWindows;
}

/** What the profiler needs from the window recorder: a WindowRecorder, or the shards' windows. */
interface WindowSource {
  readonly recording: boolean;
  begin(): void;
  cut(): WindowData | Promise<WindowData>;
  end(): WindowData | Promise<WindowData>;
  waitForDiscarded(count: number, signal?: AbortSignal): Promise<void>;
  waitForWindowCount(count: number, signal?: AbortSignal): Promise<void>;
  recordRequestsTo(budget: RequestLogBudget): void;
}

export interface ProfileOutcome {
  levels: LevelResult[];
  /** With `recordRequests`: the measured requests' times, index-aligned with `levels`. */
  requestTrace?: RequestTrace;
  warnings: string[];
  exitCode: number;
}

/** Most a statistics call may take between windows (ms), whatever the flags say. */
export const MAX_STATS_CALL_MS = 30_000;
/** Least a statistics call is given (ms): a 100 ms window still leaves a loaded server time to answer. */
export const MIN_STATS_CALL_MS = 1_000;

/**
 * The bound on one statistics call between windows: --request-timeout when set, else the window length (time
 * windows) or 5 s (count windows), within [MIN_STATS_CALL_MS, MAX_STATS_CALL_MS].
 */
export function statsCallTimeoutMs(settings: ProfileSettings): number {
  const m = settings.measurement;
  const wanted =
    settings.requestTimeoutMs > 0
      ? settings.requestTimeoutMs
      : m.mode === 'time_windows'
        ? m.windowMs
        : 5_000;
  return Math.min(MAX_STATS_CALL_MS, Math.max(MIN_STATS_CALL_MS, wanted));
}

/**
 * How long the end of a run waits for requests in flight: --request-timeout (+1 s) when set, else the window
 * length, within [5 s, 30 s].
 */
export function drainTimeoutMs(settings: ProfileSettings): number {
  const m = settings.measurement;
  const wanted =
    settings.requestTimeoutMs > 0
      ? settings.requestTimeoutMs + 1_000
      : m.mode === 'time_windows'
        ? m.windowMs
        : 5_000;
  return Math.min(MAX_STATS_CALL_MS, Math.max(5_000, wanted));
}

export async function runProfile(settings: ProfileSettings, deps: ProfileDeps): Promise<ProfileOutcome> {
  return new Profiler(settings, deps).run();
}

/** What a level's window loop measured, and why it ended. */
interface MeasuredLevel {
  windows: WindowData[];
  results: WindowResult[];
  history: StabilityPoint[];
  stopReason: StopReason;
  verdict?: StabilityVerdict;
  metrics?: MetricsSummary;
}

class Profiler {
  private readonly warnings: string[] = [];
  private readonly recorder: WindowSource;
  private readonly driver: LoadDriver;
  private readonly health = new LoopHealthMonitor();
  /** How long the last statistics fetch took, and the one that opened the current level (accounting edges). */
  private lastFetchNs = 0;
  private levelStartFetchNs = 0;
  private readonly mode: LoadMode;
  private readonly asyncMode: boolean;
  private statsEnabled: boolean;
  private readonly requestTrace: RequestTrace | undefined;
  /** The load runs in worker threads (a ShardPool). */
  private readonly sharded: boolean = false;
  /** Turns the clients' response keeping on or off (set when the export logs requests). */
  private readonly keepResponses: ((on: boolean) => void) | undefined;

  constructor(
    private readonly settings: ProfileSettings,
    private readonly deps: ProfileDeps,
  ) {
    const { load, measurement } = settings;
    if (deps.requests.length === 0)
      throw new OptionError('no requests to send: the input data produced none');
    if (load.mode !== 'custom_intervals' && load.range.end === 0 && measurement.latencyThresholdMs === 0) {
      throw new OptionError('A range end of 0 (search until the latency limit) needs --latency-threshold.');
    }
    this.mode = load.mode;
    this.asyncMode = settings.async || settings.streaming;
    this.statsEnabled = deps.statsAvailable && deps.serverApi !== undefined;
    this.requestTrace = deps.recordRequests
      ? { levels: [], requestInputs: deps.requests.map((r) => r.spec.inputs) }
      : undefined;
    if (settings.workerThreads > 1 && deps.shards) {
      const pool = new ShardPool(settings, { clock: deps.clock, ...deps.shards });
      this.recorder = pool.windows;
      this.driver = pool;
      this.sharded = true;
      if (deps.recordRequests) {
        this.recorder.recordRequestsTo(deps.recordRequests);
        this.keepResponses = (on) => pool.keepResponses(on);
      }
      return;
    }
    if (settings.workerThreads > 1) {
      this.warn(
        'Worker threads need the transport description (ProfileDeps.shards); all load runs on the main thread.',
      );
    }
    const recorder = new WindowRecorder(deps.clock, load.mode !== 'concurrency');
    if (deps.recordRequests) {
      recorder.recordRequestsTo(deps.recordRequests);
      this.keepResponses = (on) => deps.client.keepResponses?.(on);
    }
    this.recorder = recorder;
    this.driver = createLoadDriver(settings, {
      clock: deps.clock,
      client: deps.client,
      requests: deps.requests,
      observer: recorder,
    });
  }

  async run(): Promise<ProfileOutcome> {
    const levels: LevelResult[] = [];
    let exitCode: number = ExitCode.Success;
    const budget = this.deps.recordRequests;
    const keep = this.keepResponses;
    // The export's response outputs: the clients copy responses until the byte budget is spent.
    if (budget && keep && !budget.responsesSpent) {
      keep(true);
      budget.onResponsesSpent(() => keep(false));
    }
    this.health.start();
    try {
      const sweep = this.sweep();
      let met: boolean | undefined;
      for (let value = sweep.next(undefined); value !== undefined; value = sweep.next(met)) {
        const level = await this.profileLevel(value, levels.length);
        levels.push(level);
        this.deps.onEvent?.({ type: 'level_end', level });
        // A shard runs every level of the timetable: the merge decides where one generator would have stopped.
        met = this.deps.aligned ? level.status !== 'interrupted' : level.reported;
        const end = this.levelExitCode(level, levels.length === 1);
        if (end !== undefined) {
          exitCode = end;
          break;
        }
      }
    } finally {
      await this.stopDriver();
      keep?.(false);
      this.health.stop();
    }
    // A run whose levels were measured but mostly failed must not end as a success (exit 4, src/errors.ts).
    if (exitCode === ExitCode.Success && levels.some((l) => l.errorRateExceeded)) {
      exitCode = ExitCode.ErrorsOverLimit;
    }
    const omitted = budget?.omitted ?? 0;
    if (omitted > 0) {
      this.warn(
        `The profile export lists the first ${budget?.capacity} measured requests; ${omitted} more were measured but not logged (memory cap).`,
      );
    }
    if (budget && budget.responsesOmitted > 0) {
      this.warn(
        `The profile export has the response outputs of ${budget.responsesKept} requests; ${budget.responsesOmitted} more are listed without them (response memory cap of ${budget.responseBytesCapacity} bytes, --profile-export-max-output-bytes).`,
      );
    }
    return { levels, warnings: this.warnings, exitCode, requestTrace: this.requestTrace };
  }

  /**
   * Stops the load and waits for the requests in flight, but not forever: a server that stopped answering
   * would otherwise hold the run (and its records) hostage. After `drainTimeoutMs` the run ends and the caller
   * closes the client, which fails what is left.
   */
  private async stopDriver(): Promise<void> {
    const boundMs = drainTimeoutMs(this.settings);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const expired = new Promise<'expired'>((resolve) => {
      timer = setTimeout(() => resolve('expired'), boundMs);
    });
    const outcome = await Promise.race([this.driver.stop().then(() => 'drained' as const), expired]);
    clearTimeout(timer);
    if (outcome === 'expired') {
      this.warn(
        `Requests still in flight ${boundMs} ms after the load stopped were abandoned: the server is not answering (--request-timeout bounds each request).`,
      );
    }
  }

  /**
   * undefined = the sweep decides whether to go on (a level that missed the threshold ends a linear sweep but
   * not a binary search); otherwise the sweep stops here with this exit code.
   */
  private levelExitCode(level: LevelResult, first: boolean): number | undefined {
    // A shard runs the whole timetable (its own verdicts mean nothing until merged), unless interrupted.
    if (this.deps.aligned && level.status !== 'interrupted') return undefined;
    if ((level.status === 'stable' || level.status === 'single') && this.deps.signal?.aborted) {
      return ExitCode.Success;
    }
    if (level.status === 'unstable' && first) this.warn(STABLE_FAILED);
    return sweepStopCode(level.status, first);
  }

  private sweep(): Sweep {
    const { load, search } = this.settings;
    if (load.mode === 'custom_intervals') {
      const rate = customIntervalsRatePerSec(load.intervalsUs);
      return linearSweep({ start: rate, end: rate, step: 1 });
    }
    return search === 'binary'
      ? binarySearchSweep(load.range, load.mode === 'concurrency')
      : linearSweep(load.range);
  }

  private intendedRatePerSec(value: number): number | undefined {
    const { load } = this.settings;
    if (load.mode === 'concurrency') return undefined;
    if (load.mode === 'request_rate') return value;
    const totalUs = load.intervalsUs.reduce((s, v) => s + v, 0);
    return totalUs > 0 ? (load.intervalsUs.length * NS_PER_S) / usToNs(totalUs) : undefined;
  }

  /** One level: apply its load, warm up, measure windows until a rule stops it, judge it. */
  private async profileLevel(value: number, levelIndex: number): Promise<LevelResult> {
    this.announceLevel(value, levelIndex);
    const traced: LevelRequestTimes = { startNs: 0, windows: [] };
    this.requestTrace?.levels.push(traced);
    const snapshot = await this.startLevel(value, levelIndex);
    if (snapshot === 'interrupted') return this.finishLevel(value, [], [], 'sigint', undefined);
    const measured = await this.measureWindows(value, levelIndex, snapshot, traced);
    const { windows, results, stopReason, verdict, metrics } = measured;
    return this.finishLevel(value, windows, results, stopReason, verdict, metrics);
  }

  private announceLevel(value: number, levelIndex: number): void {
    this.deps.onEvent?.({
      type: 'level_start',
      mode: this.mode,
      value,
      levelIndex,
      callMode: this.asyncMode ? 'async' : 'sync',
    });
  }

  /**
   * Applies the level's load, waits out its warm-up and opens its first window; returns the statistics
   * snapshot the first window's server delta starts from ('interrupted': SIGINT during the warm-up).
   */
  private async startLevel(
    value: number,
    levelIndex: number,
  ): Promise<ModelStatsSnapshot[] | undefined | 'interrupted'> {
    const m = this.settings.measurement;
    const signal = this.deps.signal;
    let snapshot: ModelStatsSnapshot[] | undefined;
    if (m.requestCount > 0 && m.warmupRequestCount === 0 && !this.sharded) {
      // --request-count with no warm-up: every request sent belongs to the one window, so the statistics are
      // taken and the window opened before the first send (the client's and the server's counts then agree).
      // (Shards start their workers in `apply`; their window starts at their first event instead.)
      snapshot = await this.fetchStats();
      this.recorder.begin();
      await this.driver.apply(value);
    } else {
      const aligned = this.deps.aligned;
      await this.driver.apply(value, aligned ? await aligned.levelStart(levelIndex, signal) : undefined);
      if (m.warmupRequestCount > 0 || m.requestCount > 0) {
        // The window opens the moment the warm-up ends (at once without one): with --request-count the sends
        // are capped, and a completion lost before `begin` would leave the window short forever.
        await this.recorder.waitForDiscarded(m.warmupRequestCount, signal);
        if (signal?.aborted) {
          if (this.recorder.recording) await this.recorder.end();
          return 'interrupted';
        }
      }
      snapshot = await this.fetchStats();
      this.recorder.begin();
    }
    this.health.sample();
    this.levelStartFetchNs = this.lastFetchNs;
    this.deps.metricsSampler?.start();
    return snapshot;
  }

  /** Measures the level's windows one after another until a level rule (or SIGINT, or --max-trials) stops it. */
  private async measureWindows(
    value: number,
    levelIndex: number,
    startSnapshot: ModelStatsSnapshot[] | undefined,
    traced: LevelRequestTimes,
  ): Promise<MeasuredLevel> {
    const m = this.settings.measurement;
    const maxWindows = singleMeasurement(this.settings) ? 1 : Math.max(1, m.maxTrials);
    const level: MeasuredLevel = { windows: [], results: [], history: [], stopReason: 'max_trials' };
    let snapshot = startSnapshot;
    try {
      for (let index = 1; index <= maxWindows; index++) {
        const window = await this.closeWindow(levelIndex, index, index === maxWindows);
        const next = await this.fetchStats();
        this.attachServerDelta(window, snapshot, next);
        snapshot = next;
        level.windows.push(window);
        this.traceWindow(traced, window);
        const result = this.windowResult(window, value, index);
        level.results.push(result);
        const stop = this.judgeWindow(level, result, value, maxWindows);
        if (stop) {
          level.stopReason = stop;
          break;
        }
      }
    } finally {
      if (this.recorder.recording) await this.recorder.end();
      level.metrics = this.deps.metricsSampler?.stop();
    }
    return level;
  }

  /**
   * Waits for window `index` to end (its time or count, or the shared timetable's instant) and closes it (the
   * last one ends the recording), with this thread's health sample.
   */
  private async closeWindow(levelIndex: number, index: number, last: boolean): Promise<WindowData> {
    await (this.deps.aligned ? this.deps.aligned.windowEnd(levelIndex, index) : this.waitWindow());
    const window = await (last ? this.recorder.end() : this.recorder.cut());
    // With shards, the window already holds the busiest worker's sample.
    window.loop = busiestThread([this.health.sample(), ...(window.loop ? [window.loop] : [])]);
    return window;
  }

  /** The profile export's log of the window's requests (when it keeps one). */
  private traceWindow(traced: LevelRequestTimes, window: WindowData): void {
    if (!window.requests) return;
    if (traced.windows.length === 0) traced.startNs = window.startNs;
    traced.windows.push({
      sendNs: window.requests.sendNs(),
      responseNs: window.requests.responseNs(),
      omitted: window.requests.omitted,
      requestIndex: window.requests.requestIndex(),
      responses: window.requests.responses(),
      responsesOmitted: window.requests.responsesOmitted,
    });
  }

  private windowResult(window: WindowData, value: number, index: number): WindowResult {
    return { ...summarizeWindow(window, this.summaryOptions(value)), index, startWallMs: window.startWallMs };
  }

  private summaryOptions(value: number): SummarizeOptions {
    return {
      batchSize: this.settings.batchSize,
      percentile: this.settings.measurement.percentile,
      intendedRatePerSec: this.intendedRatePerSec(value),
      sequences: this.settings.sequence !== undefined,
      decoupled: this.settings.decoupled === true,
    };
  }

  /** Adds the window to the level's stability history, reports it, and says whether the level stops here. */
  private judgeWindow(
    level: MeasuredLevel,
    window: WindowResult,
    value: number,
    maxWindows: number,
  ): StopReason | undefined {
    const signal = this.deps.signal;
    const verdict = addStabilityPoint(level.history, window, this.settings);
    level.verdict = verdict;
    this.deps.onEvent?.({
      type: 'window_end',
      mode: this.mode,
      value,
      windowIndex: window.index,
      maxWindows,
      throughputPerSec: window.throughputPerSec,
      latencyUs: level.history[level.history.length - 1]!.latencyUs,
      requestCount: window.requestCount,
      errorCount: window.errorCount,
      spread: verdict.spread,
    });
    // A shard measures every window of the timetable; only an interrupt ends its level early.
    if (this.deps.aligned !== undefined && !signal?.aborted) return undefined;
    const stop = windowStopReason(this.levelContext(value), window, window.index, level.history, verdict);
    return stop ?? (signal?.aborted ? 'sigint' : undefined);
  }

  private levelContext(value: number): LevelContext {
    return { mode: this.mode, value, settings: this.settings, warn: (text) => this.warn(text) };
  }

  /** Judges the level (profile/level-rules.ts) and, for a whole run, accounts client against server. */
  private finishLevel(
    value: number,
    windows: WindowData[],
    results: WindowResult[],
    stopReason: StopReason,
    verdict: StabilityVerdict | undefined,
    metrics?: MetricsSummary,
  ): LevelResult {
    const level = judgeLevel(this.levelContext(value), results, stopReason, verdict, (count) => {
      const merged = summarizeWindow(mergeWindows(windows.slice(-count)), this.summaryOptions(value));
      if (metrics) merged.metrics = metrics;
      return merged;
    });
    // A shard's client sees its share, the server every shard's requests: the merge accounts instead.
    if (!this.deps.aligned) this.account(level);
    return level;
  }

  /** Client ↔ server accounting over the level's windows (report/accounting.ts); warns on a mismatch. */
  private account(level: LevelResult): void {
    const durationNs = level.windows.reduce((s, w) => s + w.durationNs, 0);
    const requests = level.windows.reduce((s, w) => s + w.requestCount, 0);
    const requestsPerSec = durationNs > 0 ? (requests * NS_PER_S) / durationNs : 0;
    // In flight at an edge: the concurrency (closed loop), or rate × the slowest latency (open loop).
    const inFlightBound =
      this.mode === 'concurrency'
        ? level.value
        : requestsPerSec * usToS(level.merged?.latency.maxUs ?? 0) + 1;
    const accounting = accountLevel(level.windows, {
      inFlightBound,
      throughputPerSec: requestsPerSec,
      statsFetchNs: this.levelStartFetchNs + this.lastFetchNs,
    });
    if (!accounting) return;
    level.accounting = accounting;
    if (accounting.flagged) {
      this.warn(
        `Client and server disagree at ${this.mode} ${level.value}: the client completed ${accounting.clientCompleted} requests, the server counted ${accounting.serverSuccess} successes over the same windows (more than the ${accounting.allowedDifference} in flight at the edges).`,
      );
    }
  }

  private waitWindow(): Promise<void> {
    const m = this.settings.measurement;
    if (m.requestCount > 0) return this.recorder.waitForWindowCount(m.requestCount, this.deps.signal);
    if (m.mode === 'count_windows')
      return this.recorder.waitForWindowCount(m.windowRequestCount, this.deps.signal);
    return new Promise((resolve) => this.deps.clock.setTimer(resolve, msToNs(m.windowMs)));
  }

  private async fetchStats(): Promise<ModelStatsSnapshot[] | undefined> {
    if (!this.statsEnabled || !this.deps.serverApi) return undefined;
    const startNs = this.deps.clock.nowNs();
    try {
      // An ensemble needs its composing models' statistics too: perf_analyzer asks for every model's.
      // Bounded (statsCallTimeoutMs), so a stopped server cannot stretch a window by the API's 30 s default.
      const timeoutMs = statsCallTimeoutMs(this.settings);
      if (needsAllModelStats(this.deps.composingModels ?? [])) {
        return await this.deps.serverApi.modelStatistics('', '', timeoutMs);
      }
      return await this.deps.serverApi.modelStatistics(
        this.settings.modelName,
        this.settings.modelVersion,
        timeoutMs,
      );
    } catch (error) {
      this.statsEnabled = false;
      this.warn(
        `Server statistics became unavailable (${error instanceof Error ? error.message : String(error)}); continuing without them.`,
      );
      return undefined;
    } finally {
      this.lastFetchNs = this.deps.clock.nowNs() - startNs;
    }
  }

  private attachServerDelta(
    window: WindowData,
    start: ModelStatsSnapshot[] | undefined,
    end: ModelStatsSnapshot[] | undefined,
  ): void {
    if (!start || !end) return;
    const result = windowServerDelta(
      start,
      end,
      this.settings.modelName,
      this.settings.modelVersion,
      this.deps.composingModels,
    );
    if ('error' in result) {
      if (window.okCount > 0)
        this.warn(`Server statistics for model ${this.settings.modelName}: ${result.error}.`);
      return;
    }
    window.server = result.delta;
    for (const warning of result.warnings) this.warn(warning);
  }

  /** Adds a warning once (repeated windows would otherwise repeat it). */
  private warn(text: string): void {
    if (!this.warnings.includes(text)) this.warnings.push(text);
  }
}
