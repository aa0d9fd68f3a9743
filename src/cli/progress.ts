/**
 * The stderr progress display, fed by the profiler's events: one redrawn status line on a TTY, one plain line
 * per window/level otherwise (CI logs), nothing with --quiet / --no-progress. stdout stays reserved for the
 * perf_analyzer-format report.
 */
import type { ProfileEvent } from '../profile/events.ts';
import type { LoadMode } from '../report/model.ts';
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

/** A progress display on `stream`; `enabled` false gives a no-op. */
export function createProgress(stream: ProgressStream, enabled: boolean): Progress {
  if (!enabled) return { onEvent: () => {}, close: () => {} };
  const tty = stream.isTTY === true;
  let open = false;
  const emit = (line: string, final: boolean): void => {
    if (tty) {
      stream.write(`\r\x1b[2K${line}${final ? '\n' : ''}`);
      open = !final;
    } else {
      stream.write(`${line}\n`);
    }
  };
  return {
    onEvent(event) {
      switch (event.type) {
        case 'level_start':
          emit(`[${levelLabel(event.mode, event.value)}] measuring (${event.callMode})`, false);
          break;
        case 'window_end':
          emit(`[${levelLabel(event.mode, event.value)}] ${windowText(event)}`, false);
          break;
        case 'level_end': {
          const { mode, value, status, windows } = event.level;
          emit(`[${levelLabel(mode, value)}] ${status} after ${windows.length} window(s)`, true);
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

function windowText(e: Extract<ProgressEvent, { type: 'window_end' }>): string {
  const latency = Number.isFinite(e.latencyUs) ? `${Math.trunc(e.latencyUs)} usec` : 'no valid request';
  const parts = [
    `window ${e.windowIndex}/${e.maxWindows}: ${formatCppDouble(e.throughputPerSec)} infer/sec`,
    `latency ${latency}`,
  ];
  if (e.errorCount > 0) parts.push(`${e.errorCount} errors`);
  parts.push(`spread throughput ${e.spread.throughput.toFixed(3)} latency ${e.spread.latency.toFixed(3)}`);
  return parts.join(', ');
}
