/**
 * The stderr progress display, fed by the profiler's events: one redrawn status line on a TTY, one plain line
 * per window/level otherwise (CI logs), nothing with --quiet / --no-progress. Each line says where the sweep
 * is (level k of n, window i of max), how stable the level looks (the spread against the -s limit) and an ETA:
 * windows still expected × window length, where both factors start from the settings and are replaced by what
 * finished levels actually took. stdout stays reserved for the perf_analyzer-format report.
 */
import type { ProfileEvent } from '../profile/events.ts';
import type { ProfileSettings } from '../profile/settings.ts';
import type { LevelResult, LoadMode } from '../report/model.ts';
import { formatCppDouble } from '../report/number-format.ts';

export type ProgressEvent = ProfileEvent;

export interface ProgressStream {
  write(text: string): unknown;
  isTTY?: boolean;
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
  const s = Math.max(0, Math.round(ms / 1000));
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

  /** Milliseconds left, or undefined when the sweep length or the window length is not known. */
  remainingMs(): number | undefined {
    const { levelCount } = this.plan;
    if (levelCount === undefined) return undefined;
    const windowMs =
      this.finishedWindows > 0 ? this.finishedWindowNs / this.finishedWindows / 1e6 : this.plan.windowMs;
    if (windowMs === undefined) return undefined;
    const perLevel =
      this.finishedLevels > 0 ? this.finishedWindows / this.finishedLevels : this.plan.expectedWindows;
    const levelsAfter = Math.max(0, levelCount - this.levelsDone - (this.inLevel ? 1 : 0));
    const current = this.inLevel ? Math.max(0, perLevel - this.currentWindows) : 0;
    return (current + levelsAfter * perLevel) * windowMs;
  }
}

/** A progress display on `stream`; `enabled` false gives a no-op. Without a plan no ETA is shown. */
export function createProgress(stream: ProgressStream, enabled: boolean, plan?: ProgressPlan): Progress {
  if (!enabled) return { onEvent: () => {}, close: () => {} };
  const tty = stream.isTTY === true;
  const eta = plan ? new EtaEstimator(plan) : undefined;
  let open = false;
  let levelNumber = 0;
  const emit = (line: string, final: boolean): void => {
    if (tty) {
      stream.write(`\r\x1b[2K${line}${final ? '\n' : ''}`);
      open = !final;
    } else {
      stream.write(`${line}\n`);
    }
  };
  const prefix = (mode: LoadMode, value: number): string => {
    const of = plan?.levelCount === undefined ? '' : `/${plan.levelCount}`;
    return `[level ${levelNumber}${of}] ${levelLabel(mode, value)}:`;
  };
  const etaText = (): string => {
    const ms = eta?.remainingMs();
    return ms === undefined ? '' : `, ETA ${formatEta(ms)}`;
  };
  return {
    onEvent(event) {
      switch (event.type) {
        case 'level_start':
          levelNumber = event.levelIndex + 1;
          eta?.levelStarted(event.levelIndex);
          emit(`${prefix(event.mode, event.value)} measuring (${event.callMode})${etaText()}`, false);
          break;
        case 'window_end':
          eta?.windowEnded(event.windowIndex);
          emit(`${prefix(event.mode, event.value)} ${windowText(event, plan)}${etaText()}`, false);
          break;
        case 'level_end': {
          const { mode, value, status, windows } = event.level;
          eta?.levelEnded(event.level);
          emit(`${prefix(mode, value)} ${status} after ${windows.length} window(s)${etaText()}`, true);
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

function levelLabel(mode: LoadMode, value: number): string {
  if (mode === 'concurrency') return `concurrency ${value}`;
  if (mode === 'request_rate') return `request rate ${formatCppDouble(value)}/s`;
  return 'custom intervals';
}

/** A max/min ratio as the percentage the -s rule compares (1.031 → 3.1%). */
function spreadPct(ratio: number): string {
  return Number.isFinite(ratio) ? `${((ratio - 1) * 100).toFixed(1)}%` : '∞';
}

function windowText(e: Extract<ProgressEvent, { type: 'window_end' }>, plan?: ProgressPlan): string {
  const latency = Number.isFinite(e.latencyUs) ? `${Math.trunc(e.latencyUs)} usec` : 'no valid request';
  const parts = [
    `window ${e.windowIndex}/${e.maxWindows}: ${formatCppDouble(e.throughputPerSec)} infer/sec`,
    `latency ${latency}`,
  ];
  if (e.errorCount > 0) parts.push(`${e.errorCount} errors`);
  const limit = plan ? ` (limit ${formatCppDouble(plan.stabilityPct)}%)` : '';
  parts.push(
    `spread throughput ${spreadPct(e.spread.throughput)} latency ${spreadPct(e.spread.latency)}${limit}`,
  );
  return parts.join(', ');
}
