/**
 * Runs a sweep of load levels and measures each one perf_analyzer's way (§3): warm-up (discarded), then
 * windows until the last K are stable, the latency limit is crossed, --max-trials is reached, the error rate
 * is exceeded or the run is interrupted; the level's figure is the merge of its last ≤ K windows. Unlike
 * perf_analyzer, failed requests are counted per window by kind and the run goes on unless --max-error-rate is
 * exceeded. Returns what was measured even when it stops early; the exit code follows src/errors.ts.
 */
import type { AlignedWindows } from '../distributed/aligned-windows.ts';
import { ExitCode, OptionError } from '../errors.ts';
import { customIntervalsRatePerSec } from '../load/schedule.ts';
import { ShardPool } from '../load/shard-pool.ts';
import type { ShardTransport } from '../load/shard-protocol.ts';
import { busiestThread } from '../load/shard-windows.ts';
import {
  DEFAULT_ERROR_RATE_THRESHOLD,
  errorRateExceededMessage,
  levelErrorHealth,
} from '../measure/error-health.ts';
import { LoopHealthMonitor } from '../measure/loop-health.ts';
import { mergeWindows } from '../measure/merge.ts';
import type { MetricsSampler } from '../measure/metrics-sampler.ts';
import type { RequestLogBudget } from '../measure/request-log.ts';
import { type ComposingModel, needsAllModelStats, windowServerDelta } from '../measure/server-stats.ts';
import {
  assessStability,
  relaxForAsync,
  type StabilityPoint,
  type StabilityVerdict,
} from '../measure/stability.ts';
import { stabilizingLatencyUs, summarizeWindow } from '../measure/summarize.ts';
import { errorTotal, type WindowData } from '../measure/window-data.ts';
import { WindowRecorder } from '../measure/window-recorder.ts';
import type { Clock } from '../protocol/clock.ts';
import { msToNs, msToUs, NS_PER_S, usToMs, usToNs, usToS } from '../protocol/units.ts';
import { accountLevel } from '../report/accounting.ts';
import type { LevelResult, LevelStatus, LoadMode, MetricsSummary, WindowResult } from '../report/model.ts';
import type { LevelRequestTimes, RequestTrace } from '../report/request-trace.ts';
import type { InferClient, PreparedRequest, RequestSpec } from '../transport/client.ts';
import type { ModelStatsSnapshot, ServerApi } from '../transport/server-api.ts';
import type { ProfileEvent } from './events.ts';
import { createLoadDriver, type LoadDriver } from './load-driver.ts';
import {
  errorRateMessage,
  latencyLimitMessage,
  noValidRequestsMessage,
  STABLE_FAILED,
  unstableMessage,
} from './messages.ts';
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

/** Why a level's window loop ended. */
type StopReason = 'stable' | 'single' | 'max_trials' | 'latency_limit' | 'sigint' | 'error_rate';

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

  private async profileLevel(value: number, levelIndex: number): Promise<LevelResult> {
    const { measurement: m } = this.settings;
    const { signal, onEvent } = this.deps;
    onEvent?.({
      type: 'level_start',
      mode: this.mode,
      value,
      levelIndex,
      callMode: this.asyncMode ? 'async' : 'sync',
    });
    const traced: LevelRequestTimes = { startNs: 0, windows: [] };
    this.requestTrace?.levels.push(traced);
    const single = m.singleMeasurement || m.requestCount > 0;
    const maxWindows = single ? 1 : Math.max(1, m.maxTrials);
    const windows: WindowData[] = [];
    const results: WindowResult[] = [];
    const history: StabilityPoint[] = [];
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
          return this.finishLevel(value, [], [], 'sigint', undefined);
        }
      }
      snapshot = await this.fetchStats();
      this.recorder.begin();
    }
    this.health.sample();
    this.levelStartFetchNs = this.lastFetchNs;
    this.deps.metricsSampler?.start();
    let stopReason: StopReason = 'max_trials';
    let verdict: StabilityVerdict | undefined;
    let metrics: MetricsSummary | undefined;
    try {
      for (let index = 1; index <= maxWindows; index++) {
        await (this.deps.aligned ? this.deps.aligned.windowEnd(levelIndex, index) : this.waitWindow());
        const window = await (index === maxWindows ? this.recorder.end() : this.recorder.cut());
        // With shards, the window already holds the busiest worker's sample.
        window.loop = busiestThread([this.health.sample(), ...(window.loop ? [window.loop] : [])]);
        const next = await this.fetchStats();
        this.attachServerDelta(window, snapshot, next);
        snapshot = next;
        windows.push(window);
        if (window.requests) {
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
        const summary = summarizeWindow(window, {
          batchSize: this.settings.batchSize,
          percentile: m.percentile,
          intendedRatePerSec: this.intendedRatePerSec(value),
          sequences: this.settings.sequence !== undefined,
          decoupled: this.settings.decoupled === true,
        });
        results.push({ ...summary, index, startWallMs: window.startWallMs });
        const latencyUs =
          window.okCount > 0 ? stabilizingLatencyUs(summary.latency, m.percentile) : Number.POSITIVE_INFINITY;
        history.push({ throughputPerSec: window.okCount > 0 ? summary.throughputPerSec : 0, latencyUs });
        verdict = assessStability(history, {
          thresholdFraction: m.stabilityThreshold,
          windows: m.stabilityWindows,
        });
        onEvent?.({
          type: 'window_end',
          mode: this.mode,
          value,
          windowIndex: index,
          maxWindows,
          throughputPerSec: summary.throughputPerSec,
          latencyUs,
          requestCount: summary.requestCount,
          errorCount: summary.errorCount,
          spread: verdict.spread,
        });
        const errors = errorTotal(window);
        const errorRate = errors + window.okCount > 0 ? errors / (errors + window.okCount) : 0;
        // A shard measures every window of the timetable; only an interrupt ends its level early.
        const measureAll = this.deps.aligned !== undefined && !signal?.aborted;
        if (measureAll) continue;
        if (this.settings.maxErrorRate < 1 && errorRate > this.settings.maxErrorRate) {
          this.warn(
            errorRateMessage(
              this.mode,
              value,
              index,
              errorRate,
              this.settings.maxErrorRate,
              window.errorsByKind,
            ),
          );
          stopReason = 'error_rate';
          break;
        }
        if (single) {
          stopReason = 'single';
          break;
        }
        if (verdict.stable) {
          stopReason = 'stable';
          break;
        }
        const limitUs = msToUs(m.latencyThresholdMs);
        if (limitUs > 0 && history.slice(-m.stabilityWindows).some((p) => p.latencyUs >= limitUs)) {
          stopReason = 'latency_limit';
          break;
        }
        if (signal?.aborted) {
          stopReason = 'sigint';
          break;
        }
      }
    } finally {
      if (this.recorder.recording) await this.recorder.end();
      metrics = this.deps.metricsSampler?.stop();
    }
    return this.finishLevel(value, windows, results, stopReason, verdict, metrics);
  }

  private finishLevel(
    value: number,
    windows: WindowData[],
    results: WindowResult[],
    stopReason: StopReason,
    verdict: StabilityVerdict | undefined,
    metrics?: MetricsSummary,
  ): LevelResult {
    const level = this.classifyLevel(value, windows, results, stopReason, verdict, metrics);
    const threshold = this.settings.errorRateThreshold ?? DEFAULT_ERROR_RATE_THRESHOLD;
    const health = levelErrorHealth(results, threshold);
    level.errorRate = health.errorRate;
    level.errorRateExceeded = health.errorRateExceeded;
    if (health.errorRateExceeded) this.warn(errorRateExceededMessage(this.mode, value, health, threshold));
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

  private classifyLevel(
    value: number,
    windows: WindowData[],
    results: WindowResult[],
    stopReason: StopReason,
    verdict: StabilityVerdict | undefined,
    metrics?: MetricsSummary,
  ): LevelResult {
    const m = this.settings.measurement;
    const level: LevelResult = {
      mode: this.mode,
      value,
      status: 'no_data',
      reported: false,
      windows: results,
      stopReason,
    };
    if (windows.length === 0) {
      level.status = stopReason === 'sigint' ? 'interrupted' : 'no_data';
      return level;
    }
    const lastK = windows.slice(-Math.max(1, m.stabilityWindows));
    const merged = summarizeWindow(mergeWindows(lastK), {
      batchSize: this.settings.batchSize,
      percentile: m.percentile,
      intendedRatePerSec: this.intendedRatePerSec(value),
      sequences: this.settings.sequence !== undefined,
      decoupled: this.settings.decoupled === true,
    });
    if (metrics) merged.metrics = metrics;
    level.merged = merged;
    // A spread over a window with no valid request is infinite: JSON cannot carry it, so it is left out.
    if (verdict && Number.isFinite(verdict.spread.throughput) && Number.isFinite(verdict.spread.latency)) {
      level.spread = verdict.spread;
    }

    let status: LevelStatus;
    let stabilized = false;
    if (stopReason === 'error_rate') {
      status = 'errors_over_limit';
    } else if (stopReason === 'single') {
      stabilized = windows[0]!.okCount > 0;
      status = stabilized ? 'single' : 'no_data';
    } else if (stopReason === 'stable') {
      stabilized = true;
      status = 'stable';
    } else if (stopReason === 'sigint') {
      status = 'interrupted';
    } else if (lastK.some((w) => w.okCount === 0)) {
      status = 'no_data';
    } else {
      const relaxed =
        stopReason === 'max_trials' && verdict ? relaxForAsync(verdict, this.asyncMode) : { stable: false };
      if (relaxed.warning) this.warn(relaxed.warning);
      stabilized = relaxed.stable;
      status = stabilized ? 'stable' : 'unstable';
    }

    if (stabilized) {
      const latencyUs = stabilizingLatencyUs(merged.latency, m.percentile);
      level.stabilizingLatencyUs = latencyUs;
      if (m.latencyThresholdMs > 0 && Math.trunc(usToMs(latencyUs)) >= m.latencyThresholdMs) {
        status = 'over_latency_limit';
        this.warn(latencyLimitMessage(m.latencyThresholdMs));
      }
    } else if (status === 'unstable') {
      this.warn(unstableMessage(this.mode, value, m.maxTrials, m.mode));
    } else if (status === 'no_data') {
      this.warn(noValidRequestsMessage(results, this.settings.url));
    }
    level.status = status;
    level.reported = status === 'stable' || status === 'single';
    return level;
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
