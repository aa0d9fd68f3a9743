/**
 * The stderr progress display, fed by the profiler's events: one redrawn status line on a TTY, fitted to the
 * terminal's width (an 80-column terminal never gets wrapped fragments: the least useful parts are dropped
 * first), one plain line per window/level when stderr is not a TTY or CI is set (CI logs), nothing with
 * --quiet / --no-progress. Each line says where the sweep is (level k of n, window i of max), how stable the
 * level looks (the spread against the -s limit) and an ETA: windows still expected × window length, where
 * both factors start from the settings and are replaced by what finished levels actually took. The ETA shown
 * never rises: it counts down with the clock and takes a new estimate only when that is lower (a level that
 * needs extra windows holds it still instead of pushing it up). stdout stays perf_analyzer's report.
 */

import type { ProfileEvent } from '../profile/events.ts';
import type { ProfileSettings } from '../profile/settings.ts';
import { msToS, nsToMs } from '../protocol/units.ts';
import type { LevelResult, LoadMode } from '../report/model.ts';
import { formatCppDouble } from '../report/number-format.ts';

export type ProgressEvent = ProfileEvent;

export interface ProgressStream {
  write(text: string): unknown;
  isTTY?: boolean;
  /** The terminal's width (a TTY's `columns`); 80 when unknown. */
  columns?: number;
}

/** What the display depends on besides the stream: injectable for tests. */
export interface ProgressEnv {
  /** CI=true (or any non-empty value but "false"/"0"): plain lines even on a TTY. */
  ci?: boolean;
  /** Monotonic milliseconds (the ETA counts down with it). */
  nowMs?: () => number;
}

/** CI as the usual CI systems set it. */
export function isCi(env: Readonly<Record<string, string | undefined>>): boolean {
  const v = env.CI;
  return v !== undefined && v !== '' && v !== '0' && v.toLowerCase() !== 'false';
}

export interface Progress {
  onEvent(event: ProgressEvent): void;
  /** Ends a pending redrawn line so later stderr output starts on a fresh line. */
  close(): void;
}

/** What the ETA starts from before any level has finished. */
export interface ProgressPlan {
  /** Levels the sweep will measure; undefined when open-ended (range end 0, binary search). */
  levelCount?: number;
  /** Window length (time_windows); undefined in count_windows mode until a level has finished. */
  windowMs?: number;
  /** Windows a level is expected to take: the stability windows (or 1 for a single measurement). */
  expectedWindows: number;
  /** The -s limit in percent, shown next to the spread. */
  stabilityPct: number;
}

/** The plan a run's settings imply. */
export function progressPlanOf(settings: ProfileSettings): ProgressPlan {
  const m = settings.measurement;
  const single = m.singleMeasurement || m.requestCount > 0;
  return {
    levelCount: levelCountOf(settings),
    ...(m.mode === 'time_windows' ? { windowMs: m.windowMs } : {}),
    expectedWindows: single ? 1 : Math.min(m.stabilityWindows, m.maxTrials),
    stabilityPct: m.stabilityThreshold * 100,
  };
}

function levelCountOf(settings: ProfileSettings): number | undefined {
  const { load } = settings;
  if (load.mode === 'custom_intervals') return 1;
  if (settings.search === 'binary' || load.range.end === 0) return undefined;
  return Math.floor((load.range.end - load.range.start) / load.range.step + 1e-9) + 1;
}

/** `45s`, `1m05s`, `1h02m`. */
export function formatEta(ms: number): string {
  const s = Math.max(0, Math.round(msToS(ms)));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/** ETA bookkeeping: pure arithmetic over what has finished so far. */
class EtaEstimator {
  /** Levels of the sweep done before the current one (from the events' level index). */
  private levelsDone = 0;
  private finishedLevels = 0;
  private finishedWindows = 0;
  private finishedWindowNs = 0;
  private currentWindows = 0;
  private inLevel = false;

  constructor(private readonly plan: ProgressPlan) {}

  levelStarted(levelIndex: number): void {
    this.levelsDone = levelIndex;
    this.inLevel = true;
    this.currentWindows = 0;
  }

  windowEnded(windowIndex: number): void {
    this.currentWindows = windowIndex;
  }

  levelEnded(level: LevelResult): void {
    if (this.inLevel) this.levelsDone += 1;
    this.inLevel = false;
    this.finishedLevels += 1;
    this.finishedWindows += level.windows.length;
    this.finishedWindowNs += level.windows.reduce((sum, w) => sum + w.durationNs, 0);
  }

  private shownMs: number | undefined;
  private shownAtMs = 0;

  /**
   * The ETA to show at `nowMs`: the estimate, unless the previous ETA counted down since is lower (the shown
   * ETA never rises; at 0 it stays 0 until the run ends).
   */
  shown(nowMs: number): number | undefined {
    const estimate = this.remainingMs();
    if (estimate === undefined) return undefined;
    const aged = this.shownMs === undefined ? estimate : Math.max(0, this.shownMs - (nowMs - this.shownAtMs));
    this.shownMs = Math.min(aged, estimate);
    this.shownAtMs = nowMs;
    return this.shownMs;
  }

  /** Milliseconds left, or undefined when the sweep length or the window length is not known. */
  remainingMs(): number | undefined {
    const { levelCount } = this.plan;
    if (levelCount === undefined) return undefined;
    const windowMs =
      this.finishedWindows > 0 ? nsToMs(this.finishedWindowNs / this.finishedWindows) : this.plan.windowMs;
    if (windowMs === undefined) return undefined;
    const perLevel =
      this.finishedLevels > 0 ? this.finishedWindows / this.finishedLevels : this.plan.expectedWindows;
    const levelsAfter = Math.max(0, levelCount - this.levelsDone - (this.inLevel ? 1 : 0));
    const current = this.inLevel ? Math.max(0, perLevel - this.currentWindows) : 0;
    return (current + levelsAfter * perLevel) * windowMs;
  }
}

/** A progress display on `stream`; `enabled` false gives a no-op. Without a plan no ETA is shown. */
export function createProgress(
  stream: ProgressStream,
  enabled: boolean,
  plan?: ProgressPlan,
  env: ProgressEnv = {},
): Progress {
  if (!enabled) return { onEvent: () => {}, close: () => {} };
  const tty = stream.isTTY === true && !(env.ci ?? isCi(process.env));
  const nowMs = env.nowMs ?? (() => performance.now());
  const eta = plan ? new EtaEstimator(plan) : undefined;
  let open = false;
  let levelNumber = 0;
  const emit = (line: ProgressLine, final: boolean): void => {
    if (tty) {
      stream.write(`\r\x1b[2K${fitProgressLine(line, stream.columns ?? 80)}${final ? '\n' : ''}`);
      open = !final;
    } else {
      stream.write(`${plainProgressLine(line)}\n`);
    }
  };
  const prefixes = (mode: LoadMode, value: number): Pick<ProgressLine, 'prefix' | 'shortPrefix'> => {
    const of = plan?.levelCount === undefined ? '' : `/${plan.levelCount}`;
    return {
      prefix: `[level ${levelNumber}${of}] ${levelLabel(mode, value)}:`,
      shortPrefix: `[${levelNumber}${of}] ${levelLabel(mode, value)}:`,
    };
  };
  const etaText = (): string | undefined => {
    const ms = eta?.shown(nowMs());
    return ms === undefined ? undefined : `ETA ${formatEta(ms)}`;
  };
  return {
    onEvent(event) {
      switch (event.type) {
        case 'level_start':
          levelNumber = event.levelIndex + 1;
          eta?.levelStarted(event.levelIndex);
          emit(
            {
              ...prefixes(event.mode, event.value),
              parts: [`measuring (${event.callMode})`],
              eta: etaText(),
            },
            false,
          );
          break;
        case 'window_end':
          eta?.windowEnded(event.windowIndex);
          emit(
            { ...prefixes(event.mode, event.value), parts: windowParts(event, plan), eta: etaText() },
            false,
          );
          break;
        case 'level_end': {
          const { mode, value, status, windows } = event.level;
          eta?.levelEnded(event.level);
          emit(
            {
              ...prefixes(mode, value),
              parts: [`${status} after ${windows.length} window(s)`],
              eta: etaText(),
            },
            true,
          );
          break;
        }
      }
    },
    close() {
      if (tty && open) stream.write('\n');
      open = false;
    },
  };
}

/** One status line: where the sweep is, what it measured (most useful first), the ETA. */
export interface ProgressLine {
  prefix: string;
  /** A shorter prefix a narrow terminal may use instead (e.g. without the word "level"). */
  shortPrefix?: string;
  /** In order of usefulness: a narrow terminal drops them from the end. */
  parts: string[];
  eta?: string;
}

/** The full line, as plain logs get it. */
export function plainProgressLine(line: ProgressLine): string {
  const body = [line.parts.join(', '), line.eta].filter((t) => t !== undefined && t !== '').join(', ');
  return `${line.prefix} ${body}`;
}

/**
 * The line fitted into `columns` − 1 characters (the last column would make some terminals wrap): parts are
 * dropped from the least useful end, the ETA is kept, and what still does not fit is cut with "…".
 */
export function fitProgressLine(line: ProgressLine, columns: number): string {
  const width = Math.max(10, columns - 1);
  const prefixes = [line.prefix, ...(line.shortPrefix === undefined ? [] : [line.shortPrefix])];
  let text = plainProgressLine(line);
  search: for (let n = line.parts.length; n >= 1; n--) {
    for (const prefix of prefixes) {
      text = plainProgressLine({ ...line, prefix, parts: line.parts.slice(0, n) });
      if ([...text].length <= width) break search;
    }
  }
  const chars = [...text];
  return chars.length <= width ? text : `${chars.slice(0, width - 1).join('')}…`;
}

function levelLabel(mode: LoadMode, value: number): string {
  if (mode === 'concurrency') return `concurrency ${value}`;
  if (mode === 'request_rate') return `request rate ${formatCppDouble(value)}/s`;
  return 'custom intervals';
}

/** A max/min ratio as the percentage the -s rule compares (1.031 → 3.1%). */
function spreadPct(ratio: number): string {
  return Number.isFinite(ratio) ? `${((ratio - 1) * 100).toFixed(1)}%` : '∞';
}

function windowParts(e: Extract<ProgressEvent, { type: 'window_end' }>, plan?: ProgressPlan): string[] {
  const latency = Number.isFinite(e.latencyUs) ? `${Math.trunc(e.latencyUs)} usec` : 'no valid request';
  const limit = plan ? ` (limit ${formatCppDouble(plan.stabilityPct)}%)` : '';
  return [
    `window ${e.windowIndex}/${e.maxWindows}: ${formatCppDouble(e.throughputPerSec)} infer/sec`,
    `latency ${latency}`,
    ...(e.errorCount > 0 ? [`${e.errorCount} errors`] : []),
    `spread throughput ${spreadPct(e.spread.throughput)} latency ${spreadPct(e.spread.latency)}${limit}`,
  ];
}
